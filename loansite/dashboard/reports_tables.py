"""The reports as tables: headers in the reader's language, raw cells (numbers stay numbers
for XLSX) and each column's kind (how a page formats it and which number format a cell gets).
The page and the XLSX exports (on demand and the monthly report) show the same tables."""

from django.utils.translation import gettext_lazy as _

from loansite.formatting import format_date, format_money, format_number, format_percent

REPORT_TITLES = {
    "portfolio": _("Portfolio"),
    "funnel": _("Approval funnel"),
    "flows": _("Disbursement and repayment"),
    "overdue": _("Overdue loans by bucket"),
    "risk_class": _("Five-category classification"),
}
DIMENSION_LABELS = {
    "product": _("Product"),
    "industry": _("Industry"),
    "city": _("City"),
    "manager": _("Relationship manager"),
    "month": _("Month of disbursement"),
}


def fmt(value, kind: str) -> str:
    if kind == "money":
        return format_money(value)
    if kind == "percent":
        return format_percent(value)
    if kind == "count":
        return format_number(value)
    if kind == "date":
        return format_date(value)
    if kind == "month":
        return value.strftime("%Y-%m") if value else "—"
    return "—" if value in (None, "") else str(value)


def _table(key, title, headers, kinds, rows, total=None, *, note=""):
    return {
        "key": key,
        "title": str(title),
        "headers": [str(h) for h in headers],
        "kinds": kinds,
        "rows": rows,
        "total": total,
        "note": str(note) if note else "",
    }


def _risk_class_label(value) -> str:
    from loans.models import RiskClass

    special = {"new": _("New since then"), "exited": _("Left the book (repaid, written off)")}
    if value in special:
        return str(special[value])
    try:
        return str(RiskClass(value).label)
    except ValueError:
        return value or "—"


def _bucket_label(value) -> str:
    from loans.models import DpdBucket

    try:
        return str(DpdBucket(value).label)
    except ValueError:
        return value or "—"


def portfolio_table(data: dict, *, by: str) -> dict:
    headers = [
        DIMENSION_LABELS[by],
        _("Loans"),
        _("Amount disbursed (¥)"),
        _("Outstanding principal (¥)"),
        _("PAR30"),
        _("NPL ratio"),
        _("Provisions (¥)"),
    ]
    kinds = ["text", "count", "money", "money", "percent", "percent", "money"]

    def cells(label, row):
        return [
            label,
            row["loans"],
            row["amount"],
            row["outstanding"],
            row["par30_ratio"],
            row["npl_ratio"],
            row["provisions"],
        ]

    total = data["total"]
    return _table(
        "portfolio",
        f"{REPORT_TITLES['portfolio']} · {DIMENSION_LABELS[by]}",
        headers,
        kinds,
        [cells(str(row["label"]), row) for row in data["rows"]],
        cells(str(_("Total")), total) if total else None,
        note=_("PAR30 and NPL are shares of the outstanding principal of live loans."),
    )


def funnel_table(data: dict) -> dict:
    headers = [
        _("Month submitted"),
        _("Submitted"),
        _("Reviewed"),
        _("Approved"),
        _("Disbursed"),
        _("Rejected"),
        _("Reviewed / submitted"),
        _("Approved / reviewed"),
        _("Disbursed / approved"),
        _("Disbursed / submitted"),
        _("Amount applied (¥)"),
        _("Amount approved (¥)"),
    ]
    kinds = ["text", *["count"] * 5, *["percent"] * 4, "money", "money"]

    def cells(label, row):
        return [
            label,
            row["submitted"],
            row["reviewed"],
            row["approved"],
            row["disbursed"],
            row["rejected"],
            row["review_rate"],
            row["approval_rate"],
            row["disbursement_rate"],
            row["overall_rate"],
            row["amount_submitted"],
            row["amount_approved"],
        ]

    total = data["total"]
    return _table(
        "funnel",
        REPORT_TITLES["funnel"],
        headers,
        kinds,
        [cells(f"{row['month']:%Y-%m}", row) for row in data["rows"]],
        cells(str(_("Total")), total) if total else None,
        note=_("Applications submitted in the period, by how far they have got since."),
    )


def flows_table(data: dict) -> dict:
    headers = [
        _("Month"),
        _("Product"),
        _("Disbursed (¥)"),
        _("Disbursements"),
        _("Scheduled principal and interest (¥)"),
        _("Installments due"),
        _("Paid on time"),
        _("Late"),
        _("On-time rate"),
        _("Repaid (¥)"),
        _("Of which principal (¥)"),
    ]
    kinds = ["text", "text", "money", "count", "money", "count", "count", "count", "percent", "money", "money"]

    def cells(month, product, row):
        return [
            month,
            product,
            row["disbursed"],
            row["disbursements"],
            row["scheduled"],
            row["installments"],
            row["on_time"],
            row["late"],
            row["on_time_rate"],
            row["repaid"],
            row["repaid_principal"],
        ]

    total = data["total"]
    return _table(
        "flows",
        REPORT_TITLES["flows"],
        headers,
        kinds,
        [cells(f"{row['month']:%Y-%m}", str(row["product_label"]), row) for row in data["rows"]],
        cells(str(_("Total")), "", total) if total else None,
        note=_("Late: paid after the pay date, or still unpaid past it."),
    )


def overdue_bucket_table(data: dict) -> dict:
    headers = [_("Days past due"), _("Loans"), _("Outstanding principal (¥)"), _("Overdue amount (¥)")]
    kinds = ["text", "count", "money", "money"]
    total = data["total"]
    return _table(
        "overdue",
        REPORT_TITLES["overdue"],
        headers,
        kinds,
        [
            [_bucket_label(row["dpd_bucket"]), row["loans"], row["outstanding"], row["overdue_amount"]]
            for row in data["rows"]
        ],
        [str(_("Total")), total["loans"], total["outstanding"], total["overdue_amount"]] if total else None,
        note=_("Overdue amount: unpaid principal, interest and penalty of the installments past due."),
    )


OVERDUE_LIST_HEADERS = (
    _("Loan number"),
    _("Customer"),
    _("Relationship manager"),
    _("Product"),
    _("Days past due"),
    _("Bucket"),
    _("Classification"),
    _("Overdue since"),
    _("Outstanding principal (¥)"),
    _("Overdue amount (¥)"),
)
OVERDUE_LIST_KINDS = ["text", "text", "text", "text", "count", "text", "text", "date", "money", "money"]


def overdue_list_rows(rows, *, products: dict) -> list[list]:
    """The overdue loans (dicts of ``reports.overdue_loans``) as table rows."""
    from loansite.names import person_name

    out = []
    for row in rows:
        manager = ""
        if row["customer__manager_id"]:
            manager = (
                person_name(row["customer__manager__user__first_name"], row["customer__manager__user__last_name"])
                or row["customer__manager__user__username"]
            )
        out.append(
            [
                row["loan_number"],
                row["customer__name"],
                manager,
                str(products.get(row["product_id"], row["product_id"])),
                row["days_past_due"],
                _bucket_label(row["dpd_bucket"]),
                _risk_class_label(row["risk_class"]),
                row["overdue_since"],
                row["outstanding_principal"],
                row["overdue_amount"],
            ]
        )
    return out


def risk_class_tables(data: dict) -> list[dict]:
    before = data["previous_end"]
    headers = [
        _("Category"),
        _("Loans"),
        _("Balance (¥)"),
        _("Share of balance"),
        _("Provision (¥)"),
        _("Loans at %(date)s") % {"date": f"{before:%Y-%m-%d}"},
        _("Balance at %(date)s (¥)") % {"date": f"{before:%Y-%m-%d}"},
        _("Provision at %(date)s (¥)") % {"date": f"{before:%Y-%m-%d}"},
        _("Change in balance (¥)"),
    ]
    kinds = ["text", "count", "money", "percent", "money", "count", "money", "money", "money"]

    def cells(label, row):
        return [
            label,
            row["loans"],
            row["balance"],
            row.get("share"),
            row["provision"],
            row["loans_before"],
            row["balance_before"],
            row["provision_before"],
            row["balance_change"],
        ]

    total = data["total"]
    note = (
        _("Against the daily close's snapshot of %(date)s.") % {"date": f"{before:%Y-%m-%d}"}
        if data["has_before"]
        else _("No daily close kept the book of %(date)s: no comparison.") % {"date": f"{before:%Y-%m-%d}"}
    )
    summary = _table(
        "risk_class",
        REPORT_TITLES["risk_class"],
        headers,
        kinds,
        [cells(_risk_class_label(row["risk_class"]), row) for row in data["rows"]],
        cells(str(_("Total")), {**total, "share": 1 if total["balance"] else None}) if total else None,
        note=note,
    )
    movement = _table(
        "risk_class_movement",
        _("Movement since %(date)s") % {"date": f"{before:%Y-%m-%d}"},
        [
            _("From"),
            _("To"),
            _("Loans"),
            _("Balance then (¥)"),
            _("Balance now (¥)"),
        ],
        ["text", "text", "count", "money", "money"],
        [
            [
                _risk_class_label(row["from_class"]),
                _risk_class_label(row["to_class"]),
                row["loans"],
                row["balance_before"],
                row["balance"],
            ]
            for row in data["movement"]
        ],
    )
    return [summary, movement] if data["has_before"] else [summary]


def display_rows(table: dict) -> list[list[dict]]:
    """Rows (and the total) as formatted cells; numbers right-aligned."""
    rows = table["rows"] + ([table["total"]] if table["total"] else [])
    return [
        [{"text": fmt(v, k), "num": k != "text"} for v, k in zip(row, table["kinds"], strict=False)] for row in rows
    ]


def header_cells(table: dict) -> list[dict]:
    return [{"text": h, "num": k != "text"} for h, k in zip(table["headers"], table["kinds"], strict=False)]
