import datetime
import secrets
import string

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from loansite import roles

# Demo accounts, one per role; the administrator is a superuser.
DEMO_USERS = [
    ("admin", roles.ADMINISTRATOR),
    ("officer", roles.LOAN_OFFICER),
    ("officer2", roles.LOAN_OFFICER),
    ("approver", roles.CREDIT_APPROVER),
    ("approver2", roles.CREDIT_APPROVER),
    ("analyst", roles.RISK_ANALYST),
    ("ops", roles.MODEL_OPS),
    ("auditor", roles.AUDITOR),
    ("collector", roles.COLLECTOR),
]


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


class Command(BaseCommand):
    help = (
        "First-run setup: role groups, demo accounts (passwords random, printed once), "
        "demo data when the database is empty. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-demo-data", action="store_true")
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--applications", type=int, default=2000)

    def handle(self, *args, **options):
        from django.contrib.auth.models import Permission

        roles.roles_sync(group_model=Group, permission_model=Permission)
        created = self._demo_users()
        if created:
            width = max(len(u) for u, _ in created)
            self.stdout.write(self.style.WARNING("Demo accounts (shown once; keep them or reset with changepassword):"))
            for username, password in created:
                self.stdout.write(f"  {username.ljust(width)}  {password}")
        if not options["no_demo_data"]:
            call_command(
                "seed_demo",
                "--if-empty",
                customers=options["customers"],
                applications=options["applications"],
                stdout=self.stdout,
            )
            # The dashboard's daily application sums, with what the demo's scoring changed after its closes.
            from loans.services.application_days import application_days_sum

            application_days_sum(through=timezone.localdate() - datetime.timedelta(days=1))
        # The demo's relationship managers sign in too (their own book, "My book").
        managers = self._manager_passwords()
        if managers:
            width = max(len(u) for u, _ in managers)
            self.stdout.write(
                self.style.WARNING("Relationship managers (loan officers; shown once, reset with changepassword):")
            )
            for username, password in managers:
                self.stdout.write(f"  {username.ljust(width)}  {password}")
        # Customers sign in to the portal (/portal/) with these (or the phone on file).
        from customers.portal.demo import portal_demo_accounts

        portal_accounts = portal_demo_accounts()
        if portal_accounts:
            width = max(len(u) for u, _p, _c in portal_accounts)
            self.stdout.write(
                self.style.WARNING("Customer portal /portal/ (shown once; reset by code on the sign-in page):")
            )
            for username, password, customers in portal_accounts:
                self.stdout.write(f"  {username.ljust(width)}  {password}  ({customers})")

    @transaction.atomic
    def _manager_passwords(self) -> list[tuple[str, str]]:
        """A password for each relationship manager who has none yet (the demo makes them)."""
        from customers.models import RelationshipManager

        created = []
        for manager in RelationshipManager.objects.select_related("user").order_by("user__username"):
            user = manager.user
            if user.has_usable_password() or not user.is_active:
                continue
            password = _password()
            user.set_password(password)
            user.save(update_fields=["password"])
            audit_record(
                action=AuditAction.PASSWORD_CHANGE,
                target=user,
                changes={"username": user.get_username()},
                reason="demo relationship manager's password set by bootstrap",
            )
            created.append((user.get_username(), password))
        return created

    @transaction.atomic
    def _demo_users(self) -> list[tuple[str, str]]:
        User = get_user_model()
        created = []
        for username, role in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            password = _password()
            user = User.objects.create_user(
                username=username,
                password=password,
                is_staff=True,
                is_superuser=(role == roles.ADMINISTRATOR),
                email=f"{username}@bank.example",
            )
            user.groups.add(Group.objects.get(name=role))
            audit_record(
                action=AuditAction.CREATE,
                target=user,
                changes={"username": username, "roles": [role]},
                reason="demo account created by bootstrap",
            )
            created.append((username, password))
        return created
