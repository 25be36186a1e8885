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
