"""Import templates: a CSV or XLSX file with the headers an importer reads and one example row.

Every import page (and the list next to its Import button) offers four: CSV and XLSX, with
English or Chinese headers and values. The example row is one the importer accepts (valid
codes and checksums, a city and an industry on file, a product that exists), so a template
filled in and uploaded imports as it is. Templates carry no data from the database other
than a product code, and are offered only to users who may run that import.
"""

from dataclasses import dataclass

from django.http import Http404, HttpResponse
from django.utils import translation

from loansite.exports import csv_bytes, xlsx_bytes

LANGUAGES = {"en": "en", "zh": "zh-hans"}
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class TemplateColumn:
    english: str
    chinese: str
    example: object = None  # a value, or a callable giving it in the active language
    required: bool = False
    kind: str | None = None  # a key of loansite.exports.NUMBER_FORMATS for the XLSX cell

    def example_value(self):
        return self.example() if callable(self.example) else self.example


def import_template_file(*, name: str, columns, language: str, file_format: str) -> tuple[str, bytes, str]:
    """``(file name, content, content type)``; ``language`` "en" or "zh", ``file_format`` "csv" or "xlsx"."""
    if language not in LANGUAGES or file_format not in FORMATS:
        raise Http404
    with translation.override(LANGUAGES[language]):
        headers = [c.english if language == "en" else c.chinese for c in columns]
        example = [c.example_value() for c in columns]
        if file_format == "csv":
            content = csv_bytes(headers, [example])
        else:
            content = xlsx_bytes(headers, [example], kinds=[c.kind for c in columns], title=name)
    return f"{name}-template-{language}.{file_format}", content, FORMATS[file_format]


def import_template_response(*, name: str, columns, language: str, file_format: str) -> HttpResponse:
    file_name, content, content_type = import_template_file(
        name=name, columns=columns, language=language, file_format=file_format
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def import_template_links(url_name: str) -> list[dict]:
    """The four templates of an import, for the pages that link to them."""
    from django.urls import reverse

    return [
        {
            "url": reverse(url_name, args=[language, file_format]),
            "language": language,
            "format": file_format,
        }
        for language in LANGUAGES
        for file_format in FORMATS
    ]
