from loans.models import LoanApplication
from loansite.demo import DemoContext
from scoring.demo import seed_scoring
from scoring.models import LoanOutcome, ModelKind, ModelVersion, Score


def test_demo_seeder_trains_activates_and_scores(world):
    LoanOutcome.objects.all().delete()  # the seeder derives them from the profiles
    ctx = DemoContext(log=lambda m: None)
    ctx.made["application_profiles"] = world.profiles
    ctx.made["application_ids"] = world.application_ids
    seed_scoring(ctx)
    funded = world.profiles[~world.profiles["pending"] & world.profiles["approved"]]
    assert LoanOutcome.objects.count() == len(funded)
    assert LoanOutcome.objects.filter(defaulted=True).count() == int(funded["defaults"].sum())
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
    # The application models (a scorecard from a file is trained only from an upload).
    assert set(active.values_list("kind", flat=True)) == set(ModelKind.values) - {ModelKind.FILE_PD}
    assert Score.objects.count() == 3 * len(world.application_ids)
    # Pending and decided demo applications alike show a score on the workbench.
    assert not LoanApplication.objects.filter(pk__in=world.application_ids, scored_at=None).exists()


def test_demo_seeder_without_applications_does_nothing(db):
    seed_scoring(DemoContext(log=lambda m: None))
    assert not ModelVersion.objects.exists()
