"""The model report of one version, as HTML (charts as inline SVG) and PDF (reportlab):
data and target definition, variables with their information value, bins with counts, bad
rates, WoE and points, KS / AUC / Gini, ROC and calibration charts, stability (PSI), the
baseline comparison and the policy rules in force. Everything comes from what the registry
recorded at training, so the report of a version never changes (stability excepted: PSI
compares the training population with the recent applications at the time of reading)."""

import io
from xml.sax.saxutils import escape

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from scoring.models import ModelKind, ModelVersion


def report_policy_rules() -> list[dict]:
    """The policy (knock-out) rules in force, as rows; none when the decision engine has none."""
    try:
        from scoring.selectors_decision import policy_rules_in_force
    except ImportError:  # pragma: no cover - without the decision engine
        return []
    return [
        {
            "kind": rule.get_kind_display(),
            "threshold": "" if rule.threshold is None else f"{rule.threshold.normalize():f}",
            "product": str(rule.product) if rule.product_id else _("every product"),
            "action": rule.get_action_display(),
        }
        for rule in policy_rules_in_force()
    ]


def target_definition(version: ModelVersion) -> str:
    metrics = version.metrics or {}
    if version.kind == ModelKind.PD:
        return _(
            "Default (1) or not (0) of approved applications with an observed outcome (loan outcomes: derived from "
            "servicing where it exists, else recorded); inputs are each application's snapshot taken at submission."
        )
    if version.kind == ModelKind.APPROVAL:
        return _("The officers' decisions: approved (1) or rejected (0), on the applications' snapshots.")
    if version.kind == ModelKind.LIMIT:
        return _("The amount of loans repaid (approved amounts while no outcome is known), on the snapshots.")
    target = metrics.get("target") or {}
    dataset = (version.params or {}).get("dataset") or {}
    return _(
        "Uploaded file %(file)s (SHA-256 %(sha)s, %(rows)s rows); target column %(column)s, bad when %(bad)s "
        "(bad rate %(rate)s)."
    ) % {
        "file": dataset.get("file", "-"),
        "sha": (dataset.get("sha256") or version.data_hash or "-")[:16],
        "rows": dataset.get("rows", version.training_rows),
        "column": target.get("column", "-"),
        "bad": ", ".join(target.get("bad_values", [])),
        "rate": target.get("bad_rate", "-"),
    }


def model_report_data(*, version: ModelVersion) -> dict:
    metrics = version.metrics or {}
    holdout, baseline, cv = metrics.get("holdout", {}), metrics.get("baseline", {}), metrics.get("cv", {})
    directions = (version.params or {}).get("directions") or {}
    schema_columns = {c["name"]: c for c in (version.params or {}).get("schema", {}).get("columns", [])}
    for name, column in schema_columns.items():
        directions.setdefault(name, column.get("direction", "none") if column.get("type") == "numeric" else "")
    selected = set(version.features or [])
    variables = [
        {"feature": name, "iv": iv, "selected": name in selected, "direction": directions.get(name, "")}
        for name, iv in sorted((metrics.get("iv") or {}).items(), key=lambda kv: -kv[1])
    ]
    try:
        from scoring.selectors import model_version_drift

        drift = model_version_drift(version=version)
    except Exception:  # noqa: BLE001 - the report still shows everything recorded at training
        drift = {"rows": [], "recent": 0, "days": 90}
    return {
        "version": version,
        "generated_at": timezone.now(),
        "target_definition": target_definition(version),
        "holdout": holdout,
        "baseline": baseline,
        "cv": cv,
        "variables": variables,
        "bins": metrics.get("scorecard", []),
        "contradicted": metrics.get("contradicted", []),
        "warnings": metrics.get("warnings", []),
        "drift": drift,
        "policy_rules": report_policy_rules(),
        "roc_svg": roc_svg(holdout.get("roc") or []),
        "calibration_svg": calibration_svg(holdout.get("calibration") or []),
        "is_classifier": holdout.get("auc") is not None,
    }


# -- charts --------------------------------------------------------------------------
W, H, PAD = 320, 240, 36


def _xy(x: float, y: float) -> tuple[float, float]:
    return PAD + x * (W - 2 * PAD), H - PAD - y * (H - 2 * PAD)


def _axes(x_label: str, y_label: str) -> list[str]:
    x0, y0 = _xy(0, 0)
    x1, y1 = _xy(1, 1)
    return [
        f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#999"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#bbb" stroke-dasharray="4 3"/>',
        f'<text x="{(x0 + x1) / 2}" y="{H - 6}" font-size="11" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="12" y="{(y0 + y1) / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {(y0 + y1) / 2})">{escape(y_label)}</text>',
        f'<text x="{x0}" y="{y0 + 14}" font-size="10">0</text>',
        f'<text x="{x1 - 6}" y="{y0 + 14}" font-size="10">1</text>',
        f'<text x="{x0 - 12}" y="{y1 + 4}" font-size="10">1</text>',
    ]


def _svg(parts: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>' + "".join(parts) + "</svg>"
    )


def roc_svg(points: list) -> str:
    if not points:
        return ""
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (_xy(a, b) for a, b in points))
    parts = [*_axes(_("False positive rate"), _("True positive rate"))]
    parts.append(f'<polyline points="{path}" fill="none" stroke="#264b5d" stroke-width="2"/>')
    return _svg(parts, _("ROC curve"))


def calibration_svg(rows: list) -> str:
    if not rows:
        return ""
    top = max(max(r["predicted"], r["observed"]) for r in rows) or 1.0
    scale = min(1.0, round(top * 1.1, 2)) or 1.0
    parts = [*_axes(_("Predicted (scaled to %(s)s)") % {"s": scale}, _("Observed"))]
    pts = [_xy(r["predicted"] / scale, r["observed"] / scale) for r in rows]
    parts.append(
        '<polyline points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '" fill="none" stroke="#79aec8"/>'
    )
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#264b5d"/>' for x, y in pts]
    return _svg(parts, _("Calibration by decile"))


def _yes(value) -> str:
    return _("yes") if value else _("no")


# -- outputs -------------------------------------------------------------------------
def _audit(version: ModelVersion, actor, fmt: str) -> None:
    audit_record(action=AuditAction.EXPORT, actor=actor, target=version, changes={"report": fmt})


def model_report_html(*, version: ModelVersion, actor=None) -> str:
    html = render_to_string("admin/scoring/modelversion/report.html", model_report_data(version=version))
    _audit(version, actor, "html")
    return html


def model_report_pdf(*, version: ModelVersion, actor=None) -> bytes:
    from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    data = model_report_data(version=version)
    chinese = (translation.get_language() or "").lower().startswith("zh")
    font = "Helvetica"
    if chinese:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        font = "STSong-Light"
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = font
    body, h2 = styles["BodyText"], styles["Heading2"]

    def p(text) -> Paragraph:
        return Paragraph(escape(str(text)), body)

    def table(header: list, rows: list) -> Table:
        t = Table([[p(h) for h in header], *[[p(c) for c in r] for r in rows]], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef1")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    def chart(points: list, x_label: str, y_label: str) -> Drawing:
        d = Drawing(W, H)
        x0, y0 = PAD, PAD
        size_x, size_y = W - 2 * PAD, H - 2 * PAD
        d.add(Rect(x0, y0, size_x, size_y, fillColor=None, strokeColor=colors.grey))
        d.add(Line(x0, y0, x0 + size_x, y0 + size_y, strokeColor=colors.lightgrey, strokeDashArray=[3, 3]))
        flat = []
        for a, b in points:
            flat += [x0 + a * size_x, y0 + b * size_y]
        if len(flat) >= 4:
            d.add(PolyLine(flat, strokeColor=colors.HexColor("#264b5d"), strokeWidth=1.5))
        for i in range(0, len(flat), 2):
            d.add(Circle(flat[i], flat[i + 1], 1.5, fillColor=colors.HexColor("#264b5d"), strokeColor=None))
        d.add(String(x0 + size_x / 2, 8, x_label, fontName=font, fontSize=9, textAnchor="middle"))
        d.add(String(4, y0 + size_y + 6, y_label, fontName=font, fontSize=9))
        return d

    hold, base, cv = data["holdout"], data["baseline"], data["cv"]
    story = [
        Paragraph(escape(_("Model report: %(label)s") % {"label": version.label}), styles["Title"]),
        p(f"{version.get_kind_display()} · {version.algorithm} · {version.get_status_display()}"),
        p(
            _("Trained %(when)s on %(rows)s rows; data hash %(hash)s.")
            % {
                "when": version.trained_at.strftime("%Y-%m-%d %H:%M") if version.trained_at else "-",
                "rows": version.training_rows,
                "hash": (version.data_hash or "-")[:16],
            }
        ),  # fmt: skip
        Paragraph(escape(_("Data and target")), h2),
        p(data["target_definition"]),
        Paragraph(escape(_("Performance and baseline (same split)")), h2),
    ]
    if data["is_classifier"]:
        rows = [
            ["AUC", hold.get("auc"), base.get("auc")],
            ["KS", hold.get("ks"), base.get("ks")],
            ["Gini", hold.get("gini"), base.get("gini")],
            ["Brier", hold.get("brier"), ""],
        ]
        if cv.get("folds"):
            rows.append(
                [
                    _("%(k)s-fold CV AUC") % {"k": cv["folds"]},
                    f"{cv.get('auc_mean')} ± {cv.get('auc_std')}",
                    f"{cv.get('baseline_auc_mean', '')} ± {cv.get('baseline_auc_std', '')}"
                    if "baseline_auc_mean" in cv
                    else "",
                ]
            )
        story.append(table([_("Metric"), version.label, base.get("algorithm", _("baseline"))], rows))
        story += [Spacer(1, 8), Paragraph(escape(_("ROC curve")), h2)]
        story.append(chart(hold.get("roc") or [], _("False positive rate"), _("True positive rate")))
        calibration = hold.get("calibration") or []
        if calibration:
            top = max(max(r["predicted"], r["observed"]) for r in calibration) or 1.0
            story += [Paragraph(escape(_("Calibration by decile")), h2)]
            story.append(
                chart([(r["predicted"] / top, r["observed"] / top) for r in calibration], _("Predicted"), _("Observed"))
            )
    else:
        story.append(
            table(
                [_("Metric"), version.label, _("baseline")],
                [["MAE", hold.get("mae"), base.get("mae")], ["R²", hold.get("r2"), base.get("r2")]],
            )
        )
    if data["variables"]:
        story += [Paragraph(escape(_("Variables (information value)")), h2)]
        story.append(
            table(
                [_("Feature"), "IV", _("Direction"), _("In the model")],
                [
                    [v["feature"], v["iv"], v["direction"], _("yes") if v["selected"] else _("no")]
                    for v in data["variables"]
                ],
            )
        )
    if data["contradicted"]:
        story += [Paragraph(escape(_("Directions contradicted by the data")), h2)]
        story.append(
            table(
                [_("Feature"), _("Declared"), _("In the data"), _("Kept")],
                [
                    [c["feature"], c["declared"], c["observed"], _("yes") if c["kept"] else _("no")]
                    for c in data["contradicted"]
                ],
            )
        )
    if data["warnings"]:
        story += [Paragraph(escape(_("Data warnings")), h2)]
        story.append(table([_("Column"), _("Warning")], [[w["column"], w["message"]] for w in data["warnings"]]))
    if data["bins"]:
        story += [Paragraph(escape(_("Bins")), h2)]
        story.append(
            table(
                [_("Feature"), _("Bin"), _("Rows"), _("Bad rate"), "WoE", _("Points")],
                [[b["feature"], b["bin"], b["count"], b["bad_rate"], b["woe"], b["points"]] for b in data["bins"]],
            )
        )
    story += [Paragraph(escape(_("Stability (PSI)")), h2)]
    if data["drift"]["rows"]:
        story.append(table([_("Feature"), "PSI"], [[r["feature"], r["psi"]] for r in data["drift"]["rows"]]))
    else:
        story.append(p(_("No recent population to compare with.")))
    story += [Paragraph(escape(_("Policy rules in force")), h2)]
    if data["policy_rules"]:
        story.append(
            table(
                [_("Rule"), _("Threshold"), _("Product"), _("Action")],
                [[r["kind"], r["threshold"], r["product"], r["action"]] for r in data["policy_rules"]],
            )
        )
    else:
        story.append(p(_("No policy rules configured.")))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"{version.label}", author="loan back office")
    doc.build(story)
    _audit(version, actor, "pdf")
    return buffer.getvalue()
