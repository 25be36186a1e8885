"""Reminders: N days before the pay date and on overdue days 1, 7 and 30, by email and SMS, in
the customer's language, exactly once per installment, kind and channel."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command

from loans.close import loan_close_day
from loans.models import CloseSettings, DayClose, Reminder
from loansite import sms
from tests.loans.servicing import disbursed_loan

D = datetime.date


@pytest.fixture(autouse=True)
def _sms(settings):
    settings.SMS_BACKEND = "loansite.sms.LocmemSmsBackend"
    sms.outbox.clear()


@pytest.fixture
def loan(officer, approver):
    loan = disbursed_loan(officer, approver, amount="12000", term=6, rate="0.12")
    type(loan.customer).objects.filter(pk=loan.customer_id).update(email="shop@example.com")
    return loan


def test_before_due_and_overdue_reminders_exactly_once(loan):
    # Pay date 2025-02-15: 3 days before is the 12th; overdue days 1, 7 and 30 are the 15th, 21st, 2025-03-16.
    loan_close_day(date=D(2025, 2, 11))
    assert not Reminder.objects.exists()
    loan_close_day(date=D(2025, 2, 12))
    assert sorted(Reminder.objects.values_list("kind", "channel", "status")) == [
        ("before_due", "email", "sent"),
        ("before_due", "sms", "sent"),
    ]
    assert len(mail.outbox) == 1 and len(sms.outbox) == 1
    # The same day again (every step re-run): nothing new, nothing sent again.
    DayClose.objects.filter(date=D(2025, 2, 12)).update(status="running", step="")
    loan_close_day(date=D(2025, 2, 12))
    assert Reminder.objects.count() == 2 and len(mail.outbox) == 1 and len(sms.outbox) == 1
    loan_close_day(date=D(2025, 3, 20))
    kinds = sorted(Reminder.objects.filter(installment__number=1).values_list("kind", "date", "channel"))
    assert kinds == [
        ("before_due", D(2025, 2, 12), "email"),
        ("before_due", D(2025, 2, 12), "sms"),
        ("overdue_1", D(2025, 2, 15), "email"),
        ("overdue_1", D(2025, 2, 15), "sms"),
        ("overdue_30", D(2025, 3, 16), "email"),
        ("overdue_30", D(2025, 3, 16), "sms"),
        ("overdue_7", D(2025, 2, 21), "email"),
        ("overdue_7", D(2025, 2, 21), "sms"),
    ]
    # The second installment (2025-03-15) got its own before-due and first-day reminders.
    assert Reminder.objects.filter(installment__number=2, kind="before_due").count() == 2
    assert Reminder.objects.filter(status="sent").count() == Reminder.objects.count()
    assert len(mail.outbox) + len(sms.outbox) == Reminder.objects.count()


def test_reminders_are_recorded_in_the_customers_language_with_the_number_masked(loan):
    loan_close_day(date=D(2025, 2, 12))
    text = Reminder.objects.get(channel="sms")
    assert text.language == "zh-hans"
    assert "****" in text.recipient and loan.customer.phone not in text.recipient
    assert sms.outbox[0][0] == loan.customer.phone
    assert loan.loan_number in text.body
    assert "2025-02-15" in text.body


def test_reminder_lead_days_are_a_setting(loan):
    CloseSettings.objects.update(reminder_days_before=5)
    loan_close_day(date=D(2025, 2, 10))
    assert Reminder.objects.filter(kind="before_due").count() == 2


def test_paid_installments_get_no_reminder(officer, loan):
    from loans.services.repayments import repayment_post

    first = loan.installments.order_by("number").first()
    repayment_post(
        actor=officer,
        loan=loan,
        amount=first.principal + first.interest,
        value_date=D(2025, 2, 10),
        bank_reference="R1",
    )
    loan_close_day(date=D(2025, 2, 12))
    assert not Reminder.objects.filter(installment=first).exists()


def test_close_day_command(loan, capsys):
    call_command("close_day", "--date", "2025-02-14", "--until", "2025-02-16")
    out = capsys.readouterr().out
    assert "2025-02-16: done" in out and "3 day(s) closed" in out
    assert list(DayClose.objects.order_by("date").values_list("date", flat=True)) == [
        D(2025, 2, 14),
        D(2025, 2, 15),
        D(2025, 2, 16),
    ]
    call_command("close_day", "--until", "2025-02-18")
    assert DayClose.objects.count() == 5


def test_close_day_task_runs_the_close(loan):
    from loans.tasks import loans_close_day

    result = loans_close_day.apply(kwargs={"date": "2025-02-15"}).get()
    assert result == {"2025-02-15": "done"}
    from loansite.periodic_tasks import SCHEDULABLE_TASKS

    assert "loans.close_day" in SCHEDULABLE_TASKS
