"""The seed's rules, level thresholds, data sources and data-quality checks (written once)."""

from django.db import migrations

RULES = [
    ("large_amount", "Single amount of 10,000 or more", "amount_threshold", {"min_amount": "10000.00"}, 50, True),
    (
        "velocity_10min",
        "5 or more transactions within 10 minutes",
        "velocity",
        {"count": 5, "window_seconds": 600, "per": "customer", "event_kinds": ["transaction"]},
        30,
        True,
    ),
    ("flagged_device", "Activity on a flagged device", "flagged_device", {}, 20, True),
    (
        "geo_velocity",
        "Another city within an hour",
        "geo_velocity",
        {"window_seconds": 3600, "event_kinds": ["login", "transaction"]},
        40,
        True,
    ),
    (
        "velocity_device",
        "10 or more transactions on one device within 10 minutes",
        "velocity",
        {"count": 10, "window_seconds": 600, "per": "device", "event_kinds": ["transaction"]},
        30,
        False,
    ),
    (
        "velocity_ip",
        "20 or more transactions from one address within 10 minutes",
        "velocity",
        {"count": 20, "window_seconds": 600, "per": "ip", "event_kinds": ["transaction"]},
        30,
        False,
    ),
    ("new_device", "First use of a device by the customer", "new_device", {}, 10, False),
    (
        "watch_list",
        "Customer or counterparty on the watch list",
        "watch_list",
        {"match": ["customer", "counterparty"]},
        60,
        False,
    ),
    (
        "night_time",
        "Activity between 00:00 and 05:00",
        "night_time",
        {"start": "00:00", "end": "05:00", "event_kinds": ["transaction"]},
        10,
        False,
    ),
    ("pd_rise", "PD up by more than 5 points between two scorings", "pd_rise", {"points": 5}, 50, True),
    ("credit_line_use", "Credit line used above 90 %", "credit_line_use", {"percent": 90}, 40, True),
    ("revenue_drop", "Revenue down by more than 30 % between financials", "revenue_drop", {"percent": 30}, 50, True),
    ("loan_overdue", "Loan overdue", "loan_overdue", {}, 40, True),
    ("bucket_worse", "Loan moved to a worse overdue bucket", "bucket_worse", {}, 60, True),
    ("downgrade", "Loan classification downgraded", "downgrade", {}, 80, True),
]
THRESHOLDS = {"medium": 40, "high": 80}
SOURCES = [
    ("api", "API", "POST /api/v1/risk/transactions/ and the batch endpoint", 24),
    ("import", "Import", "CSV / XLSX files imported in the admin", 24 * 7),
    ("demo", "Demo generator", "manage.py seed_demo", 24 * 365),
    ("system", "This system", "staff logins and early warnings", 24),
]
CHECKS = [
    ("customers_complete", "Customers: city, industry and phone filled in", "completeness", "customers", {}),
    (
        "customers_valid",
        "Customers: revenue and cost not negative, cost not above 10x revenue",
        "validity",
        "customers",
        {},
    ),
    ("customers_duplicates", "Customers: no two with the same name and city", "duplicates", "customers", {}),
    ("transactions_complete", "Transactions: amount, time and customer present", "completeness", "transactions", {}),
    (
        "transactions_valid",
        "Transactions: positive amounts, known currency, not in the future",
        "validity",
        "transactions",
        {"currencies": ["CNY", "USD", "EUR", "HKD"]},
    ),
    (
        "transactions_duplicates",
        "Transactions: no repeated (customer, amount, counterparty, second)",
        "duplicates",
        "transactions",
        {},
    ),
    (
        "transactions_fresh",
        "Transactions: every active source delivered within its expected interval",
        "freshness",
        "transactions",
        {},
    ),
    (
        "transactions_drift",
        "Transactions: mean amount of the last day within 3x of the previous 30 days",
        "drift",
        "transactions",
        {"factor": 3},
    ),
    ("imports_failed", "Imports: no failed import jobs in the last 7 days", "validity", "imports", {"days": 7}),
]


def create(apps, schema_editor):
    RiskRule = apps.get_model("risk", "RiskRule")
    RiskRuleVersion = apps.get_model("risk", "RiskRuleVersion")
    LevelThreshold = apps.get_model("risk", "LevelThreshold")
    DataSource = apps.get_model("risk", "DataSource")
    DataQualityCheck = apps.get_model("risk", "DataQualityCheck")
    for code, name, kind, params, points, enabled in RULES:
        rule, created = RiskRule.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "params": params, "points": points, "enabled": enabled}
        )
        if created:
            RiskRuleVersion.objects.create(
                rule=rule, version=1, kind=kind, params=params, points=points, enabled=enabled, reason="default"
            )
    for level, min_score in THRESHOLDS.items():
        LevelThreshold.objects.get_or_create(level=level, defaults={"min_score": min_score})
    for code, name, description, hours in SOURCES:
        DataSource.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "expected_every_hours": hours}
        )
    for code, name, kind, dataset, params in CHECKS:
        DataQualityCheck.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "dataset": dataset, "params": params}
        )


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
