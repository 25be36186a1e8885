"""Posting many repayments at once (a bank statement): the same allocation, balances, ledger,
audit and credit-line moves as ``repayment_post``, written set-wise per chunk.

Per chunk, in one transaction: the chunk's loans are read under lock, with their current
installments, their last movement dates and the bank references already posted (four
queries); each row is checked and allocated in memory, in value-date order per loan, exactly
as ``repayment_post`` would; then the repayments, allocations and ledger entries are inserted
in bulk, the installments and loans updated by ``executemany`` (each loan's UPDATE still
conditional on its version), each credit line released once for the chunk and one audit entry
per repayment appended to the chain in bulk. A chunk that meets a concurrent change is posted
again row by row through ``repayment_post``.
"""

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record_many
from loans.models import Installment, LedgerEntry, Loan, Repayment, RepaymentAllocation
from loans.services.accounts import all_paid, next_due, require
from loans.services.collateral import collateral_release_for_loan
from loans.services.repayments import PERM_POST, SNAPSHOT_FIELDS, _order, _unpaid, allocate
from loansite.errors import ApplicationError
from loansite.money import ZERO

MAX_AMOUNT = Decimal("1e13")


@dataclass
class PostingRow:
    row: int
    loan_number: str
    amount: Decimal
    value_date: datetime.date
    bank_reference: str


@dataclass
class BatchPosting:
    posted: list[int] = field(default_factory=list)  # rows posted
    failed: list[tuple[int, str]] = field(default_factory=list)  # (row, why)


class _ChunkConflict(Exception):
    pass


@dataclass(slots=True)
class _Posting:
    """A repayment about to be inserted (no model instance per row)."""

    loan: Loan
    row: PostingRow
    channel: str
    allocated_principal: Decimal
    allocated_interest: Decimal
    allocated_penalty: Decimal
    allocated_credit: Decimal
    loan_before: dict
    pk: int | None = None
    kind: str = Repayment.Kind.REGULAR

    @property
    def loan_id(self) -> int:
        return self.loan.pk

    @property
    def amount(self) -> Decimal:
        return self.row.amount

    @property
    def value_date(self) -> datetime.date:
        return self.row.value_date

    @property
    def bank_reference(self) -> str:
        return self.row.bank_reference


_ROW_FIELDS = (
    "pk",
    "number",
    "due_date",
    "pay_date",
    "principal",
    "interest",
    "penalty",
    "principal_paid",
    "interest_paid",
    "penalty_paid",
    "status",
    "paid_on",
)


class _Row:
    """An installment as the allocation reads and changes it (no model instance per row)."""

    __slots__ = _ROW_FIELDS

    def __init__(self, *values):
        for name, value in zip(_ROW_FIELDS, values, strict=True):
            setattr(self, name, value)


def repayment_post_many(
    *, actor, rows: list[PostingRow], channel: str = Repayment.Channel.IMPORT, chunk: int = 1000, progress=None
) -> BatchPosting:
    """Post ``rows`` in chunks, each chunk in its own transaction (the caller may hold an outer
    one: then everything commits or rolls back together)."""
    require(actor, PERM_POST)
    outcome = BatchPosting()
    # Loan by loan, in value-date order within each (the order that matters): a chunk then reads
    # each loan's installments once, however its rows are spread over the file.
    ordered = sorted(rows, key=lambda r: (r.loan_number, r.value_date, r.row))
    done = 0
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        try:
            with transaction.atomic():
                _post_chunk(part, actor, channel, outcome)
        except _ChunkConflict:
            _post_one_by_one(part, actor, channel, outcome)
        done += len(part)
        if progress is not None:
            progress(done)
    return outcome


def _post_one_by_one(part, actor, channel, outcome) -> None:
    from loans.services.repayments import repayment_post

    loans = dict(Loan.objects.filter(loan_number__in={r.loan_number for r in part}).values_list("loan_number", "pk"))
    for row in part:
        try:
            if row.loan_number not in loans:
                raise ApplicationError(_("No loan with this number."))
            repayment_post(
                actor=actor,
                loan=Loan(pk=loans[row.loan_number]),
                amount=row.amount,
                value_date=row.value_date,
                bank_reference=row.bank_reference,
                channel=channel,
            )
        except ApplicationError as exc:
            outcome.failed.append((row.row, str(exc.message)))
        else:
            outcome.posted.append(row.row)


def _snapshot(state: dict) -> dict:
    return {name: (str(state[name]) if state[name] is not None else None) for name in SNAPSHOT_FIELDS}


def _post_chunk(part: list[PostingRow], actor, channel: str, outcome: BatchPosting) -> None:
    loans = {
        loan.loan_number: loan
        for loan in Loan.objects.select_for_update()
        .select_related("product")
        .filter(loan_number__in={r.loan_number for r in part})
    }
    ids = [loan.pk for loan in loans.values()]
    posted_refs = set(
        Repayment.objects.filter(bank_reference__in=[r.bank_reference for r in part]).values_list(
            "bank_reference", flat=True
        )
    )
    installments = defaultdict(list)
    for values in (
        Installment.objects.filter(loan_id__in=ids, schedule_version=F("loan__schedule_version"))
        .order_by("loan_id", "number")
        .values_list("loan_id", *_ROW_FIELDS)
    ):
        installments[values[0]].append(_Row(*values[1:]))
    last = dict(
        LedgerEntry.objects.filter(loan_id__in=ids)
        .values("loan_id")
        .annotate(last=Max("value_date"))
        .values_list("loan_id", "last")
    )
    today = timezone.localdate()
    states = {loan.pk: {name: getattr(loan, name) for name in SNAPSHOT_FIELDS} for loan in loans.values()}
    repayments, allocations, entries, touched, closing = [], [], [], {}, []
    line_release: dict[int, Decimal] = defaultdict(lambda: ZERO)
    seen_refs = set()
    failed, posted = [], []
    for row in part:
        loan = loans.get(row.loan_number)
        why = _refuse(row, loan, states, last, posted_refs, seen_refs, today)
        if why:
            failed.append((row.row, why))
            continue
        seen_refs.add(row.bank_reference)
        state = states[loan.pk]
        rows = installments[loan.pk]
        before = _snapshot(state)
        allocated = allocate(rows, row.amount, row.value_date, _order(loan))
        p, i, pen = allocated.total("principal"), allocated.total("interest"), allocated.total("penalty")
        credit = allocated.left
        state["outstanding_principal"] -= p
        state["principal_repaid"] += p
        state["interest_paid"] += i
        state["penalty_paid"] += pen
        state["credit_balance"] += credit
        state["next_due_date"], state["next_due_amount"] = next_due(rows)
        closes = state["outstanding_principal"] == 0 and all_paid(rows)
        if closes:
            state["status"], state["closed_on"] = Loan.Status.CLOSED, row.value_date
        elif state["status"] == Loan.Status.OVERDUE and not any(r.pay_date < today and _unpaid(r) > 0 for r in rows):
            state["status"] = Loan.Status.ACTIVE
        before["line_released"] = str(p if loan.credit_line_id else ZERO)
        if loan.credit_line_id and p:
            line_release[loan.credit_line_id] += p
        repayment = _Posting(loan, row, channel, p, i, pen, credit, before)
        repayments.append(repayment)
        if closes:
            closing.append((loan, repayment))
            undisbursed = loan.approved_amount - loan.principal
            before["undisbursed_released"] = str(undisbursed if loan.credit_line_id else ZERO)
            if loan.credit_line_id and undisbursed > 0:
                line_release[loan.credit_line_id] += undisbursed
        for item in allocated.items:
            allocations.append((repayment, item))
            touched[item.row.pk] = item.row
        balance = state["outstanding_principal"]
        if p + i + pen:
            entries.append((repayment, LedgerEntry.Kind.REPAYMENT, p + i + pen, p, i, pen, ZERO, balance))
        if credit:
            entries.append((repayment, LedgerEntry.Kind.OVERPAYMENT_CREDIT, credit, ZERO, ZERO, ZERO, credit, balance))
        last[loan.pk] = row.value_date
        posted.append(row.row)
    if not repayments:
        outcome.failed.extend(failed)
        return
    for loan, repayment in closing:
        repayment.loan_before["security_released"] = collateral_release_for_loan(loan=loan, actor=actor)
    now = timezone.now()
    _insert(
        Repayment,
        [
            "loan_id",
            "kind",
            "amount",
            "value_date",
            "bank_reference",
            "channel",
            "prepayment_mode",
            "allocated_principal",
            "allocated_interest",
            "allocated_penalty",
            "allocated_fee",
            "allocated_credit",
            "status",
            "loan_before",
            "posted_by_id",
            "reversal_reason",
            "created_at",
        ],
        [
            (
                r.loan_id,
                r.kind,
                r.amount,
                r.value_date,
                r.bank_reference,
                r.channel,
                "",
                r.allocated_principal,
                r.allocated_interest,
                r.allocated_penalty,
                ZERO,
                r.allocated_credit,
                Repayment.Status.POSTED,
                json.dumps(r.loan_before),
                actor.pk,
                "",
                now,
            )
            for r in repayments
        ],  # fmt: skip
    )
    by_reference = {}
    references = [r.bank_reference for r in repayments]
    for start in range(0, len(references), 2000):
        by_reference.update(
            Repayment.objects.filter(bank_reference__in=references[start : start + 2000]).values_list(
                "bank_reference", "pk"
            )
        )
    for r in repayments:
        r.pk = by_reference[r.bank_reference]
    _insert(
        RepaymentAllocation,
        ["repayment_id", "installment_id", "principal", "interest", "penalty", "status_before", "paid_on_before"],
        [
            (
                repayment.pk,
                item.row.pk,
                item.principal,
                item.interest,
                item.penalty,
                item.status_before,
                item.paid_on_before,
            )
            for repayment, item in allocations
        ],  # fmt: skip
    )
    _insert(
        LedgerEntry,
        [
            "loan_id",
            "kind",
            "value_date",
            "amount",
            "principal",
            "interest",
            "penalty",
            "fee",
            "credit",
            "balance_after",
            "repayment_id",
            "disbursement_id",
            "note",
            "actor_id",
            "created_at",
        ],
        [
            (
                repayment.loan_id,
                kind,
                repayment.value_date,
                amount,
                p,
                i,
                pen,
                ZERO,
                credit,
                balance,
                repayment.pk,
                None,
                repayment.bank_reference,
                actor.pk,
                now,
            )
            for repayment, kind, amount, p, i, pen, credit, balance in entries
        ],  # fmt: skip
    )
    _update_installments(list(touched.values()))
    moved = {r.loan_id for r in repayments}
    _update_loans([loan for loan in loans.values() if loan.pk in moved], states, now)
    _release_lines(line_release, actor)
    audit_record_many(
        action=AuditAction.CREATE,
        actor=actor,
        items=[
            (
                ("loans.repayment", r.pk, r.bank_reference),
                {
                    "loan": r.loan.loan_number,
                    "amount": str(r.amount),
                    "value_date": r.value_date.isoformat(),
                    "bank_reference": r.bank_reference,
                    "channel": r.channel,
                    "allocated": {
                        "principal": str(r.allocated_principal),
                        "interest": str(r.allocated_interest),
                        "penalty": str(r.allocated_penalty),
                        "credit": str(r.allocated_credit),
                    },
                },
            )
            for r in repayments
        ],
    )
    # Only now, with every write done, does the chunk count (a conflict above re-posts it row by row).
    outcome.posted.extend(posted)
    outcome.failed.extend(failed)


def _refuse(row, loan, states, last, posted_refs, seen_refs, today) -> str:
    if loan is None:
        return _("No loan with this number.")
    if row.bank_reference in posted_refs or row.bank_reference in seen_refs:
        return _("Bank reference %(ref)s is posted already.") % {"ref": row.bank_reference}
    state = states[loan.pk]
    if state["status"] not in Loan.LIVE:
        return _("Loan %(loan)s is %(status)s; nothing can be posted to it.") % {
            "loan": loan.loan_number,
            "status": Loan.Status(state["status"]).label,
        }
    if not 0 < row.amount < MAX_AMOUNT:
        return _("The amount must be greater than zero.")
    if row.value_date > today:
        return _("The value date is in the future.")
    latest = last.get(loan.pk) or loan.disbursement_date
    if row.value_date < latest:
        return _("The value date is before the loan's last movement (%(day)s); movements are posted in date order.") % {
            "day": latest
        }
    return ""


def _adapt(value):
    """A value as both SQLite and MySQL take it in a plain ``executemany``."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Plain ``INSERT``s in batches (the ORM's bulk_create spends most of its time preparing values)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    for start in range(0, len(rows), 2000):
        _executemany(sql, [[_adapt(v) for v in row] for row in rows[start : start + 2000]])


def _executemany(sql: str, params: list[list]) -> int:
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount


def _update_installments(rows: list[Installment]) -> None:
    if not rows:
        return
    names = ["principal_paid", "interest_paid", "penalty_paid", "status", "paid_on"]
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(Installment._meta.db_table)} SET "
        + ", ".join(f"{qn(Installment._meta.get_field(n).column)} = %s" for n in names)
        + f" WHERE {qn('id')} = %s"
    )
    params = [[_adapt(getattr(row, n)) for n in names] + [row.pk] for row in rows]
    if _executemany(sql, params) != len(rows):
        raise _ChunkConflict()


def _update_loans(loans: list[Loan], states: dict, now) -> None:
    names = list(SNAPSHOT_FIELDS)
    qn = connection.ops.quote_name
    table = qn(Loan._meta.db_table)
    sql = (
        f"UPDATE {table} SET "
        + ", ".join(f"{qn(Loan._meta.get_field(n).column)} = %s" for n in names)
        + f", {qn('updated_at')} = %s, {qn('version')} = {qn('version')} + 1"
        + f" WHERE {qn('id')} = %s AND {qn('version')} = %s"
    )
    stamp = _adapt(now)
    params = [[_adapt(states[loan.pk][n]) for n in names] + [stamp, loan.pk, loan.version] for loan in loans]
    if _executemany(sql, params) != len(loans):
        raise _ChunkConflict()


def _release_lines(totals: dict[int, Decimal], actor) -> None:
    from customers.models import CreditLine

    items = []
    for line_id, amount in totals.items():
        if amount <= 0:
            continue
        line = CreditLine.objects.select_for_update().get(pk=line_id)
        if (
            CreditLine.objects.filter(pk=line_id, used__gte=amount).update(
                used=F("used") - amount, updated_at=timezone.now()
            )
            != 1
        ):
            raise _ChunkConflict()  # posted row by row, each line move then reports its own error
        items.append(
            (
                ("customers.creditline", line_id, str(line)),
                {"used": [str(line.used), str(line.used - amount)], "released": str(amount), "by": "repayments"},
            )
        )
    if items:
        audit_record_many(action=AuditAction.UPDATE, actor=actor, items=items)
