"""E-mail addresses and phone numbers: parsing, validation, normalisation."""

from __future__ import annotations

import functools
import re

from zppcli.errors import InvalidInput

EMAIL_TYPES = ("work", "home", "other")
PHONE_TYPES = ("work", "home", "mobile", "other")
DEFAULT_REGION = "NL"
# Compiled on first use: its Unicode ranges cost ~10 ms, off the read path.
_EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@"
    r"(?=.{1,253}$)(?:[A-Za-z0-9\u00a0-\uffff](?:[A-Za-z0-9\u00a0-\uffff-]{0,61}[A-Za-z0-9\u00a0-\uffff])?\.)+"
    r"[A-Za-z\u00a0-\uffff]{2,63}$"
)


@functools.cache
def _email_re() -> re.Pattern:
    return re.compile(_EMAIL_PATTERN)


def split_typed(text: str, types: tuple[str, ...]) -> tuple[str | None, str]:
    """'home=035 123' -> ('home', '035 123'); a prefix that is no known type is kept."""
    head, sep, rest = text.partition("=")
    if sep and head.strip().lower() in types:
        return head.strip().lower(), rest.strip()
    return None, text.strip()


def normalize_email(value: str, field: str = "email") -> str:
    text = value.strip()
    local = text.rpartition("@")[0]
    if not _email_re().match(text) or ".." in text or local.startswith(".") or local.endswith("."):
        raise InvalidInput(field, value, "not a valid e-mail address (like naam@voorbeeld.nl)")
    # Stored lower-cased: duplicates are found with an index, and no mail
    # provider in use treats the local part as case-sensitive.
    return text.lower()


def parse_email(text: str, field: str = "email") -> tuple[str, str]:
    """'home=Jan@Example.NL' -> ('home', 'jan@example.nl')."""
    kind, value = split_typed(text, EMAIL_TYPES)
    return kind or "work", normalize_email(value, field)


def normalize_phone(value: str, field: str = "phone") -> tuple[str, bool]:
    """'06 12345678' -> ('+31612345678', True); the flag says it is a mobile number."""
    import phonenumbers  # ~40 ms: only on the write path

    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not valid_number(number):
        raise InvalidInput(
            field, value, "not a valid phone number (like 06 12345678 or +31 35 123 4567)"
        )
    mobile = phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), mobile


E164 = re.compile(r"\+[1-9][0-9]{6,14}")  # fullmatch: ASCII digits, no line end


def check_e164(value: str) -> str:
    """An E.164 number (E164) checked for validity (without normalize_phone's type lookup)."""
    parts = _e164_parts(value)
    if parts is not None:
        valid = _valid_national(*parts)
    else:
        import phonenumbers

        try:
            valid = valid_number(phonenumbers.parse(value))
        except phonenumbers.NumberParseException:
            valid = False
    if not valid:
        raise InvalidInput("phone", value, "not a valid phone number (like +31 6 12345678)")
    return value


def valid_number(number) -> bool:
    """phonenumbers.is_valid_number(number): the number's type is known."""
    if number.italian_leading_zero:
        import phonenumbers

        return phonenumbers.is_valid_number(number)
    return _valid_national(number.country_code, str(number.national_number))


def _valid_national(country_code: int, national: str) -> bool:
    """is_valid_number for a number without a leading zero. For a country code of one
    region, the same checks (the common types first: that some type matches does not
    depend on the order) with the patterns compiled once (phonenumbers looks each up
    again, eleven times a number); test_bulkimport compares the two on every type of
    example number of every such region."""
    checks = _number_checks(country_code)
    if checks is None:
        import phonenumbers

        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        return phonenumbers.is_valid_number(number)
    general, *types = checks
    return _matches(general, national) and any(_matches(desc, national) for desc in types)


def _matches(desc: tuple | None, national: str) -> bool:
    """phonenumberutil._is_number_matching_desc, with the pattern compiled."""
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(national) not in lengths:
        return False
    return pattern is not None and pattern.fullmatch(national) is not None


@functools.lru_cache(maxsize=512)
def _number_checks(country_code: int) -> tuple | None:
    """(general, then the types _number_type_helper tries) as (possible lengths, pattern);
    None for a country code of several regions (is_valid_number picks one first)."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) != 1:
        return None
    meta = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if meta is None:
        return None
    # whether some type matches does not depend on the order: the common ones first
    descs = [meta.general_desc, meta.fixed_line]
    if not meta.same_mobile_and_fixed_line_pattern:
        descs.append(meta.mobile)
    descs += [meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip]
    descs += [meta.personal_number, meta.pager, meta.uan, meta.voicemail]
    return tuple(
        None
        if d is None
        else (
            frozenset(d.possible_length or ()),
            re.compile(d.national_number_pattern) if d.national_number_pattern else None,
        )
        for d in descs
    )


def _e164_parts(value: str) -> tuple[int, str] | None:
    """(country code, national number) of an E.164 number (E164) as phonenumbers.parse
    takes it apart: its country code, then the national number, which starts with no 0
    and no national prefix (parse would strip one off); None for any other: parse it.
    Half the time of parse; test_bulkimport compares the two for every country code."""
    digits = value[1:]
    for i in (1, 2, 3):
        country = _country(int(digits[:i]))
        if country is not None:
            break
    else:
        return None
    national = digits[i:]
    known, prefix = country
    if not known or len(national) < 2 or national[0] == "0":
        return None
    if prefix is not None and prefix.match(national):
        return None
    return int(digits[:i]), national


@functools.lru_cache(maxsize=512)
def _country(country_code: int) -> tuple[bool, re.Pattern | None] | None:
    """None when no region has the country code; else whether phonenumbers has metadata
    for it, and its national prefix (for parsing), compiled."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

    if country_code not in COUNTRY_CODE_TO_REGION_CODE:
        return None
    region = COUNTRY_CODE_TO_REGION_CODE[country_code][0]
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return False, None
    prefix = metadata.national_prefix_for_parsing
    return True, re.compile(prefix) if prefix else None


def parse_phone(text: str, field: str = "phone") -> tuple[str, str]:
    """'home=035 625 1234' -> ('home', '+31356251234'); untyped mobiles are 'mobile'."""
    kind, value = split_typed(text, PHONE_TYPES)
    e164, mobile = normalize_phone(value, field)
    return kind or ("mobile" if mobile else "work"), e164


def format_phone(e164: str) -> str:
    """'+31612345678' -> '+31 6 12345678' for people (international format)."""
    import phonenumbers

    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164
