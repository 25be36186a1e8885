"""One formatting of money, percentages, ratios, dates and times, in English and Chinese."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import formats, timezone, translation

from loansite.formatting import (
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_percent,
    format_ratio,
    money_column,
)

MOMENT = datetime.datetime(2026, 11, 30, 1, 41, tzinfo=datetime.UTC)  # 09:41 in Shanghai


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_money_has_the_yuan_sign_separators_and_two_places_in_both_languages(language):
    with translation.override(language):
        assert format_money(Decimal("1500000")) == "¥1,500,000.00"
        assert format_money(500000) == "¥500,000.00"
        assert format_money("300000.005") == "¥300,000.01"
        assert format_money(Decimal("-1500.5")) == "-¥1,500.50"
        assert format_money(Decimal("1500"), currency=False) == "1,500.00"
        assert format_money(None) == "—"
        assert format_number(12345) == "12,345"


def test_percent_follows_the_language_and_nothing_is_a_dash():
    with translation.override("en"):
        assert format_percent(Decimal("0.4000")) == "40.00 %"
        assert format_percent(Decimal("12.5"), fraction=False) == "12.50 %"
        assert format_percent(None) == "—"
    with translation.override("zh-hans"):
        assert format_percent(Decimal("0.4000")) == "40.00%"
    assert format_ratio(Decimal("1.2500")) == "1.25"
    assert format_ratio(None) == "—"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_dates_and_times_have_one_format_in_each_language(language):
    with translation.override(language), timezone.override(ZoneInfo("Asia/Shanghai")):
        assert format_datetime(MOMENT) == "2026-11-30 09:41"
        assert format_date(MOMENT) == "2026-11-30"
        assert format_date(datetime.date(2026, 1, 5)) == "2026-01-05"
        # Django's own formats (admin lists and read-only fields) agree.
        local = MOMENT.astimezone(ZoneInfo("Asia/Shanghai"))
        assert formats.date_format(local, "DATETIME_FORMAT") == "2026-11-30 09:41"
        assert formats.localize(datetime.date(2026, 11, 30)) == "2026-11-30"


@pytest.mark.parametrize(("language", "percent"), [("en", "40.00 %"), ("zh-hans", "40.00%")])
def test_template_filters(language, percent):
    template = Template(
        "{% load formatting %}{{ amount|money }}|{{ amount|money_plain }}|{{ share|percent }}|{{ none|ratio }}|"
        "{{ moment|datetime_short }}|{{ moment|date_short }}|{{ none|or_dash }}"
    )
    with translation.override(language):
        text = template.render(Context({"amount": Decimal("1500000"), "share": Decimal("0.4"), "moment": MOMENT}))
    assert text == f"¥1,500,000.00|1,500,000.00|{percent}|—|2026-11-30 09:41|2026-11-30|—"


def test_money_column_for_admin_lists():
    class Row:
        amount = Decimal("300000")

    column = money_column("amount", "amount")
    assert column(Row()) == '<span class="num money">¥300,000.00</span>'
    assert column.admin_order_field == "amount"
    # Also as a ModelAdmin attribute (called as a bound method).
    assert column(object(), Row()) == '<span class="num money">¥300,000.00</span>'
