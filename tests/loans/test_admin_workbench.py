"""The workbench as staff use it: formatted money and dates, second approvals flagged and
filterable, batch confirmation with grades and warnings, reasons on the server, returned
applications and the officer's own views, free ranges in the filters, the customer picker."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from loans import services
from loans.models import ApprovalDecision, LoanApplication
from tests.loans.factories import ApplicationFactory, CustomerFactory

S = LoanApplication.Status
CHANGELIST = reverse("admin:loans_loanapplication_changelist")


def change_url(app):
    return reverse("admin:loans_loanapplication_change", args=[app.pk])


def shown(response):
    return [row.reference for row in response.context["cl"].result_list]


@pytest.fixture
def approver_client(client, approver):
    client.force_login(approver)
    return client


def _under_review(officer, product, **kw):
    return ApplicationFactory(
        product=product,
        status=S.UNDER_REVIEW,
        created_by=officer,
        submitted_by=officer,
        submitted_at=timezone.now() - timedelta(days=1),
        review_round=1,
        **kw,
    )


def test_list_shows_money_with_the_yuan_sign_and_separators(approver_client, officer, product):
    _under_review(officer, product, amount=Decimal("1500000.00"))
    html = approver_client.get(CHANGELIST).content.decode()
    assert "¥1,500,000.00" in html
    assert "1500000.00" not in html


def test_awaiting_second_approval_is_flagged_and_filterable(approver_client, approver, officer, product):
    big = _under_review(officer, product, amount=Decimal("500000.00"))  # above the 200,000 authority
    small = _under_review(officer, product, amount=Decimal("50000.00"))
    services.application_approve(actor=approver, application=big, reason="first of two")
    big.refresh_from_db()
    assert big.status == S.UNDER_REVIEW

    queue = approver_client.get(CHANGELIST)
    html = queue.content.decode()
    assert "awaiting second approval" in html
    filtered = approver_client.get(CHANGELIST, {"status": "awaiting_second"})
    assert shown(filtered) == [big.reference]
    assert small.reference not in shown(filtered)


def test_batch_result_lists_approvals_above_authority_as_awaiting_second(approver_client, officer, product):
    big = _under_review(officer, product, amount=Decimal("500000.00"))
    small = _under_review(officer, product, amount=Decimal("50000.00"))
    result = approver_client.post(
        CHANGELIST,
        {"action": "batch_approve", "_selected_action": [big.pk, small.pk], "post": "yes", "reason": "ok"},
    )
    assert result.status_code == 200
    assert [a.pk for a in result.context["awaiting_second"]] == [big.pk]
    assert [a.pk for a in result.context["done"]] == [small.pk]
    html = result.content.decode()
    awaiting = html.split('id="batch-awaiting-second"')[1].split("</ul>")[0]
    done = html.split('id="batch-done"')[1].split("</p>")[0]
    assert big.reference in awaiting and big.reference not in done
    assert small.reference in done


def test_batch_confirmation_shows_grade_and_score_and_warns_about_grade_e(approver_client, officer, product):
    weak = [_under_review(officer, product, score_grade="E", score_points=480) for _ in range(2)]
    fine = _under_review(officer, product, score_grade="B", score_points=690)
    confirm = approver_client.post(
        CHANGELIST, {"action": "batch_approve", "_selected_action": [a.pk for a in (*weak, fine)]}
    )
    assert confirm.status_code == 200
    html = confirm.content.decode()
    selection = html.split('id="batch-selection"')[1].split("</table>")[0]
    assert "690" in selection and ">B<" in selection and "480" in selection
    warnings = html.split('id="batch-warnings"')[1].split("</ul>")[0]
    assert all(a.reference in warnings for a in weak)
    assert fine.reference not in warnings
    assert LoanApplication.objects.filter(status=S.APPROVED).count() == 0


@pytest.mark.parametrize("reason", ["", "   "])
def test_batch_reject_reason_is_required_on_the_server(approver_client, officer, product, reason):
    app = _under_review(officer, product)
    response = approver_client.post(
        CHANGELIST, {"action": "batch_reject", "_selected_action": [app.pk], "post": "yes", "reason": reason}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert 'class="errornote"' in response.content.decode()
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW


def test_started_review_is_not_final_in_the_decision_history(approver_client, approver, officer, product):
    app = ApplicationFactory(product=product, status=S.SUBMITTED, created_by=officer, submitted_by=officer)
    services.application_start_review(actor=approver, application=app)
    decision = app.decisions.get()
    assert decision.kind == ApprovalDecision.Kind.REVIEW and decision.final is False
    html = approver_client.get(change_url(app)).content.decode()
    assert "step" in html and "final decision" not in html


def test_a_returned_application_shows_its_return_reason(approver_client, approver, officer, product):
    app = _under_review(officer, product)
    services.application_return(actor=approver, application=app, reason="Send the 2025 bank statements.")
    app.refresh_from_db()
    decision = app.decisions.get(kind=ApprovalDecision.Kind.RETURN)
    assert decision.final is False
    html = approver_client.get(change_url(app)).content.decode()
    assert 'id="return-reason"' in html
    assert html.count("Send the 2025 bank statements.") >= 2  # the notice and the decision reason field


def test_default_queue_shows_returned_applications(approver_client, approver, officer, product):
    app = _under_review(officer, product)
    services.application_return(actor=approver, application=app, reason="More documents")
    ApplicationFactory(product=product, status=S.APPROVED)
    assert shown(approver_client.get(CHANGELIST)) == [app.reference]


def test_officer_has_returned_to_me_and_my_drafts(client, officer, make_user, approver, product):
    other = make_user("officer_b", role="Loan officer")
    mine_returned = _under_review(officer, product)
    services.application_return(actor=approver, application=mine_returned, reason="More documents")
    theirs_returned = _under_review(other, product)
    services.application_return(actor=approver, application=theirs_returned, reason="More documents")
    my_draft = ApplicationFactory(product=product, status=S.DRAFT, created_by=officer)
    ApplicationFactory(product=product, status=S.DRAFT, created_by=other)
    client.force_login(officer)
    assert shown(client.get(CHANGELIST, {"mine": "returned"})) == [mine_returned.reference]
    assert shown(client.get(CHANGELIST, {"mine": "drafts"})) == [my_draft.reference]


def test_filters_credit_score_and_free_amount_and_date_ranges(approver_client, officer, product):
    now = timezone.now()
    low = _under_review(officer, product, amount=Decimal("80000"), customer=CustomerFactory(credit_score=610))
    high = _under_review(officer, product, amount=Decimal("260000"), customer=CustomerFactory(credit_score=780))
    old = _under_review(officer, product, amount=Decimal("120000"), customer=CustomerFactory(credit_score=700))
    LoanApplication.objects.filter(pk=old.pk).update(submitted_at=now - timedelta(days=40))
    assert shown(approver_client.get(CHANGELIST, {"credit_score_min": "650"})) == [old.reference, high.reference]
    assert shown(approver_client.get(CHANGELIST, {"credit_score_max": "650"})) == [low.reference]
    assert set(shown(approver_client.get(CHANGELIST, {"amount_min": "100000", "amount_max": "200000"}))) == {
        old.reference
    }
    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    assert set(shown(approver_client.get(CHANGELIST, {"submitted_from": since}))) == {low.reference, high.reference}
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert shown(approver_client.get(CHANGELIST, {"submitted_to": until})) == [old.reference]
    # An unreadable value is an error in the panel, not a 500 and not applied.
    bad = approver_client.get(CHANGELIST, {"amount_min": "lots"})
    assert bad.status_code == 200
    assert "Not a valid value" in bad.content.decode()
    assert len(shown(bad)) == 3


def test_customer_picker_is_search_as_you_type(client, officer, customer):
    client.force_login(officer)
    page = client.get(reverse("admin:loans_loanapplication_add")).content.decode()
    assert "admin-autocomplete" in page
    found = client.get(
        reverse("admin:autocomplete"),
        {"term": customer.name, "app_label": "loans", "model_name": "loanapplication", "field_name": "customer"},
    )
    assert found.status_code == 200
    assert [row["id"] for row in found.json()["results"]] == [str(customer.pk)]


def test_customer_autocomplete_does_not_leak_to_users_who_cannot_view_customers(client, make_user, customer):
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk")
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="loans", codename__in=["view_loanapplication", "add_loanapplication"]
        )
    )
    client.force_login(clerk)
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": customer.name, "app_label": "loans", "model_name": "loanapplication", "field_name": "customer"},
    )
    assert response.status_code == 403
    assert customer.name not in response.content.decode()


def test_migration_marks_earlier_step_decisions_not_final(officer, product):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("loans.migrations.0018_decision_steps_not_final")
    app = _under_review(officer, product)
    review = ApprovalDecision.objects.create(application=app, kind="review", amount=app.amount, final=True)
    reject = ApprovalDecision.objects.create(application=app, kind="reject", amount=app.amount, final=True)
    migration.steps_not_final(apps, None)
    review.refresh_from_db()
    reject.refresh_from_db()
    assert review.final is False and reject.final is True


def test_city_and_industry_filters_are_drop_downs_keeping_the_other_filters(approver_client, officer, product):
    app = _under_review(officer, product)
    html = approver_client.get(CHANGELIST, {"status": "all", "q": ""}).content.decode()
    assert '<select name="city"' in html and '<select name="industry"' in html
    city_form = html.split('<select name="city"')[0].rsplit("<form", 1)[1]
    assert 'name="status" value="all"' in city_form
    assert shown(approver_client.get(CHANGELIST, {"city": app.customer.city})) == [app.reference]
