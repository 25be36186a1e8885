from decimal import Decimal

import factory

from scoring.models import ModelKind, ModelVersion


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A registry row without an artifact (for registry tests that never score)."""

    class Meta:
        model = ModelVersion

    kind = ModelKind.PD
    version = factory.Sequence(lambda n: n + 1)
    status = ModelVersion.Status.READY
    algorithm = "woe_logistic_scorecard"


# One set of indicators a reviewer would type into the prediction page.
TYPICAL_INDICATORS = {
    "amount": Decimal("300000.00"),
    "term_months": 12,
    "credit_score": 680,
    "years_in_business": 4,
    "monthly_revenue": Decimal("90000"),
    "monthly_cost": Decimal("70000"),
    "total_assets": Decimal("800000"),
    "total_liabilities": Decimal("300000"),
    "industry": "retail",
    "city_tier": 2,
}
