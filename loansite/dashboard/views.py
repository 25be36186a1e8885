"""The dashboard on the admin index: what each role sees, the period form, cards, charts and
their tables, and each chart's XLSX export. Thin: the figures come from ``selectors``."""

import datetime as dt

from django import forms
from django.http import Http404, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from loansite import roles
from loansite.dashboard import selectors
from loansite.dashboard.charts import portfolio_charts
from loansite.dashboard.periods import DEFAULT_PERIOD, PERIOD_CHOICES, period_from
from loansite.exports import xlsx_bytes
from loansite.formatting import format_money, format_number, format_percent

# What each role sees first (a user in several roles sees the union).
ROLE_SECTIONS = {
    roles.LOAN_OFFICER: {"officer_queue", "kpis", "growth", "status", "industry", "distribution"},
    roles.CREDIT_APPROVER: {"decision_queue", "kpis", "growth", "status", "industry", "grades"},
    roles.RISK_ANALYST: {
        "kpis",
        "dpd",
        "risk_class",
        "risk_events",
        "aging_trend",
        "roll_rates",
        "class_trend",
        "vintage",
        "grades",
        "radar",
        "distribution",
        "industry",
        "growth",
    },
    roles.MODEL_OPS: {"models", "jobs", "grades"},
    roles.AUDITOR: {"audit", "kpis"},
    roles.COLLECTOR: {"dpd", "roll_rates"},
    roles.ADMINISTRATOR: set(selectors.SECTIONS) - {"officer_queue"},
}
# Roles whose book is their own: their figures are their customers' and applications only.
OWN_BOOK_ROLES = {roles.LOAN_OFFICER, roles.COLLECTOR}
OFFICER_CARDS = (
    "applications",
    "approval_rate",
    "amount_approved",
    "amount_disbursed",
    "outstanding",
    "credit_score",
    "model_grade",
    "par30",
    "npl",
)
CARD_LABELS = {
    "applications": _("Applications"),
    "approval_rate": _("Approval rate"),
    "amount_approved": _("Amount approved"),
    "amount_disbursed": _("Amount disbursed"),
    "outstanding": _("Outstanding balance"),
    "credit_score": _("Average credit score"),
    "model_grade": _("Average model grade"),
    "par30": _("PAR30"),
    "npl": _("NPL ratio"),
    "open_high_risk": _("Open high-risk events"),
    "opened_high_risk": _("High-risk events opened"),
}
GRADES = "ABCDE"
# Okabe-Ito: told apart by colour-blind readers and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def dashboard_scope(user) -> tuple[frozenset[str], int | None]:
    """The sections a user sees and whose book (None: the whole book)."""
    if user.is_superuser:
        return frozenset(ROLE_SECTIONS[roles.ADMINISTRATOR]), None
    names = set(user.groups.values_list("name", flat=True))
    sections = set()
    for name in names:
        sections |= ROLE_SECTIONS.get(name, set())
    owner = user.pk if names and names <= OWN_BOOK_ROLES else None
    if owner is None:
        sections.discard("officer_queue")
    return frozenset(sections), owner


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("A custom period needs both dates."))
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days > 3660:
                raise forms.ValidationError(_("A custom period may span ten years at most."))
        return data


def request_period(request):
    form = PeriodForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, period_from(data.get("period") or DEFAULT_PERIOD, start=data.get("start"), end=data.get("end"))
    return form, period_from(DEFAULT_PERIOD)


# --- formatting ---------------------------------------------------------------------------------


def _fmt(value, kind: str) -> str:
    if kind == "money":
        return format_money(value)
    if kind == "percent":
        return format_percent(value)
    if kind == "score":
        return format_number(value, places=1)
    if kind == "grade":
        if value is None:
            return "—"
        return GRADES[min(4, max(0, round(float(value)) - 1))] + f" ({float(value):.2f})"
    return format_number(value)


def _fmt_change(change, kind: str) -> str:
    if change is None:
        return ""
    if kind == "percent":
        text = format_percent(abs(change))
        text = (
            text.replace("%", "pp")
            if translation.get_language() and not translation.get_language().startswith("zh")
            else text.replace("%", "个百分点")
        )
    elif kind == "grade":
        text = f"{abs(float(change)):.2f}"
    else:
        text = _fmt(abs(change), kind)
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    return f"{sign}{text}"


def kpi_cards(data: dict, *, owner) -> list[dict]:
    cards = []
    for key, card in data.items():
        if owner is not None and key not in OFFICER_CARDS:
            continue
        change = card["change"]
        cards.append(
            {
                "key": key,
                "label": CARD_LABELS[key],
                "value": _fmt(card["value"], card["kind"]),
                "previous": _fmt(card["previous"], card["kind"]) if card["previous"] is not None else "",
                "change": _fmt_change(change, card["kind"]),
                "direction": "" if change is None else ("up" if change > 0 else "down" if change < 0 else "flat"),
                "empty": card["value"] is None
                or (card["kind"] in ("number", "money") and not card["value"] and not card["previous"]),
            }
        )
    return cards


# --- charts -------------------------------------------------------------------------------------


def _labels(choices_cls, value):
    try:
        return str(choices_cls(value).label)
    except ValueError:
        return value or "—"


def _industry_names(codes) -> dict:
    from customers.models import Industry

    chinese = (translation.get_language() or "").startswith("zh")
    return {
        code: (name if chinese else name_en) or code
        for code, name, name_en in Industry.objects.filter(code__in=list(codes)).values_list("code", "name", "name_en")
    }


def chart_specs(data: dict) -> list[dict]:
    """Each chart: its Chart.js config, its table (headers, raw rows, kinds) and whether it is empty."""
    from loans.models import LoanApplication
    from loans.models.delinquency import DpdBucket, RiskClass
    from risk.models.inputs import Level

    charts = []

    def add(
        name,
        title,
        kind,
        labels,
        datasets,
        headers,
        rows,
        kinds,
        *,
        empty=None,
        stacked=False,
        y1=False,
        section=None,
        options=None,
        row_kinds=None,
    ):
        charts.append(
            {
                "name": name,
                "section": section or name,
                "options": options or {},
                "row_kinds": row_kinds,
                "title": title,
                "type": kind,
                "labels": [str(label) for label in labels],
                "datasets": datasets,
                "headers": [str(h) for h in headers],
                "rows": rows,
                "kinds": kinds,
                "empty": (not rows) if empty is None else empty,
                "stacked": stacked,
                "y1": y1,
            }
        )

    def ds(label, values, fmt, index, **extra):
        return {
            "label": str(label),
            "data": [float(v or 0) for v in values],
            "format": fmt,
            "color": PALETTE[index % len(PALETTE)],
            **extra,
        }

    if "growth" in data:
        rows = data["growth"]
        labels = [r["month"].strftime("%Y-%m") for r in rows]
        add(
            "growth",
            _("Business growth (last 12 months)"),
            "line",
            labels,
            [
                ds(_("Applications"), [r["applications"] for r in rows], "number", 0),
                ds(_("Approvals"), [r["approvals"] for r in rows], "number", 1),
                ds(_("Amount disbursed"), [r["disbursed"] for r in rows], "money", 2, yAxisID="y1"),
            ],
            [_("Month"), _("Applications"), _("Approvals"), _("Amount disbursed (¥)")],
            [[label, r["applications"], r["approvals"], r["disbursed"]] for label, r in zip(labels, rows, strict=True)],
            ["text", "number", "number", "money"],
            empty=not any(r["applications"] or r["approvals"] or r["disbursed"] for r in rows),
            y1=True,
        )
    if "industry" in data:
        rows = data["industry"]
        names = _industry_names(r["industry"] for r in rows)
        labels = [names.get(r["industry"], r["industry"]) for r in rows]
        add(
            "industry",
            _("Applications by industry"),
            "bar",
            labels,
            [
                ds(_("Amount applied"), [r["amount"] for r in rows], "money", 0),
                ds(_("Applications"), [r["count"] for r in rows], "number", 1, yAxisID="y1"),
            ],
            [_("Industry"), _("Applications"), _("Amount applied (¥)"), _("Average credit score")],
            [[label, r["count"], r["amount"], r["credit_score"]] for label, r in zip(labels, rows, strict=True)],
            ["text", "number", "money", "score"],
            y1=True,
        )
    if "status" in data:
        rows = data["status"]
        labels = [_labels(LoanApplication.Status, r["status"]) for r in rows]
        add(
            "status",
            _("Applications by status"),
            "doughnut",
            labels,
            [ds(_("Applications"), [r["count"] for r in rows], "number", 0)],
            [_("Status"), _("Applications"), _("Amount (¥)")],
            [[label, r["count"], r["amount"]] for label, r in zip(labels, rows, strict=True)],
            ["text", "number", "money"],
        )
    if "decision_queue" in data:
        q = data["decision_queue"]
        labels = [_("Under 1 day"), _("1-3 days"), _("3-7 days"), _("Over 7 days")]
        values = [q["under_1d"], q["d1_3"], q["d3_7"], q["over_7d"]]
        add(
            "decision_queue",
            _("Decision queue by age"),
            "bar",
            labels,
            [ds(_("Applications waiting"), values, "number", 5)],
            [_("Waiting since submission"), _("Applications waiting")],
            [[label, v] for label, v in zip(labels, values, strict=True)],
            ["text", "number"],
            empty=not q["total"],
        )
    if "dpd" in data:
        rows = data["dpd"]
        labels = [_labels(DpdBucket, r["dpd_bucket"]) for r in rows]
        add(
            "dpd",
            _("Outstanding by days past due"),
            "bar",
            labels,
            [ds(_("Outstanding principal"), [r["outstanding"] for r in rows], "money", 5)],
            [_("Days past due"), _("Loans"), _("Outstanding principal (¥)")],
            [[label, r["count"], r["outstanding"]] for label, r in zip(labels, rows, strict=True)],
            ["text", "number", "money"],
        )
    if "risk_class" in data:
        rows = data["risk_class"]
        labels = [_labels(RiskClass, r["risk_class"]) for r in rows]
        add(
            "risk_class",
            _("Five-category classification"),
            "bar",
            labels,
            [ds(_("Outstanding principal"), [r["outstanding"] for r in rows], "money", 0)],
            [_("Category"), _("Loans"), _("Outstanding principal (¥)")],
            [[label, r["count"], r["outstanding"]] for label, r in zip(labels, rows, strict=True)],
            ["text", "number", "money"],
        )
    if "risk_events" in data:
        rows = data["risk_events"]
        days = sorted({r["day"] for r in rows})
        table = {(r["day"], r["level"]): r["count"] for r in rows}
        levels = list(Level)
        labels = [d.strftime("%Y-%m-%d") for d in days]
        add(
            "risk_events",
            _("Risk events opened by day and level"),
            "bar",
            labels,
            [
                ds(level.label, [table.get((d, level.value), 0) for d in days], "number", i)
                for i, level in enumerate(levels)
            ],
            [_("Day"), *[level.label for level in levels]],
            [
                [label, *[table.get((d, level.value), 0) for level in levels]]
                for label, d in zip(labels, days, strict=True)
            ],
            ["text", *["number"] * len(levels)],
            stacked=True,
        )
    if "audit" in data:
        rows = data["audit"]
        labels = [r["day"].strftime("%Y-%m-%d") for r in rows]
        add(
            "audit",
            _("Audit entries by day"),
            "line",
            labels,
            [ds(_("Audit entries"), [r["count"] for r in rows], "number", 0)],
            [_("Day"), _("Audit entries")],
            [[label, r["count"]] for label, r in zip(labels, rows, strict=True)],
            ["text", "number"],
        )
    portfolio_charts(data, add)
    for chart in charts:
        row_kinds = chart["row_kinds"] or [chart["kinds"]] * len(chart["rows"])
        chart["display_rows"] = [
            [
                v if k == "text" else _fmt(v, row_kind or k)
                for v, k, row_kind in zip(row, chart["kinds"], kinds_of_row, strict=True)
            ]
            for row, kinds_of_row in zip(chart["rows"], row_kinds, strict=True)
        ]
        chart["data_id"] = f"chart-data-{chart['name']}"
        chart["config"] = {
            "type": chart["type"],
            "labels": chart["labels"],
            "datasets": chart["datasets"],
            "stacked": chart["stacked"],
            "y1": chart["y1"],
            "title": str(chart["title"]),
            "options": chart["options"],
        }
    return charts


def dashboard_context(request) -> dict:
    sections, owner = dashboard_scope(request.user)
    form, period = request_period(request)
    if not sections:
        return {"dashboard": None}
    data = selectors.dashboard_data(period=period, sections=sections, owner=owner)
    charts = chart_specs(data)
    query = request.GET.urlencode()
    for chart in charts:
        chart["export_query"] = query
    return {
        "dashboard": {
            "form": form,
            "period": period,
            "own_book": owner is not None,
            "book_date": data.get("book_date"),
            "cards": kpi_cards(data["kpis"], owner=owner) if "kpis" in data else [],
            "charts": charts,
            "models": [
                {**m, "auc_text": format_number(m["auc"], places=3), "psi_text": format_number(m["psi"], places=3)}
                for m in data.get("models") or []
            ]
            if "models" in data
            else None,
            "jobs": data.get("jobs"),
            "officer_queue": data.get("officer_queue"),
            "decision_queue": data.get("decision_queue"),
        }
    }


def dashboard_export(request, name: str):
    """One chart's table as an XLSX workbook (number cells, headers in the page's language)."""
    sections, owner = dashboard_scope(request.user)
    _form, period = request_period(request)
    data = selectors.dashboard_data(period=period, sections=sections, owner=owner)
    charts = {c["name"]: c for c in chart_specs(data)}
    chart = charts.get(name)
    if chart is None or chart["section"] not in sections:
        raise Http404
    kinds = [{"text": None, "score": "decimal", "number": "count"}.get(k, k) for k in chart["kinds"]]
    body = xlsx_bytes(
        chart["headers"],
        chart["rows"],
        kinds=kinds,
        title=str(chart["title"]),
        preamble=[[str(chart["title"]), f"{period.first_day:%Y-%m-%d} — {period.last_day:%Y-%m-%d}"]],
    )
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{name}-{dt.date.today():%Y%m%d}.xlsx"'
    return response
