"""Reading untrusted tabular files (CSV, XLSX) within limits, and what may be in a text cell.

An import file is data from outside: its type is told by its content, never by its name;
a CSV is UTF-8 (with or without BOM) or GB18030 (what Chinese Excel writes); an XLSX is a
zip whose entries are counted and whose uncompressed size is added up before openpyxl
opens it (read-only, values only); rows are counted while they are read and reading stops
at the configured maximum. Every problem is a ``TabularFileError`` with a message for the
person who uploaded the file, never a 500. The limits are settings (see README):
``IMPORT_MAX_UPLOAD_MB``, ``IMPORT_MAX_UNCOMPRESSED_MB``, ``IMPORT_MAX_ZIP_ENTRIES`` and
``IMPORT_MAX_COLUMNS``; the row maxima are per import (``*_IMPORT_MAX_ROWS``).
"""

import csv
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

from loansite.errors import ValidationFailed

logger = logging.getLogger("loansite.imports")

MB = 1024 * 1024

# C0 and C1 control characters (NUL, BEL, ESC ...) and DEL; multi-line text may keep tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What a text file has next to nothing of: C0 controls other than tab and line breaks.
_BINARY_NOISE = re.compile(r"[\x00-\x08\x0e-\x1f]")

_ZIP_MAGIC = b"PK\x03\x04"
_OTHER_TYPES = (
    (b"\xd0\xcf\x11\xe0", "xls"),  # OLE2: Excel 97-2003 (.xls), old Word
    (b"PK\x05\x06", "zip"),  # an empty zip
    (b"%PDF", "pdf"),
    (b"\x89PNG", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF8", "image"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!", "archive"),
    (b"7z\xbc\xaf", "archive"),
)


def text_has_control_characters(text: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL).search(text))


class TabularFileError(ValidationFailed):
    """The file cannot be imported at all (type, encoding, size, damage); the message says why."""


@dataclass
class Table:
    file_format: str  # "csv" or "xlsx", as told by the content
    headers: list
    rows: list[list] = field(default_factory=list)  # non-blank rows, at most the row maximum


def import_limits() -> dict:
    return {
        "max_upload_mb": float(getattr(settings, "IMPORT_MAX_UPLOAD_MB", 20)),
        "max_upload_bytes": int(getattr(settings, "IMPORT_MAX_UPLOAD_MB", 20) * MB),
        "max_uncompressed_bytes": int(getattr(settings, "IMPORT_MAX_UNCOMPRESSED_MB", 100) * MB),
        "max_zip_entries": int(getattr(settings, "IMPORT_MAX_ZIP_ENTRIES", 100)),
        "max_columns": int(getattr(settings, "IMPORT_MAX_COLUMNS", 200)),
    }


def tabular_check_size(size: int) -> None:
    limit = import_limits()["max_upload_bytes"]
    if size > limit:
        raise TabularFileError(
            _("The file is %(size)s MB; files up to %(limit)s MB can be imported.")
            % {"size": f"{size / MB:.1f}", "limit": f"{import_limits()['max_upload_mb']:g}"}
        )


def tabular_size_message() -> str:
    """For an upload whose reading stopped at the limit (its size is not known)."""
    return _("The file is larger than %(limit)s MB, the most that can be imported.") % {
        "limit": f"{import_limits()['max_upload_mb']:g}"
    }


class ImportUploadSizeHandler(FileUploadHandler):
    """First of ``FILE_UPLOAD_HANDLERS``: stops reading an uploaded file as soon as it passes the
    import upload limit, before it fills memory or a temporary file; the import page then
    says the file is too large (``request.upload_too_large``)."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > import_limits()["max_upload_bytes"]:
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def tabular_sniff(data: bytes) -> str:
    """``"xlsx"`` or ``"csv"`` from the first bytes; anything else is refused."""
    if not data:
        raise TabularFileError(_("The file is empty."))
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    for magic, kind in _OTHER_TYPES:
        if data.startswith(magic):
            if kind == "xls":
                raise TabularFileError(
                    _("Excel 97-2003 files (.xls) cannot be imported; save the sheet as .xlsx or CSV.")
                )
            raise TabularFileError(_("This is not a CSV or XLSX file."))
    return "csv"


def tabular_read(data: bytes, *, max_rows: int) -> Table:
    """The header row and up to ``max_rows`` non-blank rows of a CSV or XLSX file."""
    tabular_check_size(len(data))
    file_format = tabular_sniff(data)
    if file_format == "xlsx":
        return _read_xlsx(data, max_rows=max_rows)
    return _read_csv(data, max_rows=max_rows)


def _too_many_rows(max_rows: int) -> TabularFileError:
    return TabularFileError(
        _("The file has more than %(max)s rows; split it into files of at most %(max)s rows.") % {"max": max_rows}
    )


def _check_columns(headers: list) -> list:
    limit = import_limits()["max_columns"]
    while headers and headers[-1] in (None, ""):
        headers = headers[:-1]  # trailing empty header cells (formatted, never filled)
    if not headers:
        raise TabularFileError(_("The file has no header row."))
    if len(headers) > limit:
        raise TabularFileError(_("The file has more than %(max)s columns.") % {"max": limit})
    return headers


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TabularFileError(
        _("The file is neither an XLSX workbook nor a CSV in UTF-8 or GB18030; save it as CSV UTF-8 or as XLSX.")
    )


def _read_csv(data: bytes, *, max_rows: int) -> Table:
    text = _decode(data)
    sample = text[:65536]
    if len(_BINARY_NOISE.findall(sample)) > max(8, len(sample) // 100):
        raise TabularFileError(_("This is not a CSV or XLSX file."))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = _check_columns(next(reader, []))
        width = len(headers)
        rows = []
        for raw in reader:
            if not any(cell.strip() for cell in raw):
                continue
            if len(rows) >= max_rows:
                raise _too_many_rows(max_rows)
            rows.append(raw[:width])
    except csv.Error as exc:
        raise TabularFileError(
            _("The CSV file cannot be read near line %(line)s: %(error)s") % {"line": reader.line_num, "error": exc}
        ) from exc
    return Table(file_format="csv", headers=headers, rows=rows)


def _read_xlsx(data: bytes, *, max_rows: int) -> Table:
    limits = import_limits()
    damaged = _("The XLSX file is damaged or is not an Excel workbook.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise TabularFileError(damaged) from exc
    if len(entries) > limits["max_zip_entries"]:
        raise TabularFileError(
            _("The XLSX file has more than %(max)s parts; this is not a plain workbook.")
            % {"max": limits["max_zip_entries"]}
        )
    # Python's zipfile never inflates an entry beyond its recorded size (a larger one fails its
    # check), so the recorded sizes bound what opening the workbook can expand to.
    if sum(entry.file_size for entry in entries) > limits["max_uncompressed_bytes"]:
        raise TabularFileError(
            _("The XLSX file expands to more than %(max)s MB; split it into smaller files.")
            % {"max": f"{limits['max_uncompressed_bytes'] / MB:g}"}
        )
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise TabularFileError(damaged)

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.active
            if sheet is None:
                raise TabularFileError(_("The workbook has no sheet."))
            cells = sheet.iter_rows(values_only=True)
            headers = _check_columns(list(next(cells, ()) or ()))
            width = len(headers)
            rows = []
            for raw in cells:
                if all(value is None or (isinstance(value, str) and not value.strip()) for value in raw):
                    continue
                if len(rows) >= max_rows:
                    raise _too_many_rows(max_rows)
                rows.append(list(raw[:width]))
        finally:
            book.close()
    except TabularFileError:
        raise
    except Exception as exc:  # any failure inside an untrusted workbook means it is damaged
        logger.info("unreadable XLSX upload: %s", exc.__class__.__name__)
        raise TabularFileError(damaged) from exc
    return Table(file_format="xlsx", headers=headers, rows=rows)


class StrictTmpStorage:
    """django-import-export's temporary storage, should an admin ever use its import views.

    Its confirm step takes the file name from the form; this storage accepts only the
    random names it makes itself and keeps the files in the default storage under
    ``imports/tmp/``, so a forged name can neither read nor delete anything else. The
    project's own import views keep uploads in ``ImportUpload`` instead.
    """

    _NAME = re.compile(r"^[0-9a-f]{32}$")

    def __init__(self, **kwargs):
        import uuid

        self.name = kwargs.get("name") or uuid.uuid4().hex
        if not self._NAME.match(str(self.name)):
            raise TabularFileError(_("The uploaded file is no longer available; upload it again."))
        self.read_mode = kwargs.get("read_mode", "r")
        self.encoding = kwargs.get("encoding") or "utf-8"

    @property
    def path(self) -> str:
        return f"imports/tmp/{self.name}"

    def save(self, data) -> None:
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        if isinstance(data, str):
            data = data.encode(self.encoding)
        default_storage.save(self.path, ContentFile(data))

    def read(self):
        from django.core.files.storage import default_storage

        if not default_storage.exists(self.path):
            raise TabularFileError(_("The uploaded file is no longer available; upload it again."))
        with default_storage.open(self.path, "rb") as handle:
            data = handle.read()
        return data if "b" in self.read_mode else data.decode(self.encoding)

    def remove(self) -> None:
        from django.core.files.storage import default_storage

        default_storage.delete(self.path)


# ---------------------------------------------------------------------------
# Headers: matched by known synonyms, whatever their case, spacing, punctuation or unit
# ---------------------------------------------------------------------------
_HEADER_UNIT = re.compile(r"^(.*?)\s*(?:[(\[（【]([^)\]）】]*)[)\]）】]|[/／]\s*([^/／]+))\s*$")
_HEADER_NOISE = re.compile(r"[\s_\-–—.·:：,，、;；'\"“”‘’#*?？!！]+")
# Unit words a header may carry, in brackets or after a slash: "贷款金额（万元）", "Amount / 10k CNY".
TEN_THOUSAND_UNITS = {
    "万元",
    "万",
    "万元人民币",
    "人民币万元",
    "10k",
    "10kcny",
    "10k元",
    "cny10k",
    "10000元",
    "tenthousandyuan",
}
YUAN_UNITS = {"元", "人民币", "人民币元", "cny", "rmb", "yuan", "¥", "￥"}
YEAR_UNITS = {"年", "years", "year", "yrs"}


def header_key(text) -> str:
    """A header as compared: NFKC (full-width to half-width), no BOM, case, spaces or punctuation."""
    import unicodedata

    value = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "").strip().lower()
    return _HEADER_NOISE.sub("", value)


def header_split(text) -> tuple[str, str]:
    """``(key of the name, key of the unit)``: "期限（月）" -> ("期限", "月"); "Amount" -> ("amount", "")."""
    import unicodedata

    value = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "").strip()
    match = _HEADER_UNIT.match(value)
    if match and match.group(1).strip():
        return header_key(match.group(1)), header_key(match.group(2) or match.group(3) or "")
    return header_key(value), ""


def header_synonyms_index(synonyms: dict) -> dict[str, str]:
    """``{key: [synonym, ...]}`` -> ``{normalised synonym: key}``; the first key to claim a synonym keeps it."""
    index: dict[str, str] = {}
    for key, names in synonyms.items():
        for name in names:
            for candidate in (header_key(name), header_split(name)[0]):
                if candidate:
                    index.setdefault(candidate, key)
    return index


def header_match(header, index: dict[str, str]) -> tuple[str | None, str]:
    """The key a header names (or None) and the unit it gives (normalised, may be "")."""
    whole = header_key(header)
    if whole in index:
        base, unit = header_split(header)
        return index[whole], unit if index.get(base) == index[whole] else ""
    base, unit = header_split(header)
    return index.get(base), unit


def money_unit_factor(unit: str):
    """10,000 for a header in 万元, 1 for one in 元, None when the header names no money unit."""
    from decimal import Decimal

    if unit in {header_key(u) for u in TEN_THOUSAND_UNITS}:
        return Decimal(10000)
    if unit in {header_key(u) for u in YUAN_UNITS}:
        return Decimal(1)
    return None
