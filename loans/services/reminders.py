"""Payment reminders, the daily close's last step: N days before a pay date (``CloseSettings``,
default 3) and on the 1st, 7th and 30th day overdue, by email (Django's email backend) and by
text message (``loansite.sms``), in the customer's language (``REMINDER_LANGUAGE`` by default).

The rows are inserted set-wise (one per installment, kind and channel: the unique constraint
and ``NOT EXISTS`` make a second run insert nothing), then the pending ones are rendered and
sent in chunks; each chunk's rows are marked sent (or failed) in the transaction that sends
them, so a message is recorded exactly once and never sent twice for the same installment,
kind and channel.
"""

import datetime

from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loans.models import Installment, Loan, Reminder
from loansite.formatting import format_money
from loansite.sms import SmsError, phone_masked, sms_backend, sms_send

SEND_CHUNK = 1000
OVERDUE_KINDS = {Reminder.Kind.OVERDUE_1: 1, Reminder.Kind.OVERDUE_7: 7, Reminder.Kind.OVERDUE_30: 30}
# A pay date moved off holidays falls at most this many days after the due date (index range).
SHIFT_DAYS = 15


def _insert(*, day: datetime.date, pay_date: datetime.date, kind: str, statuses: tuple[str, ...]) -> int:
    t_inst, t_loan, t_rem = Installment._meta.db_table, Loan._meta.db_table, Reminder._meta.db_table
    from customers.models import Customer

    t_cust = Customer._meta.db_table
    marks = ", ".join(["%s"] * len(statuses))
    total = 0
    for channel, has_address in (
        (Reminder.Channel.EMAIL, "c.email <> ''"),
        (Reminder.Channel.SMS, "c.phone IS NOT NULL AND c.phone <> ''"),
    ):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {t_rem} (installment_id, loan_id, date, kind, channel, status, recipient, language,"
                f" subject, body, error, created_at)"
                f" SELECT i.id, i.loan_id, %s, %s, %s, 'pending', '', '', '', '', '', %s FROM {t_inst} i"
                f" JOIN {t_loan} l ON l.id = i.loan_id AND l.schedule_version = i.schedule_version"
                f" JOIN {t_cust} c ON c.id = l.customer_id"
                f" WHERE i.status IN ({marks}) AND i.due_date BETWEEN %s AND %s AND i.pay_date = %s"
                f" AND (i.principal_paid < i.principal OR i.interest_paid < i.interest)"
                f" AND l.status IN ('active', 'overdue') AND {has_address}"
                f" AND NOT EXISTS (SELECT 1 FROM {t_rem} r WHERE r.installment_id = i.id AND r.kind = %s"
                f" AND r.channel = %s)",
                [
                    day,
                    kind,
                    channel,
                    timezone.now(),
                    *statuses,
                    pay_date - datetime.timedelta(days=SHIFT_DAYS),
                    pay_date,
                    pay_date,
                    kind,
                    channel,
                ],
            )
            total += max(cursor.rowcount, 0)
    return total


def reminders_queue(*, day: datetime.date, days_before: int) -> int:
    """Insert the day's pending reminders; returns how many are new."""
    count = _insert(
        day=day,
        pay_date=day + datetime.timedelta(days=days_before),
        kind=Reminder.Kind.BEFORE_DUE,
        statuses=("future", "due", "partly_paid"),
    )
    for kind, dpd in OVERDUE_KINDS.items():
        count += _insert(day=day, pay_date=day - datetime.timedelta(days=dpd - 1), kind=kind, statuses=("overdue",))
    return count


def _language(customer) -> str:
    language = getattr(customer, "language", "") or settings.REMINDER_LANGUAGE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def reminder_templates(language: str) -> dict[str, tuple[str, str]]:
    """Subject and body (``%``-format strings) per kind, in ``language``."""
    with translation.override(language):
        before = (
            _("Repayment due on %(date)s"),
            _(
                "Dear %(name)s, installment %(number)s of loan %(loan)s, %(amount)s, is due on %(date)s. "
                "Please make sure the amount is in your account."
            ),
        )
        overdue = (
            _("Repayment overdue: loan %(loan)s"),
            _(
                "Dear %(name)s, installment %(number)s of loan %(loan)s, due on %(date)s, is %(days)s day(s) "
                "overdue; %(amount)s is unpaid and penalty interest accrues daily. Please repay as soon as possible."
            ),
        )
    return {Reminder.Kind.BEFORE_DUE: before, **dict.fromkeys(OVERDUE_KINDS, overdue)}


def _customers(ids) -> dict:
    from customers.models import Customer

    names = {f.name for f in Customer._meta.get_fields()}
    fields = [f for f in ("id", "name", "email", "phone", "language") if f in names]
    return {c.pk: c for c in Customer.objects.filter(pk__in=ids).only(*fields)}


def reminders_send(*, day: datetime.date | None = None, chunk: int = SEND_CHUNK) -> dict[str, int]:
    """Render and send the pending reminders (of ``day``, or all), chunk by chunk: each
    customer read (and decrypted) once per chunk, each template translated once per language,
    the rows marked in the transaction that sends them."""
    counts = {"sent": 0, "failed": 0}
    sms = sms_backend()
    pending = Reminder.objects.filter(status=Reminder.Status.PENDING)
    if day is not None:
        pending = pending.filter(date=day)
    templates: dict[str, dict] = {}
    table = Reminder._meta.db_table
    update = (
        f"UPDATE {table} SET status = %s, recipient = %s, language = %s, subject = %s, body = %s, error = %s,"
        f" sent_at = %s WHERE id = %s AND status = 'pending'"
    )
    last = 0
    while True:
        rows = list(
            pending.filter(id__gt=last)
            .order_by("id")
            .values_list("id", "kind", "channel", "loan_id", "installment_id")[:chunk]
        )
        if not rows:
            break
        last = rows[-1][0]
        loans = {
            pk: (number, customer)
            for pk, number, customer in Loan.objects.filter(pk__in={r[3] for r in rows}).values_list(
                "pk", "loan_number", "customer_id"
            )
        }
        installments = {
            row[0]: row
            for row in Installment.objects.filter(pk__in={r[4] for r in rows}).values_list(
                "pk", "number", "pay_date", "principal", "interest", "penalty", "principal_paid", "interest_paid",
                "penalty_paid",
            )
        }  # fmt: skip
        customers = _customers({customer for _n, customer in loans.values()})
        now = timezone.now()
        emails, updates = [], []
        with transaction.atomic():
            for pk, kind, channel, loan_id, installment_id in rows:
                loan_number, customer_id = loans[loan_id]
                customer = customers[customer_id]
                _i, number, pay_date, p, i, pen, p_paid, i_paid, pen_paid = installments[installment_id]
                language = _language(customer)
                if language not in templates:
                    templates[language] = reminder_templates(language)
                subject_fmt, body_fmt = templates[language][kind]
                values = {
                    "name": customer.name,
                    "loan": loan_number,
                    "number": number,
                    "amount": format_money(p + i + pen - p_paid - i_paid - pen_paid),
                    "date": pay_date.isoformat(),
                    "days": OVERDUE_KINDS.get(kind, 0),
                }
                subject, body = subject_fmt % values, body_fmt % values
                status, error, sent_at = Reminder.Status.SENT, "", now
                if channel == Reminder.Channel.EMAIL:
                    recipient = customer.email
                    emails.append(mail.EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [customer.email]))
                else:
                    phone = getattr(customer, "phone", "") or ""
                    recipient = phone_masked(phone)
                    try:
                        sms_send(phone, body, backend=sms)
                    except SmsError as exc:
                        status, error, sent_at = Reminder.Status.FAILED, str(exc)[:255], None
                updates.append((status, recipient, language, subject, body, error, sent_at, pk))
                counts["sent" if status == Reminder.Status.SENT else "failed"] += 1
            if emails:
                with mail.get_connection() as conn:
                    conn.send_messages(emails)
            with connection.cursor() as cursor:
                cursor.executemany(update, updates)
    return counts


def reminders_close_day(ctx) -> dict[str, int]:
    """The close step: queue the day's reminders, then send what is pending for the day."""
    queued = reminders_queue(day=ctx.date, days_before=ctx.settings.reminder_days_before)
    return {"queued": queued, **reminders_send(day=ctx.date)}
