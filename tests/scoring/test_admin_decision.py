"""Decisioning screens: the expert scorecard, policy rules, the review queue of automated
decisions (confirm, reopen), the model page's backtest and challenger, the application page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from loans.models import AutomatedDecision
from scoring.models import Challenger, ExpertBand, ExpertScorecard, ModelKind, ModelVersion, PolicyRule, ShadowScore
from tests.scoring.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role="Risk analyst")


def test_expert_scorecard_page_and_a_band_edit_makes_a_new_version(client, analyst, make_user):
    card = ExpertScorecard.objects.get(active=True)
    url = reverse("admin:scoring_expertscorecard_change", args=[card.pk])
    client.force_login(make_user("officer", role="Loan officer"))
    page = client.get(url)
    assert page.status_code == 200 and not page.context["has_change_permission"]
    client.force_login(analyst)
    page = client.get(url)
    assert page.status_code == 200 and "None: weights sum to 1" in page.content.decode()
    data = {"name": card.name, "notes": "moved the debt ratio's upper band"}
    for formset in page.context["inline_admin_formsets"]:
        fs = formset.formset
        data[f"{fs.prefix}-TOTAL_FORMS"] = fs.total_form_count()
        data[f"{fs.prefix}-INITIAL_FORMS"] = fs.initial_form_count()
        for i, form in enumerate(fs.forms):
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if value is None or value is False:
                    continue
                data[f"{fs.prefix}-{i}-{name}"] = getattr(value, "pk", value)
    assert client.post(url, data).status_code == 302
    card.refresh_from_db()
    assert card.version == 2 and card.updated_by == analyst
    assert AuditEntry.objects.filter(target_id=str(card.pk), changes__version=2).exists()
    assert ExpertBand.objects.filter(scorecard=card).count() == 9


def test_policy_rule_needs_its_threshold(client, analyst):
    client.force_login(analyst)
    url = reverse("admin:scoring_policyrule_add")
    response = client.post(url, {"kind": "debt_ratio_above", "action": "recommend_decline", "active": "on"})
    assert response.status_code == 200 and "needs a threshold" in response.content.decode()
    response = client.post(
        url, {"kind": "debt_ratio_above", "threshold": "0.7", "action": "auto_decline", "active": "on"}
    )
    assert response.status_code == 302 and PolicyRule.objects.filter(threshold=Decimal("0.7")).exists()


def _decided(officer, product, *, sample_rate="1"):
    from scoring.models import DecisionPolicy
    from tests.loans.test_automation import submitted

    DecisionPolicy.objects.filter(product=None).update(
        straight_through=True, max_amount=Decimal("100000"), sample_rate=Decimal(sample_rate)
    )
    from loans.services.automation import application_auto_decide

    return application_auto_decide(application_id=submitted(officer, product).pk, draw=0.5)


def test_review_queue_confirm_and_reopen(client, make_user):
    from tests.loans.factories import ProductFactory

    product = ProductFactory()
    officer = make_user("officer", role="Loan officer")
    approver = make_user("approver", role="Credit approver")
    decision = _decided(officer, product)
    client.force_login(approver)
    queue = client.get(reverse("admin:loans_automateddecision_changelist") + "?review_status__exact=pending")
    assert queue.status_code == 200 and decision.application.reference in queue.content.decode()
    page = client.get(reverse("admin:loans_automateddecision_change", args=[decision.pk]))
    assert "Reopen for review" in page.content.decode()
    app_page = client.get(reverse("admin:loans_loanapplication_change", args=[decision.application_id]))
    assert "decision-panel" in app_page.content.decode() and "Approved straight through" in app_page.content.decode()
    client.post(reverse("admin:loans_automateddecision_review", args=[decision.pk]), {"note": "ok"})
    decision.refresh_from_db()
    assert decision.review_status == "confirmed"
    client.force_login(officer)
    assert (
        client.post(reverse("admin:loans_automateddecision_reopen", args=[decision.pk]), {"reason": "x"}).status_code
        == 403
    )
    client.force_login(approver)
    client.post(reverse("admin:loans_automateddecision_reopen", args=[decision.pk]), {"reason": "check income"})
    decision.refresh_from_db()
    decision.application.refresh_from_db()
    assert decision.review_status == AutomatedDecision.Review.REOPENED
    assert decision.application.status == "under_review"


def test_model_page_backtest_and_challenger(client, make_user):
    ops = make_user("ops", role="Model ops")
    champion = ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
    challenger = ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.READY)
    client.force_login(ops)
    url = reverse("admin:scoring_modelversion_change", args=[challenger.pk])
    assert "Score in shadow as the challenger" in client.get(url).content.decode()
    client.post(reverse("admin:scoring_modelalert_challenge", args=[challenger.pk]))
    assert Challenger.objects.get(kind="pd").model_version == challenger
    from scoring.models import Score
    from tests.loans.factories import ApplicationFactory

    for i, (p_champ, p_chall) in enumerate([(0.1, 0.2), (0.3, 0.25)]):
        app = ApplicationFactory(status="submitted", reference=f"LA-260101-C{i}")
        Score.objects.create(application=app, model_version=champion, probability=p_champ, grade="B")
        ShadowScore.objects.create(application=app, model_version=challenger, probability=p_chall, grade="B")
    page = client.get(url).content.decode()
    assert "challenger-comparison" in page and "0.225" in page and "0.2" in page
    client.post(reverse("admin:scoring_modelalert_backtest", args=[champion.pk]))
    assert champion.backtests.count() == 1
    assert (
        "model-backtest"
        in client.get(reverse("admin:scoring_modelversion_change", args=[champion.pk])).content.decode()
    )
