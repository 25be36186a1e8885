"""Benchmarks: optimal manager matching vs a greedy loop; CSV import vs plain bulk insert."""

import csv

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from customers import (
    bench_portal,  # noqa: F401 - registers "customers.portal_home"
    bench_scoping,  # noqa: F401 - registers "customers.scoped_workbench"
    matching,
)
from customers.importing import COLUMN_BY_FIELD, read_file
from customers.models import Assignment, Customer, MatchingRun, RelationshipManager
from customers.services import assignment_run_matching, customer_import
from customers.services.assignments import _customers, _managers
from customers.validators import make_credit_code, make_mobile_phone
from loansite.bench import BenchContext, Figure, Timer, benchmark
from loansite.demo_profiles import CITIES, INDUSTRIES, customer_profiles
from loansite.money import money


def _unique_values(rng, n: int, make) -> list[str]:
    values: set[str] = set()
    while len(values) < n:
        values.add(make(rng))
    return list(values)


def _clear() -> None:
    Assignment.objects.all()._raw_delete(Assignment.objects.db)
    MatchingRun.objects.all()._raw_delete(MatchingRun.objects.db)
    Customer.tags.through.objects.all()._raw_delete(Customer.objects.db)
    Customer.objects.all()._raw_delete(Customer.objects.db)


@transaction.atomic
def _seed_book(rng, n_customers: int, n_managers: int) -> None:
    profiles = customer_profiles(rng, n_customers)
    codes = _unique_values(rng, n_customers, make_credit_code)
    phones = _unique_values(rng, n_customers, make_mobile_phone)
    Customer.objects.bulk_create(
        [
            Customer(
                name=f"Bench {i}",
                credit_code=codes[i],
                phone=phones[i],
                city=row.city,
                city_tier=int(row.city_tier),
                industry=row.industry,
                monthly_revenue=money(row.monthly_revenue),
                monthly_cost=money(row.monthly_cost),
                rating=str(rng.choice(["A", "B", "C", "D", "E"])),
            )
            for i, row in enumerate(profiles.itertuples(index=False))
        ],
        batch_size=2000,
    )
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench-rm{i}", is_staff=True) for i in range(n_managers)]
    )
    industries = [i.code for i in INDUSTRIES]
    cities = [city for city, _tier in CITIES]
    # Total capacity ~10% above the book, so every customer can be placed.
    mean_capacity = 1.1 * n_customers / n_managers
    RelationshipManager.objects.bulk_create(
        [
            RelationshipManager(
                user=user,
                city=cities[int(rng.integers(0, len(cities)))],
                industries=sorted(set(rng.choice(industries, size=int(rng.integers(1, 4)), replace=False).tolist())),
                seniority=int(rng.integers(1, 5)),
                capacity=max(1, int(round(mean_capacity * rng.uniform(0.7, 1.3)))),
            )
            for user in users
        ]
    )


@benchmark(name="customers.matching", order=30)
def bench_matching(ctx: BenchContext) -> list[Figure]:
    n_customers, n_managers = ctx.n(10_000), ctx.n(200, minimum=5)
    rng = np.random.default_rng(20261123)
    _clear()
    _seed_book(rng, n_customers, n_managers)
    ctx.log(f"  matching {n_customers} customers to {n_managers} managers")

    # The pure solvers on the same score matrix.
    rows = list(Customer.objects.order_by("pk").values_list("pk", "industry", "city", "city_tier", "monthly_revenue"))
    managers = _managers(release_all=False)
    customers = _customers(rows, matching.value_bands([float(r[4]) for r in rows]))
    scores = matching.total_score(matching.score_components(customers, managers))
    with Timer() as optimal_time:
        optimal = matching.assign_optimal(scores, managers.free)
    with Timer() as greedy_time:
        greedy = matching.assign_greedy(scores, managers.free)

    with Timer() as service_time:
        run = assignment_run_matching(actor=None)
    label = f"{n_customers:,} customers x {n_managers} managers"
    return [
        Figure(
            f"matching {label}: end to end (read, score, optimal solve, write history)",
            service_time.seconds,
            "s",
            "greedy loop on the same scores (solve only)",
            greedy_time.seconds,
            "≤ 10 s",
        ),
        Figure(
            f"matching {label}: optimal solve only",
            optimal_time.seconds,
            "s",
            "greedy loop on the same scores",
            greedy_time.seconds,
        ),
        Figure(
            f"matching {label}: total match score (optimal)",
            matching.assignment_total(scores, optimal),
            "points",
            "greedy total score",
            matching.assignment_total(scores, greedy),
            f"≥ greedy; {run.assigned:,} assigned",
        ),
    ]


def _write_csv(path, rng, n: int) -> None:
    profiles = customer_profiles(rng, n)
    codes = _unique_values(rng, n, make_credit_code)
    phones = _unique_values(rng, n, make_mobile_phone)
    fields = [
        "name",
        "credit_code",
        "phone",
        "city",
        "industry",
        "years_in_business",
        "employees",
        "monthly_revenue",
        "monthly_cost",
        "monthly_foot_traffic",
        "total_assets",
        "total_liabilities",
    ]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([COLUMN_BY_FIELD[f].chinese for f in fields])  # Chinese headers
        for i, row in enumerate(profiles.itertuples(index=False)):
            assets = "" if np.isnan(row.total_assets) else f"{row.total_assets:.2f}"
            liabilities = "" if np.isnan(row.total_liabilities) else f"{row.total_liabilities:.2f}"
            writer.writerow(
                [
                    f"导入测试{i}有限公司",
                    codes[i],
                    phones[i],
                    row.city,
                    row.industry,
                    row.years_in_business,
                    row.employees,
                    f"{row.monthly_revenue:.2f}",
                    f"{row.monthly_cost:.2f}",
                    row.monthly_foot_traffic,
                    assets,
                    liabilities,
                ]
            )


@benchmark(name="customers.import", order=31)
def bench_import(ctx: BenchContext) -> list[Figure]:
    n = ctx.n(100_000)
    path = ctx.workdir / "customers-import.csv"
    _write_csv(path, np.random.default_rng(7), n)
    _clear()
    ctx.log(f"  importing {n} customers from CSV")
    data = path.read_bytes()

    with Timer() as import_time:
        report = customer_import(parsed=read_file(data, "csv"), actor=None, file_name=path.name)
    assert report.written and report.new == n, report.as_dict()

    parsed_rows = read_file(data, "csv").rows
    _clear()
    with Timer() as plain_time, transaction.atomic():
        Customer.objects.bulk_create(
            [Customer(**{k: v for k, v in row.items() if k != "_row"}) for row in parsed_rows], batch_size=1000
        )
    return [
        Figure(
            f"import {n:,} customers from CSV (Chinese headers; parse, validate, match keys, bulk insert)",
            n / import_time.seconds,
            "rows/s",
            "plain bulk_create of the same parsed rows",
            n / plain_time.seconds,
            "≥ 5,000 rows/s",
        )
    ]
