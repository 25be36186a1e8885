from django.core.management.base import BaseCommand

from loansite.demo import DemoContext, demo_run


class Command(BaseCommand):
    help = "Generate reproducible demo data (customers, managers, products, applications, ...)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--applications", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=20261123)
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already holds customers."
        )

    def handle(self, *args, **options):
        if options["if_empty"] and _has_business_data():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        ctx = DemoContext(
            seed=options["seed"],
            customers=options["customers"],
            applications=options["applications"],
            log=self.stdout.write,
        )
        demo_run(ctx)
        summary = ", ".join(f"{key}: {len(value)}" for key, value in ctx.made.items() if hasattr(value, "__len__"))
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({summary or 'nothing registered'})."))


def _has_business_data() -> bool:
    from django.apps import apps

    try:
        customer = apps.get_model("customers", "Customer")
    except LookupError:
        return False
    return customer.objects.exists()
