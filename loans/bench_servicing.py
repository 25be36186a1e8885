"""Benchmarks of servicing, each next to a baseline measured in the same run.

- Disbursement of 10,000 approved applications by the batch service (checks, schedules,
  loans, installments, schedule versions, ledger entries, audit entries) vs plain bulk inserts
  of the same loans and installments.
- A bank statement of 100,000 repayments imported end to end (CSV parsed, every row checked,
  allocated and posted with its ledger entries, allocations, audit entries and credit-line
  moves) vs plain bulk inserts of the same repayment rows.
- The loan list and a loan's page with 1,000,000 loans (admin, a loan officer's session) vs the
  queryset fetch of the same rows; query counts at two page sizes and two schedule lengths.

Registered through ``loans/benchmarks.py``.
"""

import csv
import datetime
import io
import statistics
import uuid
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from customers.models import Customer
from customers.validators import make_credit_code, make_mobile_phone
from loans import schedules
from loans.models import (
    ApprovalAuthority,
    Disbursement,
    Installment,
    LedgerEntry,
    Loan,
    LoanApplication,
    LoanProduct,
    Repayment,
    RepaymentAllocation,
    ScheduleVersion,
)
from loansite.bench import BenchContext, Figure, Timer, benchmark
from loansite.roles import CREDIT_APPROVER, LOAN_OFFICER

PREFIX = "bench-sv-"
S = LoanApplication.Status
DISBURSED_ON = datetime.date(2024, 3, 1)


def _product() -> LoanProduct:
    product, _created = LoanProduct.objects.get_or_create(
        code="BENCH-SV",
        defaults={
            "name": "Bench servicing",
            "min_amount": Decimal("1000"),
            "max_amount": Decimal("3000000"),
            "min_term_months": 1,
            "max_term_months": 60,
            "annual_rate_min": Decimal("0.03"),
            "annual_rate_max": Decimal("0.18"),
            "repayment_methods": ["equal_installment", "equal_principal", "interest_only", "bullet"],
            "day_count": "30/360",
        },
    )
    return product


def _user(name: str, role: str):
    user, _created = get_user_model().objects.get_or_create(username=PREFIX + name, defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=role))
    if role == CREDIT_APPROVER:
        ApprovalAuthority.objects.update_or_create(user=user, defaults={"limit": Decimal("10000000")})
    return get_user_model().objects.get(pk=user.pk)  # fresh permission caches


def _unique(rng, n, make) -> list[str]:
    values: set[str] = set()
    while len(values) < n:
        values.add(make(rng))
    return list(values)


def _customers(n: int, rng) -> list[int]:
    codes = _unique(rng, n, make_credit_code)
    phones = _unique(rng, n, make_mobile_phone)
    customers = [
        Customer(
            name=f"{PREFIX}customer {i}",
            credit_code=codes[i],
            phone=phones[i],
            city="Hangzhou",
            city_tier=2,
            industry="retail",
            monthly_revenue=Decimal("100000"),
            monthly_cost=Decimal("80000"),
        )
        for i in range(n)
    ]
    with transaction.atomic():
        Customer.objects.bulk_create(customers, batch_size=2000)
    return [c.pk for c in customers]


def _approved(n: int, rng, *, product, tag: str) -> list[LoanApplication]:
    """``n`` applications approved on decided terms (written directly: the set-up, not measured)."""
    customer_ids = _customers(max(50, n // 5), rng)
    decided = timezone.make_aware(datetime.datetime.combine(DISBURSED_ON, datetime.time(9)))
    methods = ["equal_installment"] * 6 + ["equal_principal"] * 3 + ["interest_only"]
    apps = []
    for i in range(n):
        amount = Decimal(int(rng.integers(10, 500)) * 1000)
        method = methods[i % len(methods)]
        apps.append(
            LoanApplication(
                reference=f"LA-{tag}-{i:07d}",
                customer_id=customer_ids[int(rng.integers(0, len(customer_ids)))],
                product=product,
                amount=amount,
                term_months=12,
                purpose="working_capital",
                repayment_method=method,
                status=S.APPROVED,
                review_round=1,
                decided_at=decided,
                approved_amount=amount,
                approved_term_months=12,
                approved_annual_rate=Decimal(int(rng.integers(40, 150))) / 1000,
                approved_method=method,
            )
        )
    with transaction.atomic():
        LoanApplication.objects.bulk_create(apps, batch_size=2000)
    return apps


def _prepared(apps, officer) -> list[int]:
    rows = [
        Disbursement(
            application=app,
            amount=app.approved_amount,
            contract_number=f"HT-{app.reference[3:]}",
            account="6222 0000 0000",
            value_date=DISBURSED_ON + datetime.timedelta(days=i % 28),
            idempotency_key=uuid.uuid4().hex,
            prepared_by=officer,
        )
        for i, app in enumerate(apps)
    ]
    with transaction.atomic():
        Disbursement.objects.bulk_create(rows, batch_size=2000)
    return [d.pk for d in rows]


def _clear() -> None:
    """Remove this module's rows (children first: the ledger protects its loans)."""
    loans = Loan.objects.filter(customer__name__startswith=PREFIX).values("pk")
    apps = LoanApplication.objects.filter(customer__name__startswith=PREFIX).values("pk")
    db = Loan.objects.db
    RepaymentAllocation.objects.filter(repayment__loan__in=loans)._raw_delete(db)
    LedgerEntry.objects.filter(loan__in=loans)._raw_delete(db)
    Repayment.objects.filter(loan__in=loans)._raw_delete(db)
    Installment.objects.filter(loan__in=loans)._raw_delete(db)
    ScheduleVersion.objects.filter(loan__in=loans)._raw_delete(db)
    Disbursement.objects.filter(application__in=apps)._raw_delete(db)
    Loan.objects.filter(customer__name__startswith=PREFIX)._raw_delete(db)
    LoanApplication.objects.filter(customer__name__startswith=PREFIX)._raw_delete(db)
    Customer.objects.filter(name__startswith=PREFIX)._raw_delete(db)


def _plain_loans(apps) -> tuple[int, float]:
    """The baseline: the same kind of loans and installments, bulk-inserted with no checks."""
    loans, rows_by_loan = [], []
    for app in apps:
        terms = schedules.ScheduleTerms(
            app.approved_amount, app.approved_annual_rate, 12, app.approved_method, "30/360", DISBURSED_ON
        )
        rows = schedules.schedule_build(terms)
        rows_by_loan.append(rows)
        loans.append(
            Loan(
                loan_number="LN" + app.reference[2:],
                customer_id=app.customer_id,
                application=app,
                product_id=app.product_id,
                contract_number="HT",
                approved_amount=app.approved_amount,
                principal=app.approved_amount,
                annual_rate=app.approved_annual_rate,
                term_months=12,
                method=app.approved_method,
                day_count="30/360",
                repayment_day=1,
                disbursement_date=DISBURSED_ON,
                first_due_date=rows[0].due_date,
                maturity_date=rows[-1].due_date,
                outstanding_principal=app.approved_amount,
            )
        )
    with Timer() as timer, transaction.atomic():
        Loan.objects.bulk_create(loans, batch_size=2000)
        Installment.objects.bulk_create(
            [
                Installment(
                    loan=loan,
                    schedule_version=1,
                    number=r.number,
                    period_start=r.period_start,
                    due_date=r.due_date,
                    pay_date=r.pay_date,
                    days=r.days,
                    principal=r.principal,
                    interest=r.interest,
                )
                for loan, rows in zip(loans, rows_by_loan, strict=True)
                for r in rows
            ],
            batch_size=2000,
        )
    return len(loans), timer.seconds


# ---------------------------------------------------------------------------
# 1. Disbursement of 10,000 approved applications
# ---------------------------------------------------------------------------
@benchmark(name="loans.disbursement_batch", order=24)
def bench_disbursement(ctx: BenchContext) -> list[Figure]:
    from loans.selectors.ledger import ledger_problems
    from loans.services.disbursements import disbursement_authorise_batch

    rng = np.random.default_rng(24)
    n = ctx.n(10_000, minimum=200)
    product = _product()
    officer, approver = _user("officer", LOAN_OFFICER), _user("approver", CREDIT_APPROVER)
    apps = _approved(n, rng, product=product, tag="D")
    plain_apps = _approved(n, rng, product=product, tag="P")
    ids = _prepared(apps, officer)
    ctx.log(f"  {n:,} approved applications with prepared disbursements; authorising ...")
    with Timer() as service:
        outcome = disbursement_authorise_batch(actor=approver, disbursements=ids)
    assert len(outcome.done) == n and not outcome.failed, outcome.failed[:3]
    installments = Installment.objects.filter(loan_id__in=outcome.done).count()
    _n, plain = _plain_loans(plain_apps)
    sample = Loan.objects.filter(pk__in=outcome.done[:500])
    assert ledger_problems(loans=sample) == []
    ctx.log(f"  service {service.seconds:.1f} s ({installments:,} installments); plain inserts {plain:.1f} s")
    _clear()
    return [
        Figure(
            f"disbursement of {n:,} approved applications by the batch service (schedules, "
            f"{installments:,} installments, ledger, audit)",
            service.seconds,
            "s",
            "plain bulk inserts of the same loans and installments",
            plain,
            "≤ 30 s",
        ),
        Figure("  the same, per loan", n / service.seconds, "loans/s", "plain bulk inserts", n / plain, ""),
    ]


# ---------------------------------------------------------------------------
# 2. A bank statement of 100,000 repayments
# ---------------------------------------------------------------------------
@benchmark(name="loans.statement_import", order=25)
def bench_statement(ctx: BenchContext) -> list[Figure]:
    from loans.selectors.ledger import ledger_problems
    from loans.services.disbursements import disbursement_authorise_batch
    from loans.services.statements import statement_import
    from loansite.tabular import tabular_read

    rng = np.random.default_rng(25)
    n = ctx.n(100_000, minimum=1_000)
    per_loan = 10
    loans_n = max(1, n // per_loan)
    product = _product()
    officer, approver = _user("officer", LOAN_OFFICER), _user("approver", CREDIT_APPROVER)
    apps = _approved(loans_n, rng, product=product, tag="S")
    outcome = disbursement_authorise_batch(actor=approver, disbursements=_prepared(apps, officer))
    loans = list(Loan.objects.filter(pk__in=outcome.done).order_by("pk"))
    dues = {
        (loan_id, number): due
        for loan_id, number, due in Installment.objects.filter(loan__in=loans, number__lte=per_loan).values_list(
            "loan_id", "number", "due_date"
        )
    }
    totals = {
        (row.loan_id, row.number): row.principal + row.interest
        for row in Installment.objects.filter(loan__in=loans, number__lte=per_loan).only(
            "loan_id", "number", "principal", "interest"
        )
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["贷款编号", "还款金额", "还款日期", "流水号"])
    rows = []
    for k in range(1, per_loan + 1):
        for loan in loans:
            rows.append((loan.loan_number, totals[(loan.pk, k)], dues[(loan.pk, k)], f"ST-{loan.pk}-{k}"))
    writer.writerows((a, str(b), c.isoformat(), d) for a, b, c, d in rows)
    data = out.getvalue().encode("utf-8")
    ctx.log(
        f"  statement of {len(rows):,} repayments ({len(data) / 1e6:.1f} MB) for {len(loans):,} loans; importing ..."
    )
    with Timer() as service:
        report = statement_import(
            table=tabular_read(data, max_rows=len(rows) + 1), actor=officer, file_name="bench.csv", chunked=True
        )
    assert report.written and report.new == len(rows), (report.new, report.errors[:3])
    assert ledger_problems(loans=Loan.objects.filter(pk__in=[loan.pk for loan in loans[:300]])) == []
    plain_rows = [
        Repayment(
            loan=loans[i % len(loans)],
            amount=amount,
            value_date=day,
            bank_reference=f"PL-{i}",
            channel=Repayment.Channel.IMPORT,
            posted_by=officer,
        )
        for i, (_number, amount, day, _ref) in enumerate(rows)
    ]
    with Timer() as plain, transaction.atomic():
        Repayment.objects.bulk_create(plain_rows, batch_size=2000)
    ctx.log(f"  import {service.seconds:.1f} s; plain inserts {plain.seconds:.1f} s")
    _clear()
    return [
        Figure(
            f"bank statement of {len(rows):,} repayments imported end to end (CSV, checks, allocation, ledger, "
            "allocations, audit, credit lines)",
            len(rows) / service.seconds,
            "rows/s",
            "plain bulk inserts of the same repayment rows",
            len(rows) / plain.seconds,
            "≥ 2,000 rows/s",
        )
    ]


# ---------------------------------------------------------------------------
# 3. The loan list and a loan's page with 1,000,000 loans
# ---------------------------------------------------------------------------
def _insert_loans(n: int, rng, product) -> None:
    """``n`` applications and their loans by ``executemany`` in chunks (the fastest plain way)."""
    customer_ids = _customers(max(200, min(20_000, n // 50)), rng)
    app_table = LoanApplication._meta.db_table
    loan_table = Loan._meta.db_table
    app_columns = [
        "reference",
        "customer_id",
        "product_id",
        "amount",
        "term_months",
        "purpose",
        "repayment_method",
        "channel",
        "contact_phone",
        "notes",
        "status",
        "version",
        "review_round",
        "decision_reason",
        "created_at",
        "updated_at",
        "score_reasons",
        "score_model_version",
        "score_grade",
        "risk_flags",
        "claimed_identity",
        "approved_method",
        "conditions_precedent",
        "counter_offer",
    ]
    loan_columns = [
        "loan_number",
        "customer_id",
        "application_id",
        "product_id",
        "contract_number",
        "approved_amount",
        "principal",
        "annual_rate",
        "term_months",
        "method",
        "day_count",
        "holiday_shift",
        "repayment_day",
        "grace_months",
        "disbursement_date",
        "first_due_date",
        "maturity_date",
        "status",
        "restructured",
        "outstanding_principal",
        "principal_repaid",
        "interest_paid",
        "penalty_paid",
        "fees_paid",
        "written_off_amount",
        "credit_balance",
        "next_due_date",
        "next_due_amount",
        "schedule_version",
        "version",
        "created_at",
        "updated_at",
    ]
    app_sql = f"INSERT INTO {app_table} ({', '.join(app_columns)}) VALUES ({', '.join(['%s'] * len(app_columns))})"
    loan_sql = f"INSERT INTO {loan_table} ({', '.join(loan_columns)}) VALUES ({', '.join(['%s'] * len(loan_columns))})"
    now = timezone.now()
    # One stored (encrypted) empty value for every row: the column takes no plain JSON.
    claimed = LoanApplication._meta.get_field("claimed_identity").get_db_prep_save({}, connection)
    start_date = datetime.date(2023, 1, 1)
    statuses = ["active"] * 80 + ["overdue"] * 6 + ["closed"] * 14
    chunk = 50_000
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size = -262144")
        for offset in range(0, n, chunk):
            size = min(chunk, n - offset)
            amounts = np.round(rng.lognormal(np.log(200_000), 0.7, size), -3).clip(10_000, 3_000_000)
            who = rng.integers(0, len(customer_ids), size)
            days = np.sort(rng.integers(0, 1300, size))
            with transaction.atomic():
                apps, loans = [], []
                for i in range(size):
                    number = offset + i
                    reference = f"LA-BL-{number:09d}"
                    apps.append(
                        (reference, customer_ids[int(who[i])], product.pk, f"{amounts[i]:.2f}", 12, "working_capital",
                         "equal_installment", "branch", "", "", "disbursed", 0, 1, "", now, now, "[]", "", "", "[]",
                         claimed, "", "[]", False)
                    )  # fmt: skip
                cursor.executemany(app_sql, apps)
                first = LoanApplication.objects.filter(reference=f"LA-BL-{offset:09d}").values_list("pk", flat=True)[0]
                for i in range(size):
                    number = offset + i
                    disbursed = start_date + datetime.timedelta(days=int(days[i]))
                    status = statuses[number % len(statuses)]
                    outstanding = "0.00" if status == "closed" else f"{amounts[i] * 0.6:.2f}"
                    loans.append(
                        (f"LN-BL-{number:09d}", customer_ids[int(who[i])], first + i, product.pk, "HT",
                         f"{amounts[i]:.2f}", f"{amounts[i]:.2f}", "0.0800", 12, "equal_installment", "30/360",
                         False, disbursed.day, 0, disbursed, disbursed + datetime.timedelta(days=30),
                         disbursed + datetime.timedelta(days=365), status, number % 97 == 0, outstanding, "0.00",
                         "0.00", "0.00", "0.00", "0.00", "0.00",
                         None if status == "closed" else disbursed + datetime.timedelta(days=400),
                         None if status == "closed" else f"{amounts[i] / 12:.2f}", 1, 0, now, now)
                    )  # fmt: skip
                cursor.executemany(loan_sql, loans)


def _median_ms(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with Timer() as t:
            func()
        times.append(t.seconds * 1000)
    return statistics.median(times)


@benchmark(name="loans.loan_pages", order=26)
def bench_loan_pages(ctx: BenchContext) -> list[Figure]:
    from django.contrib import admin

    from loans.selectors.loans import loan_list
    from loans.services.disbursements import disbursement_authorise_batch
    from loans.services.repayments import repayment_post

    rng = np.random.default_rng(26)
    n = ctx.n(1_000_000, minimum=2_000)
    product = _product()
    officer, approver = _user("officer", LOAN_OFFICER), _user("approver", CREDIT_APPROVER)
    ctx.log(f"  inserting {n:,} loans ...")
    with Timer() as fill:
        _insert_loans(n, rng, product)
    # Two loans made by the services (schedule, ledger, repayments) for the loan page.
    apps = _approved(2, rng, product=product, tag="PG")
    LoanApplication.objects.filter(pk=apps[1].pk).update(approved_term_months=36, term_months=36)
    outcome = disbursement_authorise_batch(actor=approver, disbursements=_prepared(apps, officer))
    short, long_ = (Loan.objects.get(pk=pk) for pk in outcome.done)
    for loan, count in ((short, 3), (long_, 12)):
        for k, row in enumerate(Installment.objects.filter(loan=loan).order_by("number")[:count]):
            repayment_post(
                actor=officer, loan=loan, amount=row.total, value_date=row.due_date, bank_reference=f"PG-{loan.pk}-{k}"
            )
    ctx.log(f"  inserted in {fill.seconds:.1f} s; analysing")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else f"ANALYZE TABLE {Loan._meta.db_table}")
    model_admin = admin.site._registry[Loan]
    url = "/admin/loans/loan/"
    figures = []
    with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False):
        client = Client()
        # An officer's session (approvers must pass a second factor to sign in; officers see the same pages).
        client.force_login(officer)
        assert client.get(url).status_code == 200

        def page(address):
            def get():
                response = client.get(address)
                assert response.status_code == 200, response.status_code

            return get

        raw_ms = _median_ms(lambda: list(loan_list()[:50]), 15)
        list_ms = _median_ms(page(url), 15)
        figures.append(
            Figure(
                f"loan list (50 rows, {n:,} loans), median",
                list_ms,
                "ms",
                "queryset fetch of the same 50 rows",
                raw_ms,
                "≤ 300 ms",
            )
        )
        filtered = f"{url}?status__exact=overdue&product__id__exact={product.pk}"
        raw_filtered = _median_ms(lambda: list(loan_list(filters={"status": "overdue", "product": product})[:50]), 9)
        figures.append(
            Figure(
                "loan list filtered (overdue, one product), median",
                _median_ms(page(filtered), 9),
                "ms",
                "queryset fetch of the same 50 rows",
                raw_filtered,
                "≤ 300 ms",
            )
        )
        counts = {}
        original = model_admin.list_per_page
        try:
            for size in (50, 200):
                model_admin.list_per_page = size
                with CaptureQueriesContext(connection) as queries:
                    client.get(url)
                counts[size] = len(queries)
        finally:
            model_admin.list_per_page = original
        figures.append(
            Figure("loan list: queries at 200 rows", counts[200], "queries", "at 50 rows", counts[50], "equal")
        )

        def raw_page(loan):
            def fetch():
                list(Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version))
                list(LedgerEntry.objects.filter(loan=loan))
                list(Repayment.objects.filter(loan=loan))

            return fetch

        loan_url = f"{url}{long_.pk}/change/"
        figures.append(
            Figure(
                f"loan page (36 installments, 12 repayments, among {n:,} loans), median",
                _median_ms(page(loan_url), 15),
                "ms",
                "fetch of its installments, ledger and repayments",
                _median_ms(raw_page(long_), 15),
                "≤ 300 ms",
            )
        )
        pages = {}
        for loan in (short, long_):
            with CaptureQueriesContext(connection) as queries:
                client.get(f"{url}{loan.pk}/change/")
            pages[loan.pk] = len(queries)
        figures.append(
            Figure(
                "loan page: queries with 36 installments and 12 repayments",
                pages[long_.pk],
                "queries",
                "with 12 installments and 3 repayments",
                pages[short.pk],
                "equal",
            )
        )
    ctx.log("  cleaning up")
    _clear()
    return figures
