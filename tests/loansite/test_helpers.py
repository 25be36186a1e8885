from decimal import Decimal

import numpy as np
import pytest
from django.test import RequestFactory

from audit.middleware import client_ip
from loansite.bench import Figure, figures_table
from loansite.demo_profiles import application_profiles, customer_profiles
from loansite.money import money, money_sum


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,725.555", "1725.56"), (Decimal("2.345"), "2.35"), (0.1 + 0.2, "0.30"), (10, "10.00"), ("-0.005", "-0.01")],
)
def test_money_rounds_half_up_to_cents(raw, expected):
    assert money(raw) == Decimal(expected)


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", ""])
def test_money_rejects_non_amounts(bad):
    with pytest.raises(ValueError):
        money(bad)


def test_money_sum_is_exact():
    assert money_sum(["0.10"] * 10) == Decimal("1.00")


def test_client_ip_ignores_forwarded_header_unless_trusted(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    settings.TRUSTED_PROXY_IP_HEADER = ""
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "1.2.3.4"
    spoofed = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    assert client_ip(spoofed) == "1.2.3.4"
    junk = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(junk) is None


def test_demo_profiles_are_reproducible_and_carry_a_real_signal():
    a = customer_profiles(np.random.default_rng(7), 3000)
    b = customer_profiles(np.random.default_rng(7), 3000)
    assert a.equals(b)
    assert set(a["city_tier"]) == {1, 2, 3, 4}
    assert (a["monthly_revenue"] > 0).all() and a["annual_revenue"].isna().any()
    apps = application_profiles(np.random.default_rng(7), a, 5000)
    # Better latent quality -> higher credit score and fewer defaults.
    assert np.corrcoef(a["quality"], a["credit_score"])[0, 1] > 0.6
    joined = apps.join(a[["quality"]], on="customer_pos")
    good = joined[joined["quality"] > 0.5]["defaults"].mean()
    bad = joined[joined["quality"] < -0.5]["defaults"].mean()
    assert bad > 2 * good
    assert 0.05 < apps["defaults"].mean() < 0.4
    # Officers approve the lower-risk applications more often.
    assert joined[joined["approved"]]["pd_true"].mean() < joined[~joined["approved"]]["pd_true"].mean()


def test_figures_table_shows_ratio_to_the_same_run_baseline():
    table = figures_table([Figure("import", 6000, "rows/s", "bulk insert", 30000, ">= 5,000 rows/s")])
    assert "| import | 6,000 | rows/s | bulk insert | 30,000 | 0.2000 | >= 5,000 rows/s |" in table


def test_health_and_home(client, db):
    assert client.get("/healthz/").json() == {"status": "ok"}
    assert client.get("/").status_code == 200


def test_admin_header_has_language_switch(client, make_user):
    client.force_login(make_user("x", superuser=True))
    page = client.get("/admin/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'value="zh-hans"' in page


def test_language_switch_serves_chinese_admin(client, make_user):
    client.force_login(make_user("x", superuser=True))
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    page = client.get("/admin/").content.decode()
    assert "贷款后台" in page  # the site header, translated
