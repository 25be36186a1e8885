"""Decided terms: what an approver decides besides yes or no (amount, term, rate, method,
conditions precedent), checked against the request and the product.

``application_approve`` resolves the terms here; disbursement reads them back with
``application_decided_terms``. A decision on other terms than requested (a lower amount,
another term or method) is a counter-offer: recorded as such and shown to the applicant.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from loans.models import LoanApplication, LoanProduct
from loansite.errors import ValidationFailed
from loansite.money import money
from loansite.tabular import text_has_control_characters

RATE_PLACES = Decimal("0.0001")
GRADES = ("A", "B", "C", "D", "E")
CONDITIONS_MAX = 20
CONDITION_LENGTH = 200


@dataclass(frozen=True)
class DecidedTerms:
    amount: Decimal
    term_months: int
    annual_rate: Decimal
    method: str
    conditions_precedent: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "amount": str(self.amount),
            "term_months": self.term_months,
            "annual_rate": str(self.annual_rate),
            "method": self.method,
            "conditions_precedent": list(self.conditions_precedent),
        }


def product_default_rate(*, product: LoanProduct, grade: str = "") -> Decimal:
    """The product's rate for a score grade: its ``grade_rates`` entry when it has one (within
    the product's range), else a straight line from the lowest rate (A) to the highest (E);
    without a grade, the highest rate."""
    low, high = product.annual_rate_min, product.annual_rate_max
    listed = (product.grade_rates or {}).get(grade) if grade else None
    if listed is not None:
        try:
            rate = Decimal(str(listed)).quantize(RATE_PLACES, ROUND_HALF_UP)
        except InvalidOperation:
            rate = None
        if rate is not None and low <= rate <= high:
            return rate
    if grade not in GRADES:
        return high
    step = Decimal(GRADES.index(grade)) / Decimal(len(GRADES) - 1)
    return (low + (high - low) * step).quantize(RATE_PLACES, ROUND_HALF_UP)


def _conditions(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        raise ValidationFailed(_("Conditions precedent must be a list of texts."), extra={"field": "conditions"})
    cleaned = []
    for item in value:
        text = str(item or "").strip()
        if not text:
            continue
        if len(text) > CONDITION_LENGTH or text_has_control_characters(text):
            raise ValidationFailed(
                _("Each condition precedent is one line of at most %(n)s characters.") % {"n": CONDITION_LENGTH},
                extra={"field": "conditions_precedent"},
            )
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > CONDITIONS_MAX:
        raise ValidationFailed(
            _("At most %(n)s conditions precedent.") % {"n": CONDITIONS_MAX}, extra={"field": "conditions_precedent"}
        )
    return cleaned


def application_terms_resolve(
    *,
    application: LoanApplication,
    amount=None,
    term_months=None,
    annual_rate=None,
    method=None,
    conditions_precedent=None,
    base: dict | None = None,
) -> DecidedTerms:
    """The terms to decide: the given ones, else ``base`` (an earlier approval's terms in the
    same round), else the request and the product's rate for the grade. Raises
    ``ValidationFailed`` (with ``errors`` per field) when they do not fit the request or the product."""
    base = base or {}
    product = application.product
    errors = {}

    def pick(given, key, default):
        if given not in (None, ""):
            return given
        return base.get(key, default)

    try:
        amount = money(pick(amount, "amount", application.amount))
    except ValueError:
        errors["approved_amount"] = _("Not an amount of money.")
        amount = application.amount
    try:
        term_months = int(pick(term_months, "term_months", application.term_months))
    except (TypeError, ValueError):
        errors["approved_term_months"] = _("The term must be a whole number of months.")
        term_months = application.term_months
    try:
        rate = Decimal(
            str(
                pick(annual_rate, "annual_rate", "")
                or product_default_rate(product=product, grade=application.score_grade)
            )
        )
        if not rate.is_finite():
            raise InvalidOperation
        rate = rate.quantize(RATE_PLACES, ROUND_HALF_UP)
    except InvalidOperation:
        errors["approved_annual_rate"] = _("Not a rate (e.g. 0.0850 for 8.5%).")
        rate = product.annual_rate_max
    method = str(pick(method, "method", application.repayment_method))
    conditions = _conditions(pick(conditions_precedent, "conditions_precedent", []))

    if amount <= 0 or amount > application.amount:
        errors["approved_amount"] = _(
            "The approved amount must be more than 0 and at most the %(requested)s requested."
        ) % {"requested": application.amount}
    elif not product.min_amount <= amount <= product.max_amount:
        errors["approved_amount"] = _("The amount must be between %(min)s and %(max)s for this product.") % {
            "min": product.min_amount,
            "max": product.max_amount,
        }
    if not product.min_term_months <= term_months <= product.max_term_months:
        errors["approved_term_months"] = _("The term must be between %(min)s and %(max)s months for this product.") % {
            "min": product.min_term_months,
            "max": product.max_term_months,
        }
    if not product.annual_rate_min <= rate <= product.annual_rate_max:
        errors["approved_annual_rate"] = _("The annual rate must be between %(min)s and %(max)s for this product.") % {
            "min": product.annual_rate_min,
            "max": product.annual_rate_max,
        }
    from loans.models import RepaymentMethod

    if method not in RepaymentMethod.values or (product.repayment_methods and method not in product.repayment_methods):
        errors["approved_method"] = _("This product does not offer that repayment method.")
    if errors:
        raise ValidationFailed(" ".join(str(e) for e in errors.values()), extra={"errors": errors})
    return DecidedTerms(amount, term_months, rate, method, conditions)


def application_is_counter_offer(*, application: LoanApplication, terms: DecidedTerms) -> bool:
    """Other terms than requested: a lower amount, another term or another method."""
    return (
        terms.amount != application.amount
        or terms.term_months != application.term_months
        or terms.method != application.repayment_method
    )


def application_decided_terms(application: LoanApplication) -> DecidedTerms:
    """The terms an approved application is disbursed on (an application approved before terms
    were recorded, e.g. imported history, on its request and the product's rate)."""
    return DecidedTerms(
        amount=application.approved_amount or application.amount,
        term_months=application.approved_term_months or application.term_months,
        annual_rate=application.approved_annual_rate
        if application.approved_annual_rate is not None
        else product_default_rate(product=application.product, grade=application.score_grade),
        method=application.approved_method or application.repayment_method,
        conditions_precedent=list(application.conditions_precedent or []),
    )


def application_terms_proposal(application: LoanApplication) -> dict:
    """What the approval form starts from: an earlier approver's terms in this round, else the
    request and the product's rate for the grade (not checked: the service checks what is sent)."""
    from loans.selectors.applications import application_round_approvals

    decision = (
        application_round_approvals(application=application).exclude(terms={}).order_by("-created_at", "-id").first()
    )
    base = dict(decision.terms) if decision is not None else {}
    return {
        "approved_amount": base.get("amount", application.amount),
        "approved_term_months": base.get("term_months", application.term_months),
        "approved_annual_rate": base.get(
            "annual_rate", product_default_rate(product=application.product, grade=application.score_grade)
        ),
        "approved_method": base.get("method", application.repayment_method),
        "conditions_precedent": "\n".join(base.get("conditions_precedent", [])),
    }
