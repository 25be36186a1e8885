import pytest
from django.contrib.auth.models import Group

from loansite import roles
from loansite.roles import role_permission_ids

pytestmark = pytest.mark.django_db


def test_data_migration_created_every_role():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLE_PERMISSIONS)


def _perms(name):
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}


def test_auditor_reads_everything_and_changes_nothing():
    perms = _perms(roles.AUDITOR)
    assert "audit.view_auditentry" in perms and "audit.export_auditentry" in perms
    assert "auth.view_user" in perms
    assert not {p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))}


def test_nobody_may_write_audit_entries_even_administrators():
    for name in roles.ROLE_PERMISSIONS:
        assert not {p for p in _perms(name) if p.startswith("audit.") and "view" not in p and "export" not in p}


def test_administrator_manages_users():
    assert {"auth.add_user", "auth.change_user", "auth.change_group"} <= _perms(roles.ADMINISTRATOR)


def test_officer_has_no_audit_access():
    assert not {p for p in _perms(roles.LOAN_OFFICER) if p.startswith("audit.")}


def test_pattern_matching():
    rows = [(1, "loans", "view_loan"), (2, "loans", "approve_loanapplication"), (3, "audit", "add_auditentry")]
    assert role_permission_ids(["loans.view_*"], rows) == {1}
    assert role_permission_ids(["*.*"], rows) == {1, 2}
