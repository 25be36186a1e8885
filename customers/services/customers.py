"""Creating and updating customers: validated, de-duplicated by credit code / ID / phone, audited."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, changes_between, model_snapshot
from customers.models import Customer, Interest, Need, Tag
from customers.selectors import customer_matches
from customers.validators import normalize_credit_code, normalize_mobile_phone, normalize_resident_id
from loansite.errors import Conflict, NotAllowed, ValidationFailed

M2M_FIELDS = {"tags": Tag, "needs": Need, "interests": Interest}
# Changed only through their own services (reassignment, rating).
PROTECTED_FIELDS = {"id", "pk", "manager", "manager_id", "created_at", "updated_at"}
# Credit judgements, not data entry: set only by users holding PERM_RATE, whatever the
# entry point (admin form, API, import); the anonymous public form never sets them.
PERM_RATE = "customers.rate_customer"
RATING_FIELDS = ("credit_score", "rating", "rating_date", "rating_source")


def customer_can_rate(actor) -> bool:
    return actor is not None and actor.is_active and actor.has_perm(PERM_RATE)


# The internal rating changes only through ``customers.services.ratings`` (the rating
# service, or an analyst with a reason; big upgrades approved), never as a field here.
GOVERNED_FIELDS = ("rating", "rating_date", "rating_source")


def _check_rating_fields(actor, fields: dict, customer: Customer | None = None) -> None:
    """Refuse a rating (anyone) or a bureau score ``actor`` may not set (unchanged values pass)."""

    def blank(value):
        return None if value in (None, "") else value

    before = {name: blank(getattr(customer, name)) if customer is not None else None for name in RATING_FIELDS}
    touched = sorted(name for name in RATING_FIELDS if name in fields and blank(fields[name]) != before[name])
    governed = [name for name in touched if name in GOVERNED_FIELDS]
    if governed:
        raise NotAllowed(
            _(
                "The internal rating changes only through the rating service or a risk analyst's rating change "
                "with a reason (%(fields)s)."
            )
            % {"fields": ", ".join(governed)},
            extra={"fields": governed},
        )
    if customer_can_rate(actor):
        return
    if touched:
        raise NotAllowed(
            _(
                "Only users allowed to rate customers may set the internal rating or the credit bureau score "
                "(%(fields)s)."
            )
            % {"fields": ", ".join(touched)},
            extra={"fields": touched},
        )


def _normalise(fields: dict) -> dict:
    fields = dict(fields)
    if "credit_code" in fields:
        fields["credit_code"] = normalize_credit_code(fields["credit_code"]) or None
    if "id_number" in fields:
        fields["id_number"] = normalize_resident_id(fields["id_number"]) or None
    if "phone" in fields:
        fields["phone"] = normalize_mobile_phone(fields["phone"])
    if "email" in fields and fields["email"] is None:
        fields["email"] = ""
    return fields


def _split_m2m(fields: dict) -> tuple[dict, dict]:
    m2m = {name: fields.pop(name) for name in list(fields) if name in M2M_FIELDS}
    return fields, m2m


def _check_fields(fields: dict) -> None:
    protected = PROTECTED_FIELDS & set(fields)
    if protected:
        raise ValidationFailed(_("These fields cannot be set here: %(fields)s.") % {"fields": ", ".join(protected)})
    known = {f.name for f in Customer._meta.concrete_fields} | {f.attname for f in Customer._meta.concrete_fields}
    unknown = set(fields) - known
    if unknown:
        raise ValidationFailed(_("Unknown customer fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})


def customer_identity_errors(customer: Customer) -> dict:
    """Which identity an entity kind needs: enterprises a credit code, individual businesses one of the two."""
    if customer.kind == Customer.Kind.ENTERPRISE and not customer.credit_code:
        return {"credit_code": [_("An enterprise needs its unified social credit code.")]}
    if not customer.credit_code and not customer.id_number:
        return {"id_number": [_("Give the owner's resident ID number or the unified social credit code.")]}
    return {}


def _reference_errors(customer: Customer, before: dict | None = None) -> dict:
    """City and industry must be on file as reference data (an unchanged value on an
    existing customer is kept even if it was switched off since)."""
    from customers.reference import city_find, industry_choices

    errors = {}
    before = before or {}
    if customer.city and customer.city != before.get("city") and city_find(customer.city) is None:
        errors["city"] = [_("Unknown city %(value)s: choose one from the list of cities.") % {"value": customer.city}]
    industry_changed = customer.industry and customer.industry != before.get("industry")
    if industry_changed and customer.industry not in dict(industry_choices()):
        errors["industry"] = [
            _("Unknown industry %(value)s: choose one from the list of industries.") % {"value": customer.industry}
        ]
    return errors


def _validate(customer: Customer, before: dict | None = None) -> None:
    errors = {}
    try:
        customer.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    for field, messages in _reference_errors(customer, before).items():
        errors.setdefault(field, []).extend(messages)
    for field, messages in customer_identity_errors(customer).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(_("The customer data is not valid."), extra={"errors": errors})


def _check_duplicates(customer: Customer) -> None:
    others = [
        other
        for other in customer_matches(
            credit_code=customer.credit_code, id_number=customer.id_number, phone=customer.phone
        )
        if other.pk != customer.pk
    ]
    if others:
        raise Conflict(
            _("Another customer (%(name)s) already has this credit code, ID number or phone.")
            % {"name": others[0].name},
            extra={"existing_id": others[0].pk},
        )


def _resolve(model, values) -> list:
    """Instances, primary keys, or names (tags) / codes or names (needs, interests) -> instances."""
    keys = ["name"] if model is Tag else ["code", "name"]
    items, missing = [], []
    for value in values or []:
        if isinstance(value, model):
            items.append(value)
            continue
        lookups = [{"pk": value}] if isinstance(value, int) else [{key: value} for key in keys]
        found = next((hit for lookup in lookups if (hit := model.objects.filter(**lookup).first())), None)
        if found is None:
            missing.append(str(value))
        else:
            items.append(found)
    if missing:
        raise ValidationFailed(
            _("Unknown %(what)s: %(names)s.") % {"what": model._meta.verbose_name_plural, "names": ", ".join(missing)}
        )
    return items


def _set_m2m(customer: Customer, m2m: dict) -> dict:
    changes = {}
    for name, values in m2m.items():
        items = _resolve(M2M_FIELDS[name], values)
        before = sorted(str(item) for item in getattr(customer, name).all()) if customer.pk else []
        getattr(customer, name).set(items)
        after = sorted(str(item) for item in items)
        if before != after:
            changes[name] = [before, after]
    return changes


@transaction.atomic
def customer_create(*, actor, **fields) -> Customer:
    fields, m2m = _split_m2m(_normalise(fields))
    _check_fields(fields)
    _check_rating_fields(actor, fields)
    if fields.get("city") and fields.get("city_tier") in (None, ""):
        # The tier follows the city (reference data), unless it was given.
        from customers.reference import city_tier_of

        fields["city_tier"] = city_tier_of(fields["city"])
    customer = Customer(**fields)
    _validate(customer)
    _check_duplicates(customer)
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
    except IntegrityError:
        raise Conflict(_("Another customer already has this credit code, ID number or phone."))
    m2m_changes = _set_m2m(customer, m2m)
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=customer,
        changes={**model_snapshot(customer), **{k: v[1] for k, v in m2m_changes.items()}},
    )
    return customer


@transaction.atomic
def customer_update(*, actor, customer: Customer, reason: str = "", **fields) -> Customer:
    fields, m2m = _split_m2m(_normalise(fields))
    _check_fields(fields)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    _check_rating_fields(actor, fields, customer)
    before = model_snapshot(customer)
    if "city" in fields and fields["city"] != customer.city and "city_tier" not in fields:
        from customers.reference import city_tier_of

        fields["city_tier"] = city_tier_of(fields["city"])
    for name, value in fields.items():
        setattr(customer, name, value)
    _validate(customer, before)
    _check_duplicates(customer)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise Conflict(_("Another customer already has this credit code, ID number or phone."))
    changes = changes_between(before, model_snapshot(customer))
    changes.pop("updated_at", None)
    changes.update(_set_m2m(customer, m2m))
    if changes:
        audit_record(action=AuditAction.UPDATE, actor=actor, target=customer, changes=changes, reason=reason)
    return customer


@transaction.atomic
def customer_upsert(*, actor, **fields) -> tuple[Customer, bool]:
    """Update the customer holding this credit code / ID number / phone, or create one.

    Keys that point at two different customers are a conflict, never a merge.
    """
    keys = _normalise({k: fields.get(k) for k in ("credit_code", "id_number", "phone")})
    found = customer_matches(**keys)
    if len(found) > 1:
        raise Conflict(
            _("The credit code, ID number and phone belong to different customers (%(names)s).")
            % {"names": ", ".join(c.name for c in found)}
        )
    if found:
        # A key the caller does not know (None / blank) never erases one on record.
        known = {k: v for k, v in fields.items() if k not in ("credit_code", "id_number") or v}
        return customer_update(actor=actor, customer=found[0], **known), False
    return customer_create(actor=actor, **fields), True
