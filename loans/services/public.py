"""The public application form's write: match or create the customer, create and submit.

One transaction for the writes: a failure anywhere leaves neither a customer nor an
application behind.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from loans.models import Channel, LoanApplication, LoanProduct
from loans.services.applications import (
    application_check_product_limits,
    application_create,
    application_reference_allocate,
)
from loansite.errors import Conflict, ValidationFailed
from loansite.money import money

# Customer fields the applicant may give; anything else stays with the bank's staff.
PUBLIC_CUSTOMER_FIELDS = (
    "kind",
    "name",
    "credit_code",
    "id_number",
    "phone",
    "email",
    "address",
    "city",
    "city_tier",
    "industry",
    "years_in_business",
    "employees",
    "monthly_revenue",
    "monthly_cost",
)


def _identity_mismatch(customer, fields: dict) -> bool:
    from customers.validators import normalize_credit_code, normalize_resident_id

    code = normalize_credit_code(fields.get("credit_code"))
    id_number = normalize_resident_id(fields.get("id_number"))
    return bool(
        (code and customer.credit_code and customer.credit_code != code)
        or (id_number and customer.id_number and customer.id_number != id_number)
    )


def _no_match() -> ValidationFailed:
    return ValidationFailed(
        _("These details do not match our records. Please call your branch so we can help."),
        extra={"field": "phone"},
    )


def _match(fields: dict):
    """The one customer these details name, ``None`` when none; refuses details that disagree."""
    from customers.selectors import customer_matches

    found = customer_matches(
        credit_code=fields.get("credit_code"), id_number=fields.get("id_number"), phone=fields.get("phone")
    )
    if len(found) > 1 or (found and _identity_mismatch(found[0], fields)):
        raise _no_match()
    return found[0] if found else None


def application_submit_public(
    *,
    customer_fields: dict,
    product: LoanProduct,
    amount,
    term_months: int,
    purpose: str,
    repayment_method: str,
) -> LoanApplication:
    """Create (or match) the customer and a submitted application from the public form.

    An existing customer is matched by credit code, ID number or phone and is not
    changed by the anonymous form; details that point at two customers, or at a customer
    with a different identity, are refused without saying which.

    Every check that needs no lock runs first (product limits, a first match, the
    reference number), so the write transaction (on SQLite: the database's one write
    lock, taken at BEGIN) holds only the authoritative match and the writes.
    """
    from customers.services import customer_create
    from customers.validators import normalize_mobile_phone

    fields = {k: v for k, v in customer_fields.items() if k in PUBLIC_CUSTOMER_FIELDS and v not in (None, "")}
    amount = money(amount)
    repayment_method = repayment_method or (product.repayment_methods or ["equal_installment"])[0]
    application_check_product_limits(product=product, amount=amount, term_months=term_months, method=repayment_method)
    seen = _match(fields)  # refuses disagreeing details before any lock is taken
    reference = application_reference_allocate()
    try:
        with transaction.atomic():
            # Under the lock, the authoritative match: the details may have been
            # registered (by a concurrent submission) since the read above.
            customer = _match(fields) if seen is not None else None
            if customer is None:
                try:
                    # customer_create checks for duplicates itself, under this lock.
                    customer = customer_create(actor=None, **fields)
                except Conflict:
                    # Registered a moment ago: the same applicant is matched, anybody else is
                    # refused without naming the other party.
                    customer = _match(fields)
                    if customer is None:
                        raise _no_match() from None
            return application_create(
                actor=None,
                customer=customer,
                product=product,
                amount=amount,
                term_months=term_months,
                purpose=purpose,
                repayment_method=repayment_method,
                channel=Channel.PUBLIC,
                contact_phone=normalize_mobile_phone(fields.get("phone")),
                submit=True,
                reference=reference,
            )
    except IntegrityError:
        # Only a reference number drawn twice at the same moment gets here; nothing was saved.
        raise Conflict(_("Could not allocate a reference number; please try again.")) from None
