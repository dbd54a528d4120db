"""Dates as people type them: ISO 8601, today, tomorrow, next week, +3d, weekday names."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

from zppcli.errors import InvalidInput

WEEKDAYS = {
    name: i
    for i, names in enumerate(
        [
            ("monday", "mon", "maandag", "ma"),
            ("tuesday", "tue", "dinsdag", "di"),
            ("wednesday", "wed", "woensdag", "wo"),
            ("thursday", "thu", "donderdag", "do"),
            ("friday", "fri", "vrijdag", "vr"),
            ("saturday", "sat", "zaterdag", "za"),
            ("sunday", "sun", "zondag", "zo"),
        ]
    )
    for name in names
}
DATE_HELP = "an ISO date (2026-12-07), today, tomorrow, a weekday, or +N[d|w] days/weeks from today"
RANGE_HELP = "a date or FROM..TO (" + DATE_HELP + "); 'this week' and 'next week' mean Mon..Fri"


def today() -> date:
    """Today in Europe/Amsterdam; $ZPP_TODAY pins it (demos, tests, benchmarks)."""
    pinned = os.environ.get("ZPP_TODAY")
    if pinned:
        return date.fromisoformat(pinned)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def parse_date(text: str, field: str = "date") -> date:
    value = text.strip().lower()
    base = today()
    if value in ("today", "vandaag"):
        return base
    if value in ("tomorrow", "morgen"):
        return base + timedelta(days=1)
    if value in WEEKDAYS:  # the next such day, today included
        return base + timedelta(days=(WEEKDAYS[value] - base.weekday()) % 7)
    match = re.fullmatch(r"([+-]\d{1,4})\s*([dw]?)", value)
    if match:
        n = int(match.group(1))
        return base + timedelta(days=n * 7 if match.group(2) == "w" else n)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, text, f"not a date; use {DATE_HELP}") from None


def parse_range(text: str, field: str = "dates") -> tuple[date, date]:
    value = text.strip().lower()
    base = today()
    if value in ("this week", "deze week", "next week", "volgende week"):
        monday = base - timedelta(days=base.weekday())
        if value in ("next week", "volgende week"):
            monday += timedelta(days=7)
        return monday, monday + timedelta(days=4)
    if ".." in value:
        start_text, _, end_text = value.partition("..")
        start, end = parse_date(start_text, field), parse_date(end_text, field)
    else:
        start = end = parse_date(value, field)
    if end < start:
        raise InvalidInput(field, text, "the end date is before the start date")
    return start, end
