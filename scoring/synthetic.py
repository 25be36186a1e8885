"""A synthetic lending world in the database, fast (bulk inserts), for tests and benchmarks.

Customers and applications follow ``loansite.demo_profiles`` (the latent default model),
so models trained on it have a real signal to find. Approved and rejected applications
follow the simulated officer; approved ones get an observed outcome (default or not).
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from loans.models import ApplicationStatus, LoanApplication, LoanProduct, LoanPurpose, RepaymentMethod
from loans.services.snapshots import applications_snapshot_backfill
from loansite import demo_profiles
from scoring.models import LoanOutcome


@dataclass
class World:
    customer_ids: list[int]
    application_ids: list[int]
    profiles: pd.DataFrame
    product: LoanProduct


def _d(v) -> Decimal | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else Decimal(str(round(float(v), 2)))


def world_build(
    *,
    seed: int = 7,
    customers: int = 200,
    applications: int = 1000,
    pending_share: float = 0.1,
    prefix: str = "S",
    batch_size: int = 5000,
) -> World:
    """Insert ``customers`` and ``applications``; ``pending_share`` of the applications stay
    submitted (to be scored), the rest are decided by the simulated officer."""
    rng = np.random.default_rng(seed)
    cust = demo_profiles.customer_profiles(rng, customers)
    apps = demo_profiles.application_profiles(rng, cust, applications)
    now = timezone.now()
    product, _ = LoanProduct.objects.get_or_create(
        code=f"{prefix}WC",
        defaults={
            "name": "Working capital",
            "purpose": LoanPurpose.WORKING_CAPITAL,
            "min_amount": Decimal("10000"),
            "max_amount": Decimal("3000000"),
            "min_term_months": 1,
            "max_term_months": 36,
            "annual_rate_min": Decimal("0.05"),
            "annual_rate_max": Decimal("0.12"),
            "repayment_methods": [RepaymentMethod.EQUAL_INSTALLMENT],
        },
    )
    with transaction.atomic():
        objs = [
            Customer(
                name=f"{prefix} merchant {i}",
                id_number=f"{prefix}{i:010d}"[:18],
                phone=f"{prefix}{i:011d}"[:20],
                city=r.city,
                city_tier=int(r.city_tier),
                industry=r.industry,
                years_in_business=int(r.years_in_business),
                employees=int(r.employees),
                area_m2=_d(r.area_m2),
                monthly_revenue=_d(r.monthly_revenue),
                monthly_cost=_d(r.monthly_cost),
                monthly_foot_traffic=int(r.monthly_foot_traffic),
                credit_score=int(r.credit_score),
                total_assets=_d(r.total_assets),
                total_liabilities=_d(r.total_liabilities),
                current_assets=_d(r.current_assets),
                current_liabilities=_d(r.current_liabilities),
                net_profit=_d(r.net_profit),
                annual_revenue=_d(r.annual_revenue),
            )
            for i, r in enumerate(cust.itertuples())
        ]
        Customer.objects.bulk_create(objs, batch_size=batch_size)
        customer_ids = list(
            Customer.objects.filter(name__startswith=f"{prefix} merchant ").order_by("id").values_list("id", flat=True)
        )
        pending = rng.random(applications) < pending_share
        app_objs = []
        for i, r in enumerate(apps.itertuples()):
            if pending[i]:
                status = ApplicationStatus.SUBMITTED
            else:
                status = ApplicationStatus.APPROVED if r.approved else ApplicationStatus.REJECTED
            created = now - timedelta(days=float(r.days_ago))
            app_objs.append(
                LoanApplication(
                    reference=f"{prefix}{i:012d}"[:20],
                    customer_id=customer_ids[int(r.customer_pos)],
                    product=product,
                    amount=_d(r.amount),
                    term_months=int(r.term_months),
                    purpose=LoanPurpose.WORKING_CAPITAL,
                    repayment_method=RepaymentMethod.EQUAL_INSTALLMENT,
                    status=status,
                    created_at=created,
                    submitted_at=created,
                )
            )
        LoanApplication.objects.bulk_create(app_objs, batch_size=batch_size)
        app_ids = list(
            LoanApplication.objects.filter(reference__startswith=prefix, product=product)
            .order_by("reference")
            .values_list("id", flat=True)
        )
        outcomes = [
            LoanOutcome(application_id=app_ids[i], defaulted=bool(r.defaults), source=LoanOutcome.Source.DEMO)
            for i, r in enumerate(apps.itertuples())
            if not pending[i] and r.approved
        ]
        LoanOutcome.objects.bulk_create(outcomes, batch_size=batch_size)
        # Every submitted application keeps what it was submitted with (point in time).
        applications_snapshot_backfill(where=f"a.product_id = {int(product.pk)}", backfilled=False)
    apps["pending"] = pending
    return World(customer_ids=customer_ids, application_ids=app_ids, profiles=apps, product=product)
