"""Point-in-time data: what an application was submitted with stays what it shows, what it
is scored on and what models train on, whatever happens to the customer's record later."""

from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse

from customers.services import customer_update
from loans.models import ApplicationSnapshot, ApplicationStatus, LoanApplication
from loans.services import application_create, application_return, application_start_review, application_submit
from loans.services.snapshots import applications_snapshot_backfill
from scoring.models import LoanOutcome, ModelKind
from scoring.selectors import active_versions, application_frame_by_ids, training_set
from scoring.services.scoring import _ordered, frame_predict

EDIT = {
    "monthly_revenue": Decimal("1.00"),
    "monthly_cost": Decimal("999999.00"),
    "total_assets": Decimal("1000.00"),
    "total_liabilities": Decimal("900000.00"),
    "years_in_business": 0,
}


def _edit_customer(customer_id):
    """The synthetic world's customers carry made-up identifiers the customer form would
    refuse, so their record is rewritten directly (the service path is the next test's)."""
    from customers.models import Customer

    Customer.objects.filter(pk=customer_id).update(**EDIT)
    assert Customer.objects.get(pk=customer_id).monthly_revenue == EDIT["monthly_revenue"]


def test_a_customer_edit_after_submission_changes_nothing_the_application_shows(trained, world, make_user, client):
    pending = LoanApplication.objects.filter(status=ApplicationStatus.SUBMITTED).first()
    funded = LoanApplication.objects.get(pk=LoanOutcome.objects.values_list("application_id", flat=True).first())
    ids = [pending.pk, funded.pk]
    versions = _ordered(active_versions())
    frame_before = application_frame_by_ids(ids)
    scores_before = frame_predict(frame_before, versions)
    raw_pd, labels_pd = training_set(kind=ModelKind.PD)
    pd_row_before = raw_pd.loc[funded.pk].copy()
    revenue = ApplicationSnapshot.objects.get(pk=pending.pk).monthly_revenue

    _edit_customer(pending.customer_id)
    _edit_customer(funded.customer_id)

    frame_after = application_frame_by_ids(ids)
    # The inputs the models read, and so every model's output, are those of the submission.
    assert frame_after.equals(frame_before)
    scores_after = frame_predict(frame_after, versions)
    for version_id, out in scores_before.items():
        for key in ("probability", "points", "value"):
            if key in out:
                np.testing.assert_array_equal(out[key], scores_after[version_id][key])
        assert out.get("reasons") == scores_after[version_id].get("reasons")
    # The training set still holds the application as submitted.
    raw_after, labels_after = training_set(kind=ModelKind.PD)
    assert raw_after.loc[funded.pk].equals(pd_row_before)
    assert (labels_after == labels_pd).all()
    # The application page shows the submitted figures, said to be those of the submission.
    client.force_login(make_user("approver", role="Credit approver"))
    html = client.get(reverse("admin:loans_loanapplication_change", args=[pending.pk])).content.decode()
    assert "as submitted" in html
    shown = f"{revenue}" if revenue is not None else "-"
    assert shown in html or f"{revenue:,}" in html
    # The export too.
    from loans.resources import ApplicationResourceEnglish

    data = ApplicationResourceEnglish().export(LoanApplication.objects.filter(pk=pending.pk))
    row = dict(zip(data.headers, data[0], strict=True))
    assert Decimal(str(row["Monthly revenue"])) == revenue


def test_every_submission_takes_the_snapshot_and_a_resubmission_takes_it_again(db, make_user):
    from tests.loans.factories import CustomerFactory, ProductFactory

    officer = make_user("officer", role="Loan officer")
    approver = make_user("approver", role="Credit approver")
    customer = CustomerFactory(monthly_revenue=Decimal("50000"), total_assets=Decimal("100"), total_liabilities=50)
    product = ProductFactory()
    draft = application_create(actor=officer, customer=customer, product=product, amount=100000, term_months=12)
    assert not ApplicationSnapshot.objects.filter(pk=draft.pk).exists()  # a draft is not judged yet
    app = application_submit(actor=officer, application=draft)
    snap = ApplicationSnapshot.objects.get(pk=app.pk)
    assert snap.monthly_revenue == Decimal("50000") and snap.debt_ratio == Decimal("0.5000")
    assert not snap.backfilled and snap.prior_applications == 0
    customer_update(actor=make_user("admin", superuser=True), customer=customer, monthly_revenue=Decimal("70000"))
    assert ApplicationSnapshot.objects.get(pk=app.pk).monthly_revenue == Decimal("50000")
    application_start_review(actor=approver, application=app)
    app = application_return(actor=approver, application=app, reason="send the accounts")
    application_submit(actor=officer, application=app)  # resubmitted with what was asked for
    assert ApplicationSnapshot.objects.get(pk=app.pk).monthly_revenue == Decimal("70000")
    other = application_create(
        actor=officer, customer=customer, product=product, amount=100000, term_months=12, submit=True
    )
    assert ApplicationSnapshot.objects.get(pk=other.pk).prior_applications == 1


@pytest.mark.django_db
def test_backfill_fills_only_submitted_applications_without_one_and_marks_them(world):
    ids = world.application_ids[:5]
    ApplicationSnapshot.objects.filter(pk__in=ids).delete()
    LoanApplication.objects.filter(pk=ids[0]).update(status=ApplicationStatus.DRAFT)
    assert applications_snapshot_backfill() == 4
    made = ApplicationSnapshot.objects.filter(pk__in=ids)
    assert set(made.values_list("pk", flat=True)) == set(ids[1:])
    assert all(made.values_list("backfilled", flat=True))
    assert ApplicationSnapshot.objects.filter(backfilled=False).count() == len(world.application_ids) - 5
    assert applications_snapshot_backfill() == 0  # idempotent
