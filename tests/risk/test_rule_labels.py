"""Risk events name the rules they hit in the reader's language (大额交易), not by code."""

import pytest
from django.urls import reverse

from loansite import roles
from risk.models import RiskEvent
from risk.selectors import risk_rule_label
from tests.risk.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_rule_label_in_each_language_and_the_code_for_a_rule_of_ones_own():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert risk_rule_label("large_amount") == "大额交易"
    with translation.override("en"):
        assert risk_rule_label("large_amount") == "large amount"
    assert risk_rule_label("my_own_rule") == "my_own_rule"


def test_event_list_and_page_name_the_rules(client, make_user):
    client.force_login(make_user("root", superuser=True, role=roles.ADMINISTRATOR))
    event = RiskEvent.objects.create(
        customer=CustomerFactory(),
        level="high",
        score=90,
        rules_hit=["large_amount", "watch_list"],
        source="transaction",
    )
    listing = client.get(reverse("admin:risk_riskevent_changelist"), **ZH).content.decode()
    assert "大额交易, 监控名单" in listing and "large_amount" not in listing
    page = client.get(reverse("admin:risk_riskevent_change", args=[event.pk]), **ZH).content.decode()
    assert "大额交易, 监控名单" in page and "large_amount" not in page


def test_event_timeline_details_in_chinese():
    from django.utils import translation

    from risk.templatetags.risk_labels import entry_details

    with translation.override("zh-hans"):
        shown = entry_details({"level": "high", "signal": "loan_overdue", "days_past_due": 12})
    assert shown == "等级: 高; 信号: 贷款逾期; 逾期天数: 12"
    with translation.override("en"):
        assert entry_details({"level": "high"}) == "level: High"


def test_alert_title_names_level_and_rules():
    from django.utils import translation

    from risk.services.events import _title

    with translation.override("en"):
        title = _title("high", ["geo_velocity", "large_amount"])
        assert title == "High risk: another city within an hour, large amount"
    with translation.override("zh-hans"):
        assert "大额交易" in _title("high", ["large_amount"]) and "large_amount" not in _title("high", ["large_amount"])
