"""Chinese identity numbers and mobile phones: validate, normalise, and generate valid ones.

- Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters from a
  31-character alphabet (no I, O, S, V, Z); the last one is a mod-31 check character.
- Resident identity number (居民身份证号码), GB 11643-1999: 17 digits (region, birth date,
  sequence) plus an ISO 7064 MOD 11-2 check character (0-9 or X).
- Mainland mobile numbers: 11 digits starting 13-19, with an optional +86 / 0086 prefix.

The generators take a random generator (``numpy.random.Generator`` or ``random.Random``)
and return valid values, for demo data and tests.
"""

import datetime
import operator
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CODE_VALUE = {char: index for index, char in enumerate(CREDIT_CODE_ALPHABET)}
# Registration authority (position 1) and the organisation kinds (position 2) it may issue.
_CREDIT_CODE_RE = re.compile(r"^[1-9A-HJ-NP-RTUWXY][1-9A-HJ-NP-RTUWXY]\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[1-9]\d{16}[\dX]$")

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_MOBILE_PREFIXES = ("+86", "0086", "86")

# Administrative division codes of the demo cities (GB/T 2260), for generated numbers.
REGION_CODES = {
    "Beijing": "110105",
    "Shanghai": "310104",
    "Guangzhou": "440106",
    "Shenzhen": "440305",
    "Hangzhou": "330106",
    "Chengdu": "510107",
    "Wuhan": "420106",
    "Nanjing": "320106",
    "Suzhou": "320505",
    "Xi'an": "610113",
    "Changsha": "430104",
    "Hefei": "340104",
    "Kunming": "530102",
    "Nanning": "450103",
    "Taiyuan": "140105",
    "Lanzhou": "620102",
    "Ganzhou": "360702",
    "Zunyi": "520302",
    "Qujing": "530302",
}


# -- normalisation ------------------------------------------------------------------------


_CREDIT_CODE_NOISE = re.compile(r"[\s-]")
_SPACES = re.compile(r"\s")
_PHONE_NOISE = re.compile(r"[\s\-()]")


def normalize_credit_code(value) -> str:
    return _CREDIT_CODE_NOISE.sub("", str(value or "")).upper()


def normalize_resident_id(value) -> str:
    return _SPACES.sub("", str(value or "")).upper()


def normalize_mobile_phone(value) -> str:
    """Digits only, without the country code: ``+86 138-0013-8000`` -> ``13800138000``."""
    phone = _PHONE_NOISE.sub("", str(value or ""))
    for prefix in _MOBILE_PREFIXES:
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            return phone[len(prefix) :]
    return phone


# -- check characters -----------------------------------------------------------------------


def credit_code_check_char(first17: str) -> str:
    total = sum(map(operator.mul, map(_CREDIT_CODE_VALUE.__getitem__, first17), CREDIT_CODE_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def resident_id_check_char(first17: str) -> str:
    total = sum(map(operator.mul, map(int, first17), ID_WEIGHTS))
    return ID_CHECK[total % 11]


def _org_code_check_char(first8: str) -> str:
    """GB 11714 organisation code check character (positions 9-17 of a credit code)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(char, 36) * weight for char, weight in zip(first8, weights, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


# -- validators (Django style: raise ValidationError, return nothing) --------------------------


def validate_credit_code(value) -> None:
    code = normalize_credit_code(value)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters (got %(length)s)."),
            code="credit_code_length",
            params={"length": len(code)},
        )
    if not _CREDIT_CODE_RE.match(code):
        raise ValidationError(
            _("The unified social credit code contains characters that are not allowed (I, O, S, V, Z)."),
            code="credit_code_format",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The unified social credit code's check character is wrong: check for a typo."),
            code="credit_code_checksum",
        )


def resident_id_birth_date(value) -> datetime.date | None:
    number = normalize_resident_id(value)
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate_resident_id(value) -> None:
    number = normalize_resident_id(value)
    if len(number) != 18:
        raise ValidationError(
            _("A resident ID number has 18 characters (got %(length)s)."),
            code="resident_id_length",
            params={"length": len(number)},
        )
    if not _ID_RE.match(number):
        raise ValidationError(
            _("A resident ID number is 17 digits followed by a digit or X."), code="resident_id_format"
        )
    born = resident_id_birth_date(number)
    if born is None or born.year < 1900 or born > datetime.date.today():
        raise ValidationError(_("The resident ID number holds an impossible birth date."), code="resident_id_birth")
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The resident ID number's check character is wrong: check for a typo."), code="resident_id_checksum"
        )


def validate_mobile_phone(value) -> None:
    phone = normalize_mobile_phone(value)
    if not _MOBILE_RE.match(phone):
        raise ValidationError(
            _("Enter a mainland China mobile number: 11 digits starting with 13-19 (a +86 prefix is allowed)."),
            code="mobile_phone",
        )


# -- generators for demo data and tests ------------------------------------------------------


def _randint(rng, low: int, high: int) -> int:
    """An integer in [low, high) from a numpy Generator or a random.Random."""
    if hasattr(rng, "integers"):
        return int(rng.integers(low, high))
    return rng.randrange(low, high)


def _region(rng, city: str | None) -> str:
    if city in REGION_CODES:
        return REGION_CODES[city]
    codes = list(REGION_CODES.values())
    return codes[_randint(rng, 0, len(codes))]


def make_credit_code(rng, *, city: str | None = None, individual: bool = False) -> str:
    """A valid code: registered by market regulation ("9"), enterprise "1" or individual business "2"."""
    org_alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "".join(org_alphabet[_randint(rng, 0, len(org_alphabet))] for _i in range(8))
    org_code = body + _org_code_check_char(body)
    first17 = "9" + ("2" if individual else "1") + _region(rng, city) + org_code
    return first17 + credit_code_check_char(first17)


def make_resident_id(rng, *, city: str | None = None, born: datetime.date | None = None) -> str:
    if born is None:
        born = datetime.date(1960, 1, 1) + datetime.timedelta(days=_randint(rng, 0, 365 * 42))
    sequence = f"{_randint(rng, 0, 1000):03d}"
    first17 = _region(rng, city) + born.strftime("%Y%m%d") + sequence
    return first17 + resident_id_check_char(first17)


_MOBILE_NETWORKS = ("130", "131", "132", "135", "136", "138", "139", "150", "151", "158", "177", "186", "188", "199")


def make_mobile_phone(rng) -> str:
    return _MOBILE_NETWORKS[_randint(rng, 0, len(_MOBILE_NETWORKS))] + f"{_randint(rng, 0, 100_000_000):08d}"
