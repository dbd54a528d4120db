"""The readable text form of a member (TOML) that `zpp member edit` opens in $EDITOR."""

from __future__ import annotations

import tomllib
from typing import Any

from zppcli import contacts, skills
from zppcli.errors import InvalidInput
from zppcli.members import MemberInput

HEADER = """\
# Edit {name} ({handle}) and save; close without saving (or empty the file) to cancel.
# Nothing is saved until the whole form is valid; an invalid form reopens with the error.
# emails: "TYPE=address", TYPE work|home|other.  phones: "TYPE=number", TYPE work|home|mobile|other.
# skills: "SKILL:LEVEL[:mentor]", LEVEL learning|competent|expert.  learn: skills to learn.
# visibility: public | network | private.  day_rate: whole euros (remove the line for none).
"""
LIST_FIELDS = ("links", "languages", "tags")
TEXT_FIELDS = (
    "given_name",
    "particle",
    "family_name",
    "handle",
    "visibility",
    "city",
    "region",
    "website",
    "bio",
    "note",
)


def to_form(rec: dict[str, Any]) -> str:
    import tomli_w

    data: dict[str, Any] = {k: rec[k] for k in TEXT_FIELDS}
    if rec["day_rate"] is not None:
        data["day_rate"] = rec["day_rate"]
    data |= {k: rec[k] for k in LIST_FIELDS}
    data["emails"] = [f"{e['type']}={e['value']}" for e in rec["emails"]]
    data["phones"] = [f"{p['type']}={p['value']}" for p in rec["phones"]]
    data["skills"] = [
        f"{s['skill']}:{s['level']}" + (":mentor" if s["can_mentor"] else "")
        for s in rec["skills"]
        if not (s["wants_to_learn"] and s["level"] == "learning")
    ]
    data["learn"] = [s["skill"] for s in rec["skills"] if s["wants_to_learn"]]
    return HEADER.format(name=rec["name"], handle=rec["handle"]) + tomli_w.dumps(
        data, multiline_strings=True
    )


def parse_form(text: str) -> MemberInput:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput("form", "TOML", f"does not parse: {e}") from None
    known = {*TEXT_FIELDS, *LIST_FIELDS, "day_rate", "emails", "phones", "skills", "learn"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput(
            "form field", unknown[0], f"unknown; the form knows {', '.join(sorted(known))}"
        )
    for key in (*LIST_FIELDS, "emails", "phones", "skills", "learn"):
        if not isinstance(data.get(key, []), list):
            raise InvalidInput(key, data[key], 'must be a list, like ["a", "b"]')
    values = {k: data.get(k, "") for k in TEXT_FIELDS} | {k: data.get(k, []) for k in LIST_FIELDS}
    values["day_rate"] = data.get("day_rate")
    return MemberInput(
        values=values,
        emails=[contacts.parse_email(str(e)) for e in data.get("emails", [])],
        phones=[contacts.parse_phone(str(p)) for p in data.get("phones", [])],
        skills=skills.specs(data.get("skills", []), data.get("learn", [])),
    )
