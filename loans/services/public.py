"""The public application form's write: match or create the customer, create and submit.

One transaction: a failure anywhere leaves neither a customer nor an application behind.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from loans.models import Channel, LoanApplication, LoanProduct
from loans.services.applications import application_create
from loansite.errors import Conflict, ValidationFailed

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


@transaction.atomic
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
    """
    from customers.selectors import customer_matches
    from customers.services import customer_create
    from customers.validators import normalize_mobile_phone

    fields = {k: v for k, v in customer_fields.items() if k in PUBLIC_CUSTOMER_FIELDS and v not in (None, "")}
    found = customer_matches(
        credit_code=fields.get("credit_code"), id_number=fields.get("id_number"), phone=fields.get("phone")
    )
    if len(found) > 1 or (found and _identity_mismatch(found[0], fields)):
        raise _no_match()
    if found:
        customer = found[0]
    else:
        try:
            customer = customer_create(actor=None, **fields)
        except Conflict:
            # Someone registered the same details a moment ago; never name the other party.
            raise _no_match()
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
    )
