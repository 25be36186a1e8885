"""Decisioning writes: the expert scorecard's versions and activation, policy changes,
derived outcomes, backtests with their alerts, and champion/challenger shadow scoring.

Every change is audited; outcomes and backtests are set-wise (one read of the loans and
their installments, pure maths in ``scoring.outcomes`` and ``scoring.backtesting``).
"""

import datetime
import logging

import pandas as pd
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loansite.errors import InvalidTransition, NotAllowed, ValidationFailed
from scoring.models import (
    Backtest,
    Challenger,
    ExpertScorecard,
    LoanOutcome,
    ModelAlert,
    ModelKind,
    ModelVersion,
    Score,
    ShadowScore,
)

logger = logging.getLogger(__name__)

PERM_ACTIVATE = "scoring.activate_modelversion"
PERM_EXPERT = "scoring.change_expertscorecard"
# AUC points (0.05 AUC = 5 points) a backtest may lose against the validation AUC before an alert.
AUC_DROP_POINTS = float(getattr(settings, "SCORING_AUC_DROP_ALERT_POINTS", 5))


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed for this action."))


# -- expert scorecard -----------------------------------------------------------------------
@transaction.atomic
def expert_scorecard_saved(*, scorecard: ExpertScorecard, actor, changes: dict) -> ExpertScorecard:
    """After an edit in the admin (weights, bands, levels): a new version, audited. Ratings
    made earlier keep the version they were made with."""
    ExpertScorecard.objects.filter(pk=scorecard.pk).update(
        version=F("version") + 1, updated_by=actor, updated_at=timezone.now()
    )
    scorecard.refresh_from_db()
    audit_record(
        action=AuditAction.UPDATE, actor=actor, target=scorecard, changes={**changes, "version": scorecard.version}
    )
    return scorecard


def expert_scorecard_errors(scorecard: ExpertScorecard) -> list[str]:
    from scoring.expert import expert_config_errors
    from scoring.selectors_decision import expert_config

    return expert_config_errors(expert_config(scorecard))


@transaction.atomic
def expert_scorecard_activate(*, scorecard: ExpertScorecard, actor, reason: str = "") -> ExpertScorecard:
    """Make ``scorecard`` the one in use (checked first: weights sum to 1, bands meet)."""
    _require(actor, PERM_EXPERT)
    errors = expert_scorecard_errors(scorecard)
    if errors:
        raise ValidationFailed(
            _("The scorecard cannot be used: %(errors)s") % {"errors": "; ".join(errors)}, extra={"errors": errors}
        )
    before = list(ExpertScorecard.objects.filter(active=True).exclude(pk=scorecard.pk).values_list("pk", flat=True))
    ExpertScorecard.objects.filter(active=True).exclude(pk=scorecard.pk).update(active=False)
    ExpertScorecard.objects.filter(pk=scorecard.pk).update(active=True)
    scorecard.refresh_from_db()
    audit_record(
        action=AuditAction.ACTIVATE,
        actor=actor,
        target=scorecard,
        changes={"active": [False, True], "replaced": before},
        reason=reason,
    )
    return scorecard


# -- derived outcomes -------------------------------------------------------------------------
def _frames(as_of: datetime.date):
    from loans.models import Installment, Loan

    loans = pd.DataFrame(
        list(
            Loan.objects.values_list(
                "id", "application_id", "disbursement_date", "status", "written_off_amount", "closed_on"
            )
        ),
        columns=["loan_id", "application_id", "disbursement_date", "status", "written_off_amount", "closed_on"],
    )
    if loans.empty:
        return loans, None, None
    try:
        write_offs = dict(apps.get_model("loans", "WriteOff").objects.values_list("loan_id", "written_off_on"))
    except LookupError:
        write_offs = {}
    loans["written_off"] = (loans["status"] == Loan.Status.WRITTEN_OFF) | (
        loans["written_off_amount"].astype(float) > 0
    )
    loans["closed"] = loans["status"] == Loan.Status.CLOSED
    loans["written_off_on"] = [write_offs.get(i) for i in loans["loan_id"]]
    inst = pd.DataFrame(
        list(
            Installment.objects.filter(schedule_version=F("loan__schedule_version")).values_list(
                "loan_id", "due_date", "status", "paid_on"
            )
        ),
        columns=["loan_id", "due_date", "status", "paid_on"],
    )
    inst["paid"] = inst["status"] == Installment.Status.PAID
    try:
        snap_model = apps.get_model("loans", "LoanDaySnapshot")
        snaps = pd.DataFrame(
            list(snap_model.objects.filter(days_past_due__gte=90).values_list("loan_id", "date", "days_past_due")),
            columns=["loan_id", "date", "days_past_due"],
        )
    except LookupError:
        snaps = None
    return loans, inst, snaps


@transaction.atomic
def outcomes_derive(*, as_of: datetime.date | None = None, actor=None) -> dict:
    """Write each loan's derived default flag (source "servicing") over whatever was
    recorded by hand, by import or by the demo for its application; applications without a
    loan keep theirs. Loans without an outcome yet (under 12 months, not defaulted) have none.
    Returns counts."""
    from scoring.outcomes import outcomes_derive_frame

    as_of = as_of or timezone.localdate()
    loans, inst, snaps = _frames(as_of)
    counts = {"loans": int(len(loans)), "created": 0, "updated": 0, "removed": 0, "defaults": 0, "immature": 0}
    if loans.empty:
        return counts
    derived = outcomes_derive_frame(loans, inst, as_of=as_of, snapshots=snaps)
    derived = derived.merge(loans[["loan_id", "application_id"]], on="loan_id")
    existing = {o.application_id: o for o in LoanOutcome.objects.filter(application_id__in=derived["application_id"])}
    now = timezone.now()
    new, changed, stale = [], [], []
    for app_id, defaulted, max_dpd, default_date in derived[
        ["application_id", "defaulted", "max_dpd", "default_date"]
    ].itertuples(index=False):
        app_id = int(app_id)
        row = existing.get(app_id)
        if defaulted is None:
            counts["immature"] += 1
            if row is not None and row.source == LoanOutcome.Source.SERVICING:
                stale.append(row.pk)
            continue
        counts["defaults"] += int(bool(defaulted))
        values = {
            "defaulted": bool(defaulted),
            "source": LoanOutcome.Source.SERVICING,
            "max_days_past_due": int(max_dpd),
            "default_date": default_date,
        }
        if row is None:
            new.append(LoanOutcome(application_id=app_id, observed_at=now, **values))
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.observed_at = now
            changed.append(row)
    LoanOutcome.objects.bulk_create(new, batch_size=2000)
    LoanOutcome.objects.bulk_update(
        changed, ["defaulted", "source", "max_days_past_due", "default_date", "observed_at"], batch_size=2000
    )
    if stale:
        LoanOutcome.objects.filter(pk__in=stale).delete()
    counts.update(created=len(new), updated=len(changed), removed=len(stale))
    audit_record(
        action=AuditAction.SYSTEM,
        actor=actor,
        target=("scoring.LoanOutcome", "", "derived outcomes"),
        changes={"as_of": str(as_of), **counts},
    )
    return counts


# -- backtesting --------------------------------------------------------------------------------
def backtest_frame(*, version: ModelVersion) -> pd.DataFrame:
    """The version's scores of applications with an outcome, with their disbursement quarter."""
    from loans.models import Loan
    from scoring.backtesting import vintage_of

    rows = list(
        Score.objects.filter(model_version=version, application__outcome__isnull=False).values_list(
            "application_id", "probability", "grade", "application__outcome__defaulted", "application__submitted_at"
        )
    )
    frame = pd.DataFrame(rows, columns=["application_id", "probability", "grade", "defaulted", "submitted_at"])
    if frame.empty:
        return frame.assign(vintage=pd.Series(dtype=str))
    disbursed = dict(
        Loan.objects.filter(application_id__in=frame["application_id"].tolist()).values_list(
            "application_id", "disbursement_date"
        )
    )
    when = [
        disbursed.get(a) or (s.date() if s is not None else None)
        for a, s in zip(frame["application_id"], frame["submitted_at"], strict=True)
    ]
    frame["vintage"] = vintage_of(pd.Series(when))
    return frame


def _reference_auc(version: ModelVersion) -> float | None:
    metrics = version.metrics or {}
    return (metrics.get("holdout") or {}).get("auc")


def _score_psi(version: ModelVersion) -> float | None:
    from scoring.selectors import model_version_drift

    try:
        rows = model_version_drift(version=version)["rows"]
    except Exception:  # no artifact, no recent applications: no PSI this time
        logger.info("backtest: no PSI for %s", version.label, exc_info=True)
        return None
    score = next((r for r in rows if r["feature"] == "score"), None)
    return score["psi"] if score else None


@transaction.atomic
def model_version_backtest(
    *, version: ModelVersion, as_of: datetime.date | None = None, psi: float | None = None, with_psi: bool = True
) -> Backtest:
    """Predicted against realised default for ``version``: overall, per grade, per vintage
    (AUC over time), calibration; raises a model alert when AUC fell by more than
    ``AUC_DROP_POINTS`` from its validation AUC or the score's PSI is above 0.25 (one open
    alert per kind)."""
    from scoring.backtesting import backtest_alerts, backtest_figures

    if version.kind != ModelKind.PD:
        raise ValidationFailed(_("Backtesting compares predicted and realised defaults: PD models only."))
    figures = backtest_figures(backtest_frame(version=version))
    if psi is None and with_psi:
        psi = _score_psi(version)
    reference = _reference_auc(version)
    figures["reference_auc"] = reference
    figures["auc_drop_points"] = AUC_DROP_POINTS
    backtest = Backtest.objects.create(
        model_version=version,
        as_of=as_of or timezone.localdate(),
        rows=figures["rows"],
        defaults=figures["defaults"],
        auc=figures["auc"],
        psi=psi,
        figures=figures,
    )
    for alert in backtest_alerts(auc=figures["auc"], reference_auc=reference, psi=psi, auc_drop_points=AUC_DROP_POINTS):
        try:
            with transaction.atomic():
                created = ModelAlert.objects.create(
                    model_version=version,
                    kind=alert["kind"],
                    value=alert["value"],
                    threshold=alert["threshold"],
                    detail={**alert["detail"], "backtest": backtest.pk},
                )
        except IntegrityError:
            continue  # one open alert of this kind already
        audit_record(
            action=AuditAction.SYSTEM,
            target=version,
            changes={"alert": created.kind, "value": created.value, "threshold": created.threshold},
        )
        _risk_alert(version, created)
    audit_record(
        action=AuditAction.SCORE,
        target=version,
        changes={"backtest": backtest.pk, "rows": backtest.rows, "auc": backtest.auc, "psi": psi},
    )
    return backtest


def _risk_alert(version: ModelVersion, alert: ModelAlert) -> None:
    """Model alerts are shown on the model page; the risk app is told through its log."""
    logger.warning("model alert %s on %s: %s (threshold %s)", alert.kind, version.label, alert.value, alert.threshold)


@transaction.atomic
def model_alert_close(*, actor, alert: ModelAlert, reason: str = "") -> ModelAlert:
    _require(actor, PERM_ACTIVATE)
    updated = ModelAlert.objects.filter(pk=alert.pk, closed_at=None).update(closed_at=timezone.now())
    if updated != 1:
        raise InvalidTransition(_("This alert is closed already."))
    alert.refresh_from_db()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=alert.model_version,
        changes={"alert_closed": alert.pk},
        reason=reason,
    )
    return alert


def outcomes_refresh(*, as_of: datetime.date | None = None) -> dict:
    """The nightly job: derive outcomes, then backtest the active and challenger PD versions."""
    counts = outcomes_derive(as_of=as_of)
    tested = []
    versions = ModelVersion.objects.filter(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE).defer("artifact")
    challenger_ids = list(Challenger.objects.values_list("model_version_id", flat=True))
    versions = list(versions) + list(
        ModelVersion.objects.filter(pk__in=challenger_ids, kind=ModelKind.PD).defer("artifact")
    )
    for version in {v.pk: v for v in versions}.values():
        tested.append(model_version_backtest(version=version, as_of=as_of).pk)
    return {**counts, "backtests": tested}


# -- champion / challenger ------------------------------------------------------------------------
@transaction.atomic
def model_version_challenge(*, version: ModelVersion, actor, reason: str = "") -> Challenger:
    """Make a ready version the challenger of its kind: it scores new applications in
    shadow (``ShadowScore``), never deciding anything, until activated or withdrawn."""
    _require(actor, PERM_ACTIVATE)
    version = ModelVersion.objects.defer("artifact").get(pk=version.pk)
    if version.status != ModelVersion.Status.READY:
        raise InvalidTransition(_("Only a ready version can be a challenger."))
    previous = Challenger.objects.filter(kind=version.kind).first()
    Challenger.objects.update_or_create(
        kind=version.kind, defaults={"model_version": version, "started_by": actor, "started_at": timezone.now()}
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=version,
        changes={"challenger": [previous.model_version_id if previous else None, version.pk]},
        reason=reason,
    )
    return Challenger.objects.get(kind=version.kind)


@transaction.atomic
def model_version_challenge_end(*, kind: str, actor, reason: str = "") -> None:
    _require(actor, PERM_ACTIVATE)
    challenger = Challenger.objects.filter(kind=kind).first()
    if challenger is None:
        return
    version_id = challenger.model_version_id
    challenger.delete()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=("scoring.ModelVersion", str(version_id), kind),
        changes={"challenger": [version_id, None]},
        reason=reason,
    )


def application_shadow_score(*, application_id: int) -> int:
    """Score one application with the challengers (ready versions only), into
    ``ShadowScore``; nothing that decides or shows the score reads these. Returns rows written."""
    from scoring.selectors import application_frame_by_ids
    from scoring.selectors_decision import challenger_versions
    from scoring.services.scoring import frame_predict

    versions = challenger_versions()
    if not versions:
        return 0
    raw = application_frame_by_ids([application_id])
    if raw.empty:
        return 0
    outputs = frame_predict(raw, versions, reasons=False)
    written = 0
    for version in versions:
        out = outputs[version.pk]
        probability = out.get("probability")
        _, created = ShadowScore.objects.get_or_create(
            application_id=application_id,
            model_version=version,
            defaults={
                "probability": float(probability[0]) if probability is not None else None,
                "points": int(out["points"][0]) if out.get("points") is not None else None,
                "grade": str(out["grade"][0]) if "grade" in out else "",
            },
        )
        written += int(created)
    return written
