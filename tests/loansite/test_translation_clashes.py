"""One English word, two meanings: the first catalogue that translates a word wins everywhere
(the project's, then the apps in INSTALLED_APPS order), so a word with two meanings needs a
context. Each case here showed the wrong Chinese on a main page."""

import pytest
from django.apps import apps
from django.utils import translation
from django.utils.translation import gettext, pgettext

from customers.models import Interest, RelationshipManager, Seniority
from loans.models import LoanApplication


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_a_disbursed_application_is_disbursed_not_a_date():
    # The portal's "Disbursed: <date>" read 放款日 and took the status with it.
    assert LoanApplication.Status.DISBURSED.label == "已放款"
    assert pgettext("loan date", "Disbursed") == "放款日"


def test_a_loans_principal_is_not_a_managers_seniority():
    assert gettext("Principal") == "本金"
    assert Seniority.PRINCIPAL.label == "资深"


def test_loan_interest_and_a_customers_interests():
    assert gettext("interest") == "利息"
    assert Interest._meta.verbose_name == "兴趣"


def test_active_products_and_managers_at_work():
    assert gettext("active") != "在岗"
    assert RelationshipManager._meta.get_field("active").verbose_name == "在岗"


def test_the_loans_app_is_loans_not_a_count():
    # Breadcrumbs and the index read 贷款笔数 (the dashboard's count of loans).
    assert apps.get_app_config("loans").verbose_name == "贷款"


def test_collateral_registration_payoff_date_names_and_open_items():
    assert pgettext("collateral", "Registration") == "抵押登记"
    assert pgettext("payoff quote", "On") == "日期"
    assert gettext("Name") == "名称"  # a business's name (姓名 is a person's)
    assert gettext("Open") == "待处理"


def test_the_project_catalogue_keeps_the_audit_app_and_the_admin_index_headers():
    # A catalogue rebuilt from loansite/ alone dropped the audit app's strings (English actions
    # and headers on the audit trail); Django 5's own catalogue lacks the index's table headers.
    from audit.models import AuditAction

    assert AuditAction.TRANSITION.label == "状态变更"
    assert apps.get_app_config("audit").verbose_name == "审计"
    assert gettext("Change or view list link") == "修改或查看列表链接"
    assert gettext("access attempts") == "登录尝试"
