"""Report files: the monthly report and loan-level exports (writes; audited).

- ``monthly_report_generate``: every report for one month (flows and funnel of the month, the
  book at its end) as one workbook, kept as the month's ``ReportFile`` (made again in place when
  asked again). Beat runs it on the 1st for the month before (``loansite.monthly_report``);
  administrators ask for it now (``monthly_report_request``, queued for the worker).
- ``loans_export_request`` / ``loans_export_build``: every loan of the (filtered, scoped) book,
  one row each, written by a worker into a streamed workbook, for the person who asked only.
- ``report_file_download``: the file's bytes for a reader, with an audit entry.
"""

import datetime as dt
import logging
import tempfile
import uuid

from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from audit.models import AuditAction
from audit.services import audit_record
from loansite.dashboard import reports, reports_tables
from loansite.dashboard.periods import period_from
from loansite.dashboard.reports import ReportFilters
from loansite.dashboard.reports_models import ReportFile
from loansite.dashboard.reports_xlsx import XlsxStream
from loansite.errors import NotAllowed, ValidationFailed

logger = logging.getLogger("loansite.reports")

PERM_VIEW_REPORTS = "loansite.view_reports"
PERM_VIEW_FILES = "loansite.view_reportfile"
PERM_GENERATE = "loansite.generate_reportfile"
LOANS_EXPORT_CHUNK = 5000


def month_first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_last(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def previous_month(today: dt.date | None = None) -> dt.date:
    today = today or timezone.localdate()
    return month_first(month_first(today) - dt.timedelta(days=1))


# --- the monthly report ------------------------------------------------------------------------


def monthly_report_sheets(*, month: dt.date, today: dt.date | None = None) -> list[dict]:
    """The month's tables: portfolio by each dimension, funnel, flows, overdue, five-category."""
    from loans.models import LoanDaySnapshot

    today = today or timezone.localdate()
    last = month_last(month)
    period = period_from("custom", start=month, end=last)
    in_month = ReportFilters(period=period)
    book = ReportFilters()
    # The book at the month's end: the close's snapshots of that day when there are some,
    # the live book when the month has only just ended (the close of its last day ran).
    as_of = last if LoanDaySnapshot.objects.filter(date=last).exists() else None
    if as_of is None and last < today - dt.timedelta(days=1):
        logger.info("monthly report %s: no snapshot of %s, the live book is shown", month, last)
    tables = [
        reports_tables.portfolio_table(reports.portfolio_report(filters=book, by=by), by=by)
        for by in reports.DIMENSIONS
    ]
    tables.append(reports_tables.funnel_table(reports.funnel_report(filters=in_month)))
    tables.append(
        reports_tables.flows_table(
            reports.flows_report(filters=in_month, today=min(today, last + dt.timedelta(days=1)))
        )
    )
    tables.append(reports_tables.overdue_bucket_table(reports.overdue_report(filters=book)))
    tables.extend(reports_tables.risk_class_tables(reports.risk_class_report(filters=book, as_of=as_of, today=today)))
    preamble = [
        [_g("Monthly report"), f"{month:%Y-%m}"],
        [_g("Generated"), timezone.localtime().strftime("%Y-%m-%d %H:%M")],
    ]
    return [
        {
            "title": table["title"],
            "headers": table["headers"],
            "rows": table["rows"] + ([table["total"]] if table["total"] else []),
            "kinds": table["kinds"],
            "preamble": [*preamble, [table["note"]]] if table["note"] else preamble,
        }
        for table in tables
    ]


def _save(report: ReportFile, write) -> None:
    """Write the workbook with ``write(book) -> rows`` into a temporary file, then keep it."""
    with tempfile.TemporaryFile() as handle:
        with XlsxStream(handle) as book:
            rows = write(book)
        size = handle.tell()
        handle.seek(0)
        if report.file:
            report.file.delete(save=False)
        stamp = timezone.localdate()
        report.file.save(f"{uuid.uuid4().hex}.xlsx", File(handle), save=False)
    report.size, report.rows = size, rows
    report.status, report.finished_at, report.error = ReportFile.Status.DONE, timezone.now(), ""
    report.save(update_fields=["file", "size", "rows", "status", "finished_at", "error"])
    logger.info("report file %s written (%s rows, %s bytes) on %s", report.pk, rows, size, stamp)


def monthly_report_generate(*, month: dt.date, actor=None, language: str = "zh-hans") -> ReportFile:
    """Generate (or generate again) the report of ``month`` and keep it; audited."""
    month = month_first(month)
    report, _created = ReportFile.objects.get_or_create(
        kind=ReportFile.Kind.MONTHLY, month=month, defaults={"requested_by": actor, "language": language}
    )
    ReportFile.objects.filter(pk=report.pk).update(status=ReportFile.Status.RUNNING, language=language)
    try:
        with translation.override(language):
            sheets = monthly_report_sheets(month=month)

            def write(book):
                return sum(
                    book.sheet(s["title"], s["headers"], s["rows"], kinds=s["kinds"], preamble=s["preamble"])
                    for s in sheets
                )

            _save(report, write)
    except Exception as exc:
        ReportFile.objects.filter(pk=report.pk).update(
            status=ReportFile.Status.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            target=report,
            changes={"month": f"{month:%Y-%m}", "rows": report.rows, "size": report.size, "language": language},
            reason=str(_("Monthly report generated")),
        )
    return report


def monthly_report_request(*, actor, month: dt.date) -> ReportFile:
    """An administrator's "generate now": the month's row queued, the worker generates it."""
    from loansite.dashboard.reports_tasks import monthly_report_now
    from loansite.task_authorisation import task_queue_authorised

    if not actor.has_perm(PERM_GENERATE):
        raise NotAllowed()
    month = month_first(month)
    if month > month_first(timezone.localdate()):
        raise ValidationFailed(_("A month that has not started yet has no report."))
    language = translation.get_language() or "zh-hans"
    with transaction.atomic():
        report, _created = ReportFile.objects.update_or_create(
            kind=ReportFile.Kind.MONTHLY,
            month=month,
            defaults={"status": ReportFile.Status.QUEUED, "requested_by": actor, "language": language, "error": ""},
        )
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            target=report,
            changes={"month": f"{month:%Y-%m}", "event": "requested"},
            reason=str(_("Monthly report requested")),
        )
        task_queue_authorised(
            monthly_report_now,
            actor=actor,
            params={"report_id": report.pk, "month": month.isoformat(), "language": language},
            permissions=(PERM_GENERATE,),
        )
    return report


# --- loan-level exports ------------------------------------------------------------------------

LOANS_EXPORT_HEADERS = (
    _("Loan number"),
    _("Customer"),
    _("Product"),
    _("Industry"),
    _("City"),
    _("Relationship manager"),
    _("Disbursement date"),
    _("Principal disbursed (¥)"),
    _("Outstanding principal (¥)"),
    _("Days past due"),
    _("Bucket"),
    _("Classification"),
    _("Provision (¥)"),
    _("Status"),
)


def _chunks_read_ahead(cursor, size: int, depth: int = 3):
    """``cursor.fetchmany(size)`` chunks, the next ones read by a thread while the caller turns
    the current one into cells (the driver waits on the database without the GIL); at most
    ``depth`` chunks wait in memory."""
    import queue
    import threading

    chunks: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read():
        try:
            while not stop.is_set():
                chunk = cursor.fetchmany(size)
                while not stop.is_set():
                    try:
                        chunks.put(chunk, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if not chunk:
                    return
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            chunks.put(exc)

    reader = threading.Thread(target=read, name="report-export-reader", daemon=True)
    reader.start()
    try:
        while True:
            chunk = chunks.get()
            if isinstance(chunk, BaseException):
                raise chunk
            if not chunk:
                return
            yield chunk
    finally:
        stop.set()
        reader.join()


def loans_export_rows(filters: ReportFilters):
    """Every loan of the filtered book as the XML of its row's cells, read by the ORM's SQL on a
    plain cursor in chunks (no model or converter per row): names, labels and choice values are
    looked up once as finished cells; numbers and dates go in as the database gives them."""
    from django.db import connection
    from django.db.models.functions import Round

    from customers.models import City, Industry, RelationshipManager
    from loans.models import DpdBucket, LoanProduct, LoanStatus, RiskClass
    from loansite.dashboard.reports_xlsx import CONVERTERS, text_cell
    from loansite.names import person_name

    chinese = (translation.get_language() or "").lower().startswith("zh")

    def cells(pairs) -> dict:
        return {key: text_cell(label) for key, label in pairs}

    products = cells(
        (pk, zh if chinese and zh else name)
        for pk, name, zh in LoanProduct.objects.values_list("pk", "name", "name_zh")
    )
    industries = cells(
        (code, (zh if chinese else en) or code)
        for code, zh, en in Industry.objects.values_list("code", "name", "name_en")
    )
    cities = cells((en, short if chinese else en) for en, short in City.objects.values_list("name_en", "short_name"))
    managers = cells(
        (pk, person_name(first, last) or username)
        for pk, first, last, username in RelationshipManager.objects.values_list(
            "pk", "user__first_name", "user__last_name", "user__username"
        )
    )
    buckets = cells((value, str(label)) for value, label in DpdBucket.choices)
    classes = cells((value, str(label)) for value, label in RiskClass.choices)
    statuses = cells((value, str(label)) for value, label in LoanStatus.choices)
    rates = reports.provision_rates()
    qs = (
        reports._loans(filters)
        .annotate(provision_raw=Round(reports._provision(rates), 2))
        .order_by("pk")
        .values_list(
            "loan_number",
            "customer__name",
            "product_id",
            "customer__industry",
            "customer__city",
            "customer__manager_id",
            "disbursement_date",
            "principal",
            "outstanding_principal",
            "days_past_due",
            "dpd_bucket",
            "risk_class",
            "provision_raw",
            "status",
        )
    )
    sql, params = qs.query.sql_with_params()
    text, money, count, date = CONVERTERS["text"], CONVERTERS["money"], CONVERTERS["count"], CONVERTERS["date"]
    empty, zero, dates = "<c/>", money(0), {}
    live_statuses = set(reports.LIVE)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        for chunk in _chunks_read_ahead(cursor, LOANS_EXPORT_CHUNK):
            for row in chunk:
                status = row[13]
                yield "".join(
                    (
                        text(row[0]),
                        text(row[1]),
                        products.get(row[2]) or text(row[2]),
                        industries.get(row[3]) or text(row[3]),
                        cities.get(row[4]) or text(row[4]),
                        managers.get(row[5], empty),
                        dates.get(row[6]) or dates.setdefault(row[6], date(row[6])),
                        money(row[7]),
                        money(row[8]),
                        count(row[9]),
                        buckets.get(row[10]) or text(row[10]),
                        classes.get(row[11]) or text(row[11]),
                        money(row[12]) if status in live_statuses and row[12] is not None else zero,
                        statuses.get(status) or text(status),
                    )
                )


def loans_export_write(book, filters: ReportFilters) -> int:
    preamble = [[_g("Loans"), timezone.localtime().strftime("%Y-%m-%d %H:%M")]]
    return book.sheet(
        _g("Loans"),
        [str(h) for h in LOANS_EXPORT_HEADERS],
        loans_export_rows(filters),
        preamble=preamble,
        ready=True,
    )


def loans_export_request(*, actor, filters: ReportFilters) -> ReportFile:
    """Queue a loan-level export of ``filters`` (already scoped to the actor's book) for ``actor``."""
    from loansite.dashboard.reports_tasks import report_loans_export
    from loansite.task_authorisation import task_queue_authorised

    if not actor.has_perm(PERM_VIEW_REPORTS):
        raise NotAllowed()
    language = translation.get_language() or "zh-hans"
    with transaction.atomic():
        report = ReportFile.objects.create(
            kind=ReportFile.Kind.LOANS, requested_by=actor, filters=filters.as_json(), language=language
        )
        audit_record(
            action=AuditAction.EXPORT,
            actor=actor,
            target=report,
            changes={"event": "requested", "filters": report.filters},
            reason=str(_("Loan-level export requested")),
        )
        task_queue_authorised(
            report_loans_export, actor=actor, params={"report_id": report.pk}, permissions=(PERM_VIEW_REPORTS,)
        )
    return report


def loans_export_build(*, report: ReportFile) -> ReportFile:
    """Write the export ``report`` describes (idempotent: a redelivered run writes it again)."""
    filters = ReportFilters.from_json(report.filters)
    ReportFile.objects.filter(pk=report.pk).update(status=ReportFile.Status.RUNNING)
    try:
        with translation.override(report.language or "zh-hans"):
            _save(report, lambda book: loans_export_write(book, filters))
    except Exception as exc:
        ReportFile.objects.filter(pk=report.pk).update(
            status=ReportFile.Status.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        audit_record(
            action=AuditAction.EXPORT,
            actor=report.requested_by,
            target=report,
            changes={"event": "written", "rows": report.rows, "size": report.size},
            reason=str(_("Loan-level export written")),
        )
    return report


# --- reading -----------------------------------------------------------------------------------


def report_files_for(user):
    """The files ``user`` may download: monthly reports (readers of report files) and their own exports."""
    from django.db.models import Q

    mine = Q(kind=ReportFile.Kind.LOANS, requested_by_id=user.pk)
    if user.has_perm(PERM_VIEW_FILES):
        return ReportFile.objects.filter(Q(kind=ReportFile.Kind.MONTHLY) | mine)
    return ReportFile.objects.filter(mine)


def report_file_download(*, actor, report: ReportFile) -> bytes:
    """The file's bytes for ``actor`` (who must be allowed to see it); audited."""
    if not report_files_for(actor).filter(pk=report.pk).exists():
        raise NotAllowed()
    if report.status != ReportFile.Status.DONE or not report.file:
        raise ValidationFailed(_("This report file is not ready."))
    with report.file.open("rb") as handle:
        data = handle.read()
    audit_record(
        action=AuditAction.EXPORT,
        actor=actor,
        target=report,
        changes={"event": "downloaded", "rows": report.rows, "size": report.size},
        reason=str(_("Report file downloaded")),
    )
    return data
