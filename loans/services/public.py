"""The public application form's write: match or create the customer, create and submit.

One transaction for the writes: a failure anywhere leaves neither a customer nor an
application behind.

Who the applicant is, is not taken on trust. Details that agree with one customer on file
(an identifier of theirs, their phone on record, their name) file the application under
that customer. Details that name an existing customer (its credit code, resident ID or
phone) but disagree with the record in anything else never reach that customer: the
application waits in ``pending_verification``, without a customer, until an officer
verifies the identity (``application_verify_identity``). The applicant gets the same
confirmation page and reference number either way, so the form tells nobody whether a
customer exists.
"""

import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_batch, audit_record, model_snapshot
from loans.models import Channel, LoanApplication, LoanProduct, PublicSubmission
from loans.services.applications import (
    application_check_product_limits,
    application_create,
    application_reference_allocate,
)
from loansite.errors import Conflict
from loansite.money import money

Status = LoanApplication.Status

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


def applicant_name_key(value) -> str:
    """A name as compared: full-width and half-width alike, case and spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", str(value or "")).casefold().split())


def _same_applicant(customer, fields: dict) -> bool:
    """Whether the details agree with this customer's record: one of its identifiers, no
    other identifier of theirs contradicted, the phone on record, the name, the email
    where both have one. Anything less is a claim an officer must verify."""
    from customers.validators import normalize_credit_code, normalize_mobile_phone, normalize_resident_id

    code = normalize_credit_code(fields.get("credit_code"))
    id_number = normalize_resident_id(fields.get("id_number"))
    if (code and customer.credit_code and customer.credit_code != code) or (
        id_number and customer.id_number and customer.id_number != id_number
    ):
        return False
    if not ((code and customer.credit_code == code) or (id_number and customer.id_number == id_number)):
        return False
    if normalize_mobile_phone(fields.get("phone")) != customer.phone:
        return False
    if applicant_name_key(fields.get("name")) != applicant_name_key(customer.name):
        return False
    email = (fields.get("email") or "").strip().lower()
    return not (email and customer.email and email != customer.email.strip().lower())


@dataclass(frozen=True)
class PublicMatch:
    """``customer``: the applicant is this customer; ``to_verify``: the details name this
    customer on file but do not agree with it. Both ``None``: nobody on file."""

    customer: object = None
    to_verify: object = None

    @property
    def found(self) -> bool:
        return self.customer is not None or self.to_verify is not None


def public_match(fields: dict) -> PublicMatch:
    """Who on file these details name (one indexed query)."""
    from customers.selectors import customer_matches
    from customers.validators import normalize_credit_code, normalize_resident_id

    found = customer_matches(
        credit_code=fields.get("credit_code"), id_number=fields.get("id_number"), phone=fields.get("phone")
    )
    if not found:
        return PublicMatch()
    if len(found) == 1 and _same_applicant(found[0], fields):
        return PublicMatch(customer=found[0])
    # The holder of the identifier is whom the applicant claims to be; else the phone's.
    code = normalize_credit_code(fields.get("credit_code"))
    id_number = normalize_resident_id(fields.get("id_number"))
    by_identifier = [c for c in found if (code and c.credit_code == code) or (id_number and c.id_number == id_number)]
    return PublicMatch(to_verify=(by_identifier or found)[0])


def _claimed(fields: dict) -> dict:
    """The applicant's details as given (normalised keys, JSON values)."""
    from customers.validators import normalize_credit_code, normalize_mobile_phone, normalize_resident_id

    claimed = {}
    for name in PUBLIC_CUSTOMER_FIELDS:
        value = fields.get(name)
        if value in (None, ""):
            continue
        if name == "credit_code":
            value = normalize_credit_code(value)
        elif name == "id_number":
            value = normalize_resident_id(value)
        elif name == "phone":
            value = normalize_mobile_phone(value)
        claimed[name] = value if isinstance(value, str | int | bool) else str(value)
    return claimed


def _application_create_unverified(
    *,
    identity_match,
    claimed_identity: dict,
    product: LoanProduct,
    amount,
    term_months: int,
    purpose: str,
    repayment_method: str,
    contact_phone: str,
    reference: str,
) -> LoanApplication:
    """The application in ``pending_verification``: no customer, no queue, no score yet."""
    now = timezone.now()
    app = LoanApplication.objects.create(
        reference=reference,
        customer=None,
        identity_match=identity_match,
        claimed_identity=claimed_identity,
        product=product,
        amount=amount,
        term_months=term_months,
        purpose=purpose or product.purpose,
        repayment_method=repayment_method,
        channel=Channel.PUBLIC,
        contact_phone=contact_phone,
        status=Status.PENDING_VERIFICATION,
        submitted_at=now,
        status_changed_at=now,
        created_at=now,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=None,
        target=app,
        changes={"created": model_snapshot(app), "status": [None, Status.PENDING_VERIFICATION]},
    )
    return app


def application_submit_public(
    *,
    customer_fields: dict,
    product: LoanProduct,
    amount,
    term_months: int,
    purpose: str,
    repayment_method: str,
    submission_token: str = "",
) -> LoanApplication:
    """Create (or match) the customer and a submitted application from the public form.

    ``submission_token``: the form's one-time token. A form posted again with the same
    token (a refresh, a double click, back and submit) returns the application it made
    the first time and writes nothing: the token is unique in the database, taken first in
    the write transaction, so of two concurrent posts exactly one files an application.

    A new applicant becomes a customer; details that agree with one customer on file
    file the application under it (the anonymous form never changes the customer); details
    that name a customer on file but disagree with it give an application pending
    identity verification, attached to no customer. All three answer alike.

    Every check that needs no lock runs first (product limits, a first match, the
    reference number), so the write transaction (on SQLite: the database's one write
    lock, taken at BEGIN) holds only the authoritative match and the writes.
    """
    from customers.services import customer_create
    from customers.validators import normalize_mobile_phone

    # The caller (the form's view) has looked the token up already, before its rate limit;
    # the authoritative look-up is the one under the write lock below.
    fields = {k: v for k, v in customer_fields.items() if k in PUBLIC_CUSTOMER_FIELDS and v not in (None, "")}
    amount = money(amount)
    repayment_method = repayment_method or (product.repayment_methods or ["equal_installment"])[0]
    application_check_product_limits(product=product, amount=amount, term_months=term_months, method=repayment_method)
    seen = public_match(fields)
    reference = application_reference_allocate()
    request = {
        "product": product,
        "amount": amount,
        "term_months": term_months,
        "purpose": purpose,
        "repayment_method": repayment_method,
        "contact_phone": normalize_mobile_phone(fields.get("phone")),
        "reference": reference,
    }
    claimed = _claimed(fields)
    try:
        # One append to the audit chain for the customer's and the application's entries.
        with transaction.atomic(), audit_batch():
            submission = None
            if submission_token:
                # The token first: a concurrent post of the same form waits here (one write
                # lock on SQLite, the unique index on MySQL); a token filed already fails the
                # unique index, nothing is written and the application it made is answered
                # (below). The caller looked it up a moment ago: this is the authoritative check.
                submission = PublicSubmission.objects.create(token=submission_token)
            # Under the lock, the authoritative match: the details may have been
            # registered (by a concurrent submission) or changed since the read above.
            match = public_match(fields) if seen.found else PublicMatch()
            if not match.found:
                try:
                    # customer_create checks for duplicates itself, under this lock.
                    match = PublicMatch(customer=customer_create(actor=None, **fields))
                except Conflict:
                    # Registered a moment ago: matched like any other customer on file.
                    match = public_match(fields)
                    if not match.found:
                        raise Conflict(_("We could not save your application; please try again.")) from None
            if match.customer is None:
                application = _application_create_unverified(
                    identity_match=match.to_verify, claimed_identity=claimed, **request
                )
            else:
                # A customer whose new applications risk control froze is asked to contact the bank.
                application = application_create(
                    actor=None,
                    customer=match.customer,
                    channel=Channel.PUBLIC,
                    submit=True,
                    claimed_identity=claimed,
                    public=True,
                    **request,
                )
            if submission is not None:
                PublicSubmission.objects.filter(pk=submission.pk).update(application=application)
            return application
    except IntegrityError:
        # The same form posted twice at once: the other post filed it.
        earlier = public_submission_find(submission_token) if submission_token else None
        if earlier is not None:
            return earlier
        # Otherwise a reference number drawn twice at the same moment; nothing was saved.
        raise Conflict(_("Could not allocate a reference number; please try again.")) from None


def application_public_fingerprint(*, customer_fields: dict, product, amount, term_months: int) -> str:
    """What makes two posts the same application: who (identifiers, phone), which product,
    how much, how long. A browser's back button may serve the form again with a new token
    but everything typed; the fingerprint finds that copy (within the same session)."""
    import hashlib

    from customers.validators import normalize_credit_code, normalize_mobile_phone, normalize_resident_id

    parts = [
        normalize_credit_code(customer_fields.get("credit_code")),
        normalize_resident_id(customer_fields.get("id_number")),
        normalize_mobile_phone(customer_fields.get("phone")),
        applicant_name_key(customer_fields.get("name")),
        str(getattr(product, "pk", product)),
        str(money(amount)),
        str(term_months),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def public_submission_find(token: str) -> LoanApplication | None:
    """The application a public form with this one-time token made, if any."""
    application_id = PublicSubmission.objects.filter(token=token).values_list("application_id", flat=True).first()
    return LoanApplication.objects.get(pk=application_id) if application_id is not None else None
