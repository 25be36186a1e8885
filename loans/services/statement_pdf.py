"""A loan's statement as a printable PDF: the loan's facts, every repayment (reversed ones too)
with how it was allocated, and the totals of those that stand.

The same rows as the statement's XLSX (``loan_repayments_table``, the customer's columns), with
bilingual headings; reportlab's CID font prints Chinese without font files.
"""

from decimal import Decimal
from xml.sax.saxutils import escape

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.models import Loan, Repayment
from loansite.formatting import format_money

FONT = "STSong-Light"
TOTALS = (
    "amount",
    "allocated_principal",
    "allocated_interest",
    "allocated_penalty",
    "allocated_fee",
    "allocated_credit",
)


def loan_statement_facts(loan: Loan) -> list[tuple[str, str]]:
    """The statement's heading facts: (label, value), in the reader's language."""
    return [
        (_("Customer"), loan.customer.name),
        (_("Loan number"), loan.loan_number),
        (_("Product"), loan.product.display_name),
        (_("Principal disbursed"), format_money(loan.principal)),
        (_("Outstanding principal"), format_money(loan.outstanding_principal)),
        (_("Disbursed on"), loan.disbursement_date.isoformat()),
        (_("Matures on"), loan.maturity_date.isoformat()),
        (_("Status"), str(loan.get_status_display())),
        (_("As of"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
    ]


def loan_statement_totals(loan: Loan) -> dict[str, Decimal]:
    """Sums over the repayments that stand (reversed ones left out)."""
    sums = (
        Repayment.objects.filter(loan=loan)
        .exclude(status=Repayment.Status.REVERSED)
        .aggregate(**{name: Sum(name) for name in TOTALS})
    )
    return {name: sums[name] or Decimal("0.00") for name in TOTALS}


def _cell(value) -> str:
    if isinstance(value, Decimal):
        return format_money(value, currency=False)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value or "")


def loan_statement_pdf(loan: Loan, *, headers, rows) -> bytes:
    """``headers``: (English, Chinese) pairs; ``rows``: the statement's rows, in that order."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = FONT
    body = styles["BodyText"]
    body.fontSize, body.leading = 8, 10
    small = styles["Normal"]
    small.fontSize, small.leading = 7, 9
    figure = ParagraphStyle("figure", parent=body, alignment=TA_RIGHT)

    def p(text, style=body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    facts = Table(
        [[p(label), p(value)] for label, value in loan_statement_facts(loan)],
        colWidths=[45 * mm, 110 * mm],
        hAlign="LEFT",
    )
    facts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TEXTCOLOR", (0, 0), (0, -1), colors.grey)]))
    table_rows = [[p(f"{english} / {chinese}", small) for english, chinese in headers]]
    table_rows += [[p(_cell(value), figure if isinstance(value, Decimal) else body) for value in row] for row in rows]
    totals = loan_statement_totals(loan)
    if rows:
        total_row = [p(_("Total (reversed repayments left out)"))] + [p("")] * (len(headers) - 1)
        for column, name in zip((1, 5, 6, 7, 8, 9), TOTALS, strict=True):
            total_row[column] = p(format_money(totals[name], currency=False), figure)
        table_rows.append(total_row)
    table = Table(table_rows, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if rows:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f4f6f7")))
    table.setStyle(TableStyle(style))

    title = _("Loan statement")

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(15 * mm, 8 * mm, f"{loan.loan_number} · {title}")
        canvas.drawRightString(doc.pagesize[0] - 15 * mm, 8 * mm, _("Page %(n)s") % {"n": doc.page})
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{loan.loan_number} {title}",
        author="loansite",
    )
    story = [Paragraph(escape(title), styles["Title"]), facts, Spacer(1, 6 * mm)]
    story.append(table if rows else p(_("No repayments yet.")))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
