"""Importing transactions (CSV / XLSX, report by row) and the demo generator."""

import io

import pytest
from django.test import Client

from audit.models import AuditEntry
from loansite.demo import DemoContext
from loansite.roles import CREDIT_APPROVER
from risk.models import LoginEvent, RiskEvent, Transaction
from risk.services.imports import transactions_import
from tests.risk.factories import CustomerFactory, at

pytestmark = pytest.mark.django_db


def csv_bytes(rows, header="客户编号,金额,时间,对手方,城市,流水号") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def test_a_clean_file_is_scored_and_audited(analyst, customer):
    rows = [
        f"{customer.pk},10000.00,{at().isoformat()},Shop,Hangzhou,imp-1",
        f"{customer.pk},25.50,{at(minutes=1).isoformat()},Shop,Hangzhou,imp-2",
    ]
    report = transactions_import(actor=analyst, data=csv_bytes(rows), file_name="t.csv")
    assert (report.rows, report.valid, report.stored, report.errors, report.written) == (2, 2, 2, [], True)
    assert report.levels == {"low": 1, "medium": 1, "high": 0} and report.events == 1
    assert set(Transaction.objects.values_list("source", flat=True)) == {"import"}
    entry = AuditEntry.objects.get(action="import", target_type="risk.transaction")
    assert entry.changes["stored"] == 2 and entry.actor == analyst
    again = transactions_import(actor=analyst, data=csv_bytes(rows), file_name="t.csv")
    assert (again.stored, again.duplicates) == (0, 2)


def test_bad_rows_are_reported_by_row_and_nothing_is_written(analyst, customer):
    rows = [
        f"{customer.pk},100.00,{at().isoformat()},Shop,Hangzhou,ok-1",
        f"{customer.pk},-5,{at().isoformat()},Shop,Hangzhou,bad-amount",
        f"999999,100.00,{at().isoformat()},Shop,Hangzhou,bad-customer",
        f"{customer.pk},100.00,not a time,Shop,Hangzhou,bad-time",
        f"{customer.pk},100.00,{at().isoformat()},Shop,Hangzhou,ok-1",
    ]
    report = transactions_import(actor=analyst, data=csv_bytes(rows), file_name="t.csv")
    assert [(number, sorted(errors)) for number, errors in report.errors] == [
        (3, ["amount"]),
        (4, ["customer"]),
        (5, ["occurred_at"]),
        (6, ["external_id"]),
    ]
    assert not report.written and not Transaction.objects.exists()
    valid = transactions_import(actor=analyst, data=csv_bytes(rows), file_name="t.csv", valid_only=True)
    assert valid.stored == 1 and Transaction.objects.get().external_id == "ok-1"


def test_xlsx_with_english_headers_and_logins(analyst, customer):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["kind", "customer", "amount", "time", "city"])
    sheet.append(["transaction", customer.pk, 12000.5, at().replace(tzinfo=None), "Hangzhou"])
    sheet.append(["login", customer.pk, None, at(minutes=5).replace(tzinfo=None), "Lhasa"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = transactions_import(actor=analyst, data=buffer.getvalue(), file_name="t.xlsx")
    assert report.errors == [] and report.stored == 2
    assert str(Transaction.objects.get().amount) == "12000.50"
    assert LoginEvent.objects.get().level == "medium"  # another city within the hour


def test_missing_columns_and_damaged_files(analyst):
    from loansite.errors import ValidationFailed

    report = transactions_import(actor=analyst, data=b"amount\n5\n", file_name="t.csv")
    assert report.errors and set(report.errors[0][1]) == {"customer", "occurred_at"}
    with pytest.raises(ValidationFailed):
        transactions_import(actor=analyst, data=b"\x89PNG\r\n\x1a\n" + b"0" * 100, file_name="t.csv")


def test_the_import_page(analyst, make_user, customer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    client.force_login(analyst)
    assert client.get("/admin/risk/transaction/import/").status_code == 200
    upload = SimpleUploadedFile("t.csv", csv_bytes([f"{customer.pk},-1,{at().isoformat()},Shop,Hangzhou,x"]))
    response = client.post("/admin/risk/transaction/import/", {"file": upload})
    assert response.status_code == 200 and 'id="import-errors"' in response.content.decode()
    broken = SimpleUploadedFile("t.csv", b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    response = client.post("/admin/risk/transaction/import/", {"file": broken})
    assert response.status_code == 200 and response.context["form"].errors
    other = Client()
    other.force_login(make_user("approver", role=CREDIT_APPROVER))
    assert other.get("/admin/risk/transaction/import/").status_code == 403


def test_the_demo_generator_plants_what_it_says():
    from risk.demo import demo_risk_stream, seed_risk

    customers = CustomerFactory.create_batch(40)
    for i, customer in enumerate(customers):
        customer.city = ["Hangzhou", "Chengdu", "Wuhan"][i % 3]
        customer.save()
    ctx = DemoContext(seed=5, customers=40, applications=0, log=lambda message: None)
    ctx.made["customer_ids"] = [c.pk for c in customers]
    stream, planted = demo_risk_stream(ctx, [(c.pk, c.city) for c in customers])
    again, _planted = demo_risk_stream(
        DemoContext(seed=5, customers=40, applications=0, now=ctx.now), [(c.pk, c.city) for c in customers]
    )
    assert stream == again  # reproducible
    seed_risk(ctx)
    assert Transaction.objects.filter(source="demo").count() > 500
    flagged = lambda pattern, rule: {  # noqa: E731
        t.customer_id for t in Transaction.objects.filter(customer_id__in=planted[pattern]) if rule in str(t.rules_hit)
    }
    assert flagged("burst", "velocity_10min") == set(planted["burst"])
    assert flagged("large", "large_amount") == set(planted["large"])
    assert flagged("takeover", "geo_velocity") == set(planted["takeover"])
    assert flagged("ring", "flagged_device") == set(planted["ring"])
    assert flagged("ring", "watch_list") == set(planted["ring"])
    high = set(RiskEvent.objects.filter(level="high").values_list("customer_id", flat=True))
    assert set(planted["takeover"]) <= high
    ordinary = {c.pk for c in customers} - {pk for ids in planted.values() for pk in ids}
    noisy = set(RiskEvent.objects.filter(customer_id__in=ordinary).values_list("customer_id", flat=True))
    assert len(noisy) <= len(ordinary) // 4  # ordinary customers mostly stay quiet
    seed_risk(ctx)  # a second run adds nothing
    assert Transaction.objects.filter(source="demo").count() == len([e for e in stream if e["kind"] == "transaction"])
