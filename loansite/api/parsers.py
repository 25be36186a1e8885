"""JSON request bodies within limits: refused with a 4xx and a message, never a 500.

DRF's own JSON parser reads the whole body (Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only
guards ``request.body`` and form data) and lets Python's decoder recurse once per nesting
level, so ``[[[[...`` a few thousand deep ended in ``RecursionError``, also on the
anonymous login. Here the body is read up to ``API_JSON_MAX_BYTES`` (413 beyond) and its
nesting is measured before decoding (400 beyond ``API_JSON_MAX_DEPTH``).
"""

import codecs
import re
from itertools import accumulate

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json

# A JSON string (escapes included), and everything that is not a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def json_nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_max_depth() -> int:
    return int(getattr(settings, "API_JSON_MAX_DEPTH", 32))


def json_max_bytes() -> int:
    return int(getattr(settings, "API_JSON_MAX_BYTES", settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440))


class LimitedJSONParser(JSONParser):
    """``application/json`` with a size and a nesting limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = json_max_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(_("The request body is larger than %(limit)s bytes.") % {"limit": limit})
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(_("The request body is not valid %(encoding)s text.") % {"encoding": encoding}) from exc
        depth = json_max_depth()
        if json_nesting_depth(text) > depth:
            raise ParseError(_("JSON parse error - nested deeper than %(depth)s levels.") % {"depth": depth})
        try:
            parse_constant = json.strict_constant if api_settings.STRICT_JSON else None
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": str(exc)}) from exc
