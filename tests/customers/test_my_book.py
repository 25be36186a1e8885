"""'My book' in the admin: a relationship manager's customers, applications, loans, queue and tasks."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from loans.models import LoanApplication
from tests.customers.factories import ManagerFactory
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_user(make_user):
    user = make_user("rm001", role="Loan officer")
    ManagerFactory(user=user, capacity=10)
    return user


def test_my_book_lists_my_customers_queue_and_loans_only(client, make_user, manager_user):
    mine = CustomerFactory(name="Mine Co", manager=manager_user.relationship_manager)
    other = CustomerFactory(name="Other Co", manager=ManagerFactory(user=make_user("rm002", role="Loan officer")))
    returned = ApplicationFactory(customer=mine, status=LoanApplication.Status.RETURNED)
    draft = ApplicationFactory(customer=mine, status=LoanApplication.Status.DRAFT, created_by=manager_user)
    not_mine = ApplicationFactory(customer=other, status=LoanApplication.Status.RETURNED)
    loan = LoanFactory(application__customer=mine)
    other_loan = LoanFactory(application__customer=other)
    client.force_login(manager_user)
    response = client.get(reverse("admin:my_book"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Mine Co" in page and "Other Co" not in page
    assert returned.reference in page and draft.reference in page and not_mine.reference not in page
    assert loan.loan_number in page and other_loan.loan_number not in page
    book = response.context["book"]
    assert [c.name for c in book.customers] == ["Mine Co"] and book.customers_total == 1


def test_my_book_tasks_promises_and_instalments_due(client, manager_user):
    from loans.models import CollectionCase, Installment, PromiseToPay

    mine = CustomerFactory(manager=manager_user.relationship_manager)
    loan = LoanFactory(application__customer=mine, status="overdue")
    today = timezone.localdate()
    case = CollectionCase.objects.create(loan=loan)
    PromiseToPay.objects.create(
        case=case, loan=loan, promised_date=today + datetime.timedelta(days=2), amount="1000.00", created_on=today
    )
    Installment.objects.create(
        loan=loan,
        schedule_version=1,
        number=3,
        period_start=today - datetime.timedelta(days=28),
        due_date=today + datetime.timedelta(days=3),
        pay_date=today + datetime.timedelta(days=3),
        days=31,
        principal="8000.00",
        interest="500.00",
    )
    client.force_login(manager_user)
    book = client.get(reverse("admin:my_book")).context["book"]
    assert len(book.promises_due) == 1 and len(book.installments_due) == 1 and book.tasks_total >= 2


def test_my_book_documents_missing(client, manager_user):
    from loans.models import DocumentRequest

    app = ApplicationFactory(
        customer=CustomerFactory(manager=manager_user.relationship_manager), status=LoanApplication.Status.RETURNED
    )
    DocumentRequest.objects.create(application=app, kind="bank_statements", requested_by=manager_user)
    client.force_login(manager_user)
    book = client.get(reverse("admin:my_book")).context["book"]
    assert [r.application_id for r in book.documents_missing] == [app.pk]


def test_link_shown_to_managers_only(client, make_user, manager_user):
    client.force_login(manager_user)
    assert reverse("admin:my_book") in client.get(reverse("admin:index")).content.decode()
    client.force_login(make_user("approver", role="Credit approver"))
    assert reverse("admin:my_book") not in client.get(reverse("admin:index")).content.decode()


def test_my_book_needs_a_customer_reader(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get(reverse("admin:my_book")).status_code == 403


def test_my_book_queries_do_not_grow_with_the_book(client, manager_user, django_assert_max_num_queries):
    for _ in range(15):
        customer = CustomerFactory(manager=manager_user.relationship_manager)
        ApplicationFactory(customer=customer, status=LoanApplication.Status.RETURNED)
        LoanFactory(application__customer=customer)
    client.force_login(manager_user)
    client.get(reverse("admin:my_book"))
    with django_assert_max_num_queries(30):
        assert client.get(reverse("admin:my_book")).status_code == 200


def test_bootstrap_gives_demo_managers_a_password_once(make_user):
    """The demo's relationship managers (made without a password) get one, printed once."""
    import io

    from django.core.management import call_command

    user = make_user("rm001", role="Loan officer")
    user.set_unusable_password()
    user.save()
    ManagerFactory(user=user)
    out = io.StringIO()
    call_command("bootstrap", "--no-demo-data", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.strip().startswith("rm001"))
    password = line.split()[-1]
    user.refresh_from_db()
    assert user.check_password(password)
    again = io.StringIO()
    call_command("bootstrap", "--no-demo-data", stdout=again)
    assert "rm001" not in again.getvalue()
