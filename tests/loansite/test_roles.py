import re

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from loansite import roles
from loansite.roles import role_permission_ids, roles_sync

pytestmark = pytest.mark.django_db

# Listed now, created by a migration of another piece that may land later than this one.
FORTHCOMING = {"loans.verify_identity_loanapplication"}


def _perms(name):
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}


def _declared_permissions() -> set[str]:
    """Every permission the installed models declare (what migrations create)."""
    names = set()
    for model in global_apps.get_models():
        opts = model._meta
        names |= {f"{opts.app_label}.{action}_{opts.model_name}" for action in opts.default_permissions}
        names |= {f"{opts.app_label}.{codename}" for codename, _label in opts.permissions}
    return names


def _holders(permission: str) -> set[str]:
    return {name for name, listed in roles.ROLE_PERMISSIONS.items() if permission in listed}


def test_data_migration_created_every_role():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLE_PERMISSIONS)


def test_every_role_is_an_explicit_list_of_named_permissions():
    for name, listed in roles.ROLE_PERMISSIONS.items():
        assert listed, name
        for permission in listed:
            assert re.fullmatch(r"[a-z_]+\.[a-z_]+", permission), f"{name}: {permission!r} is not app_label.codename"


def test_every_listed_permission_exists():
    installed = {config.label for config in global_apps.get_app_configs()}
    declared = _declared_permissions()
    unknown = {
        permission
        for listed in roles.ROLE_PERMISSIONS.values()
        for permission in listed
        if permission.split(".")[0] in installed and permission not in declared
    }
    assert unknown <= FORTHCOMING, f"listed but no such permission (typo, or a model that does not exist): {unknown}"


def test_groups_hold_exactly_their_lists():
    existing = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    for name, listed in roles.ROLE_PERMISSIONS.items():
        assert _perms(name) == (set(listed) - roles.NEVER) & existing, name


def test_a_new_model_or_app_gives_nobody_anything():
    """The hole: ``*.view_*`` matched every installed table, the JWT token list included."""
    for app_label, model in (("token_blacklist", "newsecret"), ("loans", "newthing"), ("customers", "newthing")):
        content_type = ContentType.objects.create(app_label=app_label, model=model)
        for action in roles.ALL:
            Permission.objects.create(content_type=content_type, codename=f"{action}_{model}", name=action)
    roles_sync(group_model=Group, permission_model=Permission)
    roles_sync(group_model=Group, permission_model=Permission, exact=True)
    for name in roles.ROLE_PERMISSIONS:
        assert not {p for p in _perms(name) if p.endswith(("_newsecret", "_newthing"))}, name


def test_exact_sync_removes_what_a_role_does_not_list_and_plain_sync_keeps_it():
    auditor = Group.objects.get(name=roles.AUDITOR)
    token_view = Permission.objects.get(content_type__app_label="token_blacklist", codename="view_outstandingtoken")
    auditor.permissions.add(token_view)
    roles_sync(group_model=Group, permission_model=Permission)
    assert "token_blacklist.view_outstandingtoken" in _perms(roles.AUDITOR)
    roles_sync(group_model=Group, permission_model=Permission, exact=True)
    assert "token_blacklist.view_outstandingtoken" not in _perms(roles.AUDITOR)


def test_auditor_reads_the_business_and_the_audit_log_and_changes_nothing():
    perms = _perms(roles.AUDITOR)
    assert {"audit.view_auditentry", "audit.export_auditentry", "auth.view_user", "auth.view_group"} <= perms
    assert set(roles.VIEW_BUSINESS) <= perms
    assert not {p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))}


def test_no_role_reaches_tokens_sessions_or_raw_tables():
    for name in roles.ROLE_PERMISSIONS:
        perms = _perms(name)
        assert not {p for p in perms if p.split(".")[0] in ("sessions", "contenttypes", "admin")}, name
        assert not {p for p in perms if p.startswith("auth.") and p.endswith("_permission")}, name
        tokens = {p for p in perms if p.startswith("token_blacklist.")}
        if name == roles.ADMINISTRATOR:
            # The token list shows whose and until when, never the token (see the admin tests).
            assert tokens == {"token_blacklist.view_outstandingtoken", "token_blacklist.view_blacklistedtoken"}
        else:
            assert not tokens, name


def test_nobody_may_write_audit_entries_even_administrators():
    for name in roles.ROLE_PERMISSIONS:
        assert not {p for p in _perms(name) if p.startswith("audit.") and "view" not in p and "export" not in p}
    assert role_permission_ids(["audit.add_auditentry"], [(1, "audit", "add_auditentry")]) == set()


def test_administrator_manages_users():
    assert {"auth.add_user", "auth.change_user", "auth.change_group"} <= _perms(roles.ADMINISTRATOR)


def test_officer_has_no_audit_access():
    assert not {p for p in _perms(roles.LOAN_OFFICER) if p.startswith("audit.")}


@pytest.mark.parametrize(
    ("permission", "holders"),
    [
        ("customers.rate_customer", {roles.RISK_ANALYST, roles.ADMINISTRATOR}),
        ("loans.import_history_loanapplication", {roles.ADMINISTRATOR}),
        ("loans.verify_identity_loanapplication", {roles.LOAN_OFFICER, roles.ADMINISTRATOR}),
        ("django_celery_results.view_taskresult", {roles.MODEL_OPS, roles.AUDITOR}),
        ("django_celery_beat.add_periodictask", {roles.MODEL_OPS, roles.ADMINISTRATOR}),
        ("django_celery_beat.view_periodictask", {roles.MODEL_OPS, roles.AUDITOR, roles.ADMINISTRATOR}),
        ("otp_totp.delete_totpdevice", {roles.ADMINISTRATOR}),
        ("loans.approve_loanapplication", {roles.CREDIT_APPROVER, roles.ADMINISTRATOR}),
        ("scoring.activate_modelversion", {roles.MODEL_OPS, roles.ADMINISTRATOR}),
        # Officers are the relationship managers (README "Roles"): matching and reassignment.
        ("customers.run_matching", {roles.LOAN_OFFICER, roles.ADMINISTRATOR}),
        ("customers.reassign_customer", {roles.LOAN_OFFICER, roles.ADMINISTRATOR}),
    ],
)
def test_who_holds_the_sensitive_permissions(permission, holders):
    assert _holders(permission) == holders


def test_exact_names_only():
    rows = [(1, "loans", "view_loan"), (2, "loans", "approve_loanapplication"), (3, "audit", "add_auditentry")]
    assert role_permission_ids(["loans.view_*"], rows) == set()
    assert role_permission_ids(["loans.view_loan", "audit.add_auditentry"], rows) == {1}
