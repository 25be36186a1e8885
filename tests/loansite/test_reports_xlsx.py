"""The reports' streaming XLSX writer: what Excel shows is data (numbers as numbers in their
formats, text never as a formula), whatever the text holds; several sheets; ready rows."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl

from loansite.dashboard.reports_xlsx import CONVERTERS, XlsxStream, column_letter, text_cell, xlsx_report_bytes


def _read(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def test_cells_have_their_types_and_formats():
    data = xlsx_report_bytes(
        [
            {
                "title": "Portfolio",
                "headers": ["Product", "Loans", "Amount (¥)", "PAR30", "Date", "Rate"],
                "rows": [["Working capital", 3, Decimal("1234.50"), Decimal("0.125"), dt.date(2026, 11, 30), 0.5]],
                "kinds": ["text", "count", "money", "percent", "date", "decimal"],
                "preamble": [["Portfolio", "2026-11"]],
            }
        ]
    )
    sheet = _read(data).active
    header = [c.value for c in sheet[2]]
    row = sheet[3]
    assert header == ["Product", "Loans", "Amount (¥)", "PAR30", "Date", "Rate"] and sheet[2][0].font.b
    assert (row[1].value, row[1].number_format) == (3, "#,##0")
    assert (row[2].value, row[2].number_format) == (1234.5, '"¥"#,##0.00') and row[2].data_type == "n"
    assert (row[3].value, row[3].number_format) == (0.125, "0.00%")
    assert row[4].value == dt.datetime(2026, 11, 30) and row[4].number_format == "yyyy-mm-dd"
    assert sheet.freeze_panes == "A3"


def test_text_is_never_a_formula_and_never_breaks_the_xml():
    nasty = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "a<b>&c\"'", "bell\x07 nul\x00", "正常"]
    sheet = _read(xlsx_report_bytes([{"title": "T", "headers": ["v"], "rows": [[v] for v in nasty]}])).active
    values = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values[0] == '\'=HYPERLINK("http://x","y")' and values[1] == "'+1+1" and values[2] == "'@SUM(A1)"
    assert values[3] == "'-2+3"
    assert values[4] == "a<b>&c\"'" and values[5] == "bell nul" and values[6] == "正常"
    assert all(cell.data_type == "s" for row in sheet.iter_rows(min_row=2) for cell in row)


def test_several_sheets_with_unique_titles_and_ready_rows():
    buffer = io.BytesIO()
    with XlsxStream(buffer) as book:
        book.sheet("Same/name", ["a"], [[1]])
        book.sheet("Same/name", ["a"], [[2]])
        ready = text_cell("=x") + CONVERTERS["money"](Decimal("5.00")) + CONVERTERS["date"]("2026-10-31")
        assert book.sheet("Ready", ["t", "m", "d"], [ready], ready=True) == 1
    workbook = _read(buffer.getvalue())
    assert workbook.sheetnames == ["Same-name", "Same-name (2)", "Ready"]
    assert [c.value for c in workbook["Ready"][2]] == ["'=x", 5, dt.datetime(2026, 10, 31)]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
