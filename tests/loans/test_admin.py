from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from loans.models import LoanApplication
from loans.resources import COLUMNS
from tests.loans.factories import ApplicationFactory

S = LoanApplication.Status
CHANGELIST = reverse("admin:loans_loanapplication_changelist")


def change_url(app):
    return reverse("admin:loans_loanapplication_change", args=[app.pk])


def decide_url(app, action):
    return reverse("admin:loans_loanapplication_decide", args=[app.pk, action])


def make_pending(n, officer, product, **kw):
    now = timezone.now()
    return [
        ApplicationFactory(
            product=product,
            status=S.SUBMITTED,
            submitted_at=now - timedelta(days=i),
            created_by=officer,
            submitted_by=officer,
            review_round=1,
            **kw,
        )
        for i in range(n)
    ]


@pytest.fixture
def approver_client(client, approver):
    client.force_login(approver)
    return client


def test_queue_shows_pending_oldest_first(approver_client, officer, product):
    apps = make_pending(3, officer, product)
    ApplicationFactory(product=product, status=S.APPROVED)
    ApplicationFactory(product=product, status=S.DRAFT)
    response = approver_client.get(CHANGELIST)
    assert response.status_code == 200
    shown = [row.reference for row in response.context["cl"].result_list]
    assert shown == [a.reference for a in reversed(apps)]
    everything = approver_client.get(CHANGELIST, {"status": "all"})
    assert len(everything.context["cl"].result_list) == 5


def test_changelist_query_count_does_not_grow_with_rows(approver_client, officer, product, django_assert_num_queries):
    make_pending(3, officer, product)
    approver_client.get(CHANGELIST)  # warm caches (content types, permissions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        approver_client.get(CHANGELIST)
    make_pending(30, officer, product)
    with CaptureQueriesContext(connection) as many:
        approver_client.get(CHANGELIST)
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"amount_range": "ge1m"}, {"big"}),
        ({"industry": "catering"}, {"catering"}),
        ({"city": "Chengdu"}, {"catering"}),
        ({"score_range": "ge750"}, {"scored"}),
        ({"score_range": "none"}, {"big", "catering"}),
        ({"channel": "public"}, {"scored"}),
        ({"q": "REF-SCORED"}, {"scored"}),
    ],
)
def test_filters_and_search(approver_client, officer, product, params, expected):
    from tests.loans.factories import CustomerFactory

    big = ApplicationFactory(product=product, status=S.SUBMITTED, amount=Decimal("2000000"), reference="REF-BIG")
    cust = CustomerFactory(industry="catering", city="Chengdu")
    catering = ApplicationFactory(product=product, status=S.SUBMITTED, customer=cust, reference="REF-CATERING")
    scored = ApplicationFactory(
        product=product, status=S.UNDER_REVIEW, score_points=780, channel="public", reference="REF-SCORED"
    )
    names = {big.pk: "big", catering.pk: "catering", scored.pk: "scored"}
    response = approver_client.get(CHANGELIST, params)
    assert response.status_code == 200
    assert {names[a.pk] for a in response.context["cl"].result_list} == expected


def test_search_by_phone(approver_client, product):
    app = ApplicationFactory(product=product, status=S.SUBMITTED)
    response = approver_client.get(CHANGELIST, {"q": app.customer.phone})
    assert [a.pk for a in response.context["cl"].result_list] == [app.pk]


def test_application_page_shows_summary_score_and_buttons(approver_client, pending):
    LoanApplication.objects.filter(pk=pending.pk).update(
        score_grade="B",
        score_points=688,
        score_probability=Decimal("0.0412"),
        score_model_version="pd-3",
        score_reasons=[
            {
                "code": "R10",
                "feature": "debt_ratio",
                "en": "High debt ratio",
                "zh_hans": "资产负债率偏高",
                "points_lost": 50,
            }
        ],
    )
    response = approver_client.get(change_url(pending))
    html = response.content.decode()
    assert response.status_code == 200
    assert pending.customer.name in html and "High debt ratio" in html and "pd-3" in html
    assert "R10" in html and "zh_hans" not in html  # shown as text, not as a raw dict
    chinese = approver_client.get(change_url(pending), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "资产负债率偏高" in chinese
    assert decide_url(pending, "approve") in html and decide_url(pending, "reject") in html
    assert decide_url(pending, "return") in html
    assert 'name="_save"' not in html  # approvers decide, they do not edit


def test_application_page_shows_compact_reasons_and_the_score_history(approver_client, pending):
    from scoring.models import Score
    from tests.scoring.factories import ModelVersionFactory

    stored = [{"feature": "credit_score", "points_lost": 31}]
    LoanApplication.objects.filter(pk=pending.pk).update(
        status=S.APPROVED, decided_at=timezone.now(), score_grade="C", score_points=601, score_reasons=stored
    )
    later = ModelVersionFactory(version=7)
    Score.objects.create(application=pending, model_version=later, probability=0.0831, points=640, grade="B")
    html = approver_client.get(change_url(pending)).content.decode()
    assert "Low credit bureau score" in html and "R03" in html  # words and code from the stored pair
    assert "Score history" in html and later.label in html and "8.31 %" in html  # PD 0.0831 as a percentage
    assert "Decided with the score above" in html


def test_approve_button(approver_client, approver, pending):
    response = approver_client.post(decide_url(pending, "approve"), {"reason": "Solid cash flow"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == S.APPROVED and pending.decided_by == approver
    entry = AuditEntry.objects.filter(target_id=str(pending.pk), action="approve").get()
    assert entry.reason == "Solid cash flow"


def test_reject_requires_reason(approver_client, pending):
    response = approver_client.post(decide_url(pending, "reject"), {"reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors
    pending.refresh_from_db()
    assert pending.status == S.UNDER_REVIEW


def test_illegal_transition_is_a_message_not_a_500(approver_client, product):
    app = ApplicationFactory(product=product, status=S.REJECTED)
    response = approver_client.post(decide_url(app, "approve"), {"reason": ""}, follow=True)
    assert response.status_code == 200
    assert any("cannot become" in str(m) for m in response.context["messages"])
    app.refresh_from_db()
    assert app.status == S.REJECTED


def test_maker_checker_in_admin(client, make_user, product):
    user = make_user("dual", role="Credit approver")
    app = ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=user, review_round=1)
    client.force_login(user)
    response = client.post(decide_url(app, "approve"), {"reason": ""}, follow=True)
    assert any("someone else must decide" in str(m) for m in response.context["messages"])
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------
def test_officer_edits_but_cannot_decide(client, officer, customer, product):
    client.force_login(officer)
    add = reverse("admin:loans_loanapplication_add")
    response = client.post(
        add,
        {
            "customer": customer.pk,
            "product": product.pk,
            "amount": "250000",
            "term_months": "12",
            "purpose": "working_capital",
            "repayment_method": "equal_installment",
            "contact_phone": "",
            "notes": "",
            "decisions-TOTAL_FORMS": "0",
            "decisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    app = LoanApplication.objects.get()
    assert app.created_by == officer and app.status == S.DRAFT and app.reference.startswith("LA-")
    assert AuditEntry.objects.filter(target_id=str(app.pk), action="create").exists()
    assert client.post(decide_url(app, "submit"), {"reason": ""}).status_code == 302
    app.refresh_from_db()
    assert app.status == S.SUBMITTED
    assert client.post(decide_url(app, "review"), {}).status_code == 403
    assert client.post(decide_url(app, "approve"), {}).status_code == 403


def test_officer_form_reports_product_limits(client, officer, customer, product):
    client.force_login(officer)
    response = client.post(
        reverse("admin:loans_loanapplication_add"),
        {
            "customer": customer.pk,
            "product": product.pk,
            "amount": "500",
            "term_months": "12",
            "purpose": "working_capital",
            "repayment_method": "equal_installment",
            "decisions-TOTAL_FORMS": "0",
            "decisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors
    assert not LoanApplication.objects.exists()


def test_auditor_only_reads(client, auditor, pending):
    client.force_login(auditor)
    assert client.get(CHANGELIST).status_code == 200
    page = client.get(change_url(pending))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and decide_url(pending, "approve") not in html
    assert client.post(decide_url(pending, "approve"), {}).status_code == 403
    assert client.get(reverse("admin:loans_loanapplication_add")).status_code == 403
    response = client.post(CHANGELIST, {"action": "batch_approve", "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    assert pending.status == S.UNDER_REVIEW
    assert response.status_code in (200, 302)


def test_staff_without_role_sees_nothing(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get(CHANGELIST).status_code == 403


# ---------------------------------------------------------------------------
# Batch actions
# ---------------------------------------------------------------------------
def test_batch_approve_confirmation_then_mixed_result(approver_client, approver, officer, product):
    good = [
        ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=officer, review_round=1) for _ in range(2)
    ]
    own = ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=approver, review_round=1)
    wrong = ApplicationFactory(product=product, status=S.SUBMITTED, created_by=officer, review_round=1)
    ids = [a.pk for a in (*good, own, wrong)]
    confirm = approver_client.post(CHANGELIST + "?status=all", {"action": "batch_approve", "_selected_action": ids})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "¥400,000.00" in html and "4" in html  # totals of the selection
    assert LoanApplication.objects.filter(status=S.APPROVED).count() == 0  # nothing before confirming
    result = approver_client.post(
        CHANGELIST + "?status=all",
        {"action": "batch_approve", "_selected_action": ids, "post": "yes", "reason": "batch"},
    )
    assert result.status_code == 200
    outcome = result.context["outcome"]
    assert {a.pk for a in outcome.done} == {a.pk for a in good}
    failed = {a.pk: why for a, why in outcome.failed}
    assert set(failed) == {own.pk, wrong.pk}
    assert "someone else must decide" in failed[own.pk]
    html = result.content.decode()
    assert own.reference in html and wrong.reference in html
    assert LoanApplication.objects.filter(status=S.APPROVED).count() == 2


def test_batch_assign_reviewer(approver_client, approver2, officer, product):
    apps = make_pending(2, officer, product)
    result = approver_client.post(
        CHANGELIST,
        {"action": "batch_assign", "_selected_action": [a.pk for a in apps], "post": "yes", "reviewer": approver2.pk},
    )
    assert result.status_code == 200
    assert set(LoanApplication.objects.values_list("reviewer", flat=True)) == {approver2.pk}


# ---------------------------------------------------------------------------
# Import and export
# ---------------------------------------------------------------------------
def test_export_csv_is_audited(client, auditor, pending):
    client.force_login(auditor)
    response = client.post(
        reverse("admin:loans_loanapplication_export") + "?status=all",
        {"format": "0", "resource": "1", **{f"applicationresourcechinese_{key}": "on" for key in COLUMNS}},
    )
    assert response.status_code == 200
    body = response.content.decode("utf-8-sig")
    assert "申请编号" in body.splitlines()[0] and pending.reference in body
    entry = AuditEntry.objects.filter(action="export", target_type="loans.loanapplication").get()
    assert entry.changes["rows"] == 1


def test_workbench_in_chinese(approver_client, pending):
    response = approver_client.get(change_url(pending), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert "开始审查" in html or "批准" in html
    assert "授信可用额度" in html


def test_domain_error_while_saving_is_a_message(client, officer, product, monkeypatch):
    from loans import admin as loans_admin
    from loansite.errors import InvalidTransition

    app = ApplicationFactory(product=product, status=S.RETURNED, created_by=officer)

    def moved_meanwhile(**kwargs):
        raise InvalidTransition("Application was submitted meanwhile.")

    monkeypatch.setattr(loans_admin, "application_update", moved_meanwhile)
    client.force_login(officer)
    response = client.post(
        change_url(app),
        {
            "product": product.pk,
            "amount": "120000",
            "term_months": "12",
            "purpose": "working_capital",
            "repayment_method": "equal_installment",
            "contact_phone": app.contact_phone,
            "notes": "",
            "decisions-TOTAL_FORMS": "0",
            "decisions-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert any("submitted meanwhile" in str(m) for m in response.context["messages"])
    app.refresh_from_db()
    assert app.amount == Decimal("100000.00")


# ---------------------------------------------------------------------------
# Identity verification in the workbench
# ---------------------------------------------------------------------------
def _unverified(product, phone="13955556666"):
    from tests.loans.factories import CustomerFactory

    on_file = CustomerFactory(name="Real Tea House", phone=phone)
    return ApplicationFactory(
        product=product,
        customer=None,
        identity_match=on_file,
        status=S.PENDING_VERIFICATION,
        channel="public",
        submitted_at=timezone.now(),
        contact_phone="13700001111",
        claimed_identity={
            "name": "Someone Else Trading",
            "credit_code": on_file.credit_code,
            "phone": "13700001111",
            "monthly_revenue": "120000",
        },
    )


def test_pending_identity_filter_lists_them_apart_from_the_queue(client, officer, product):
    app = _unverified(product)
    queued = make_pending(1, officer, product)[0]
    client.force_login(officer)
    queue = client.get(CHANGELIST)
    assert [a.pk for a in queue.context["cl"].result_list] == [queued.pk]
    held = client.get(CHANGELIST, {"status": "pending_verification"})
    assert [a.pk for a in held.context["cl"].result_list] == [app.pk]
    html = held.content.decode()
    assert "Pending identity verification" in html
    assert "Someone Else Trading (identity not verified)" in html


def test_application_page_shows_the_claim_beside_the_record_and_the_buttons(client, officer, approver, product):
    app = _unverified(product)
    client.force_login(officer)
    html = client.get(change_url(app)).content.decode()
    assert "Identity to verify" in html
    assert "Someone Else Trading" in html and "Real Tea House" in html  # given vs on file
    assert "13700001111" in html and "13955556666" in html
    assert '<td class="differs">Someone Else Trading</td>' in html
    assert '<td class="differs">120000</td>' not in html  # 120000 and 120000.00 are the same figure
    assert decide_url(app, "verify_identity") in html and decide_url(app, "reject_identity") in html
    assert decide_url(app, "review") not in html
    client.force_login(approver)  # no verify permission: no buttons, and the view refuses
    html = client.get(change_url(app)).content.decode()
    assert decide_url(app, "verify_identity") not in html
    assert client.post(decide_url(app, "verify_identity"), {"reason": ""}).status_code == 403


def test_verify_and_reject_buttons(client, officer, product):
    client.force_login(officer)
    app = _unverified(product)
    response = client.post(decide_url(app, "reject_identity"), {"reason": ""})
    assert response.status_code == 200 and response.context["form"].errors  # a reason is required
    response = client.post(decide_url(app, "verify_identity"), {"reason": "Confirmed on the phone on file"})
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.status, app.customer) == (S.SUBMITTED, app.identity_match)
    other = _unverified(product, phone="13955557777")
    client.post(decide_url(other, "reject_identity"), {"reason": "The customer never applied"})
    other.refresh_from_db()
    assert (other.status, other.customer) == (S.REJECTED, None)
    page = client.get(change_url(other)).content.decode()
    assert "No customer linked" in page and "The customer never applied" in page
