"""Demo data for scoring: outcomes of the demo loans, the initial models, first scores.

The loans seeder (order 20) shares ``application_profiles`` (with the latent default
model's ``defaults`` and the officer's decisions) and ``application_ids`` (same order).
Approved loans get their observed outcome as a ``LoanOutcome`` (the PD label); then the
three models are trained on the demo data, activated, and every application is scored
(the decided ones get that first score as their own, see ``applications_backfill_latest``).
"""

from loans.models import ApplicationStatus, LoanApplication
from loans.services.snapshots import applications_snapshot_backfill
from loansite.demo import DemoContext, demo_seeder
from scoring.models import LoanOutcome, ModelKind, ScoringRun
from scoring.services import applications_backfill_latest, model_train, scoring_run_create, scoring_run_execute

FUNDED = (ApplicationStatus.APPROVED, ApplicationStatus.DISBURSED)


@demo_seeder(order=40)
def seed_scoring(ctx: DemoContext) -> None:
    profiles = ctx.made.get("application_profiles")
    ids = ctx.made.get("application_ids")
    if profiles is None or not ids:
        ctx.log("  scoring: no demo applications, no models trained")
        return
    funded = set(LoanApplication.objects.filter(pk__in=ids, status__in=FUNDED).values_list("pk", flat=True))
    defaults = profiles["defaults"].to_numpy()
    outcomes = [
        LoanOutcome(application_id=app_id, defaulted=bool(defaults[i]), source=LoanOutcome.Source.DEMO)
        for i, app_id in enumerate(ids)
        if app_id in funded
    ]
    LoanOutcome.objects.bulk_create(outcomes, ignore_conflicts=True, batch_size=2000)
    # The demo's history was written in bulk: its applications get the snapshots they would
    # have been submitted with (marked backfilled: taken from the records on file now).
    snapshots = applications_snapshot_backfill()
    ctx.log(f"  scoring: {snapshots} application snapshots")
    ctx.log(f"  scoring: {len(outcomes)} loan outcomes")
    trained = {}
    for kind in (ModelKind.PD, ModelKind.APPROVAL, ModelKind.LIMIT):
        try:
            trained[kind] = model_train(kind=kind, activate=True)
        except Exception as exc:  # noqa: BLE001 - a demo without one model still runs
            ctx.log(f"  scoring: {kind} not trained: {exc}")
            continue
        holdout = trained[kind].metrics.get("holdout", {})
        base = trained[kind].metrics.get("baseline", {})
        if "auc" in holdout:
            ctx.log(
                f"  scoring: {trained[kind].label} {trained[kind].algorithm} AUC {holdout['auc']} KS {holdout['ks']}"
                f" (random-forest baseline AUC {base.get('auc')} KS {base.get('ks')})"
            )
        else:
            ctx.log(f"  scoring: {trained[kind].label} MAE {holdout.get('mae')} R2 {holdout.get('r2')}")
    if trained:
        run = scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO))
        ctx.log(f"  scoring: {run.done} applications scored ({run.written} score rows)")
        if ModelKind.PD in trained:
            # The demo's decided applications were decided before any model existed: give
            # them their first score, as if it had been taken when they were submitted.
            filled = applications_backfill_latest(pd_version=trained[ModelKind.PD])
            ctx.log(f"  scoring: {filled} decided applications given their first score")
    ctx.made["model_versions"] = trained
