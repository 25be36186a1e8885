"""The README's permission matrix is what the running system allows, for every role, every
registered admin model and every API operation. A new model, app or endpoint that widens a role
(or a role that drifts from its definition) fails here until the README is regenerated with
``manage.py roles_matrix`` and reviewed."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.management import call_command
from django.db import transaction
from rest_framework.test import APIClient

from loansite import roles
from loansite.roles_matrix import (
    ANONYMOUS,
    COLUMNS,
    STAFF_NO_ROLE,
    SUPERUSER,
    RoleStandIn,
    admin_access,
    admin_matrix,
    api_matrix,
    api_operations,
    defined_principals,
    matrix_markdown,
)

pytestmark = pytest.mark.django_db


def _readme_section() -> str:
    text = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    start = text.index("## Permission matrix\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)].rstrip("\n") + "\n"


@pytest.fixture
def real_principals(db):
    """Real accounts: one in each role group (as migrated), a superuser, staff without a role."""
    principals = {}
    for name in roles.ROLE_PERMISSIONS:
        user = User.objects.create_user(username=f"matrix-{name}", password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=name))
        principals[name] = User.objects.get(pk=user.pk)
    principals[SUPERUSER] = User.objects.create_user(
        username="matrix-root", password="x", is_staff=True, is_superuser=True
    )
    principals[STAFF_NO_ROLE] = User.objects.create_user(username="matrix-staff", password="x", is_staff=True)
    principals[ANONYMOUS] = AnonymousUser()
    return principals


def test_the_readme_matrix_is_what_the_role_definitions_give():
    out = StringIO()
    call_command("roles_matrix", stdout=out)
    assert out.getvalue() == matrix_markdown()
    assert _readme_section() == out.getvalue(), (
        "README.md's 'Permission matrix' is out of date: review the change and regenerate it with "
        "`manage.py roles_matrix`"
    )


def test_the_admin_gives_real_accounts_exactly_the_matrix(real_principals):
    actual = admin_matrix(real_principals)
    assert set(actual) == {model._meta.label_lower for model in admin.site._registry}
    assert actual == admin_matrix(defined_principals())


def test_the_api_answers_real_accounts_exactly_as_the_matrix_says(real_principals):
    """Each operation is called for real (empty body, a row id that does not exist), inside a
    transaction that is rolled back; 401/403 means refused, anything else means allowed."""
    expected = api_matrix(defined_principals())
    actual = {}
    for operation in api_operations():
        row = actual.setdefault(operation.label, {})
        for column in COLUMNS:
            api = APIClient()
            if column != ANONYMOUS:
                api.force_authenticate(real_principals[column])
            with transaction.atomic():
                response = getattr(api, operation.method)(operation.url, {}, format="json")
                transaction.set_rollback(True)
            assert response.status_code < 500, (operation.label, column, response.status_code)
            row[column] = response.status_code not in (401, 403)
    assert actual == expected


def test_no_admin_lets_view_alone_export_or_add_alone_import():
    """django-import-export's defaults let anyone who may view export the whole table, and anyone
    who may add import into it; every admin that can export or import asks for its own permission."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        for action, method in (("view", "has_export_permission"), ("add", "has_import_permission")):
            if not hasattr(model_admin, method):
                continue
            user = RoleStandIn("probe", frozenset({f"{opts.app_label}.{action}_{opts.model_name}"}))
            letter = "E" if action == "view" else "I"
            assert letter not in admin_access(model_admin, user), f"{opts.label}: {action} alone allows {method}"


def test_a_new_admin_model_shows_up_in_the_matrix():
    """The matrix is taken from the registry, so a newly registered model cannot hide."""
    from django.contrib.admin import ModelAdmin
    from django.contrib.sessions.models import Session

    admin.site.register(Session, ModelAdmin)
    try:
        matrix = admin_matrix(defined_principals())
        assert matrix["sessions.session"][SUPERUSER] == "VACD"
        assert "sessions.session" not in _readme_section()
    finally:
        admin.site.unregister(Session)


def test_no_admin_action_is_offered_to_someone_who_may_only_view():
    """An admin action without ``permissions=`` is offered to everyone who can open the list (an
    auditor could run or switch off periodic tasks); every action names the permission it needs."""
    from django.test import RequestFactory

    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        request = RequestFactory().get("/admin/")
        request.user = RoleStandIn("viewer", frozenset({f"{opts.app_label}.view_{opts.model_name}"}))
        assert not model_admin.get_actions(request), (
            f"{opts.label}: a viewer is offered {list(model_admin.get_actions(request))}"
        )
