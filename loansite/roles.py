"""Roles are Django groups with model permissions; this is their one definition.

Patterns are ``app_label.codename`` with ``*`` wildcards. A data migration creates the
groups; after every migrate, permissions that later migrations added are attached too,
so a role grows with the apps it covers.
"""

from fnmatch import fnmatchcase

from django.utils.translation import gettext_lazy as _

LOAN_OFFICER = "Loan officer"
CREDIT_APPROVER = "Credit approver"
RISK_ANALYST = "Risk analyst"
MODEL_OPS = "Model ops"
AUDITOR = "Auditor"
ADMINISTRATOR = "Administrator"

ROLE_LABELS = {
    LOAN_OFFICER: _("Loan officer"),
    CREDIT_APPROVER: _("Credit approver"),
    RISK_ANALYST: _("Risk analyst"),
    MODEL_OPS: _("Model ops"),
    AUDITOR: _("Auditor"),
    ADMINISTRATOR: _("Administrator"),
}

_VIEW_BUSINESS = ["customers.view_*", "loans.view_*", "risk.view_*", "scoring.view_*"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    LOAN_OFFICER: [
        *_VIEW_BUSINESS,
        # Customers and their labels; credit lines and manager assignment are not theirs.
        "customers.add_customer",
        "customers.change_customer",
        "customers.add_tag",
        "customers.change_tag",
        "customers.import_*",
        "customers.export_*",
        "loans.add_loanapplication",
        "loans.change_loanapplication",
        "loans.submit_loanapplication",
        "loans.import_*",
        "loans.export_*",
        "loans.add_repayment",
    ],
    CREDIT_APPROVER: [
        *_VIEW_BUSINESS,
        "loans.review_loanapplication",
        "loans.approve_loanapplication",
        "loans.export_*",
        # Granting or changing a credit line (授信) is a credit decision.
        "customers.add_creditline",
        "customers.change_creditline",
    ],
    RISK_ANALYST: [
        *_VIEW_BUSINESS,
        "risk.*",
        "customers.change_customer",
        "customers.change_creditline",
        "customers.export_*",
    ],
    MODEL_OPS: [
        *_VIEW_BUSINESS,
        "scoring.*",
        "django_celery_beat.*",
        "django_celery_results.view_*",
    ],
    AUDITOR: [
        "*.view_*",
        "audit.export_auditentry",
        "customers.export_*",
        "loans.export_*",
    ],
    ADMINISTRATOR: ["*.*"],
}

# Never granted by a pattern: the audit trail is append-only for everyone.
_NEVER = ["audit.add_*", "audit.change_*", "audit.delete_*"]


def role_permission_ids(patterns: list[str], permissions) -> set[int]:
    """The ids of ``permissions`` (``(id, app_label, codename)`` rows) matching ``patterns``."""
    chosen = set()
    for perm_id, app_label, codename in permissions:
        name = f"{app_label}.{codename}"
        if any(fnmatchcase(name, never) for never in _NEVER):
            continue
        if any(fnmatchcase(name, pattern) for pattern in patterns):
            chosen.add(perm_id)
    return chosen


def roles_sync(*, group_model, permission_model, exact: bool = False) -> None:
    """Create the role groups and give each the permissions its patterns match.

    With ``exact`` a group's permissions are set to exactly those; otherwise missing
    ones are added and anything an administrator granted by hand is kept.
    """
    rows = list(permission_model.objects.values_list("id", "content_type__app_label", "codename"))
    for name, patterns in ROLE_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=name)
        wanted = role_permission_ids(patterns, rows)
        if exact:
            group.permissions.set(wanted)
        else:
            group.permissions.add(*wanted)


def roles_sync_after_migrate(sender, app_config=None, using="default", apps=None, **kwargs):
    # Run once per migrate, after the last app's permissions exist.
    from django.apps import apps as global_apps

    if app_config is None or app_config.label != list(global_apps.get_app_configs())[-1].label:
        return
    from django.contrib.auth.models import Group, Permission

    roles_sync(group_model=Group, permission_model=Permission)
