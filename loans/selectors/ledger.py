"""The ledger invariants, checked set-wise (``manage.py check_ledger`` and the tests).

For every loan:
- outstanding principal = disbursed − principal repaid − written off (from the ledger) = the
  unpaid principal of its current schedule version, and its denormalised balances (principal,
  principal repaid, interest, penalty and fees paid, written off, credit held) equal the
  ledger's sums; the last entry's balance is the outstanding principal;
- every entry's cash is the sum of its components (a write-off moves principal without cash);
- a written-off loan: the write-off entry moved its outstanding principal off the books (its
  interest and penalty are off balance: not in the paid figures), recoveries since received
  principal, interest and penalty off balance too, and its ``WriteOff`` record agrees with the
  ledger; its schedule's unpaid principal = outstanding + written off − recovered principal;
- a closed loan owes nothing: no principal, and every installment of its schedule paid.
For every credit line a loan or an approval drew on: ``used`` = Σ over its live loans of the
outstanding principal plus the approved amount not disbursed yet, + Σ approved amounts of its
applications approved and not yet disbursed (revolving: repayments restore headroom).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Abs, Coalesce

from loans.models import Installment, LedgerEntry, Loan, LoanApplication, WriteOff
from loansite.money import CENT, ZERO

CHUNK = 2000
_SUM = DecimalField(max_digits=20, decimal_places=2)
# SQLite adds decimals as floating point: sums are rounded to the cent, and a cash identity
# is broken only when it is off by half a cent or more.
HALF_CENT = Decimal("0.005")
# Off the books: what a write-off took off and what was recovered since are not in the paid figures.
OFF_BOOK = (LedgerEntry.Kind.WRITE_OFF, LedgerEntry.Kind.RECOVERY)


@dataclass(frozen=True)
class LedgerProblem:
    subject: str  # a loan number, or "credit line <id>"
    problem: str

    def __str__(self):
        return f"{self.subject}: {self.problem}"


def _sum(expression):
    return Coalesce(Sum(expression), Value(ZERO), output_field=_SUM)


def _cents(row: dict) -> dict:
    return {
        key: Decimal(value).quantize(CENT) if key != "loan_id" and value is not None else value
        for key, value in row.items()
    }


def _sum_of(name: str, condition: Q):
    return Coalesce(Sum(name, filter=condition), Value(ZERO), output_field=_SUM)


def _loan_problems(loans: list[dict]) -> list[LedgerProblem]:
    ids = [loan["id"] for loan in loans]
    ledger = {
        row["loan_id"]: _cents(row)
        for row in LedgerEntry.objects.filter(loan_id__in=ids)
        .values("loan_id")
        .annotate(
            disbursed_negative=_sum_of("principal", Q(kind=LedgerEntry.Kind.DISBURSEMENT)),
            written_off=_sum_of("principal", Q(kind=LedgerEntry.Kind.WRITE_OFF)),
            written_off_cash=_sum_of("amount", Q(kind=LedgerEntry.Kind.WRITE_OFF)),
            recovered=_sum_of("principal", Q(kind=LedgerEntry.Kind.RECOVERY)),
            recovered_interest=_sum_of("interest", Q(kind=LedgerEntry.Kind.RECOVERY)),
            recovered_penalty=_sum_of("penalty", Q(kind=LedgerEntry.Kind.RECOVERY)),
            written_off_interest=_sum_of("interest", Q(kind=LedgerEntry.Kind.WRITE_OFF)),
            written_off_penalty=_sum_of("penalty", Q(kind=LedgerEntry.Kind.WRITE_OFF)),
            principal_all=_sum("principal"),
            interest=_sum_of("interest", ~Q(kind__in=OFF_BOOK)),
            penalty=_sum_of("penalty", ~Q(kind__in=OFF_BOOK)),
            fee=_sum_of("fee", ~Q(kind__in=OFF_BOOK)),
            credit=_sum("credit"),
            accrued=_sum("accrued"),
        )
    }
    unbalanced = set(
        LedgerEntry.objects.filter(loan_id__in=ids)
        .exclude(kind=LedgerEntry.Kind.WRITE_OFF)
        .annotate(off=Abs(F("amount") - F("principal") - F("interest") - F("penalty") - F("fee") - F("credit")))
        .filter(off__gte=HALF_CENT)
        .values_list("loan_id", flat=True)
    )
    last_balance = dict(
        Loan.objects.filter(pk__in=ids)
        .annotate(
            last=Subquery(
                LedgerEntry.objects.filter(loan_id=OuterRef("pk")).order_by("-id").values("balance_after")[:1]
            )
        )
        .values_list("pk", "last")
    )
    schedule = {
        row["loan_id"]: _cents(row)
        for row in Installment.objects.filter(loan_id__in=ids, schedule_version=F("loan__schedule_version"))
        .values("loan_id")
        .annotate(
            unpaid_principal=_sum(F("principal") - F("principal_paid")),
            unpaid=_sum(
                ExpressionWrapper(
                    F("principal")
                    + F("interest")
                    + F("penalty")
                    - F("principal_paid")
                    - F("interest_paid")
                    - F("penalty_paid"),
                    output_field=_SUM,
                )
            ),
        )
    }
    write_offs = {
        row["loan_id"]: row
        for row in WriteOff.objects.filter(loan_id__in=ids).values(
            "loan_id",
            "principal",
            "interest",
            "penalty",
            "recovered_principal",
            "recovered_interest",
            "recovered_penalty",
        )
    }
    problems = []
    for loan in loans:
        name = loan["loan_number"]

        def problem(text, name=name):
            problems.append(LedgerProblem(name, text))

        sums = ledger.get(loan["id"])
        if sums is None:
            problem("no ledger entries")
            continue
        disbursed, written_off = -sums["disbursed_negative"], sums["written_off"]
        recovered = sums["recovered"]
        repaid = sums["principal_all"] + disbursed - written_off - recovered  # repayment-kind principal
        expected = disbursed - repaid - written_off
        rows = schedule.get(loan["id"], {"unpaid_principal": ZERO, "unpaid": ZERO})
        if loan["principal"] != disbursed:
            problem(f"principal {loan['principal']} != disbursed {disbursed} in the ledger")
        if loan["principal_repaid"] != repaid:
            problem(f"principal repaid {loan['principal_repaid']} != {repaid} in the ledger")
        if loan["written_off_amount"] != written_off:
            problem(f"written off {loan['written_off_amount']} != {written_off} in the ledger")
        if loan["outstanding_principal"] != expected:
            problem(f"outstanding {loan['outstanding_principal']} != disbursed - repaid - written off = {expected}")
        if loan["outstanding_principal"] + written_off - recovered != rows["unpaid_principal"]:
            problem(
                f"outstanding {loan['outstanding_principal']} + written off {written_off} - recovered {recovered}"
                f" != unpaid schedule principal {rows['unpaid_principal']}"
            )
        if written_off or recovered or loan["status"] == Loan.Status.WRITTEN_OFF or loan["id"] in write_offs:
            problems.extend(_write_off_problems(name, loan, sums, write_offs.get(loan["id"])))
        for field, key in (("interest_paid", "interest"), ("penalty_paid", "penalty"), ("fees_paid", "fee")):
            if loan[field] != sums[key]:
                problem(f"{field} {loan[field]} != {sums[key]} in the ledger")
        if loan["penalty_accrued"] != sums["accrued"]:
            problem(f"penalty accrued {loan['penalty_accrued']} != {sums['accrued']} in the ledger")
        if loan["credit_balance"] != sums["credit"]:
            problem(f"credit held {loan['credit_balance']} != {sums['credit']} in the ledger")
        if loan["credit_balance"] < 0:
            problem("negative credit held")
        if loan["id"] in unbalanced:
            problem("an entry's cash is not the sum of its components")
        if last_balance.get(loan["id"]) != loan["outstanding_principal"]:
            problem(f"the last entry's balance {last_balance.get(loan['id'])} != outstanding")
        if loan["status"] == Loan.Status.CLOSED and (loan["outstanding_principal"] or rows["unpaid"]):
            problem(f"closed but owes {loan['outstanding_principal']} principal, {rows['unpaid']} in all")
    return problems


def _write_off_problems(name: str, loan: dict, sums: dict, record: dict | None) -> list[LedgerProblem]:
    if record is None:
        return [LedgerProblem(name, "written off in the ledger or by status, but no write-off record")]
    found = []
    if loan["status"] == Loan.Status.WRITTEN_OFF and loan["outstanding_principal"]:
        found.append(f"written off but {loan['outstanding_principal']} outstanding on the books")
    if sums["written_off_cash"]:
        found.append(f"a write-off moved cash ({sums['written_off_cash']})")
    for field, key in (
        ("principal", "written_off"),
        ("interest", "written_off_interest"),
        ("penalty", "written_off_penalty"),
        ("recovered_principal", "recovered"),
        ("recovered_interest", "recovered_interest"),
        ("recovered_penalty", "recovered_penalty"),
    ):
        if record[field] != sums[key]:
            found.append(f"write-off record {field} {record[field]} != {sums[key]} in the ledger")
    return [LedgerProblem(name, text) for text in found]


_LOAN_FIELDS = (
    "id",
    "loan_number",
    "status",
    "principal",
    "principal_repaid",
    "written_off_amount",
    "outstanding_principal",
    "interest_paid",
    "penalty_paid",
    "fees_paid",
    "credit_balance",
    "penalty_accrued",
)


def credit_line_problems(*, line_ids=None) -> list[LedgerProblem]:
    from customers.models import CreditLine

    live = Loan.objects.filter(status__in=Loan.LIVE, credit_line__isnull=False)
    apps = LoanApplication.objects.filter(status=LoanApplication.Status.APPROVED, credit_line__isnull=False)
    if line_ids is not None:
        live, apps = live.filter(credit_line_id__in=line_ids), apps.filter(credit_line_id__in=line_ids)
    expected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line_id, total in (
        live.values("credit_line_id")
        .annotate(total=_sum(F("outstanding_principal") + F("approved_amount") - F("principal")))
        .values_list("credit_line_id", "total")
    ):
        expected[line_id] += Decimal(total).quantize(CENT)
    for line_id, total in (
        apps.values("credit_line_id")
        .annotate(total=_sum(Coalesce("approved_amount", "amount")))
        .values_list("credit_line_id", "total")
    ):
        expected[line_id] += Decimal(total).quantize(CENT)
    lines = CreditLine.objects.filter(Q(loans__isnull=False) | Q(applications__isnull=False)).distinct()
    if line_ids is not None:
        lines = lines.filter(pk__in=line_ids)
    problems = []
    for line_id, used in lines.values_list("pk", "used"):
        if used != expected[line_id]:
            problems.append(
                LedgerProblem(
                    f"credit line {line_id}",
                    f"used {used} != outstanding of its live loans + undisbursed approvals {expected[line_id]}",
                )
            )
    return problems


def ledger_problems(*, loans=None) -> list[LedgerProblem]:
    """Every broken invariant (empty when the books agree). ``loans``: a queryset to check, all by default."""
    qs = (loans if loans is not None else Loan.objects.all()).order_by("pk")
    problems = []
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last).values(*_LOAN_FIELDS)[:CHUNK])
        if not chunk:
            break
        problems.extend(_loan_problems(chunk))
        last = chunk[-1]["id"]
    line_ids = None
    if loans is not None:
        line_ids = set(qs.exclude(credit_line__isnull=True).values_list("credit_line_id", flat=True))
    problems.extend(credit_line_problems(line_ids=line_ids))
    return problems
