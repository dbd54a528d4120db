"""Member records -> vCard 3.0 (RFC 2426) or 4.0 (RFC 6350) text.

Pure and fast: no vobject here (it writes ~1,000 cards/s; this writes tens of
thousands), no I/O. `cards()` is a generator, so an export of 100,000 members
never holds the file in memory.

Encoding rules that keep a card intact whatever a member typed:
- every value goes through `text()`: CR, LF and CRLF become the two characters
  `\\n`; backslash, comma and semicolon are escaped; other control characters
  are dropped (address books choke on them). So no value can end a line, start
  a property or add a list item or component;
- parameter values (SORT-AS) are quoted, with RFC 6868 caret encoding;
- lines end in CRLF and are folded at 75 octets, never inside a UTF-8 character.

Private contacts (private=1) are never written. Which members are written is
the exporter's business, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

VERSIONS = ("3.0", "4.0")
PRODID = "-//Hilversum Media Valley//zpp//EN"
CRLF = "\r\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")

EMAIL_TYPES = {  # zpp type -> (3.0 TYPE values, 4.0 TYPE value)
    "work": ("INTERNET,WORK", "work"),
    "home": ("INTERNET,HOME", "home"),
    "other": ("INTERNET", ""),
}
PHONE_TYPES = {
    "mobile": ("CELL,VOICE", "cell"),
    "work": ("WORK,VOICE", "work"),
    "home": ("HOME,VOICE", "home"),
    "other": ("VOICE", "voice"),
}


_PLAIN = re.compile(r"[\\,;\x00-\x1f\x7f]")  # anything text() must change
_DIRTY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything clean() must change (incl. CR)


def clean(value: Any) -> str:
    """A value as it will read back: newlines normalised to LF, control characters gone."""
    s = value if type(value) is str else ("" if value is None else str(value))
    if _DIRTY.search(s) is None:
        return s
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", s)


def text(value: Any) -> str:
    """A TEXT value, escaped (RFC 6350 3.4 / RFC 2426 4)."""
    s = value if type(value) is str else ("" if value is None else str(value))
    if _PLAIN.search(s) is None:  # the common case: nothing to escape or drop
        return s
    s = clean(s)
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def param(value: str) -> str:
    """A quoted parameter value; RFC 6868 carets for ^, newline and double quote."""
    s = clean(value).replace("^", "^^").replace("\n", "^n").replace('"', "^'")
    return f'"{s}"'


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    if len(line) <= 75 and line.isascii():
        return line
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while len(raw) - start > limit:
        end = start + limit
        while raw[end] & 0xC0 == 0x80:  # a continuation byte: step back to the start
            end -= 1
        parts.append(raw[start:end].decode("utf-8"))
        start, limit = end, 74  # the leading space of a continuation line is one octet
    parts.append(raw[start:].decode("utf-8"))
    return "\r\n ".join(parts)


def _rev(updated_at: str, version: str) -> str:
    stamp = updated_at[:19]  # 2026-11-26T08:18:17 (UTC, from the store)
    if version == "3.0":
        return stamp + "Z"
    return stamp.replace("-", "").replace(":", "") + "Z"


def categories(rec: dict[str, Any]) -> list[str]:
    """Skills the member has (not mere wishes to learn), then tags; no duplicates."""
    skills = ((s["skill"], s.get("level"), s.get("wants_to_learn")) for s in rec.get("skills", ()))
    return merged_categories(skills, rec.get("tags", ()))


def merged_categories(skills: Iterable[tuple[str, Any, Any]], tags: Iterable[str]) -> list[str]:
    """categories() from (name, level, wants_to_learn) of each skill, in order, and the tags."""
    out: dict[str, str] = {}
    for name, level, wants in skills:
        if not (wants and level == "learning"):
            key = _key(name)
            if key and key not in out:
                out[key] = name
    for tag in tags:
        key = _key(tag)
        if key and key not in out:
            out[key] = tag
    return list(out.values())


_KEYS: dict[str, str] = {}  # category -> clean(category).casefold(): skill names and tags recur


def _key(value: Any) -> str:
    if type(value) is not str:
        return clean(value).casefold()
    key = _KEYS.get(value)
    if key is None:
        key = clean(value).casefold()
        if len(_KEYS) < 4096:
            _KEYS[value] = key
    return key


def card(rec: dict[str, Any], version: str = "3.0") -> str:
    """One member record as one vCard (CRLF line ends, folded)."""
    if version not in VERSIONS:
        raise ValueError(f"vCard version {version!r}")
    return compose(
        version,
        rec["id"],
        rec.get("name"),
        rec.get("given_name", ""),
        rec.get("particle", ""),
        rec.get("family_name", ""),
        rec.get("handle", ""),
        [(e.get("type"), e["value"]) for e in rec.get("emails", []) if not e.get("private")],
        [(p.get("type"), p["value"]) for p in rec.get("phones", []) if not p.get("private")],
        rec.get("city"),
        rec.get("region"),
        [rec.get("website"), *rec.get("links", [])],
        [c.get("name") for c in rec.get("collectives", [])],
        categories(rec),
        rec.get("languages", []),
        rec.get("bio"),
        rec.get("updated_at"),
    )


def compose(
    version: str,
    uid: str,
    name: str | None,
    given: str,
    particle: str,
    family: str,
    handle: str,
    emails: Iterable[tuple[str, str]],
    phones: Iterable[tuple[str, str]],
    city: str | None,
    region: str | None,
    urls: Iterable[str | None],
    orgs: Iterable[str | None],
    cats: list[str],
    languages: Iterable[str],
    bio: str | None,
    updated_at: str | None,
) -> str:
    """card(), from the values it writes: (type, value) of the e-mail addresses and
    phones to write (private ones already left out), the web addresses, the
    collectives' names and the categories. The exporter calls it with rows it read."""
    if version not in VERSIONS:
        raise ValueError(f"vCard version {version!r}")
    v3 = version == "3.0"
    given, particle, family = clean(given), clean(particle), clean(family)
    full_family = f"{particle} {family}" if particle and family else (particle or family)
    fn = (
        name
        or (f"{given} {full_family}" if given and full_family else (given or full_family))
        or handle
    )
    # Fixed lines skip fold(): they are short by construction.
    head = (
        f"BEGIN:VCARD{CRLF}VERSION:{version}{CRLF}PRODID:{PRODID}{CRLF}"
        + fold("UID:urn:uuid:" + text(uid))
        + CRLF
        + ("" if v3 else f"KIND:individual{CRLF}")
    )
    lines = ["FN:" + text(fn)]
    sort_as = family or given
    n_value = f"{text(full_family)};{text(given)};;;"
    if v3:
        lines.append("N:" + n_value)
        if sort_as:
            lines.append("SORT-STRING:" + text(sort_as))
    else:
        sort_param = f"{family},{given}" if family and given else sort_as
        lines.append((f"N;SORT-AS={param(sort_param)}:" if sort_param else "N:") + n_value)
    if handle:
        lines.append("X-ZPP-HANDLE:" + text(handle))
    first = True
    for kind, value in emails:
        t3, t4 = EMAIL_TYPES.get(kind, EMAIL_TYPES["other"])
        if v3:
            lines.append(f"EMAIL;TYPE={t3}{',PREF' if first else ''}:{text(value)}")
        else:
            params = (f";TYPE={t4}" if t4 else "") + (";PREF=1" if first else "")
            lines.append(f"EMAIL{params}:{text(value)}")
        first = False
    first = True
    for kind, value in phones:
        t3, t4 = PHONE_TYPES.get(kind, PHONE_TYPES["other"])
        if v3:
            lines.append(f"TEL;TYPE={t3}{',PREF' if first else ''}:{text(value)}")
        else:
            pref = ";PREF=1" if first else ""
            if _E164.match(value):
                lines.append(f"TEL;VALUE=uri;TYPE={t4}{pref}:tel:{value}")
            else:
                lines.append(f"TEL;TYPE={t4}{pref}:{text(value)}")
        first = False
    city, region = text(city), text(region)
    if city or region:
        lines.append(f"ADR;TYPE={'WORK' if v3 else 'work'}:;;;{city};{region};;")
    for url in urls:
        url = text(url)
        if url:
            lines.append("URL:" + url)
    for org in orgs:
        org = text(org)
        if org:
            lines.append("ORG:" + org)
    if cats:
        lines.append("CATEGORIES:" + ",".join(map(text, cats)))
    if not v3:
        for i, lang in enumerate(languages, start=1):
            lang = text(lang)
            if lang:
                lines.append(f"LANG;PREF={i}:{lang}")
    bio = text(bio)
    if bio:
        lines.append("NOTE:" + bio)
    if updated_at:
        tail = f"REV:{_rev(updated_at, version)}{CRLF}END:VCARD{CRLF}"
    else:
        tail = f"END:VCARD{CRLF}"
    # fold()'s own first test, inline: most lines are short and ASCII
    lines = [ln if len(ln) <= 75 and ln.isascii() else fold(ln) for ln in lines]
    return head + CRLF.join(lines) + CRLF + tail
