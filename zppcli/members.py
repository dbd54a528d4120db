"""Members: add, edit, look up, list and remove; the member record.

The member record (a plain dict, see `records`) is what every reader gets: the
listing, `show`, the JSON export, vCards and announcements.
"""

from __future__ import annotations

import json
import re
import sqlite3

from zppcli import contacts, names, skills
from zppcli.errors import Conflict, InvalidInput, NotFound
from zppcli.textfold import fold

TYPE_CHECKING = False  # no typing import on the start-up path
if TYPE_CHECKING:
    from typing import Any

    from zppcli.store import Tx

VISIBILITIES = ("public", "network", "private")
SCALARS = (
    "given_name",
    "particle",
    "family_name",
    "handle",
    "city",
    "region",
    "website",
    "bio",
    "note",
    "visibility",
    "day_rate",
    "links",
    "languages",
    "tags",
)
_SCALARS = frozenset(SCALARS)
UUID_PREFIX_RE = re.compile(r"^[0-9a-f]{4,8}(-[0-9a-f]{0,4}){0,3}(-[0-9a-f]{0,12})?$")
LANG_RE = re.compile(r"^[a-z]{2,3}$")


class MemberInput:
    """What a user asked to set on a member; None means 'leave as it is'.

    emails/phones/skills replace all when given; add_*/remove_*/set_skills/
    remove_skills change single entries. E-mails and phones are (type, value).
    """

    def __init__(
        self,
        values: dict[str, Any] | None = None,
        emails: list[tuple[str, str]] | None = None,
        phones: list[tuple[str, str]] | None = None,
        add_emails: list[tuple[str, str]] = (),
        remove_emails: list[str] = (),
        add_phones: list[tuple[str, str]] = (),
        remove_phones: list[str] = (),
        skills: list[skills.SkillSpec] | None = None,
        set_skills: list[skills.SkillSpec] = (),
        remove_skills: list[str] = (),
    ):
        self.values = dict(values or {})  # SCALARS
        self.emails, self.phones, self.skills = emails, phones, skills
        self.add_emails, self.remove_emails = list(add_emails), list(remove_emails)
        self.add_phones, self.remove_phones = list(add_phones), list(remove_phones)
        self.set_skills, self.remove_skills = list(set_skills), list(remove_skills)


# -- validation of single values ---------------------------------------------
# A plain http(s) address with an ASCII host: what urlparse accepts, without urlparse
# (an import checks 100,000 of them). Anything else takes the full check below.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:[/?#]\S*)?")


def check_url(value: str, field_name: str) -> str:
    text = value.strip()
    if not text:
        return ""
    if _PLAIN_URL.fullmatch(text):
        return text
    return _check_url_fully(value, text, field_name)


def _check_url_fully(value: str, text: str, field_name: str) -> str:
    from urllib.parse import urlparse

    if "://" not in text and re.fullmatch(r"[\w.-]+\.[a-z]{2,}(/\S*)?", text, re.IGNORECASE):
        text = "https://" + text
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or re.search(r"\s", text):
        raise InvalidInput(field_name, value, "not a web address (like https://voorbeeld.nl)")
    return text


def check_values(values: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise scalar fields; raises InvalidInput naming the field."""
    out = {}
    for key, value in values.items():
        if key not in _SCALARS:
            raise InvalidInput("field", key, f"unknown; use one of {', '.join(SCALARS)}")
        if key == "visibility":
            value = str(value).strip().lower()
            if value not in VISIBILITIES:
                raise InvalidInput("visibility", value, f"use one of {', '.join(VISIBILITIES)}")
        elif key == "day_rate":
            if value in ("", None):
                value = None
            else:
                try:
                    value = int(str(value).strip().lstrip("€").replace(".", ""))
                except ValueError:
                    raise InvalidInput(
                        "day rate", value, "a whole number of euros, like 450"
                    ) from None
                if value < 0:
                    raise InvalidInput("day rate", value, "cannot be negative")
                if value > 2**63 - 1:  # SQLite's largest INTEGER
                    raise InvalidInput("day rate", value, "too large")
        elif key == "handle":
            value = names.check_handle(str(value))
        elif key == "website":
            value = check_url(str(value), "website")
        elif key == "links":
            value = [check_url(str(v), "link") for v in value if str(v).strip()]
        elif key == "languages":
            value = [str(v).strip().lower() for v in value if str(v).strip()]
            for lang in value:
                if not LANG_RE.match(lang):
                    raise InvalidInput("language", lang, "use an ISO 639-1 code like nl, en, de")
        elif key == "tags":
            value = list(dict.fromkeys(str(v).strip().lower() for v in value if str(v).strip()))
        else:
            value = str(value).strip()
            if key in ("given_name", "particle", "family_name", "city", "region") and "\n" in value:
                raise InvalidInput(key.replace("_", " "), value, "must be one line")
        out[key] = value
    return out


# -- lookups -------------------------------------------------------------------
def get_row(conn: sqlite3.Connection, member_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM members WHERE id = ? AND deleted = 0", (member_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"member {member_id!r} not found")
    return row


def find_by_handle(conn: sqlite3.Connection, handle: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM members WHERE handle = ? AND deleted = 0", (handle.strip().lower(),)
    ).fetchone()


def resolve(conn: sqlite3.Connection, ref: str, field_name: str = "member") -> sqlite3.Row:
    """A member by handle, by unique UUID prefix, or by a search with exactly one hit."""
    text = ref.strip()
    row = find_by_handle(conn, text)
    if row is not None:
        return row
    lowered = text.lower()
    if UUID_PREFIX_RE.match(lowered):
        rows = conn.execute(
            "SELECT * FROM members WHERE deleted = 0 AND id >= ? AND id < ? LIMIT 6",
            (lowered, lowered + "\uffff"),
        ).fetchall()
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            raise Conflict(
                f"{field_name} {ref!r}: the id prefix fits {len(rows)} members; type more of it"
            )
    hits = _search_hits(conn, text)
    if len(hits) == 1:
        return get_row(conn, hits[0])
    if len(hits) > 1:
        shown = ", ".join(
            r["handle"]
            for r in conn.execute(
                f"SELECT handle FROM members WHERE id IN ({','.join('?' * min(len(hits), 5))})",
                hits[:5],
            )
        )
        raise Conflict(f"{field_name} {ref!r} fits {len(hits)} members ({shown} ...); use a handle")
    raise NotFound(f"{field_name} {ref!r}: no member with that handle, id or name")


def _search_hits(conn: sqlite3.Connection, text: str) -> list[str]:
    from zppcli import search

    return search.member_ids_matching(conn, text, limit=6)


def email_owner(conn: sqlite3.Connection, address: str) -> sqlite3.Row | None:
    return conn.execute(
        """SELECT m.id, m.handle FROM contacts c JOIN members m ON m.id = c.member_id
            WHERE c.kind = 'email' AND c.value = ? AND c.deleted = 0 AND m.deleted = 0""",
        (address.lower(),),
    ).fetchone()


def _unique_handle(conn: sqlite3.Connection, base: str) -> str:
    taken = {
        r[0]
        for r in conn.execute(
            "SELECT handle FROM members WHERE deleted = 0 AND (handle = ? OR handle LIKE ?)",
            (base, base + "-%"),
        )
    }
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# -- writes --------------------------------------------------------------------
def add(tx: Tx, full_name: str | None, data: MemberInput) -> str:
    """Create a member; returns the handle."""
    values = check_values(data.values)
    if full_name is not None:
        name = names.split_name(full_name)
        values = {
            "given_name": name.given,
            "particle": name.particle,
            "family_name": name.family,
        } | values
    if not values.get("given_name") and not values.get("family_name"):
        raise InvalidInput("name", full_name or "", "a member needs a name")
    name = names.Name(
        values.get("given_name", ""), values.get("particle", ""), values.get("family_name", "")
    )
    if "handle" in values:
        if find_by_handle(tx.conn, values["handle"]) is not None:
            raise Conflict(f"handle {values['handle']!r} is taken; choose another with --handle")
    else:
        values["handle"] = _unique_handle(tx.conn, names.handle_base(name))
    member_id = tx.insert("members", values)
    _apply_children(tx, member_id, data)
    return values["handle"]


def edit(tx: Tx, member_id: str, data: MemberInput) -> dict[str, Any]:
    """Apply changes; returns {field: new value} of the member row's changes."""
    values = check_values(data.values)
    if "handle" in values:
        other = find_by_handle(tx.conn, values["handle"])
        if other is not None and other["id"] != member_id:
            raise Conflict(f"handle {values['handle']!r} is taken by another member")
    changed = tx.update("members", member_id, values) if values else {}
    row = get_row(tx.conn, member_id)
    if not row["given_name"] and not row["family_name"]:
        raise InvalidInput("name", "", "a member needs a name")
    _apply_children(tx, member_id, data)
    return changed


def _apply_children(tx: Tx, member_id: str, data: MemberInput) -> None:
    for kind, replace, add_items, remove_items in (
        ("email", data.emails, data.add_emails, data.remove_emails),
        ("phone", data.phones, data.add_phones, data.remove_phones),
    ):
        if replace is not None:
            keep = {contact_id(member_id, kind, v) for _, v in replace}
            for row in live_contacts(tx.conn, member_id, kind):
                if row["id"] not in keep:
                    tx.delete("contacts", row["id"])
            start = 0
        else:
            start = len(live_contacts(tx.conn, member_id, kind))
        for value in remove_items:
            _remove_contact(tx, member_id, kind, value)
        for position, (ctype, value) in enumerate([*(replace or []), *add_items], start=start):
            _save_contact(tx, member_id, kind, ctype, value, position)
    if data.skills is not None:
        keep = {skills.resolve(tx.conn, s.ref).id for s in data.skills}
        for row in tx.conn.execute(
            "SELECT id, skill_id FROM member_skills WHERE member_id = ? AND deleted = 0",
            (member_id,),
        ).fetchall():
            if row["skill_id"] not in keep:
                tx.delete("member_skills", row["id"])
    for spec in [*(data.skills or []), *data.set_skills]:
        skills.set_member_skill(tx, member_id, spec)
    for ref in data.remove_skills:
        skills.remove_member_skill(tx, member_id, ref)


def contact_id(member_id: str, kind: str, value: str) -> str:
    return skills.derived_id("contact", member_id, kind, value)


def live_contacts(conn: sqlite3.Connection, member_id: str, kind: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM contacts WHERE member_id = ? AND kind = ? AND deleted = 0 ORDER BY position, value",
        (member_id, kind),
    ).fetchall()


def _save_contact(tx: Tx, member_id: str, kind: str, ctype: str, value: str, position: int) -> None:
    if kind == "email":
        owner = email_owner(tx.conn, value)
        if owner is not None and owner["id"] != member_id:
            raise Conflict(f"email {value!r} already belongs to member {owner['handle']!r}")
    row_id = contact_id(member_id, kind, value)
    current = tx.conn.execute("SELECT deleted FROM contacts WHERE id = ?", (row_id,)).fetchone()
    values = {"member_id": member_id, "kind": kind, "type": ctype, "value": value}
    if current is None or current["deleted"]:
        values["position"] = position
    tx.upsert("contacts", row_id, values)


def _remove_contact(tx: Tx, member_id: str, kind: str, value: str) -> None:
    normalised = (
        contacts.normalize_email(value) if kind == "email" else contacts.normalize_phone(value)[0]
    )
    if not tx.delete("contacts", contact_id(member_id, kind, normalised)):
        raise NotFound(f"{kind} {value!r}: this member does not have it")


def remove(tx: Tx, member_id: str) -> None:
    """Tombstone a member and everything that hangs off it."""
    for table in ("contacts", "member_skills", "collective_members", "availability"):
        tx.delete_where(table, "member_id = ?", (member_id,))
    tx.delete("members", member_id)


# -- reading -------------------------------------------------------------------
def records(conn: sqlite3.Connection, member_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Full member records, sorted Dutch-style (family name without particle)."""
    if member_ids is None:
        rows = conn.execute("SELECT * FROM members WHERE deleted = 0").fetchall()
    else:
        rows = []
        for i in range(0, len(member_ids), 500):
            chunk = member_ids[i : i + 500]
            rows += conn.execute(
                f"SELECT * FROM members WHERE deleted = 0 AND id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
    ids = [r["id"] for r in rows]
    contact_rows: dict[str, dict[str, list]] = {i: {"email": [], "phone": []} for i in ids}
    collective_rows: dict[str, list] = {i: [] for i in ids}
    avail_rows: dict[str, list] = {i: [] for i in ids}
    skill_rows: dict[str, list] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for c in conn.execute(
            f"SELECT member_id, kind, type, value, private FROM contacts"
            f" WHERE deleted = 0 AND member_id IN ({marks}) ORDER BY position, value",
            chunk,
        ):
            contact_rows[c["member_id"]][c["kind"]].append(
                {"type": c["type"], "value": c["value"], "private": bool(c["private"])}
            )
        for c in conn.execute(
            f"""SELECT cm.member_id, c.handle, c.name, cm.role FROM collective_members cm
                  JOIN collectives c ON c.id = cm.collective_id AND c.deleted = 0
                 WHERE cm.deleted = 0 AND cm.member_id IN ({marks}) ORDER BY c.name""",
            chunk,
        ):
            collective_rows[c["member_id"]].append(
                {"handle": c["handle"], "name": c["name"], "role": c["role"]}
            )
        for a in conn.execute(
            f"""SELECT id, member_id, start_date, end_date, status, hours_per_week, note
                  FROM availability WHERE deleted = 0 AND member_id IN ({marks})
                 ORDER BY start_date, end_date""",
            chunk,
        ):
            avail_rows[a["member_id"]].append(
                {
                    "id": a["id"],
                    "from": a["start_date"],
                    "to": a["end_date"],
                    "status": a["status"],
                    "hours_per_week": a["hours_per_week"],
                    "note": a["note"],
                }
            )
        skill_rows.update(skills.member_skills(conn, chunk))
    out = [
        {
            "id": r["id"],
            "handle": r["handle"],
            "name": r["display_name"],
            "given_name": r["given_name"],
            "particle": r["particle"],
            "family_name": r["family_name"],
            "sort_key": r["sort_key"],
            "emails": contact_rows[r["id"]]["email"],
            "phones": contact_rows[r["id"]]["phone"],
            "city": r["city"],
            "region": r["region"],
            "website": r["website"],
            "links": json.loads(r["links"]),
            "bio": r["bio"],
            "languages": json.loads(r["languages"]),
            "day_rate": r["day_rate"],
            "tags": json.loads(r["tags"]),
            "note": r["note"],
            "visibility": r["visibility"],
            "skills": skill_rows.get(r["id"], []),
            "collectives": collective_rows[r["id"]],
            "availability": avail_rows[r["id"]],
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]
    out.sort(
        key=lambda m: (
            *names.dutch_sort_key(m["given_name"], m["particle"], m["family_name"]),
            m["id"],
        )
    )
    return out


def record(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    found = records(conn, [member_id])
    if not found:
        raise NotFound(f"member {member_id!r} not found")
    return found[0]


def summary(rec: dict[str, Any]) -> dict[str, Any]:
    """The short row for listings and search results."""
    return {
        "handle": rec["handle"],
        "name": rec["name"],
        "city": rec["city"],
        "skills": ", ".join(
            f"{s['skill']} ({s['level']})"
            for s in rec["skills"]
            if not s["wants_to_learn"] or s["level"] != "learning"
        ),
        "email": rec["emails"][0]["value"] if rec["emails"] else "",
        "phone": rec["phones"][0]["value"] if rec["phones"] else "",
        "id": rec["id"],
    }


def sort_records(recs: list[dict[str, Any]], by: str = "name") -> list[dict[str, Any]]:
    if by == "city":
        return sorted(
            recs,
            key=lambda m: (
                fold(m["city"]) or "\uffff",
                *names.dutch_sort_key(m["given_name"], m["particle"], m["family_name"]),
            ),
        )
    return recs


def card(rec: dict[str, Any]) -> dict[str, Any]:
    """The record as a person reads it in `zpp member show`."""
    from zppcli.contacts import format_phone

    def typed(items, show=lambda v: v):
        return [
            f"{show(i['value'])} ({i['type']}{', private' if i['private'] else ''})" for i in items
        ]

    has = [s for s in rec["skills"] if not (s["wants_to_learn"] and s["level"] == "learning")]
    shared = {
        "public": "shared outside the directory (exports, announcements)",
        "network": "shared within the network; left out of exports unless --include-private",
        "private": "in this directory only: never announced or in mutt output; left out of"
        " exports unless --include-private",
    }[rec["visibility"]]
    return {
        "name": rec["name"],
        "handle": rec["handle"],
        "sorted as": rec["sort_key"],
        "email": typed(rec["emails"]),
        "phone": typed(rec["phones"], format_phone),
        "city": ", ".join(x for x in (rec["city"], rec["region"]) if x),
        "skills": [
            f"{s['skill']} ({s['level']}{', mentor' if s['can_mentor'] else ''})" for s in has
        ],
        "wants to learn": [s["skill"] for s in rec["skills"] if s["wants_to_learn"]],
        "collectives": [f"{c['name']} ({c['role']})" for c in rec["collectives"]],
        "availability": [
            f"{a['from']}..{a['to']} {a['status']}"
            + (f" {a['hours_per_week']:g}h/week" if a["hours_per_week"] is not None else "")
            + (f" ({a['note']})" if a["note"] else "")
            for a in rec["availability"]
        ]
        or "unknown",
        "languages": rec["languages"],
        "day rate": f"€{rec['day_rate']}" if rec["day_rate"] is not None else "",
        "tags": rec["tags"],
        "website": rec["website"],
        "links": rec["links"],
        "bio": rec["bio"],
        "note": rec["note"],
        "visibility": f"{rec['visibility']}: {shared}",
        "id": rec["id"],
    }
