"""The model report per version, as HTML and PDF."""

from django.urls import reverse

from audit.models import AuditEntry
from scoring.models import ModelKind


def test_report_html_and_pdf_hold_every_section(client, make_user, trained):
    client.force_login(make_user("ops", role="Model ops"))
    version = trained[ModelKind.PD]
    html = client.get(reverse("admin:scoring_modelversion_report", args=[version.pk])).content.decode()
    for section in (
        "Data and target",
        "Variables (information value)",
        "Bins",
        "Stability (PSI)",
        "Policy rules in force",
        "random_forest_6",
        'id="report-bins"',
        "<svg",
    ):
        assert section in html, section
    assert "snapshot" in html  # the target definition says what the inputs are
    pdf = client.get(reverse("admin:scoring_modelversion_report_pdf", args=[version.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 3000
    chinese = client.get(
        reverse("admin:scoring_modelversion_report_pdf", args=[version.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert chinese.content.startswith(b"%PDF")
    limit = client.get(reverse("admin:scoring_modelversion_report", args=[trained[ModelKind.LIMIT].pk]))
    assert "R²" in limit.content.decode()
    assert AuditEntry.objects.filter(action="export", target_id=str(version.pk)).count() == 3


def test_report_reads_the_policy_rules_in_force(client, make_user, trained):
    from scoring.report import report_policy_rules

    client.force_login(make_user("ops", role="Model ops"))
    rules = report_policy_rules()
    html = client.get(reverse("admin:scoring_modelversion_report", args=[trained[ModelKind.PD].pk])).content.decode()
    if rules:
        assert rules[0]["kind"] in html
    else:
        assert "No policy rules configured." in html
