from django.db import migrations

TAGS = [
    ("VIP", "#c62828", "Most valuable customers"),
    ("new", "#1e88e5", "In business for a year or less"),
    ("risk-watch", "#f9a825", "Under closer risk monitoring"),
    ("high-growth", "#2e7d32", "Revenue growing fast"),
]
NEEDS = [
    ("working_capital", "Working capital"),
    ("equipment", "Equipment"),
    ("expansion", "Expansion"),
    ("inventory", "Inventory"),
    ("refinancing", "Refinancing"),
]
INTERESTS = [
    ("supply_chain", "Supply-chain finance"),
    ("payroll", "Payroll services"),
    ("merchant_pos", "Merchant POS"),
    ("wealth", "Wealth management"),
    ("insurance", "Insurance"),
]


def create(apps, schema_editor):
    Tag, Need, Interest = (apps.get_model("customers", name) for name in ("Tag", "Need", "Interest"))
    for name, colour, description in TAGS:
        Tag.objects.get_or_create(name=name, defaults={"colour": colour, "description": description})
    for code, name in NEEDS:
        Need.objects.get_or_create(code=code, defaults={"name": name})
    for code, name in INTERESTS:
        Interest.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_profile_tags_managers_assignments")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
