"""Chinese names family name first (杨涛, not 涛 杨), everywhere a user's full name shows."""

import pytest

from loansite.names import person_name


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        ("涛", "杨", "杨涛"),
        ("小明", "欧阳", "欧阳小明"),
        ("Tao", "Yang", "Tao Yang"),
        ("", "杨", "杨"),
        ("Ann", "", "Ann"),
        ("", "", ""),
    ],
)
def test_person_name_order(first, last, shown):
    assert person_name(first, last) == shown


@pytest.mark.django_db
def test_user_full_name_uses_the_order(make_user):
    """Reproduced: a Chinese staff name showed as "涛 杨" (Django's "first last")."""
    assert make_user("yang", first_name="涛", last_name="杨").get_full_name() == "杨涛"
    assert make_user("ann", first_name="Ann", last_name="Lee").get_full_name() == "Ann Lee"


@pytest.mark.django_db
def test_manager_display_name_is_family_name_first(make_user):
    from tests.customers.factories import ManagerFactory

    manager = ManagerFactory(user=make_user("mgr", first_name="涛", last_name="杨"))
    assert str(manager).startswith("杨涛")


def test_the_admin_greets_a_chinese_name_whole_and_others_by_given_name():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    assert User(username="rm", first_name="伟", last_name="刘").get_short_name() == "刘伟"
    assert User(username="tao", first_name="Tao", last_name="Yang").get_short_name() == "Tao"
