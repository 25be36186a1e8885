"""The portfolio charts' specifications (read from the daily snapshots by ``history``): DPD aging
and five categories over time, roll rates, vintage curves, grades with the realised default
rate, customer distribution, the good-versus-risky radar and the managers' matching effect.

``portfolio_charts(data, add)`` calls the view's ``add`` once per chart with its Chart.js
datasets and its table (raw rows and their kinds: the page formats them, the XLSX keeps numbers).
"""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
RADAR_LABELS = {
    "credit_score": _("Credit score"),
    "years_in_business": _("Years in business"),
    "monthly_revenue": _("Monthly revenue"),
    "margin": _("Margin"),
    "monthly_foot_traffic": _("Foot traffic"),
    "employees": _("Employees"),
}
DIMENSION_TITLES = {
    "city": _("Customers by city"),
    "tier": _("Customers by city tier"),
    "industry": _("Customers by industry"),
    "rating": _("Customers by internal rating"),
    "tag": _("Customers by tag"),
}
DIMENSION_HEADERS = {
    "city": _("City"),
    "tier": _("City tier"),
    "industry": _("Industry"),
    "rating": _("Internal rating"),
    "tag": _("Tag"),
}


def _series(label, values, fmt, index, **extra) -> dict:
    """A dataset whose missing points stay gaps (None), unlike the view's zero-filled ones."""
    return {
        "label": str(label),
        "data": [None if v is None else float(v) for v in values],
        "format": fmt,
        "color": PALETTE[index % len(PALETTE)],
        **extra,
    }


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value) if value not in (None, "") else "—"


def _chinese() -> bool:
    return (translation.get_language() or "").startswith("zh")


def _city_names(values) -> dict:
    from customers.models import City

    chinese = _chinese()
    return {
        name_en: (short if chinese else name_en)
        for name_en, short in City.objects.filter(name_en__in=list(values)).values_list("name_en", "short_name")
    }


def _industry_names(codes) -> dict:
    from customers.models import Industry

    chinese = _chinese()
    return {
        code: (name if chinese else name_en) or code
        for code, name, name_en in Industry.objects.filter(code__in=list(codes)).values_list("code", "name", "name_en")
    }


def _book_over_time(add, name, title, block, choices, order, header):
    dates, rows = block["dates"], block["rows"]
    labels = [d.strftime("%Y-%m-%d") for d in dates]
    keys = sorted({r["key"] for r in rows}, key=lambda k: order.get(k, 99))
    table = {(r["date"], r["key"]): r["outstanding"] for r in rows}
    add(
        name,
        title,
        "bar",
        labels,
        [
            _series(_label(choices, key), [table.get((d, key), 0) for d in dates], "money", i)
            for i, key in enumerate(keys)
        ],
        [header, *[f"{_label(choices, key)} (¥)" for key in keys]],
        [[label, *[table.get((d, key), 0) for key in keys]] for label, d in zip(labels, dates, strict=True)],
        ["text", *["money"] * len(keys)],
        stacked=True,
    )


def portfolio_charts(data: dict, add) -> None:
    from customers.models import CityTier
    from loans.models.delinquency import DPD_BUCKET_ORDER, RISK_CLASS_ORDER, DpdBucket, RiskClass

    if "aging_trend" in data:
        _book_over_time(
            add,
            "aging_trend",
            _("Outstanding by days past due, month ends"),
            data["aging_trend"],
            DpdBucket,
            DPD_BUCKET_ORDER,
            _("Month end"),
        )
    if "class_trend" in data:
        _book_over_time(
            add,
            "class_trend",
            _("Five-category classification over time"),
            data["class_trend"],
            RiskClass,
            RISK_CLASS_ORDER,
            _("Month end"),
        )
    if "roll_rates" in data:
        rows = data["roll_rates"]
        labels = [r["date"].strftime("%Y-%m") for r in rows]
        buckets = [b for b in DPD_BUCKET_ORDER if any(r["rates"].get(b) is not None for r in rows)]
        names = {b: _("%(bucket)s rolling worse") % {"bucket": _label(DpdBucket, b)} for b in buckets}
        add(
            "roll_rates",
            _("Roll rates month to month"),
            "line",
            labels,
            [_series(names[b], [r["rates"].get(b) for r in rows], "percent", i) for i, b in enumerate(buckets)],
            [_("Month"), *[names[b] for b in buckets]],
            [[label, *[r["rates"].get(b) for b in buckets]] for label, r in zip(labels, rows, strict=True)],
            ["text", *["percent"] * len(buckets)],
            empty=not buckets,
        )
    if "vintage" in data:
        curves = data["vintage"]
        horizon = max((max(c["points"]) for c in curves if c["points"]), default=0)
        months = list(range(horizon + 1))
        add(
            "vintage",
            _("Vintage curves: cumulative default by disbursement month"),
            "line",
            [str(m) for m in months],
            [
                _series(c["cohort"].strftime("%Y-%m"), [c["points"].get(m) for m in months], "percent", i)
                for i, c in enumerate(curves)
            ],
            [
                _("Disbursement month"),
                _("Loans"),
                _("Principal disbursed (¥)"),
                *[_("Month %(n)s") % {"n": m} for m in months],
            ],
            [
                [c["cohort"].strftime("%Y-%m"), c["loans"], c["principal"], *[c["points"].get(m) for m in months]]
                for c in curves
            ],
            ["text", "number", "money", *["percent"] * len(months)],
            options={"xTitle": str(_("Months on book"))},
        )
    if "grades" in data:
        rows = data["grades"]
        labels = [r["item"] or str(_("No grade")) for r in rows]
        add(
            "grades",
            _("Loans by model grade and realised default rate"),
            "bar",
            labels,
            [
                _series(_("Loans"), [r["loans"] for r in rows], "number", 0),
                _series(
                    _("Realised default rate"),
                    [r["default_rate"] for r in rows],
                    "percent",
                    5,
                    yAxisID="y1",
                    type="line",
                ),
            ],
            [_("Grade"), _("Loans"), _("Loans defaulted"), _("Realised default rate")],
            [[label, r["loans"], r["defaulted"], r["default_rate"]] for label, r in zip(labels, rows, strict=True)],
            ["text", "number", "number", "percent"],
            y1=True,
        )
    if "distribution" in data:
        block = data["distribution"]
        for index, (dimension, rows) in enumerate(block.items()):
            items = [r["item"] for r in rows]
            if dimension == "city":
                names = _city_names(items)
            elif dimension == "industry":
                names = _industry_names(items)
            elif dimension == "tier":
                names = {item: _label(CityTier, int(item)) for item in items if str(item).isdigit()}
            elif dimension == "tag":
                from customers.models import installed_label

                # The tags installed with the system in the reader's language (风险关注).
                names = {item: installed_label("tag", item) for item in items if item}
            else:
                names = {}
            labels = [names.get(item) or item or str(_("None")) for item in items]
            add(
                f"distribution_{dimension}",
                DIMENSION_TITLES[dimension],
                "doughnut" if dimension in ("tier", "rating") else "bar",
                labels,
                [_series(_("Customers"), [r["customers"] for r in rows], "number", index)],
                [DIMENSION_HEADERS[dimension], _("Customers"), _("Live loans"), _("Outstanding principal (¥)")],
                [[label, r["customers"], r["loans"], r["outstanding"]] for label, r in zip(labels, rows, strict=True)],
                ["text", "number", "number", "money"],
                section="distribution",
            )
    if "radar" in data:
        radar = data["radar"]
        indicators = radar["indicators"] if radar else list(RADAR_LABELS)
        labels = [str(RADAR_LABELS[name]) for name in indicators]
        groups = (("good", _("Good customers")), ("risky", _("Risky customers")))
        kinds = {"margin": "percent", "monthly_revenue": "money"}
        add(
            "radar",
            _("Good versus risky customers (normalised indicators)"),
            "radar",
            labels,
            [
                _series(
                    f"{title} ({radar['customers'][key]})",
                    [radar["normalised"][key][name] for name in indicators],
                    "number",
                    i * 5,
                )
                for i, (key, title) in enumerate(groups)
            ]
            if radar
            else [],
            [_("Indicator"), _("Good customers: average"), _("Risky customers: average")],
            [
                [label, radar["averages"]["good"][name], radar["averages"]["risky"][name]]
                for label, name in zip(labels, indicators, strict=True)
            ]
            if radar
            else [],
            ["text", "score", "score"],
            row_kinds=[[None, kinds.get(name, "score"), kinds.get(name, "score")] for name in indicators]
            if radar
            else None,
        )
    if "matching" in data:
        block = data["matching"]
        rows = block["managers"]
        labels = [r["manager"] for r in rows]
        with_run = block["run"] is not None
        datasets = [_series(_("Customers now"), [r["customers"] for r in rows], "number", 0)]
        if with_run:
            datasets = [
                _series(
                    _("Customers before the last matching run"), [r["customers_before"] for r in rows], "number", 1
                ),
                _series(_("Customers after the last matching run"), [r["customers_after"] for r in rows], "number", 0),
            ]
        datasets.append(
            _series(_("Average match score"), [r["match_score"] for r in rows], "score", 5, yAxisID="y1", type="line")
        )
        headers = [
            _("Manager"),
            _("Customers"),
            _("Utilisation"),
            _("Approval rate"),
            _("PAR30 share"),
            _("Average match score"),
        ]
        kinds = ["text", "number", "percent", "percent", "percent", "score"]
        if with_run:
            headers += [
                _("Customers before the run"),
                _("Customers after the run"),
                _("Score before"),
                _("Score after"),
            ]
            kinds += ["number", "number", "score", "score"]
        add(
            "matching",
            _("Relationship managers: matching effect"),
            "bar",
            labels,
            datasets,
            headers,
            [
                [
                    r["manager"],
                    r["customers"],
                    r["utilisation"],
                    r["approval_rate"],
                    r["delinquency"],
                    r["match_score"],
                    *(
                        [r["customers_before"], r["customers_after"], r["score_before"], r["score_after"]]
                        if with_run
                        else []
                    ),
                ]
                for r in rows
            ],
            kinds,
            empty=not any(r["customers"] or r["customers_before"] for r in rows),
            y1=True,
        )
