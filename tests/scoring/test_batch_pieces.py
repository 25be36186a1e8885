"""The batch path's vectorised pieces give what the row-by-row definitions give."""

import json
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from loans.models import ApplicationSnapshot, ApplicationStatus, LoanApplication
from scoring.models import ModelKind, Score, ScoringRun
from scoring.reasons import ReasonEncoder, reason_dict, reasons_expand
from scoring.selectors import application_frame_by_ids
from scoring.services import applications_backfill_latest, scoring_run_create, scoring_run_execute


def test_reason_json_built_array_wise_equals_the_row_wise_text():
    rng = np.random.default_rng(3)
    names = ["credit_score", "debt_ratio", "industry", "amount_to_revenue"]
    n = 500
    index = np.argsort(rng.random((n, len(names))), axis=1)[:, :3]
    lost = -np.sort(-rng.integers(-5, 40, (n, 3)), axis=1)  # largest first, some <= 0
    encoder = ReasonEncoder()
    fast = encoder.dumps_arrays(names, index, lost)
    slow = [
        encoder.dumps([(names[j], v) for j, v in zip(row_i, row_l, strict=True) if v > 0])
        for row_i, row_l in zip(index.tolist(), lost.tolist(), strict=True)
    ]
    assert fast == slow
    first = json.loads(fast[int(np.argmax(lost[:, 0] > 0))])[0]
    assert set(first) == {"feature", "points_lost"} and first["feature"] in names
    assert encoder.dumps_arrays(names, index[:0], lost[:0]) == []
    # Binned points repeat (few distinct lists), and losses too large to pack still render.
    binned_index, binned_lost = index % 2, -np.sort(-(np.abs(lost) % 3), axis=1)
    assert encoder.dumps_arrays(names, binned_index, binned_lost) == [
        encoder.dumps([(names[j], v) for j, v in zip(row_i, row_l, strict=True) if v > 0])
        for row_i, row_l in zip(binned_index.tolist(), binned_lost.tolist(), strict=True)
    ]
    big = lost + 5000
    assert json.loads(encoder.dumps_arrays(names, index, big)[0])[0]["points_lost"] == int(big[0, 0])


def test_stored_reasons_expand_to_codes_and_both_languages():
    stored = [{"feature": "credit_score", "points_lost": 42}, {"feature": "debt_ratio", "points_lost": 7}]
    expanded = reasons_expand(stored)
    assert expanded[0] == reason_dict("credit_score", 42)
    assert expanded[0]["code"] == "R03" and expanded[0]["en"] and expanded[0]["zh_hans"]
    assert [r["points_lost"] for r in expanded] == [42, 7]
    # The earlier format (texts stored with the reason) and junk entries still read.
    legacy = [reason_dict("amount", 5), "not a reason", {"points_lost": 3}]
    assert reasons_expand(legacy) == [reason_dict("amount", 5)]
    assert reasons_expand([{"feature": "retired_feature", "points_lost": 2, "en": "Old words"}])[0]["en"] == "Old words"
    assert reasons_expand(None) == []
    # Points lost because a value was not known: its own code and words.
    unknown = reasons_expand([{"feature": "debt_ratio:unknown", "points_lost": 12}])[0]
    assert unknown["code"] == "R10U" and unknown["en"] == "Debt ratio not known"
    assert unknown["zh_hans"] == "资产负债率未知"


@pytest.mark.django_db
def test_prior_applications_count_strictly_earlier_ones_of_the_same_customer(world):
    """Counted per chunk from the customers' history: ties in ``created_at`` are not
    "earlier", drafts count as applications, other customers never do."""
    ids = world.application_ids[:4]
    base = timezone.now() - timedelta(days=10)
    customer = LoanApplication.objects.get(pk=ids[0]).customer_id
    other = next(c for c in world.customer_ids if c != customer)
    LoanApplication.objects.filter(customer_id=customer).exclude(pk__in=ids).update(customer_id=other)
    plan = [  # (created, status)
        (base, ApplicationStatus.APPROVED),
        (base + timedelta(days=1), ApplicationStatus.REJECTED),
        (base + timedelta(days=1), ApplicationStatus.DRAFT),  # tie with the one before
        (base + timedelta(days=2), ApplicationStatus.SUBMITTED),
    ]
    for pk, (created, status) in zip(ids, plan, strict=True):
        LoanApplication.objects.filter(pk=pk).update(customer_id=customer, created_at=created, status=status)
    # Rewritten behind the services' back: without their snapshots the counts come from the history.
    ApplicationSnapshot.objects.filter(application_id__in=ids).delete()
    frame = application_frame_by_ids(ids).loc[ids]
    assert frame["prior_applications"].tolist() == [0, 1, 1, 3]
    assert frame["prior_approved"].tolist() == [0, 1, 1, 1]
    assert frame["prior_rejected"].tolist() == [0, 0, 0, 1]


@pytest.mark.django_db
def test_applications_without_a_customer_are_neither_scored_nor_counted(world):
    """A public application held for identity verification (and one rejected as
    unverified) has no customer: it is not in any frame, and the customer its details
    named gets no extra prior application or rejection from it."""
    from scoring.selectors import scope_count

    ids = world.application_ids[:2]
    named = LoanApplication.objects.get(pk=ids[0])
    LoanApplication.objects.filter(pk=ids[1]).update(
        customer=None, identity_match_id=named.customer_id, status=ApplicationStatus.REJECTED,
        created_at=named.created_at - timedelta(days=1),
    )  # fmt: skip
    earlier = LoanApplication.objects.filter(customer_id=named.customer_id, created_at__lt=named.created_at)
    frame = application_frame_by_ids(ids)
    assert frame.index.tolist() == [named.pk]
    assert frame.loc[named.pk, ["prior_applications", "prior_rejected"]].tolist() == [
        earlier.count(),
        earlier.filter(status=ApplicationStatus.REJECTED).count(),
    ]
    total = LoanApplication.objects.exclude(status=ApplicationStatus.DRAFT).count()
    assert scope_count(scope=ScoringRun.Scope.PORTFOLIO, version_ids=[0]) == total - 1


def test_latest_fields_are_the_pd_score_rows_of_the_chunk_for_pending_applications(trained, world):
    """Pending applications get the PD score as their latest fields; a decided one keeps
    the score it was decided with (here: none), while its Score row is still written."""
    decided = LoanApplication.objects.filter(pk__in=world.application_ids).exclude(status__in=LoanApplication.PENDING)
    decided.update(score_points=555, score_grade="C", score_model_version="pd-v0")
    run = scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO, chunk_size=400))
    assert run.done == len(world.application_ids)
    pd_rows = {
        s.application_id: s
        for s in Score.objects.filter(model_version=trained[ModelKind.PD]).only(
            "application_id", "probability", "points", "grade", "reasons"
        )
    }
    apps = LoanApplication.objects.filter(pk__in=world.application_ids)
    assert len(pd_rows) == apps.count()
    pending = [app for app in apps if app.is_pending]
    assert 0 < len(pending) < len(pd_rows)
    for app in apps:
        score = pd_rows[app.pk]
        if not app.is_pending:
            assert (app.score_points, app.score_grade, app.score_model_version) == (555, "C", "pd-v0")
            continue
        assert app.score_points == score.points and app.score_grade == score.grade
        assert app.score_reasons == score.reasons
        assert float(app.score_probability) == pytest.approx(score.probability, abs=1e-4)
        assert app.score_model_version == trained[ModelKind.PD].label


def test_backfill_gives_never_scored_applications_their_first_score_only(trained, world):
    decided = LoanApplication.objects.filter(pk__in=world.application_ids).exclude(status__in=LoanApplication.PENDING)
    kept = decided.first()
    LoanApplication.objects.filter(pk=kept.pk).update(
        score_points=555, score_grade="C", score_model_version="pd-v0", scored_at=timezone.now()
    )
    scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO, chunk_size=400))
    pd_version = trained[ModelKind.PD]
    assert applications_backfill_latest(pd_version=pd_version, step=300) == decided.count() - 1
    kept.refresh_from_db()
    assert (kept.score_points, kept.score_model_version) == (555, "pd-v0")
    points = dict(Score.objects.filter(model_version=pd_version).values_list("application_id", "points"))
    for app in decided.exclude(pk=kept.pk):
        assert app.score_points == points[app.pk] and app.score_model_version == pd_version.label
    entry = AuditEntry.objects.filter(action=AuditAction.SCORE).order_by("-seq").first()
    assert entry.changes["backfilled_latest_scores"] == decided.count() - 1
    assert applications_backfill_latest(pd_version=pd_version) == 0
