import pytest
from django.urls import reverse

from audit.models import AuditEntry
from customers.models import Customer
from customers.validators import make_credit_code, make_mobile_phone
from loans.models import LoanApplication
from tests.loans.factories import ApplicationFactory, CustomerFactory

pytestmark = pytest.mark.django_db

APPLY = "/apply/"
STATUS = "/apply/status/"


def _post(client, data, **extra):
    """Post the form as a browser would: a form of its own (its one-time token), following
    the redirect to the confirmation page (post/redirect/get)."""
    import secrets

    return client.post(APPLY, {"submission_token": secrets.token_urlsafe(24), **data}, follow=True, **extra)


@pytest.fixture
def form_data(product):
    import random

    rng = random.Random(11)
    return {
        "kind": "enterprise",
        "name": "Hangzhou Tea House",
        "credit_code": make_credit_code(rng, city="Hangzhou"),
        "phone": make_mobile_phone(rng),
        "email": "",
        "city": "Hangzhou",
        "industry": "catering",
        "years_in_business": "4",
        "employees": "12",
        "monthly_revenue": "90000",
        "monthly_cost": "70000",
        "product": str(product.pk),
        "amount": "200000",
        "term_months": "12",
        "purpose": "working_capital",
        "repayment_method": "equal_installment",
        "consent": "on",
        "website": "",
    }


def test_get_renders_accessible_form(client, product):
    response = client.get(APPLY)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'for="id_credit_code"' in html and 'name="csrfmiddlewaretoken"' in html
    assert 'name="viewport"' in html
    assert 'aria-describedby="id_phone_helptext"' in html


def test_submission_creates_customer_and_submitted_application(client, form_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(client, form_data)
    assert callbacks  # scoring queued on commit
    assert response.status_code == 200
    app = LoanApplication.objects.get()
    assert app.reference in response.content.decode()
    assert (app.status, app.channel, app.created_by, app.submitted_by) == ("submitted", "public", None, None)
    assert app.customer.credit_code == form_data["credit_code"] and app.customer.city_tier == 2
    entry = AuditEntry.objects.get(target_type="loans.loanapplication", target_id=str(app.pk))
    assert entry.action == "create" and entry.changes["status"] == [None, "submitted"]


def test_existing_customer_is_matched_not_duplicated(client, form_data):
    existing = CustomerFactory(
        credit_code=form_data["credit_code"], phone=form_data["phone"], name="HANGZHOU  tea house", monthly_revenue=1
    )
    _post(client, form_data)
    _post(client, {**form_data, "amount": "150000"})
    assert Customer.objects.count() == 1
    apps = LoanApplication.objects.filter(customer=existing)
    assert [a.status for a in apps] == ["submitted", "submitted"]
    existing.refresh_from_db()
    assert existing.monthly_revenue == 1  # the anonymous form never rewrites the customer book
    assert apps[0].claimed_identity["monthly_revenue"] == "90000"  # what the applicant said is kept apart


# ---------------------------------------------------------------------------
# Identity: details naming a customer on file but not agreeing with it
# ---------------------------------------------------------------------------
def _strip(response) -> str:
    """The page without what differs between any two answers by design (token, reference)."""
    import re

    html = response.content.decode()
    html = re.sub(r'value="[^"]*"', "", html)
    return re.sub(r"LA-\d{6}-[2-9A-Z]{6}", "LA-REFERENCE", html)


@pytest.mark.parametrize(
    "changed",
    [
        {"name": "Someone Else Trading", "phone": "13700001111"},  # another's credit code, a new phone
        {"phone": "13700001111"},  # the right name, a phone not on record
        {"name": "Someone Else Trading"},  # the phone on record, another name
        {"email": "other@example.com"},  # an email other than the one on record
    ],
)
def test_a_customers_identifier_with_other_details_waits_for_verification(
    client, form_data, django_capture_on_commit_callbacks, monkeypatch, changed
):
    from loans.services import applications
    from tests.loans.factories import CreditLineFactory

    queued = []
    monkeypatch.setattr(applications, "_queue_scoring", queued.append)

    real = CustomerFactory(
        credit_code=form_data["credit_code"], phone="13955556666", name="Hangzhou Tea House", email="boss@tea.example"
    )
    if "phone" not in changed:
        real.phone = form_data["phone"]
        real.save()
    line = CreditLineFactory(customer=real)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, {**form_data, **changed})
    assert response.status_code == 200
    app = LoanApplication.objects.get()
    assert app.reference in response.content.decode()
    assert app.status == LoanApplication.Status.PENDING_VERIFICATION
    # Not on the customer's record, its credit line or its history; nothing to score yet.
    assert app.customer is None and app.identity_match == real
    assert not real.applications.exists()
    assert queued == []
    line.refresh_from_db()
    assert line.used == 0
    # What the applicant gave is kept on the application, never written to the customer.
    for field, value in changed.items():
        assert app.claimed_identity[field] == value
        assert getattr(Customer.objects.get(pk=real.pk), field) != value
    assert app.contact_phone == (changed.get("phone") or form_data["phone"])
    assert Customer.objects.count() == 1
    entry = AuditEntry.objects.get(target_type="loans.loanapplication", target_id=str(app.pk))
    assert entry.changes["status"] == [None, "pending_verification"] and entry.actor is None


def test_an_owners_resident_id_with_another_phone_waits_for_verification(client, form_data):
    import random

    from customers.validators import make_resident_id

    id_number = make_resident_id(random.Random(8))
    owner = CustomerFactory(kind="individual", credit_code=None, id_number=id_number, name=form_data["name"])
    individual = {**form_data, "kind": "individual", "credit_code": "", "id_number": id_number.lower()}
    response = _post(client, individual)
    assert response.status_code == 200
    app = LoanApplication.objects.get()
    assert (app.status, app.customer, app.identity_match) == ("pending_verification", None, owner)
    assert app.claimed_identity["id_number"] == id_number  # normalised as compared
    # With the owner's phone on record too, it is the owner's application.
    _post(client, {**individual, "phone": owner.phone})
    assert LoanApplication.objects.filter(customer=owner, status="submitted").count() == 1


def test_a_customers_phone_with_another_identifier_waits_for_verification(client, form_data):
    import random

    holder = CustomerFactory(credit_code=make_credit_code(random.Random(99)), phone=form_data["phone"])
    response = _post(client, form_data)
    assert response.status_code == 200
    app = LoanApplication.objects.get()
    assert app.reference in response.content.decode()
    assert (app.status, app.customer, app.identity_match) == ("pending_verification", None, holder)
    assert app.claimed_identity["credit_code"] == form_data["credit_code"]
    assert Customer.objects.count() == 1  # no second customer with that phone


def test_details_of_two_customers_wait_for_verification_against_the_identifiers_holder(client, form_data):
    import random

    by_code = CustomerFactory(credit_code=form_data["credit_code"], name=form_data["name"])
    CustomerFactory(credit_code=make_credit_code(random.Random(98)), phone=form_data["phone"])
    _post(client, form_data)
    app = LoanApplication.objects.get()
    assert (app.status, app.customer, app.identity_match) == ("pending_verification", None, by_code)


def test_the_answer_never_tells_whether_a_customer_is_on_file(client, form_data):
    """New applicant, someone else's phone, someone else's credit code: the same page,
    status code and headers, apart from the reference number."""
    import random

    rng = random.Random(5)
    CustomerFactory(credit_code=make_credit_code(rng), phone="13611112222", name="Phone Holder Ltd")
    taken_code = make_credit_code(rng)
    CustomerFactory(credit_code=taken_code, phone="13633334444", name="Code Holder Ltd")
    new = _post(client, {**form_data, "credit_code": make_credit_code(rng), "phone": "13655556666"})
    phone_of_another = _post(client, {**form_data, "credit_code": make_credit_code(rng), "phone": "13611112222"})
    code_of_another = _post(client, {**form_data, "credit_code": taken_code, "phone": "13677778888"})
    statuses = sorted(LoanApplication.objects.values_list("status", flat=True))
    assert statuses == ["pending_verification", "pending_verification", "submitted"]
    assert new.status_code == phone_of_another.status_code == code_of_another.status_code == 200
    assert _strip(new) == _strip(phone_of_another) == _strip(code_of_another)
    assert "Holder" not in _strip(phone_of_another) + _strip(code_of_another)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credit_code", "91330106MA2XXXXXX1"),
        ("phone", "12345"),
        ("amount", "-5"),
        ("amount", "5000"),  # below the product minimum (a service rule)
        ("consent", ""),
        ("monthly_revenue", "abc"),
    ],
)
def test_validation_errors_leave_nothing_behind(client, form_data, field, value):
    response = _post(client, {**form_data, field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist' in html
    # The form comes back with everything typed.
    assert f'value="{form_data["name"]}"' in html and 'value="200000"' in html or field == "amount"
    if value:
        assert f'value="{value}"' in html
    assert not LoanApplication.objects.exists()
    assert not Customer.objects.exists()


def test_enterprise_needs_credit_code(client, form_data):
    response = _post(client, {**form_data, "credit_code": ""})
    assert "needs its unified social credit code" in response.content.decode()


def test_failure_after_customer_creation_rolls_back(client, form_data, monkeypatch):
    from loans.services import public

    def boom(**kwargs):
        from loansite.errors import Conflict

        raise Conflict("reference clash")

    monkeypatch.setattr(public, "application_create", boom)
    _post(client, form_data)
    assert not Customer.objects.exists()
    assert not LoanApplication.objects.exists()


def test_honeypot_saves_nothing(client, form_data):
    response = _post(client, {**form_data, "website": "http://spam.example"})
    assert response.status_code == 200
    assert not LoanApplication.objects.exists() and not Customer.objects.exists()


def test_csrf_enforced(form_data):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(APPLY, form_data)
    assert response.status_code == 403


@pytest.fixture
def frozen_window(monkeypatch):
    """Keep every request in one rate-limit window (a minute boundary would reset the count)."""
    from loans import ratelimit

    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_030.0)


def test_rate_limit_per_ip(client, form_data, settings, frozen_window):
    # Applications filed count (forms with mistakes do not); past the limit the form
    # comes back as typed with a 429 saying when to try again.
    settings.PUBLIC_APPLY_RATE = "2/m"
    for _ in range(3):
        assert _post(client, {**form_data, "phone": "12"}).status_code == 400
    for amount in ("200000", "210000"):
        assert _post(client, {**form_data, "amount": amount}).status_code == 200
    response = _post(client, {**form_data, "amount": "220000"})
    assert response.status_code == 429
    assert LoanApplication.objects.count() == 2
    # Another address is not affected.
    assert _post(client, {**form_data, "amount": "230000"}, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_chinese_page(client, product):
    response = client.get(APPLY, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "申请" in response.content.decode()


# ---------------------------------------------------------------------------
# Status lookup
# ---------------------------------------------------------------------------
def test_status_lookup_by_reference_and_phone(client, product):
    app = ApplicationFactory(product=product, status="under_review")
    response = client.post(STATUS, {"reference": app.reference.lower(), "phone": "+86 " + app.contact_phone})
    assert response.status_code == 200
    assert app.get_status_display() in response.content.decode()


def test_status_lookup_leaks_nothing(client, product):
    app = ApplicationFactory(product=product, status="under_review")
    wrong_phone = client.post(STATUS, {"reference": app.reference, "phone": "13900000000"})
    wrong_ref = client.post(STATUS, {"reference": "LA-000000-AAAAAA", "phone": app.contact_phone})

    def strip(response):
        import re

        return re.sub(r'value="[^"]*"', "", response.content.decode())

    assert wrong_phone.status_code == wrong_ref.status_code == 200
    assert strip(wrong_phone) == strip(wrong_ref)
    assert app.get_status_display() not in strip(wrong_phone)


def test_status_lookup_answers_the_phone_given_on_that_application_only(client, product):
    customer = CustomerFactory(phone="13811112222")
    app = ApplicationFactory(product=product, customer=customer, status="under_review", contact_phone="13933334444")
    by_customer_phone = client.post(STATUS, {"reference": app.reference, "phone": customer.phone})
    assert app.get_status_display() not in by_customer_phone.content.decode()
    by_contact_phone = client.post(STATUS, {"reference": app.reference, "phone": app.contact_phone})
    assert app.get_status_display() in by_contact_phone.content.decode()


def test_status_of_an_application_pending_verification_reads_like_a_new_one(client, form_data):
    import random

    real = CustomerFactory(credit_code=form_data["credit_code"], name="Real Tea House Co", phone="13955556666")
    _post(client, {**form_data, "phone": "13700001111"})
    held = LoanApplication.objects.get()
    _post(client, {**form_data, "credit_code": make_credit_code(random.Random(3)), "phone": "13700002222"})
    fresh = LoanApplication.objects.exclude(pk=held.pk).get()
    assert (held.status, fresh.status) == ("pending_verification", "submitted")
    by_real_phone = client.post(STATUS, {"reference": held.reference, "phone": real.phone})
    assert 'id="status"' not in by_real_phone.content.decode()  # the customer's phone opens nothing
    held_page = client.post(STATUS, {"reference": held.reference, "phone": "13700001111"})
    fresh_page = client.post(STATUS, {"reference": fresh.reference, "phone": "13700002222"})
    html = held_page.content.decode()
    assert "Received, being checked" in html and real.name not in html and "verif" not in html.lower()
    assert _strip(held_page) == _strip(fresh_page)


def test_status_lookup_rate_limited(client, settings, frozen_window):
    settings.PUBLIC_STATUS_RATE = "3/m"
    for _ in range(3):
        assert client.post(STATUS, {"reference": "LA-1", "phone": "1"}).status_code == 200
    assert client.post(STATUS, {"reference": "LA-1", "phone": "1"}).status_code == 429
    assert reverse("loans:apply-status") == STATUS


def test_a_duplicate_race_never_names_the_other_customer(client, form_data, monkeypatch):
    from customers import services as customer_services
    from loansite.errors import Conflict

    def clash(**fields):
        raise Conflict("Another customer (Secret Trading Co) already has this credit code.")

    monkeypatch.setattr(customer_services, "customer_create", clash)
    response = _post(client, form_data)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Secret Trading" not in html and "please try again" in html
    assert not LoanApplication.objects.exists()


def test_rate_limit_window_resets(monkeypatch):
    from loans import ratelimit

    now = [1_800_000_000.0]
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    hits = [ratelimit.rate_limit_hit(scope="t", key="ip", rate="2/m") for _ in range(3)]
    assert hits == [False, False, True]
    now[0] += 60
    assert ratelimit.rate_limit_hit(scope="t", key="ip", rate="2/m") is False


def test_same_applicant_registered_meanwhile_is_matched_not_duplicated(client, form_data, monkeypatch):
    # The first match (before the write transaction) sees nobody; by the time the write
    # lock is held the same applicant exists (a concurrent submission): matched, no copy.
    from customers import selectors
    from customers.services import customer_create
    from loans.services.public import PUBLIC_CUSTOMER_FIELDS

    real = selectors.customer_matches
    calls = []

    def first_sees_nobody(**keys):
        calls.append(keys)
        if len(calls) == 1:
            fields = {k: form_data[k] for k in PUBLIC_CUSTOMER_FIELDS if form_data.get(k)}
            customer_create(actor=None, **fields)
            return []
        return real(**keys)

    monkeypatch.setattr(selectors, "customer_matches", first_sees_nobody)
    response = _post(client, form_data)
    assert 'id="reference"' in response.content.decode()
    assert Customer.objects.count() == 1
    assert LoanApplication.objects.get().customer == Customer.objects.get()
    assert len(calls) == 2  # the first read, then the match under the lock after the conflict


def test_reference_drawn_twice_is_a_form_error_and_saves_nothing(client, form_data, monkeypatch):
    from loans.services import public

    taken = ApplicationFactory().reference
    monkeypatch.setattr(public, "application_reference_allocate", lambda: taken)
    response = _post(client, form_data)
    assert response.status_code == 409 and "try again" in response.content.decode()
    assert LoanApplication.objects.count() == 1
    assert not Customer.objects.filter(credit_code=form_data["credit_code"]).exists()


def test_rate_limit_counters_on_the_file_cache_are_shared_and_expire(tmp_path, settings, monkeypatch):
    # With the file-based cache the counters live in their own SQLite file: two workers
    # (two connections) count into the same window, and a new window starts from one.
    from loans import ratelimit

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(ratelimit, "_counters", None)
    now = [1_800_000_000.0]
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    hits = [ratelimit.rate_limit_hit(scope="t", key="ip", rate="3/m") for _ in range(2)]
    other_worker = ratelimit.SqliteCounters(tmp_path / "ratelimit.sqlite3")
    window = int(now[0] // 60)
    assert other_worker.hit(f"ratelimit:t:ip:{window}", expires=now[0] + 60, now=now[0]) == 3
    hits.append(ratelimit.rate_limit_hit(scope="t", key="ip", rate="3/m"))
    assert hits == [False, False, True]
    now[0] += 120  # two windows on: the first one's grace period is over too
    assert ratelimit.rate_limit_hit(scope="t", key="ip", rate="3/m") is False
    assert other_worker.hit(f"ratelimit:t:ip:{window}", expires=now[0], now=now[0]) == 1  # the old window was dropped
