"""Benchmark of the customer portal's home page, next to baselines measured in the same run.

A customer with 50 disbursed loans (12 installments each, made by the disbursement service),
a relationship manager and a few applications; another with 5 loans. The home page is fetched
by a browser signed in to the portal (``/portal/`` through the real session and decorator):
its median time, and its query count at 5 and at 50 loans (equal: no query per loan). The
baselines: ``/healthz/`` (a request that runs one query) and the public form's GET page.

Registered through ``customers/benchmarks.py``.
"""

import datetime
import statistics
import uuid
from decimal import Decimal

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from customers.models import Assignment, Customer, PortalAccess, PortalAccount, RelationshipManager
from customers.validators import make_credit_code, make_mobile_phone
from loansite.bench import BenchContext, Figure, Timer, benchmark

PREFIX = "bench-portal-"
PASSWORD = "Bench-portal-Passw0rd"
DISBURSED_ON = datetime.date(2024, 3, 1)
REPEAT = 25


def _customer(rng, name: str) -> Customer:
    return Customer.objects.create(
        name=f"{PREFIX}{name}",
        credit_code=make_credit_code(rng),
        phone=make_mobile_phone(rng),
        city="Hangzhou",
        city_tier=2,
        industry="retail",
        monthly_revenue=Decimal("200000"),
        monthly_cost=Decimal("150000"),
    )


def _loans(customer: Customer, n: int, *, product, officer, approver, tag: str) -> None:
    """``n`` loans of ``customer`` made by the batch disbursement service (schedules, ledger)."""
    from loans.bench_servicing import _prepared
    from loans.models import LoanApplication
    from loans.services.disbursements import disbursement_authorise_batch

    apps = [
        LoanApplication(
            reference=f"LA-{tag}-{i:05d}",
            customer=customer,
            product=product,
            amount=Decimal(20_000 + 1_000 * i),
            term_months=12,
            purpose="working_capital",
            repayment_method="equal_installment",
            status=LoanApplication.Status.APPROVED,
            review_round=1,
            approved_amount=Decimal(20_000 + 1_000 * i),
            approved_term_months=12,
            approved_annual_rate=Decimal("0.0800"),
            approved_method="equal_installment",
        )
        for i in range(n)
    ]
    with transaction.atomic():
        LoanApplication.objects.bulk_create(apps)
    apps = list(LoanApplication.objects.filter(reference__startswith=f"LA-{tag}-").order_by("pk"))
    outcome = disbursement_authorise_batch(actor=approver, disbursements=_prepared(apps, officer))
    assert len(outcome.done) == n, outcome


def _manager(customer: Customer, rng) -> None:
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(
        username=f"{PREFIX}rm", defaults={"is_staff": True, "first_name": "Tao", "last_name": "Yang"}
    )
    manager, _created = RelationshipManager.objects.get_or_create(user=user, defaults={"city": "Hangzhou"})
    components = {
        name: {"value": 0.5, "weight": weight, "points": 50 * weight}
        for name, weight in {
            "industry": 0.35,
            "city": 0.25,
            "workload": 0.15,
            "value_fit": 0.15,
            "book_quality": 0.10,
        }.items()
    }
    Assignment.objects.create(
        customer=customer, manager=manager, kind=Assignment.Kind.MATCHING, score=50, components=components
    )
    Customer.objects.filter(pk=customer.pk).update(manager=manager)


def _account(customer: Customer) -> PortalAccount:
    account = PortalAccount(phone=customer.phone)
    account.set_password(PASSWORD)
    account.save()
    PortalAccess.objects.create(account=account, customer=customer)
    return account


def _signed_in(account: PortalAccount) -> Client:
    client = Client()
    response = client.post("/portal/login/", {"login": account.phone, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def _median_ms(func, repeat: int = REPEAT) -> float:
    func()  # warm up (templates, translations, cached reference data)
    times = []
    for _ in range(repeat):
        with Timer() as t:
            func()
        times.append(t.seconds * 1000)
    return statistics.median(times)


def _get(client: Client, url: str):
    def fetch():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return fetch


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@benchmark(name="customers.portal_home", order=33)
def bench_portal_home(ctx: BenchContext) -> list[Figure]:
    import numpy as np

    from loans.bench_servicing import _product, _user
    from loansite.roles import CREDIT_APPROVER, LOAN_OFFICER

    rng = np.random.default_rng(33)
    product = _product()
    officer, approver = _user("officer", LOAN_OFFICER), _user("approver", CREDIT_APPROVER)
    big, small = _customer(rng, "fifty"), _customer(rng, "five")
    tag = uuid.uuid4().hex[:6].upper()
    ctx.log("  disbursing 50 + 5 loans through the batch service ...")
    with Timer() as fill:
        _loans(big, 50, product=product, officer=officer, approver=approver, tag=f"P50{tag}")
        _loans(small, 5, product=product, officer=officer, approver=approver, tag=f"P5{tag}")
    ctx.log(f"  made in {fill.seconds:.1f} s")
    for customer in (big, small):
        _manager(customer, rng)
    figures = []
    with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False, PORTAL_IDLE_SECONDS=3600):
        big_client, small_client = _signed_in(_account(big)), _signed_in(_account(small))
        anonymous = Client()
        health_ms = _median_ms(_get(anonymous, "/healthz/"))
        form_ms = _median_ms(_get(anonymous, "/apply/"))
        home_ms = _median_ms(_get(big_client, "/portal/"))
        figures.append(
            Figure(
                "portal home, customer with 50 loans, median",
                home_ms,
                "ms",
                "GET /healthz/ (one query)",
                health_ms,
                "≤ 200 ms",
            )
        )
        figures.append(
            Figure(
                "portal home, customer with 50 loans, median (vs the public form page)",
                home_ms,
                "ms",
                "GET /apply/ (public form)",
                form_ms,
                "≤ 200 ms",
            )
        )
        at_50, at_5 = _queries(big_client, "/portal/"), _queries(small_client, "/portal/")
        figures.append(Figure("portal home: queries at 50 loans", at_50, "queries", "at 5 loans", at_5, "equal"))
        api = "/api/v1/portal/home/"
        from customers.portal.api_auth import portal_token_pair

        token = portal_token_pair(account=PortalAccount.objects.get(accesses__customer=big))["access"]
        api_client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        figures.append(
            Figure(
                "portal API home, customer with 50 loans, median",
                _median_ms(_get(api_client, api)),
                "ms",
                "GET /healthz/ (one query)",
                health_ms,
                "≤ 200 ms",
            )
        )
    return figures
