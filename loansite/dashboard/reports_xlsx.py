"""A streaming XLSX writer for the reports: rows go straight into the zip, so a sheet of a
million loans takes the memory of one row, and writing it costs little more than a CSV.

Cells: text as inline strings (formula-escaped, ``loansite.exports.formula_escape``), money as
numbers in the ``"¥"#,##0.00`` format, counts ``#,##0``, percentages ``0.00%``, dates as date
cells; the header row is bold and frozen under the optional preamble (title and filters).
One workbook may hold several sheets (the monthly report); openpyxl, Excel, WPS and
LibreOffice read it.
"""

import datetime
import re
import zipfile
from decimal import Decimal
from xml.sax.saxutils import escape

from loansite.exports import formula_escape

# Style index (cellXfs) per kind of column.
STYLES = {"text": 0, "header": 1, "money": 2, "count": 3, "percent": 4, "date": 5, "decimal": 6, "number": 0}
MONEY_FORMAT = '"¥"#,##0.00'
_EPOCH = datetime.date(1899, 12, 30)
# What XML 1.0 cannot carry at all (C0 controls other than tab and line breaks).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_STYLES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="{money}"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/><numFmt numFmtId="166" formatCode="#,##0.00##"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
).replace("{money}", escape(MONEY_FORMAT, {'"': "&quot;"}))
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/>{cols}<sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"


_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]").search
_TRIGGERS = frozenset("=+-@\t\r")


def _cell_text(value) -> str:
    if value is None or value == "":
        return "<c/>"
    text = value if type(value) is str else str(formula_escape(value))
    if text[0] in _TRIGGERS:
        text = formula_escape(text)
    if _NEEDS_ESCAPE(text):
        text = _text(text)
    return '<c t="inlineStr"><is><t xml:space="preserve">' + text + "</t></is></c>"


def text_cell(value) -> str:
    """A ready cell for a text value (for callers that build rows of ready cells, kind "cell")."""
    return _cell_text(value)


def _number_cell(style: int):
    head, tail = f'<c s="{style}"><v>', "</v></c>"

    def convert(value) -> str:
        kind = type(value)
        if kind is float:
            if value != value or value in (float("inf"), float("-inf")):
                return "<c/>"
            return head + repr(value) + tail
        if kind is int:
            return head + str(value) + tail
        if kind is Decimal:
            return head + format(value, "f") + tail
        return _cell_auto(value)

    return convert


def _cell_auto(value) -> str:
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, Decimal):
        return _MONEY(value)
    if isinstance(value, int | float):
        return _COUNT(value)
    if isinstance(value, datetime.date):
        return _cell_date(value)
    return _cell_text(value)


def _cell_date(value) -> str:
    """A date cell from a date, a date-time or an ISO date string (SQLite gives dates as text)."""
    if type(value) is str and len(value) >= 10:
        try:
            value = datetime.date.fromisoformat(value[:10])
        except ValueError:
            return _cell_text(value)
    if not isinstance(value, datetime.date):
        return _cell_auto(value)
    if isinstance(value, datetime.datetime):
        value = value.date()
    return f'<c s="5"><v>{(value - _EPOCH).days}</v></c>'


_MONEY = _number_cell(STYLES["money"])
_COUNT = _number_cell(STYLES["count"])
CONVERTERS = {
    "text": _cell_text,
    "money": _MONEY,
    "count": _COUNT,
    "percent": _number_cell(STYLES["percent"]),
    "decimal": _number_cell(STYLES["decimal"]),
    "number": _number_cell(STYLES["number"]),
    "date": _cell_date,
    "auto": _cell_auto,
    # Cells the caller built already (``text_cell`` and friends): written as given.
    "cell": lambda value: value,
}


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value) -> str:
    text = str(value)
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    return escape(text)


def _width(header) -> int:
    return max(10, min(40, 2 + sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(header or ""))))


def safe_sheet_title(title: str, taken: set[str]) -> str:
    base = (str(title) or "Sheet").translate(str.maketrans("[]:*?/\\", "()-----"))[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


class XlsxStream:
    """``with XlsxStream(fileobj) as book: book.sheet(title, headers, rows, kinds=...)``."""

    def __init__(self, fileobj):
        self._zip = zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheets: list[str] = []
        self._titles: set[str] = set()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self._zip.close()
        return False

    def sheet(self, title, headers, rows, *, kinds=(), preamble=(), ready: bool = False) -> int:
        """Write one sheet; returns the number of data rows written. ``ready``: each row is the
        XML of its cells already (a large export builds them itself, see ``text_cell``)."""
        n = len(self._sheets) + 1
        self._sheets.append(safe_sheet_title(title, self._titles))
        headers = [str(formula_escape(h)) for h in headers]
        kinds = list(kinds) + ["auto"] * (len(headers) - len(kinds))
        converters = [CONVERTERS.get(kind, _cell_auto) for kind in kinds]
        header_row = len(preamble) + 1
        pane = (
            f'<pane ySplit="{header_row}" topLeftCell="A{header_row + 1}" activePane="bottomLeft" state="frozen"/>'
            if headers
            else ""
        )
        cols = (
            "<cols>"
            + "".join(
                f'<col min="{i + 1}" max="{i + 1}" width="{_width(h)}" customWidth="1"/>' for i, h in enumerate(headers)
            )
            + "</cols>"
            if headers
            else ""
        )
        count = 0
        with self._zip.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as raw:
            out: list[str] = [_SHEET_HEAD.format(pane=pane, cols=cols)]
            row_number = 0
            for line in preamble:
                row_number += 1
                out.append(self._row(row_number, line, [_cell_text] * len(line)))
            if headers:
                row_number += 1
                out.append(
                    f'<row r="{row_number}">'
                    + "".join(f'<c t="inlineStr" s="1"><is><t>{_text(h)}</t></is></c>' for h in headers)
                    + "</row>"
                )
            for row in rows:
                row_number += 1
                count += 1
                if ready:
                    out.append(f'<row r="{row_number}">{row}</row>')
                else:
                    out.append(
                        self._row(
                            row_number,
                            row,
                            converters
                            if len(row) <= len(converters)
                            else [*converters, *[_cell_auto] * (len(row) - len(converters))],
                        )
                    )
                if len(out) >= 2000:
                    raw.write("".join(out).encode("utf-8"))
                    out.clear()
            out.append(_SHEET_TAIL)
            raw.write("".join(out).encode("utf-8"))
        return count

    @staticmethod
    def _row(row_number: int, row, converters) -> str:
        # Every cell is written (an empty one as <c/>), so cells need no reference of their own.
        return (
            f'<row r="{row_number}">'
            + "".join([convert(value) for convert, value in zip(converters, row, strict=False)])
            + "</row>"
        )

    def close(self) -> None:
        if not self._sheets:
            self.sheet("Sheet1", [], [])
        sheets = "".join(
            f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(self._sheets, start=1)
        )
        self._zip.writestr(
            "[Content_Types].xml",
            _CONTENT_TYPES.format(sheets="".join(_SHEET_TYPE.format(n=i) for i in range(1, len(self._sheets) + 1))),
        )
        self._zip.writestr("_rels/.rels", _ROOT_RELS)
        self._zip.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f"<sheets>{sheets}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self._sheets) + 1)
        )
        styles_id = len(self._sheets) + 1
        rels += (
            f'<Relationship Id="rId{styles_id}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
            'Target="styles.xml"/>'
        )
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        self._zip.writestr("xl/styles.xml", _STYLES_XML)
        self._zip.close()


def xlsx_report_bytes(sheets) -> bytes:
    """``sheets``: ``[{"title", "headers", "rows", "kinds", "preamble"}]`` -> the workbook's bytes."""
    import io

    buffer = io.BytesIO()
    with XlsxStream(buffer) as book:
        for sheet in sheets:
            book.sheet(
                sheet["title"],
                sheet["headers"],
                sheet["rows"],
                kinds=sheet.get("kinds", ()),
                preamble=sheet.get("preamble", ()),
            )
    return buffer.getvalue()
