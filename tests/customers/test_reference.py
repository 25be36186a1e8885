"""Reference data: cities with their tiers and industries in GB/T 4754 sections, kept in the
database (seeded by the migration from the files in customers/data), read by forms, imports,
services and matching, and edited by administrators only."""

import json
import random
from pathlib import Path

import pytest
import tablib
from django.conf import settings
from django.urls import reverse

from customers.importing import parse_dataset
from customers.models import City, Industry, IndustrySection
from customers.reference import city_find, city_lookup, city_tier_of, industry_label, industry_lookup
from customers.services import customer_create, customer_import
from customers.validators import make_credit_code
from loansite.errors import ValidationFailed

pytestmark = pytest.mark.django_db

DATA = Path(settings.BASE_DIR) / "customers" / "data"
CODES = [make_credit_code(random.Random(seed)) for seed in (1, 2, 3)]


def test_the_migration_loads_every_prefecture_level_city_with_its_tier():
    cities = json.loads((DATA / "cities.json").read_text("utf-8"))["cities"]
    assert City.objects.count() == len(cities) >= 330
    wuxi = City.objects.get(short_name="无锡")
    assert (wuxi.code, wuxi.name, wuxi.name_en, wuxi.province, wuxi.tier) == ("320200", "无锡市", "Wuxi", "江苏省", 2)
    assert City.objects.get(name_en="Beijing").tier == 1
    assert City.objects.get(name_en="Kunming").tier == 3  # 二线
    # Not on the tier list: the stated default, tier 4.
    assert City.objects.get(name_en="Qujing").tier == 4
    # Two cities spelled alike in pinyin: the larger keeps the name, the other names its province.
    assert City.objects.get(short_name="苏州").name_en == "Suzhou"
    assert City.objects.get(short_name="宿州").name_en == "Suzhou (Anhui)"


def test_industries_cover_the_gbt_4754_sections_with_the_short_list_mapped_onto_them():
    assert list(IndustrySection.objects.values_list("code", flat=True)) == list("ABCDEFGHIJKLMNOPQRST")
    mapping = dict(Industry.objects.values_list("code", "section__code"))
    assert {k: mapping[k] for k in ("retail", "wholesale", "catering", "manufacturing", "transport")} == {
        "retail": "F",
        "wholesale": "F",
        "catering": "H",
        "manufacturing": "C",
        "transport": "G",
    }
    assert {"agriculture", "services", "technology"} <= set(mapping)
    assert set(mapping.values()) == set("ABCDEFGHIJKLMNOPQRST")


def test_cities_and_industries_are_found_by_any_name_a_person_types():
    for name in ("无锡", "无锡市", "320200", "wuxi", "Wuxi"):
        assert city_find(name).value == "Wuxi"
    assert city_lookup()["xi'an"].value == "Xi'an" and city_lookup()["xian"].value == "Xi'an"
    lookup = industry_lookup()
    assert lookup["餐饮"] == lookup["餐饮业"] == lookup["catering"] == "catering"
    assert city_tier_of("Nowhere") == 4


def test_labels_follow_the_language():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert industry_label("catering") == "餐饮"
    with translation.override("en"):
        assert industry_label("catering") == "Catering"


def test_a_new_customer_gets_the_tier_of_its_city_and_unknown_values_are_refused(make_user):
    officer = make_user("officer", role="Loan officer")
    customer = customer_create(
        actor=officer, name="无锡精工", credit_code=CODES[0], phone="13912345678", city="Wuxi",
        industry="manufacturing",
    )  # fmt: skip
    assert customer.city_tier == 2
    with pytest.raises(ValidationFailed) as refused:
        customer_create(
            actor=officer, name="Atlantis", credit_code=CODES[1], phone="13912345679", city="Atlantis",
            industry="underwater",
        )  # fmt: skip
    assert {"city", "industry"} <= set(refused.value.extra["errors"])


def test_the_add_customer_form_sets_the_tier_from_the_city():
    from customers.forms import CustomerAdminForm

    form = CustomerAdminForm()
    assert form.initial.get("city_tier") is None  # no more "tier 3" whatever the city
    assert ("Wuxi", "Wuxi, Jiangsu") in form.fields["city"].choices
    data = {
        "kind": "enterprise", "name": "常州机械", "credit_code": CODES[2], "phone": "13912340000",
        "city": "Changzhou", "city_tier": "", "industry": "manufacturing", "years_in_business": 3, "employees": 5,
        "area_m2": "0", "monthly_revenue": "1000", "monthly_cost": "500", "monthly_foot_traffic": 0,
    }  # fmt: skip
    form = CustomerAdminForm(data=data)
    form.is_valid()
    assert form.cleaned_data["city_tier"] == 3  # 常州: 二线 -> tier 3
    form = CustomerAdminForm(data={**data, "city": "Atlantis"})
    assert not form.is_valid() and "city" in form.errors


def test_imports_read_cities_and_industries_from_the_tables(make_user):
    officer = make_user("officer", role="Loan officer")
    headers = ["名称", "统一社会信用代码", "手机号", "城市", "行业", "月均营收", "月均成本"]
    rows = [
        ["无锡精工有限公司", CODES[0], "13800138000", "无锡", "制造业", "80000", "60000"],
        ["亚特兰蒂斯", CODES[1], "13800138001", "Atlantis", "水下业", "80000", "60000"],
    ]
    report = customer_import(
        parsed=parse_dataset(tablib.Dataset(*rows, headers=headers)), actor=officer, file_name="a.csv"
    )
    assert {(e.row, e.column) for e in report.errors} == {(3, "城市"), (3, "行业")}
    # A city switched off by an administrator is no longer accepted either.
    City.objects.filter(name_en="Wuxi").update(active=False)
    from customers.reference import reference_lookups_clear

    reference_lookups_clear()
    parsed = parse_dataset(tablib.Dataset(rows[0], headers=headers))
    assert [(e.row, e.column) for e in parsed.errors] == [(2, "城市")]


def test_the_public_form_accepts_an_applicant_from_wuxi():
    from loans.forms import PublicApplicationForm

    assert "Wuxi" in dict(PublicApplicationForm().fields["city"].choices)


def test_matching_reads_tiers_from_the_reference_data():
    from customers.services.assignments import _city_tiers

    City.objects.filter(name_en="Wuxi").update(tier=1)
    assert _city_tiers()["Wuxi"] == 1


def test_administrators_edit_reference_data_and_other_roles_only_read_it(client, make_user):
    admin_user = make_user("admin1", role="Administrator")
    officer = make_user("officer", role="Loan officer")
    wuxi = City.objects.get(name_en="Wuxi")
    url = reverse("admin:customers_city_change", args=[wuxi.pk])
    client.force_login(officer)
    page = client.get(url)
    assert page.status_code == 200 and 'name="tier"' not in page.content.decode()
    assert client.post(url, {"tier": 1}).status_code == 403
    client.force_login(admin_user)
    data = {
        "name": wuxi.name, "short_name": wuxi.short_name, "province": wuxi.province,
        "province_en": wuxi.province_en, "tier": 1, "active": "on",
    }  # fmt: skip
    assert client.post(url, data).status_code == 302
    wuxi.refresh_from_db()
    assert wuxi.tier == 1
    from audit.models import AuditEntry

    assert AuditEntry.objects.filter(target_type="customers.city", target_id=str(wuxi.pk)).exists()
    # Switched off, never deleted (customers keep their values).
    delete = reverse("admin:customers_city_delete", args=[wuxi.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:customers_industry_changelist")).status_code == 200
