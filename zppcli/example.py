"""Loading a directory file in the examples/ format (TOML; see examples/README.md).

Day offsets in availability are relative to the day the file is loaded, so the
bundled demo never goes stale.
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from zppcli import availability, collectives, contacts, members, skills
from zppcli.errors import InvalidInput
from zppcli.store import Tx


def bundled_text() -> str:
    packaged = resources.files("zppcli").joinpath("examples/hilversum.toml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "examples" / "hilversum.toml").read_text(
        encoding="utf-8"
    )


def loaded_on(conn) -> str | None:
    """The day the example directory was loaded into this db, if it was."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'example_loaded'").fetchone()
    return row[0] if row else None


def load(tx: Tx, text: str, today: date) -> dict[str, int]:
    """Load the directory into the db; returns counts of what was added."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput("example file", "TOML", f"does not parse: {e}") from None
    if data.get("format") != 1:
        raise InvalidInput("format", data.get("format"), "this zpp reads format = 1")
    for item in data.get("skill", []):
        skills.add_skill(
            tx,
            item["name"],
            item.get("aliases", []),
            item.get("category", ""),
            item.get("description", ""),
        )
    handles = {}
    for item in data.get("collective", []):
        handles[item["handle"]] = collectives.add(
            tx, item["name"], item["handle"], item.get("description", ""), item.get("website", "")
        )
    for item in data.get("member", []):
        _load_member(tx, item, today)
    tx.conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('example_loaded', ?)",
        (today.isoformat(),),
    )
    return {k: len(data.get(k, [])) for k in ("member", "skill", "collective")}


def _load_member(tx: Tx, item: dict[str, Any], today: date) -> None:
    scalar_keys = [k for k in members.SCALARS if k in item]
    data = members.MemberInput(
        values={k: item[k] for k in scalar_keys},
        emails=[contacts.parse_email(e) for e in item.get("emails", [])],
        phones=[contacts.parse_phone(p) for p in item.get("phones", [])],
        skills=skills.specs(item.get("skills", []), item.get("learn", [])),
    )
    handle = members.add(tx, item.get("name"), data)
    member_id = members.find_by_handle(tx.conn, handle)["id"]
    for ref in item.get("collectives", []):
        coll, _, role = ref.partition(":")
        collectives.join(tx, collectives.resolve(tx.conn, coll)["id"], member_id, role or "member")
    for period in item.get("availability", []):
        availability.set_period(
            tx,
            member_id,
            today + timedelta(days=int(period["from"])),
            today + timedelta(days=int(period["to"])),
            period["status"],
            period.get("hours"),
            period.get("note", ""),
        )
