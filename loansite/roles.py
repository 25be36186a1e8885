"""Roles are Django groups with model permissions; this is their one definition.

Each role is an explicit allow-list of ``app_label.codename`` permissions: named models and
named actions, never a pattern over whatever happens to be installed (``*.view_*`` once
matched the JWT token tables and let an auditor read a superuser's refresh token). A new
model or app therefore gives nobody anything until it is listed here, and the permission
matrix in the README (``manage.py roles_matrix``, checked by a test) shows what each role
can do.

A data migration creates the groups and sets each to exactly its list (``exact=True``);
after every ``migrate`` the listed permissions that later migrations created are added
(permissions an administrator granted by hand stay until the next exact resync).
Permissions of apps that are not installed, or not migrated yet, are skipped.
"""

import logging

from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("loansite.roles")

LOAN_OFFICER = "Loan officer"
CREDIT_APPROVER = "Credit approver"
RISK_ANALYST = "Risk analyst"
MODEL_OPS = "Model ops"
AUDITOR = "Auditor"
ADMINISTRATOR = "Administrator"
COLLECTOR = "Collector"

ROLE_LABELS = {
    LOAN_OFFICER: _("Loan officer"),
    CREDIT_APPROVER: _("Credit approver"),
    RISK_ANALYST: _("Risk analyst"),
    MODEL_OPS: _("Model ops"),
    AUDITOR: _("Auditor"),
    ADMINISTRATOR: _("Administrator"),
    COLLECTOR: _("Collector"),
}

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
ALL = (VIEW, ADD, CHANGE, DELETE)


def model_perms(model: str, *actions: str) -> list[str]:
    """``model_perms("customers.customer", "view", "add")`` -> ``["customers.view_customer", ...]``."""
    app_label, model_name = model.split(".")
    return [f"{app_label}.{action}_{model_name}" for action in actions]


# The daily close (delinquency): its runs, thresholds, rates and settings, the per-day loan
# snapshots, classification history, reminders sent and delinquency signals.
DELINQUENCY_VIEW = [
    *model_perms("loans.dayclose", VIEW),
    *model_perms("loans.classificationthreshold", VIEW),
    *model_perms("loans.provisionrate", VIEW),
    *model_perms("loans.closesettings", VIEW),
    *model_perms("loans.loandaysnapshot", VIEW),
    *model_perms("loans.classificationchange", VIEW),
    *model_perms("loans.reminder", VIEW),
    *model_perms("loans.delinquencysignal", VIEW),
]
# Who sets the classification thresholds, provision rates and the close's settings.
DELINQUENCY_CONFIG = [
    *model_perms("loans.classificationthreshold", CHANGE),
    *model_perms("loans.provisionrate", CHANGE),
    *model_perms("loans.closesettings", CHANGE),
]

# Collections (催收): the cases, their assignments, contacts, promises, legal cases, write-offs
# and recoveries.
COLLECTIONS_VIEW = [
    *model_perms("loans.collectioncase", VIEW),
    *model_perms("loans.collectionassignment", VIEW),
    *model_perms("loans.collectioncontact", VIEW),
    *model_perms("loans.promisetopay", VIEW),
    *model_perms("loans.legalcase", VIEW),
    *model_perms("loans.legalcaseevent", VIEW),
    *model_perms("loans.writeoff", VIEW),
    *model_perms("loans.recovery", VIEW),
    *model_perms("loans.delinquentloan", VIEW),
]

# What every business role reads: the customer book, the loan book and the scoring registry.
# Never users, tokens, sessions, task payloads or the audit trail.
VIEW_BUSINESS = [
    *model_perms("customers.customer", VIEW),
    *model_perms("customers.tag", VIEW),
    *model_perms("customers.need", VIEW),
    *model_perms("customers.interest", VIEW),
    # Reference data: cities with their tiers, industries and their GB/T 4754 sections.
    *model_perms("customers.city", VIEW),
    *model_perms("customers.industry", VIEW),
    *model_perms("customers.industrysection", VIEW),
    *model_perms("customers.creditline", VIEW),
    *model_perms("customers.relationshipmanager", VIEW),
    *model_perms("customers.assignment", VIEW),
    *model_perms("customers.matchingrun", VIEW),
    *model_perms("customers.importjob", VIEW),
    *model_perms("loans.loanproduct", VIEW),
    *model_perms("loans.loanapplication", VIEW),
    *model_perms("loans.approvalauthority", VIEW),
    *model_perms("loans.approvaldecision", VIEW),
    # Servicing: loans, their schedules, ledgers, disbursements, repayments and security.
    *model_perms("loans.loan", VIEW),
    *model_perms("loans.installment", VIEW),
    *model_perms("loans.scheduleversion", VIEW),
    *model_perms("loans.ledgerentry", VIEW),
    *model_perms("loans.disbursement", VIEW),
    *model_perms("loans.repayment", VIEW),
    *model_perms("loans.collateral", VIEW),
    *model_perms("loans.guarantee", VIEW),
    *model_perms("loans.collateralhaircut", VIEW),
    *COLLECTIONS_VIEW,
    *DELINQUENCY_VIEW,
    *model_perms("scoring.modelversion", VIEW),
    *model_perms("scoring.trainingrun", VIEW),
    *model_perms("scoring.scoringrun", VIEW),
    *model_perms("scoring.score", VIEW),
    *model_perms("scoring.loanoutcome", VIEW),
    # Decisioning: the expert scorecard, policy rules and decision policies, automated
    # decisions and the customers' rating history.
    *model_perms("scoring.expertscorecard", VIEW),
    *model_perms("scoring.expertweight", VIEW),
    *model_perms("scoring.expertband", VIEW),
    *model_perms("scoring.expertlevel", VIEW),
    *model_perms("scoring.policyrule", VIEW),
    *model_perms("scoring.decisionpolicy", VIEW),
    *model_perms("loans.automateddecision", VIEW),
    *model_perms("customers.customerrating", VIEW),
]

# Who configures decisioning (risk analysts, administrators): the expert scorecard with its
# weights, bands and levels, the knock-out rules and the per-product decision policies.
DECISIONING_CONFIG = [
    *model_perms("scoring.expertscorecard", ADD, CHANGE),
    *model_perms("scoring.expertweight", ADD, CHANGE, DELETE),
    *model_perms("scoring.expertband", ADD, CHANGE, DELETE),
    *model_perms("scoring.expertlevel", ADD, CHANGE, DELETE),
    *model_perms("scoring.policyrule", ADD, CHANGE),
    *model_perms("scoring.decisionpolicy", ADD, CHANGE),
]
# Approvers check sampled automated decisions and reopen them; they approve rating upgrades
# of more than one notch that someone else asked for.
DECISIONING_APPROVER = ["loans.review_automateddecision", "customers.approve_customerrating"]
DECISIONING_VIEWS = frozenset(
    {
        "view_expertscorecard",
        "view_expertweight",
        "view_expertband",
        "view_expertlevel",
        "view_policyrule",
        "view_decisionpolicy",
        "view_automateddecision",
        "view_customerrating",
    }
)

# Servicing (maker-checker): officers prepare disbursements and post repayments; approvers
# authorise disbursements, reverse repayments, restructure loans and release security.
SERVICING_OFFICER = [
    "loans.prepare_disbursement",
    "loans.post_repayment",
    "loans.import_repayment",
    "loans.export_repayment",
    "loans.export_loan",
    *model_perms("loans.collateral", ADD, CHANGE),
    *model_perms("loans.guarantee", ADD, CHANGE),
]
SERVICING_APPROVER = [
    "loans.authorise_disbursement",
    "loans.reverse_repayment",
    "loans.restructure_loan",
    "loans.refund_credit_loan",
    "loans.release_collateral",
    "loans.export_repayment",
    "loans.export_loan",
]

# The risk app: what the risk analyst owns and what other roles read.
RISK_READ = [
    *model_perms("risk.riskevent", VIEW),
    *model_perms("risk.riskevententry", VIEW),
    *model_perms("risk.alert", VIEW),
    *model_perms("risk.alertaction", VIEW),
    *model_perms("risk.riskrule", VIEW),
    *model_perms("risk.levelthreshold", VIEW),
]
RISK_VIEW_ALL = [
    *RISK_READ,
    *model_perms("risk.transaction", VIEW),
    *model_perms("risk.loginevent", VIEW),
    *model_perms("risk.device", VIEW),
    *model_perms("risk.riskruleversion", VIEW),
    *model_perms("risk.watchlistentry", VIEW),
    *model_perms("risk.customerrestriction", VIEW),
    *model_perms("risk.iprange", VIEW),
    *model_perms("risk.datasource", VIEW),
    *model_perms("risk.dataqualitycheck", VIEW),
    *model_perms("risk.dataqualityresult", VIEW),
]
RISK_ANALYST_OWN = [
    *RISK_VIEW_ALL,
    # Inputs: by API, batch and import (the feeding system's account gets these too).
    *model_perms("risk.transaction", ADD),
    "risk.import_transaction",
    *model_perms("risk.loginevent", ADD),
    # Rules (versioned, never deleted) and the level thresholds.
    *model_perms("risk.riskrule", ADD, CHANGE),
    *model_perms("risk.levelthreshold", CHANGE),
    # Events and alerts: handling (assign, note, escalate, resolve) and actions on customers.
    "risk.handle_riskevent",
    "risk.handle_alert",
    *model_perms("risk.device", CHANGE),
    "risk.flag_device",
    *model_perms("risk.watchlistentry", ADD, CHANGE),
    *model_perms("risk.customerrestriction", ADD, CHANGE),
    # Data management: IP ranges (cities), sources and quality checks.
    *model_perms("risk.iprange", ADD, CHANGE, DELETE),
    *model_perms("risk.datasource", CHANGE),
    *model_perms("risk.dataqualitycheck", ADD, CHANGE),
]

# Row-level scoping (loansite/scoping.py): loan officers see their own book (their customers,
# customers without a manager yet and what a supervisor granted them); these roles see every
# customer. Full ID and phone numbers only to roles that work with them (masked for the rest).
SEE_ALL_CUSTOMERS = ["customers.view_all_customers"]
IDENTIFIERS_FULL = ["customers.view_identifiers"]
# Supervisors (credit approvers, administrators) grant an officer another manager's customer.
ACCESS_GRANTS = [*model_perms("customers.customeraccessgrant", VIEW, ADD), "customers.revoke_customeraccessgrant"]

# The reports page (loansite/dashboard/reports*.py): officers see their own book there; the
# monthly report files are for the roles that read the whole book; administrators generate one now.
REPORTS_VIEW = ["loansite.view_reports"]
REPORT_FILES_VIEW = ["loansite.view_reports", *model_perms("loansite.reportfile", VIEW)]

# Documents (资料) of customers, applications and loans: downloads are audited and scoped like
# the customer; officers and approvers upload and ask for what an application still needs.
DOCUMENTS_READ = [*model_perms("loans.document", VIEW), *model_perms("loans.documentrequest", VIEW)]
DOCUMENTS_WORK = [
    *DOCUMENTS_READ,
    *model_perms("loans.document", ADD),
    *model_perms("loans.documentrequest", ADD, CHANGE),
]

# The customer portal (customers/portal/): administrators unlock and deactivate portal accounts;
# officers approve or reject the profile change requests of their customers.
PORTAL_ACCOUNTS_ADMIN = [*model_perms("customers.portalaccount", VIEW), "customers.unlock_portalaccount"]
PORTAL_CHANGE_REQUESTS = [*model_perms("customers.portalchangerequest", VIEW), "customers.decide_portalchangerequest"]

# Celery beat: the periodic tasks and the two schedule kinds the back office uses.
SCHEDULES = [
    *model_perms("django_celery_beat.periodictask", *ALL),
    *model_perms("django_celery_beat.crontabschedule", *ALL),
    *model_perms("django_celery_beat.intervalschedule", *ALL),
]
SCHEDULES_VIEW = [perm for perm in SCHEDULES if ".view_" in perm]
# Task results (the admin shows status and timing only, never arguments or results).
TASK_RESULTS_VIEW = [
    *model_perms("django_celery_results.taskresult", VIEW),
    *model_perms("django_celery_results.groupresult", VIEW),
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    LOAN_OFFICER: [
        *VIEW_BUSINESS,
        *DOCUMENTS_WORK,
        # Customers and their labels; credit lines and ratings are not theirs.
        *model_perms("customers.customer", ADD, CHANGE),
        "customers.import_customer",
        "customers.export_customer",
        *model_perms("customers.tag", ADD, CHANGE),
        # Officers are the relationship managers (README "Roles"): they run manager matching
        # and reassign customers (with a reason, audited).
        "customers.run_matching",
        "customers.reassign_customer",
        *model_perms("loans.loanapplication", ADD, CHANGE),
        "loans.submit_loanapplication",
        "loans.import_loanapplication",
        "loans.export_loanapplication",
        # Public applications that named an existing customer wait for an officer's check.
        "loans.verify_identity_loanapplication",
        *SERVICING_OFFICER,
        # Officers collect too: contacts and promises on the overdue loans assigned to them.
        "loans.work_collectioncase",
        "loans.post_recovery",
        *REPORTS_VIEW,
        # Their own book (loansite/scoping.py), with the identifiers of their customers.
        *IDENTIFIERS_FULL,
        *PORTAL_CHANGE_REQUESTS,
    ],
    CREDIT_APPROVER: [
        *VIEW_BUSINESS,
        *DOCUMENTS_WORK,
        *SEE_ALL_CUSTOMERS,
        *IDENTIFIERS_FULL,
        *ACCESS_GRANTS,
        # The risk events and alerts behind the workbench's flags.
        *RISK_READ,
        "loans.review_loanapplication",
        "loans.approve_loanapplication",
        "loans.export_loanapplication",
        *DECISIONING_APPROVER,
        # Granting or changing a credit line (授信) is a credit decision.
        *model_perms("customers.creditline", ADD, CHANGE),
        *SERVICING_APPROVER,
        # Upgrading a loan's classification (asked for by a risk analyst).
        "loans.approve_classificationchange",
        # Write-off (核销) and legal escalation (诉讼) are credit decisions.
        "loans.write_off_loan",
        "loans.escalate_legalcase",
        *REPORT_FILES_VIEW,
    ],
    RISK_ANALYST: [
        *VIEW_BUSINESS,
        *DOCUMENTS_READ,
        *SEE_ALL_CUSTOMERS,
        *model_perms("customers.customer", CHANGE),
        "customers.rate_customer",
        "customers.export_customer",
        *DECISIONING_CONFIG,
        *model_perms("customers.creditline", CHANGE),
        *RISK_ANALYST_OWN,
        # Collections: the queue is theirs to assign to collectors.
        "loans.assign_collectioncase",
        # Classification: thresholds, provision rates, the close's settings; downgrades and upgrade requests.
        *DELINQUENCY_CONFIG,
        "loans.downgrade_classificationchange",
        *REPORT_FILES_VIEW,
    ],
    MODEL_OPS: [
        *VIEW_BUSINESS,
        *SEE_ALL_CUSTOMERS,
        "scoring.train_model",
        "scoring.activate_modelversion",
        *model_perms("scoring.loanoutcome", ADD, CHANGE, DELETE),
        *SCHEDULES,
        *TASK_RESULTS_VIEW,
    ],
    # The collections desk: the loan book it collects and its own cases; contacts and promises on
    # the loans assigned to them (the service checks the assignment).
    COLLECTOR: [
        *model_perms("customers.customer", VIEW),
        # Collectors call and identify debtors: the whole book, identifiers in full.
        *SEE_ALL_CUSTOMERS,
        *IDENTIFIERS_FULL,
        *model_perms("loans.loanproduct", VIEW),
        *model_perms("loans.loan", VIEW),
        *model_perms("loans.installment", VIEW),
        *model_perms("loans.scheduleversion", VIEW),
        *model_perms("loans.ledgerentry", VIEW),
        *model_perms("loans.repayment", VIEW),
        *model_perms("loans.collateral", VIEW),
        *model_perms("loans.guarantee", VIEW),
        *COLLECTIONS_VIEW,
        "loans.work_collectioncase",
    ],
    AUDITOR: [
        *VIEW_BUSINESS,
        *DOCUMENTS_READ,
        *SEE_ALL_CUSTOMERS,
        *model_perms("customers.customeraccessgrant", VIEW),
        *model_perms("customers.portalaccount", VIEW),
        *model_perms("customers.portalchangerequest", VIEW),
        *model_perms("audit.auditentry", VIEW),
        "audit.export_auditentry",
        "customers.export_customer",
        "loans.export_loanapplication",
        "loans.export_loan",
        "loans.export_repayment",
        # Who has which role, and the sign-in attempts (the admin hides the request data).
        *model_perms("auth.user", VIEW),
        *model_perms("auth.group", VIEW),
        *model_perms("axes.accessattempt", VIEW),
        *model_perms("axes.accesslog", VIEW),
        *model_perms("axes.accessfailurelog", VIEW),
        *SCHEDULES_VIEW,
        *TASK_RESULTS_VIEW,
        *RISK_VIEW_ALL,
        *REPORT_FILES_VIEW,
    ],
    # Named too, not "everything installed": a new app (a token table, a key store) must be
    # granted on purpose. Users and groups, the whole business, schedules, unlocking sign-ins,
    # the sessions list of API tokens (never the token text) and two-factor device resets.
    ADMINISTRATOR: [
        *model_perms("auth.user", *ALL),
        *model_perms("auth.group", *ALL),
        *DOCUMENTS_WORK,
        *model_perms("customers.customer", *ALL),
        "customers.import_customer",
        *SEE_ALL_CUSTOMERS,
        *IDENTIFIERS_FULL,
        *ACCESS_GRANTS,
        *PORTAL_ACCOUNTS_ADMIN,
        *PORTAL_CHANGE_REQUESTS,
        "customers.export_customer",
        "customers.rate_customer",
        *model_perms("customers.tag", *ALL),
        *model_perms("customers.need", *ALL),
        *model_perms("customers.interest", *ALL),
        # Reference data is switched off, never deleted (customers keep their values).
        *model_perms("customers.city", VIEW, ADD, CHANGE),
        *model_perms("customers.industry", VIEW, ADD, CHANGE),
        *model_perms("customers.industrysection", VIEW, ADD, CHANGE),
        *model_perms("customers.creditline", *ALL),
        *model_perms("customers.relationshipmanager", *ALL),
        "customers.run_matching",
        *model_perms("customers.assignment", VIEW),
        "customers.reassign_customer",
        *model_perms("customers.matchingrun", VIEW),
        *model_perms("customers.importjob", VIEW),
        *model_perms("loans.loanproduct", *ALL),
        *model_perms("loans.loanapplication", *ALL),
        "loans.submit_loanapplication",
        "loans.review_loanapplication",
        "loans.approve_loanapplication",
        "loans.import_loanapplication",
        "loans.export_loanapplication",
        "loans.import_history_loanapplication",
        "loans.verify_identity_loanapplication",
        *model_perms("loans.approvalauthority", *ALL),
        # Decisioning: what analysts configure and approvers decide, and the rating history.
        *[perm for perm in VIEW_BUSINESS if perm.split(".")[1] in DECISIONING_VIEWS],
        *DECISIONING_CONFIG,
        *DECISIONING_APPROVER,
        *model_perms("loans.approvaldecision", VIEW),
        *[perm for perm in VIEW_BUSINESS if perm.startswith("loans.")],
        *SERVICING_OFFICER,
        *SERVICING_APPROVER,
        *model_perms("loans.collateralhaircut", ADD, CHANGE, DELETE),
        "loans.assign_collectioncase",
        "loans.work_collectioncase",
        "loans.escalate_legalcase",
        "loans.write_off_loan",
        "loans.post_recovery",
        *DELINQUENCY_CONFIG,
        "loans.run_dayclose",
        *model_perms("scoring.modelversion", VIEW),
        "scoring.train_model",
        "scoring.activate_modelversion",
        *model_perms("scoring.trainingrun", VIEW),
        *model_perms("scoring.scoringrun", VIEW),
        *model_perms("scoring.score", VIEW),
        *model_perms("scoring.loanoutcome", *ALL),
        *model_perms("audit.auditentry", VIEW),
        "audit.export_auditentry",
        *SCHEDULES,
        *model_perms("axes.accessattempt", VIEW, DELETE),
        *model_perms("axes.accesslog", VIEW),
        *model_perms("axes.accessfailurelog", VIEW),
        *model_perms("token_blacklist.outstandingtoken", VIEW),
        *model_perms("token_blacklist.blacklistedtoken", VIEW),
        *model_perms("otp_totp.totpdevice", VIEW, DELETE),
        *model_perms("otp_static.staticdevice", VIEW, DELETE),
        # Risk: read everything; configure IP ranges and data sources.
        *RISK_VIEW_ALL,
        *model_perms("risk.iprange", ADD, CHANGE, DELETE),
        *model_perms("risk.datasource", CHANGE),
        *REPORT_FILES_VIEW,
        "loansite.generate_reportfile",
    ],
}

# Refused even if listed: the audit trail is append-only for everyone.
NEVER = frozenset({"audit.add_auditentry", "audit.change_auditentry", "audit.delete_auditentry"})


def role_permission_ids(names, permissions) -> set[int]:
    """The ids of ``permissions`` (``(id, app_label, codename)`` rows) named in ``names``."""
    wanted = set(names) - NEVER
    return {perm_id for perm_id, app_label, codename in permissions if f"{app_label}.{codename}" in wanted}


def roles_sync(*, group_model, permission_model, exact: bool = False) -> None:
    """Create the role groups and give each the permissions it lists.

    With ``exact`` a group's permissions are set to exactly those (anything else, including
    what an administrator granted by hand, is removed); otherwise missing ones are added.
    """
    # The roles are defined (and reviewed) here; what a sync changes goes to the log, not to
    # one audit entry per group at every migrate (the account services audit people's changes).
    from loansite.accounts import privileges_recorded_here

    rows = list(permission_model.objects.values_list("id", "content_type__app_label", "codename"))
    names_by_id = {perm_id: f"{app_label}.{codename}" for perm_id, app_label, codename in rows}
    for name, names in ROLE_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=name)
        wanted = role_permission_ids(names, rows)
        held = set(group.permissions.values_list("id", flat=True))
        added, removed = wanted - held, (held - wanted) if exact else set()
        with privileges_recorded_here():
            if exact:
                group.permissions.set(wanted)
            else:
                group.permissions.add(*wanted)
        if added or removed:
            logger.info("role %s: %d permissions added, %d removed", name, len(added), len(removed))
            logger.debug(
                "role %s: added %s, removed %s",
                name,
                sorted(names_by_id[i] for i in added),
                sorted(names_by_id.get(i, str(i)) for i in removed),
            )


def roles_sync_after_migrate(sender, app_config=None, using="default", apps=None, **kwargs):
    # Run once per migrate, after the last app's permissions exist.
    from django.apps import apps as global_apps

    if app_config is None or app_config.label != list(global_apps.get_app_configs())[-1].label:
        return
    from django.contrib.auth.models import Group, Permission

    roles_sync(group_model=Group, permission_model=Permission)
