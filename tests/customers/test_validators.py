import datetime
import random

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from customers.validators import (
    make_credit_code,
    make_mobile_phone,
    make_resident_id,
    normalize_mobile_phone,
    validate_credit_code,
    validate_mobile_phone,
    validate_resident_id,
)

# Real-format codes (published examples; checksums per GB 32100 / GB 11643).
VALID_CREDIT_CODES = ["91350100M000100Y43", "91310000MA1FL1MMXL", "91110000600037341L", "91350100m000100y43"]
VALID_IDS = ["11010519491231002X", "11010519491231002x", "440106199001011235"]


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_valid_credit_codes_pass(code):
    validate_credit_code(code)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("91350100M000100Y4", "credit_code_length"),  # 17 characters
        ("91350100M000100Y44", "credit_code_checksum"),  # last character changed
        ("91350100M000100Y34", "credit_code_checksum"),  # two characters swapped
        ("91350100M0001O0Y43", "credit_code_format"),  # letter O is not in the alphabet
        ("913501I0M000100Y43", "credit_code_format"),  # region code must be digits
        ("", "credit_code_length"),
    ],
)
def test_invalid_credit_codes_fail_with_reason(code, error):
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(code)
    assert exc.value.code == error


def test_resident_id_checks():
    assert validate_resident_id("440106199001011235") is None
    for number, error in [
        ("110105194912310021", "resident_id_checksum"),
        ("11010519491231002", "resident_id_length"),
        ("11010519491331002X", "resident_id_birth"),  # month 13
        ("1101051949123100AX", "resident_id_format"),
    ]:
        with pytest.raises(ValidationError) as exc:
            validate_resident_id(number)
        assert exc.value.code == error


@pytest.mark.parametrize("valid", VALID_IDS)
def test_valid_resident_ids_pass(valid):
    validate_resident_id(valid)


def test_resident_id_born_in_the_future_fails():
    born = datetime.date.today() + datetime.timedelta(days=400)
    number = make_resident_id(random.Random(1), born=born)
    with pytest.raises(ValidationError):
        validate_resident_id(number)


@pytest.mark.parametrize("phone", ["13800138000", "+86 138 0013 8000", "0086-19912345678", "8615912345678"])
def test_mobile_phones_pass_and_normalise(phone):
    validate_mobile_phone(phone)
    assert len(normalize_mobile_phone(phone)) == 11


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "021-12345678", "+1 415 555 0100", "abc"])
def test_bad_mobile_phones_fail(phone):
    with pytest.raises(ValidationError):
        validate_mobile_phone(phone)


@pytest.mark.parametrize("rng", [np.random.default_rng(7), random.Random(7)])
def test_generators_make_valid_values(rng):
    for _i in range(200):
        validate_credit_code(make_credit_code(rng))
        validate_credit_code(make_credit_code(rng, city="Shenzhen", individual=True))
        validate_resident_id(make_resident_id(rng))
        validate_mobile_phone(make_mobile_phone(rng))
    assert make_credit_code(rng, city="Shenzhen")[2:8] == "440305"


def test_messages_are_translated_to_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as exc:
            validate_credit_code("91350100M000100Y44")
        assert "校验位" in exc.value.messages[0]
