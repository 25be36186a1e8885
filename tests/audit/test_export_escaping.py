"""The audit trail export (CSV and XLSX) shows hostile text literally, never as a formula."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from audit.services import audit_record
from loansite import roles

pytestmark = pytest.mark.django_db

FIELDS = ["seq", "created_at", "actor", "action", "target_type", "target_id", "target_repr", "changes", "reason"]


def _export(client, fmt):
    data = {"format": fmt, "resource": "0", **{f"auditentryresource_{name}": "on" for name in FIELDS}}
    # The English export's headers are the fields' names (Target id, Target, Reason).
    response = client.post(reverse("admin:audit_auditentry_export"), data)
    assert response.status_code == 200
    return response.content


@pytest.fixture
def auditor_client(client, make_user):
    audit_record(
        action="update",
        target=("customers.customer", 7, '=HYPERLINK("http://evil.example","x")'),
        changes={"name": ["Old", "=1+1"]},
        reason="@SUM(A1:A9)",
    )
    audit_record(action="update", target=("customers.customer", 8, "-2+3"), reason="\t=1+1")
    client.force_login(make_user("aud", role=roles.AUDITOR))
    return client


def test_audit_csv_export_escapes_formulas(auditor_client):
    rows = list(csv.reader(io.StringIO(_export(auditor_client, "0").decode("utf-8-sig"))))
    header = rows[0]
    by_target = {row[header.index("Target id")]: row for row in rows[1:]}
    assert by_target["7"][header.index("Target")] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_target["7"][header.index("Reason")] == "'@SUM(A1:A9)"
    assert by_target["8"][header.index("Target")] == "'-2+3"
    assert by_target["8"][header.index("Reason")] == "'\t=1+1"


def test_audit_xlsx_export_has_no_formula_cells(auditor_client):
    sheet = openpyxl.load_workbook(io.BytesIO(_export(auditor_client, "1"))).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    assert '\'=HYPERLINK("http://evil.example","x")' in values and "'@SUM(A1:A9)" in values
    # The sequence number is a number cell.
    seq = [c for c in cells if c.column == 1 and c.row > 1]
    assert seq and all(c.data_type == "n" for c in seq)
