"""Resident ID numbers and phones encrypted at rest, found and kept unique by keyed hashes."""

import io
from decimal import Decimal

import pytest
import tablib
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from audit.models import AuditAction, AuditEntry
from customers.admin.book import CustomerAdmin
from customers.importing import parse_dataset
from customers.models import Customer
from customers.services import customer_create, customer_import, customer_update
from loansite.encryption import FieldDecryptionError, FieldKeyError, key_decode, key_generate, key_id, keyring
from loansite.errors import Conflict
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"
CREDIT_CODE = "91350100M000100Y43"


def _fields(**extra):
    return {
        "kind": "individual",
        "name": "Hangzhou Tea Stall",
        "credit_code": None,
        "id_number": "110105 19491231 002x",
        "phone": "+86 138-0013-8000",
        "city": "Hangzhou",
        "city_tier": 2,
        "industry": "catering",
        "monthly_revenue": Decimal("80000"),
        "monthly_cost": Decimal("60000"),
        **extra,
    }


def _raw_database() -> bytes:
    """The bytes of the database file as it is now (the test database lives in memory)."""
    connection.ensure_connection()
    return connection.connection.serialize()


def _raw_columns(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone, phone_hash, id_number, id_number_hash FROM customers_customer WHERE id = %s", [pk]
        )
        return cursor.fetchone()


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def keys(settings):
    """Known keys for the test; ``keys.use(...)`` switches them as an operator would."""

    class Keys:
        old, new = key_generate(), key_generate()
        hash_old, hash_new = key_generate(), key_generate()

        def use(self, encryption, hash_key=None, hash_previous=""):
            settings.FIELD_ENCRYPTION_KEYS = list(encryption)
            settings.FIELD_HASH_KEY = hash_key or self.hash_old
            settings.FIELD_HASH_KEY_PREVIOUS = hash_previous

    k = Keys()
    k.use([k.old])
    return k


# -- at rest ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_raw_database_holds_neither_phone_nor_id_number_while_the_orm_reads_them(officer):
    customer = customer_create(actor=officer, **_fields(credit_code=CREDIT_CODE))
    customer_update(actor=officer, customer=customer, email="tea@example.cn")  # an audited update as well

    raw = _raw_database()
    # The file holds the customer (its name and public credit code are plain) ...
    assert b"Hangzhou Tea Stall" in raw and CREDIT_CODE.encode() in raw
    # ... but neither identifier, in any spelling, anywhere: table, indexes, audit trail.
    for secret in (PHONE, ID_NUMBER, ID_NUMBER.lower(), "138-0013-8000", "0013800", "19491231002"):
        assert secret.encode() not in raw, secret
    phone, phone_hash, id_number, id_number_hash = _raw_columns(customer.pk)
    assert phone.startswith("e1:") and id_number.startswith("e1:")
    assert len(phone_hash) == len(id_number_hash) == 64

    fresh = Customer.objects.get(pk=customer.pk)
    assert (fresh.phone, fresh.id_number) == (PHONE, ID_NUMBER)
    assert Customer.objects.filter(pk=customer.pk).values_list("phone", "id_number").get() == (PHONE, ID_NUMBER)


def test_the_same_value_encrypts_differently_every_time():
    first, second = CustomerFactory(phone=PHONE), CustomerFactory(phone="13800138001")
    Customer.objects.filter(pk=second.pk).update(phone="13800138001")
    one, two = _raw_columns(first.pk)[0], _raw_columns(second.pk)[0]
    assert one != two and len({one, two, _raw_columns(first.pk)[0]}) == 2


def test_audit_trail_records_a_keyed_hash_not_the_value(officer):
    customer = customer_create(actor=officer, **_fields())
    customer_update(actor=officer, customer=customer, phone="13900000001")
    created = AuditEntry.objects.get(action=AuditAction.CREATE)
    updated = AuditEntry.objects.get(action=AuditAction.UPDATE)
    assert created.changes["phone"].startswith("hmac:") and created.changes["id_number"].startswith("hmac:")
    assert "phone_hash" not in created.changes
    before, after = updated.changes["phone"]
    assert before == created.changes["phone"] and after.startswith("hmac:") and after != before
    assert PHONE not in str(created.changes) and "13900000001" not in str(updated.changes)


# -- look-ups and uniqueness ----------------------------------------------------------------


def test_exact_iexact_and_in_lookups_compare_hashes_of_normalised_values():
    customer = CustomerFactory(kind="individual", credit_code=None, id_number=ID_NUMBER, phone=PHONE)
    CustomerFactory(phone="13900000001")
    assert list(Customer.objects.filter(phone="+86 138 0013 8000")) == [customer]
    assert list(Customer.objects.filter(phone__iexact="138-0013-8000")) == [customer]
    assert list(Customer.objects.filter(id_number=ID_NUMBER.lower())) == [customer]
    assert list(Customer.objects.filter(id_number__iexact=ID_NUMBER.lower())) == [customer]
    assert list(Customer.objects.filter(phone__in=["13000000000", "0086 13800138000"])) == [customer]
    assert Customer.objects.filter(phone__in=[]).count() == 0
    assert Customer.objects.exclude(phone=PHONE).count() == 1
    assert Customer.objects.filter(id_number__isnull=True).count() == 1
    assert Customer.objects.filter(id_number=None).count() == 1
    assert not Customer.objects.filter(phone="13800138009").exists()


@pytest.mark.parametrize("lookup", ["icontains", "startswith", "gt", "regex"])
def test_other_lookups_on_an_encrypted_field_are_refused_clearly(lookup):
    with pytest.raises(FieldError, match=r"customers\.Customer\.phone is encrypted"):
        Customer.objects.filter(**{f"phone__{lookup}": "138"}).count()


def test_lookups_through_a_relation_use_the_hash(officer):
    from loans.models import LoanApplication
    from tests.loans.factories import ApplicationFactory

    application = ApplicationFactory(customer=CustomerFactory(phone=PHONE))
    assert list(LoanApplication.objects.filter(customer__phone="+86 13800138000")) == [application]


def test_a_second_customer_with_the_same_phone_in_another_format_is_refused(officer):
    existing = customer_create(actor=officer, **_fields())
    with pytest.raises(Conflict) as exc:
        customer_create(actor=officer, **_fields(id_number=None, credit_code=CREDIT_CODE, phone="0086-138 0013 8000"))
    assert exc.value.extra["existing_id"] == existing.pk
    # Below the service too: the unique constraint is on the hash of the normalised value.
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="Copy", credit_code=CREDIT_CODE, phone="+86 138 0013 8000", city="X")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.bulk_create(
            [Customer(name="Copy", kind="individual", id_number=ID_NUMBER.lower(), phone="13900000009", city="X")]
        )
    assert Customer.objects.count() == 1


def test_model_validation_reports_a_duplicate_on_the_plain_field():
    CustomerFactory(phone=PHONE)
    probe = CustomerFactory.build(phone=PHONE)
    with pytest.raises(Exception) as exc:
        probe.validate_unique()
    assert list(exc.value.message_dict) == ["phone"]


def test_full_clean_validates_with_the_hashes_of_the_current_values():
    customer = CustomerFactory(phone=PHONE)
    customer.phone = "+86 139 0000 0001"
    customer.full_clean(validate_unique=False)
    assert customer.phone_hash == Customer._meta.get_field("phone_hash").hash_of("13900000001")


def test_update_bulk_update_and_partial_saves_keep_the_hash_in_step():
    customer = CustomerFactory(phone=PHONE)
    Customer.objects.filter(pk=customer.pk).update(phone="13900000001")
    assert Customer.objects.get(phone="13900000001") == customer

    customer.refresh_from_db()
    customer.phone = "13900000002"
    Customer.objects.bulk_update([customer], ["phone"])
    assert Customer.objects.get(phone="13900000002") == customer

    customer.phone = "13900000003"
    customer.save(update_fields=["phone"])
    assert Customer.objects.get(phone="13900000003") == customer
    assert not Customer.objects.filter(phone__in=[PHONE, "13900000001", "13900000002"]).exists()


def test_import_encrypts_new_rows_and_matches_existing_ones_by_hash(officer):
    headers = ["名称", "身份证号", "手机号", "城市", "行业"]
    rows = [["茶摊", ID_NUMBER.lower(), "+86 138 0013 8000", "Hangzhou", "餐饮"]]
    report = customer_import(parsed=parse_dataset(tablib.Dataset(*rows, headers=headers)), actor=officer)
    assert report.written and report.new == 1
    customer = Customer.objects.get(phone=PHONE)
    assert customer.id_number == ID_NUMBER
    phone, phone_hash, id_number, id_number_hash = _raw_columns(customer.pk)
    assert phone.startswith("e1:") and id_number.startswith("e1:") and phone_hash and id_number_hash

    rows[0][0] = "茶摊（新址）"
    report = customer_import(parsed=parse_dataset(tablib.Dataset(*rows, headers=headers)), actor=officer)
    assert (report.new, report.updated) == (0, 1)
    assert Customer.objects.get().name == "茶摊（新址）"


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_import_file_is_kept_encrypted(make_user):
    from customers.models import ImportUpload
    from customers.services.uploads import import_upload_read, import_upload_store

    data = f"名称,身份证号,手机号\n茶摊,{ID_NUMBER},{PHONE}\n".encode()
    upload = import_upload_store(
        owner=make_user("officer", role="Loan officer"),
        session_key="session-1",
        kind=ImportUpload.Kind.CUSTOMERS,
        data=data,
        file_name="book.csv",
        file_format="csv",
        rows=1,
    )
    raw = _raw_database()
    assert b"book.csv" in raw and PHONE.encode() not in raw and ID_NUMBER.encode() not in raw
    assert import_upload_read(upload=upload) == data


def test_exports_carry_the_plain_values():
    from customers.resources import CustomerChineseResource, CustomerResource

    CustomerFactory(kind="individual", credit_code=None, id_number=ID_NUMBER, phone=PHONE)
    for resource in (CustomerResource, CustomerChineseResource):
        # For a user who may see identifiers (customers/masking.py); masked otherwise.
        exported = resource(identifiers_full=True).export(Customer.objects.all()).csv
        assert PHONE in exported and ID_NUMBER in exported and "e1:" not in exported
        masked = resource().export(Customer.objects.all()).csv
        assert PHONE not in masked and ID_NUMBER not in masked and "e1:" not in masked


def test_admin_search_finds_a_phone_or_id_number_by_exact_match(rf, make_user):
    from django.contrib.admin import site

    customer = CustomerFactory(kind="individual", credit_code=None, id_number=ID_NUMBER, phone=PHONE)
    CustomerFactory(phone="13900000001")
    model_admin = CustomerAdmin(Customer, site)
    request = rf.get("/")
    for term in ("138 0013 8000", ID_NUMBER.lower()):
        found, _ = model_admin.get_search_results(request, Customer.objects.all(), term)
        assert list(found) == [customer], term


# -- keys -----------------------------------------------------------------------------------


def test_a_missing_key_is_a_clear_error_naming_the_key(keys):
    customer = CustomerFactory(phone=PHONE)
    keys.use([keys.new])
    with pytest.raises(FieldDecryptionError) as exc:
        Customer.objects.get(pk=customer.pk)
    message = str(exc.value)
    assert "customers.Customer" in message and key_id(key_decode(keys.old)) in message
    assert "FIELD_ENCRYPTION_KEYS" in message


def test_a_wrong_key_with_the_same_id_or_an_altered_value_fails_authentication(keys):
    customer = CustomerFactory(phone=PHONE)
    token = _raw_columns(customer.pk)[0]
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET phone = %s WHERE id = %s", [tampered, customer.pk])
    with pytest.raises(FieldDecryptionError, match="does not decrypt"):
        Customer.objects.get(pk=customer.pk)


@pytest.mark.parametrize("bad", ["", "short", "bm90IDMyIGJ5dGVz"])
def test_malformed_keys_are_refused(settings, bad):
    settings.FIELD_ENCRYPTION_KEYS = [bad] if bad else []
    with pytest.raises(FieldKeyError):
        keyring()


def test_a_short_hash_key_is_refused(settings):
    settings.FIELD_HASH_KEY = "too-short"
    with pytest.raises(FieldKeyError, match="at least 32"):
        keyring()


def test_encryption_key_rotation(keys):
    before = [CustomerFactory(phone=f"1380013800{i}") for i in range(5)]
    old_tokens = {c.pk: _raw_columns(c.pk)[0] for c in before}
    old_id, new_id = key_id(key_decode(keys.old)), key_id(key_decode(keys.new))

    # Step 1: the new key first, the old one second: everything reads, new values use the new key.
    keys.use([keys.new, keys.old])
    assert [c.phone for c in Customer.objects.filter(pk__in=old_tokens).order_by("pk")] == [c.phone for c in before]
    added = CustomerFactory(phone="13900000009")
    assert _raw_columns(added.pk)[0].startswith(f"e1:{new_id}:")

    # Step 2: the command rewrites every value under the new key (twice: the second run has nothing to do).
    out = io.StringIO()
    call_command("rotate_field_keys", "--chunk", "2", stdout=out)
    assert "customers.Customer.phone: 6 values, 5 re-encrypted" in out.getvalue()
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "rewrote 0 rows" in out.getvalue()
    entry = AuditEntry.objects.filter(action=AuditAction.SYSTEM, target_type="loansite.fieldkeys").order_by("seq")[0]
    assert entry.changes["columns"]["customers.Customer.phone"]["reencrypted"] == 5

    # Step 3: the old key removed: everything still reads, and the stored values are new ciphertext.
    keys.use([keys.new])
    for customer in before:
        token = _raw_columns(customer.pk)[0]
        assert token.startswith(f"e1:{new_id}:") and token != old_tokens[customer.pk]
        assert old_id not in token
        assert Customer.objects.get(pk=customer.pk).phone == customer.phone
    assert Customer.objects.get(phone="13800138003") == before[3]


def test_hash_key_rotation_keeps_lookups_working_throughout(keys):
    customer = CustomerFactory(kind="individual", credit_code=None, id_number=ID_NUMBER, phone=PHONE)
    old_hash = _raw_columns(customer.pk)[1]

    # Without the previous key, rows hashed under the old key are not found: the two-step is needed.
    keys.use([keys.old], hash_key=keys.hash_new)
    assert not Customer.objects.filter(phone=PHONE).exists()

    # Step 1: new hash key, old one kept as FIELD_HASH_KEY_PREVIOUS: found under either.
    keys.use([keys.old], hash_key=keys.hash_new, hash_previous=keys.hash_old)
    assert Customer.objects.get(phone=PHONE) == customer
    assert Customer.objects.get(id_number=ID_NUMBER) == customer
    with pytest.raises(Conflict):  # and still unique across the two keys
        customer_create(actor=None, **_fields(id_number=None, credit_code=CREDIT_CODE))

    # Step 2: the command re-hashes every row.
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "customers.Customer.phone: 1 values, 0 re-encrypted, 0 encrypted from plain text, 1 re-hashed" in (
        out.getvalue()
    )
    assert _raw_columns(customer.pk)[1] != old_hash

    # Step 3: the previous key removed.
    keys.use([keys.old], hash_key=keys.hash_new)
    assert Customer.objects.get(phone="+86 13800138000") == customer
    assert Customer.objects.get(id_number__iexact=ID_NUMBER.lower()) == customer


def test_rotation_stops_on_a_value_it_cannot_decrypt(keys):
    CustomerFactory(phone=PHONE)
    keys.use([keys.new])
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not in FIELD_ENCRYPTION_KEYS"):
        call_command("rotate_field_keys", stdout=io.StringIO())


def test_rotation_encrypts_a_value_left_in_plain_text(keys):
    customer = CustomerFactory(phone=PHONE)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET phone = %s WHERE id = %s", [PHONE, customer.pk])
    with pytest.raises(FieldDecryptionError, match="not an encrypted value"):
        Customer.objects.get(pk=customer.pk)
    call_command("rotate_field_keys", stdout=io.StringIO())
    assert _raw_columns(customer.pk)[0].startswith("e1:")
    assert Customer.objects.get(phone=PHONE) == customer
