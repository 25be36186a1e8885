"""Chinese pages show the book's values in Chinese: managers' cities and industries (not codes),
the labels installed with the system (tags, needs, interests) while they keep their names."""

import pytest
from django.urls import reverse
from django.utils import translation

from customers.models import Interest, Need, Tag
from loansite import roles
from tests.customers.factories import CustomerFactory, ManagerFactory

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def root(client, make_user):
    user = make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    client.force_login(user)
    return user


def test_manager_list_names_cities_and_industries_in_chinese(client, root):
    ManagerFactory(city="Wuxi", industries=["retail", "catering"], branch="无锡支行")
    html = client.get(reverse("admin:customers_relationshipmanager_changelist"), **ZH).content.decode()
    assert '<td class="field-city_name">无锡</td>' in html
    assert "零售" in html and "餐饮" in html
    assert ">retail" not in html and "catering" not in html
    # The city filter names the managers' cities in Chinese too.
    assert "?city=Wuxi" in html and ">无锡</a>" in html
    english = client.get(reverse("admin:customers_relationshipmanager_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<td class="field-city_name">Wuxi</td>' in english.content.decode()


def test_manager_list_filters_by_city(client, root):
    ManagerFactory(city="Wuxi", branch="无锡支行")
    ManagerFactory(city="Hangzhou", branch="杭州支行")
    page = client.get(reverse("admin:customers_relationshipmanager_changelist"), {"city": "Wuxi"}, **ZH)
    assert page.context["cl"].result_count == 1


def test_installed_tags_needs_and_interests_show_in_chinese_until_renamed(client, root):
    customer = CustomerFactory()
    customer.tags.add(Tag.objects.get(name="risk-watch"))
    html = client.get(reverse("admin:customers_customer_changelist"), **ZH).content.decode()
    assert "风险关注</span>" in html and "risk-watch</span>" not in html
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk]), **ZH).content.decode()
    assert "供应链金融" in page and "Supply-chain finance" not in page
    assert "流动资金" in page and ">Working capital<" not in page
    # Renamed by an administrator: shown as typed, in every language.
    need = Need.objects.get(code="equipment")
    need.name = "机器设备更新"
    need.save()
    assert str(need) == "机器设备更新"
    with translation.override("en"):
        assert str(Interest.objects.get(code="payroll")) == "Payroll services"
