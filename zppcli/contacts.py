"""E-mail addresses and phone numbers: parsing, validation, normalisation."""

from __future__ import annotations

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


def split_typed(text: str, types: tuple[str, ...]) -> tuple[str | None, str]:
    """'home=035 123' -> ('home', '035 123'); a prefix that is no known type is kept."""
    head, sep, rest = text.partition("=")
    if sep and head.strip().lower() in types:
        return head.strip().lower(), rest.strip()
    return None, text.strip()


def normalize_email(value: str, field: str = "email") -> str:
    text = value.strip()
    local = text.rpartition("@")[0]
    if (
        not re.match(_EMAIL_PATTERN, text)
        or ".." in text
        or local.startswith(".")
        or local.endswith(".")
    ):
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
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            field, value, "not a valid phone number (like 06 12345678 or +31 35 123 4567)"
        )
    mobile = phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), mobile


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
