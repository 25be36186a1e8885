"""Untrusted tabular files (CSV, XLSX): what may be in a text cell."""

import re

# C0 and C1 control characters (NUL, BEL, ESC ...) and DEL; multi-line text may keep tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_has_control_characters(text: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL).search(text))
