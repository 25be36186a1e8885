"""Default haircuts per kind of collateral (administrators change them under Collateral haircuts)."""

from decimal import Decimal

from django.db import migrations

DEFAULT_HAIRCUTS = {
    "real_estate": Decimal("0.3000"),
    "equipment": Decimal("0.5000"),
    "inventory": Decimal("0.6000"),
    "receivables": Decimal("0.4000"),
    "deposit": Decimal("0.0500"),
    "equity": Decimal("0.5000"),
}


def seed(apps, schema_editor):
    CollateralHaircut = apps.get_model("loans", "CollateralHaircut")
    for kind, haircut in DEFAULT_HAIRCUTS.items():
        CollateralHaircut.objects.get_or_create(kind=kind, defaults={"haircut": haircut})


def unseed(apps, schema_editor):
    CollateralHaircut = apps.get_model("loans", "CollateralHaircut")
    CollateralHaircut.objects.filter(kind__in=list(DEFAULT_HAIRCUTS)).delete()


class Migration(migrations.Migration):
    dependencies = [("loans", "0010_servicing")]

    operations = [migrations.RunPython(seed, unseed)]
