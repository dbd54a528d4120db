"""Imports: vCard (2.1, 3.0, 4.0; a file or a vdir), CSV (the columns `zpp export
csv` writes) and JSON (the directory form `zpp export json` writes).

Every record becomes an `Incoming`; `run` applies them in ONE transaction:
- a member is matched by UID (its zpp id), then by any of its e-mail addresses;
  otherwise it is added (keeping the UID as its id, so re-imports match);
- any malformed record aborts the whole import with file, line and reason, and
  the db is unchanged; with skip_invalid it is left out and listed instead;
- a dry run does all the work, reports it, and rolls back.

JSON and CSV are zpp's own forms and set what they carry (skill levels, tags);
a vCard is someone's address book: it fills in and adds (e-mail, phones, skills
named in CATEGORIES, collectives named in ORG) but never removes or downgrades.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from zppcli import contacts, members, names, skills
from zppcli.errors import InvalidInput, ZppError
from zppcli.store import Tx, new_id
from zppcli.textfold import fold, slug

Progress = Callable[[int], None] | None


class BadRecord(ZppError):
    """A record that cannot be imported: names the file, line and reason."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason
        super().__init__(f"{where}: {reason}")


class Removed(ZppError):
    """The member was removed (or forgotten, AVG/GDPR) here: an import never brings it back."""

    def __init__(self, member_id: str):
        super().__init__(
            f"member {member_id} was removed from this directory (or forgotten); not brought back"
        )


@dataclass
class Incoming:
    where: str  # "file:line"
    label: str  # a name for reports
    id: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # members.SCALARS
    emails: list[tuple[str, str, bool]] = field(default_factory=list)  # (type, value, private)
    phones: list[tuple[str, str, bool]] = field(default_factory=list)
    skills: list[skills.SkillSpec] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # vCard: a known skill, else a tag
    collectives: list[tuple[str, str]] = field(default_factory=list)  # (handle or name, role)
    availability: list[dict] | None = None
    collective_names: dict[str, str] = field(default_factory=dict)  # handle -> name, to make one
    authoritative: bool = False  # zpp's own forms: set, do not merely add


@dataclass
class Malformed:
    where: str
    label: str
    reason: str


@dataclass
class Report:
    rows: list[dict[str, str]] = field(default_factory=list)  # action, name, handle, where, reason
    keep_all: bool = True  # False: keep only the skipped rows (100k imports stay small)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("added", "updated", "unchanged", "skipped"), 0)
    )

    def note(
        self, action: str, name: str, handle: str = "", where: str = "", reason: str = ""
    ) -> None:
        self.counts[action] += 1
        if not self.keep_all and action != "skipped":
            return
        self.rows.append(
            {"action": action, "name": name, "handle": handle, "where": where, "reason": reason}
        )

    def summary(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in self.counts.items())


# -- reading files -----------------------------------------------------------------
def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value: str) -> str | None:
    if value.__class__ is str and _CANONICAL_UUID.fullmatch(value):
        return value  # what str(uuid.UUID(value)) gives back, without making one
    text = str(value or "").strip()
    if text.lower().startswith("urn:uuid:"):
        text = text[9:]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def split_family(family_full: str) -> tuple[str, str]:
    """'van den Bürg' -> ('van den', 'Bürg'): leading particle words, then the name."""
    words = family_full.split()
    i = 0
    while i < len(words) - 1 and words[i].lower() in names.PARTICLE_WORDS:
        i += 1
    return " ".join(words[:i]), " ".join(words[i:])


def _lines(text: str) -> list[str]:
    """Lines with their ends, split at LF only, as vobject reads them (str.splitlines
    would also split at U+2028, NEL and friends inside a value)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def vcard_chunks(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each top-level BEGIN:VCARD ... END:VCARD."""
    depth, start, buf = 0, 0, []
    for n, line in enumerate(_lines(text), start=1):
        key = line.strip().upper()
        if key == "BEGIN:VCARD":
            if depth == 0:
                start, buf = n, []
            depth += 1
        if depth:
            buf.append(line)
        if key == "END:VCARD" and depth:
            depth -= 1
            if depth == 0:
                yield start, "".join(buf)
    if depth:
        yield start, "".join(buf)  # unterminated: the parser says so


_TEXT_21 = {
    "FN",
    "NOTE",
    "TITLE",
    "ROLE",
    "EMAIL",
    "TEL",
    "URL",
    "LABEL",
    "NICKNAME",
    "X-ZPP-HANDLE",
}
_VERSION_21 = re.compile(r"^VERSION:\s*2\.1\s*$", re.IGNORECASE | re.MULTILINE)


def escape_21(chunk: str) -> str:
    """vCard 2.1 does not escape commas in text, but vobject reads text the 3.0 way
    (a comma ends the value): escape them in text properties before it parses."""
    if not _VERSION_21.search(chunk):
        return chunk
    out, current, qp, soft = [], "", False, False
    for line in _lines(chunk):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        if soft or line[:1] in (" ", "\t"):
            prefix, value = "", body
        else:
            head, sep, value = body.partition(":")
            current = head.split(";")[0].split(".")[-1].upper() if sep else ""
            qp = "QUOTED-PRINTABLE" in head.upper()
            prefix = head + sep
        soft = qp and value.endswith("=")  # a quoted-printable soft line break
        if current in _TEXT_21:
            value = value.replace(",", "\\,")
        out.append(prefix + value + end)
    return "".join(out)


def _types(prop) -> set[str]:
    out = {s.lower() for s in prop.singletonparams}
    for value in prop.params.get("TYPE", []):
        out |= {t.strip().lower() for t in value.split(",")}
    return out


def _pref(prop) -> bool:
    return "pref" in _types(prop) or bool(prop.params.get("PREF"))


def card_to_incoming(card, where: str) -> Incoming:
    c = card.contents
    fn = _one_line(c["fn"][0].value) if "fn" in c else ""
    item = Incoming(where=where, label=fn)
    if "uid" in c:
        item.id = _uuid(c["uid"][0].value)
    given = particle = family = ""
    if "n" in c:
        n = c["n"][0].value

        def part(v):
            return _one_line(" ".join(v) if isinstance(v, list) else v)

        given = " ".join(p for p in (part(n.given), part(n.additional)) if p)
        particle, family = split_family(part(n.family))
    if not given and not family and fn:
        split = names.split_name(fn)
        given, particle, family = split.given, split.particle, split.family
    item.values.update(given_name=given, particle=particle, family_name=family)
    item.label = fn or " ".join(p for p in (given, particle, family) if p)
    if "x-zpp-handle" in c:
        item.values["handle"] = c["x-zpp-handle"][0].value.strip()
    for kind, key in (("email", "email"), ("phone", "tel")):
        props = sorted(c.get(key, []), key=lambda p: not _pref(p))  # preferred first
        for prop in props:
            value = str(prop.value).strip()
            types = _types(prop)
            if kind == "email":
                ctype = "work" if "work" in types else "home" if "home" in types else "other"
                item.emails.append((ctype, value, False))
            else:
                value = value[4:] if value.lower().startswith("tel:") else value
                ctype = (
                    "mobile"
                    if "cell" in types
                    else "work"
                    if "work" in types
                    else "home"
                    if "home" in types
                    else "other"
                )
                item.phones.append((ctype, value, False))
    for adr in c.get("adr", []):
        city, region = _one_line(adr.value.city), _one_line(adr.value.region)
        if city or region:
            item.values.update(city=city, region=region)
            break
    urls = [str(u.value).strip() for u in c.get("url", []) if str(u.value).strip()]
    if urls:
        item.values["website"], item.values["links"] = urls[0], urls[1:]
    for org in c.get("org", []):
        value = org.value
        name = _one_line(value[0] if isinstance(value, list) and value else value)
        if name:
            item.collectives.append((name, "member"))
    for cat in c.get("categories", []):
        values = cat.value if isinstance(cat.value, list) else [cat.value]
        item.categories += [_one_line(v) for v in values if _one_line(v)]
    if "note" in c:
        item.values["bio"] = str(c["note"][0].value).replace("\r\n", "\n").strip()
    langs = [str(p.value).strip() for p in c.get("lang", []) if str(p.value).strip()]
    if langs:
        item.values["languages"] = langs
    return item


def read_vcards(path: Path) -> Iterator[Incoming | Malformed]:
    """Cards from a .vcf file, or from every .vcf in a folder (a vdir)."""
    import vobject

    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() == ".vcf") if path.is_dir() else [path]
    )
    for file in files:
        text = _read_text(file)
        for line, chunk in vcard_chunks(text):
            where = f"{file}:{line}"
            try:
                card = vobject.readOne(escape_21(chunk), allowQP=True)
                if card.name != "VCARD":
                    raise ValueError("not a vCard")
                yield card_to_incoming(card, where)
            except ZppError as e:
                yield Malformed(where, "", str(e))
            except Exception as e:  # vobject raises many kinds on bad input
                reason = getattr(e, "msg", None) or str(e) or type(e).__name__
                yield Malformed(where, "", f"not a valid vCard: {reason}")


def _read_text(path: Path) -> str:
    return _decoded(path)[0]


def _decoded(path: Path) -> tuple[str, str]:
    """(the file's text, the encoding it was read with)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput("file", str(path), e.strerror or "cannot be read") from None
    for encoding in ("utf-8-sig", "cp1252"):  # old phones and Outlook write Windows-1252
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def _unguard(cell: str) -> str:
    """Undo the export's formula guard: "'=SUM(1)" -> "=SUM(1)"."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def _list(cell: str) -> list[str]:
    return [p.strip() for p in cell.split(";") if p.strip()]


def read_csv(path: Path) -> Iterator[Incoming | Malformed]:
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as e:
        raise BadRecord(f"{path}:1", f"not valid CSV: {e}") from None
    if not fieldnames or not ({"name", "given_name", "family_name"} & set(fieldnames)):
        yield Malformed(f"{path}:1", "", "no header with a name, given_name or family_name column")
        return
    previous = reader.line_num  # the header's last line
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # the rest of the file cannot be read reliably
            raise BadRecord(f"{path}:{previous + 1}", f"not valid CSV: {e}") from None
        where, previous = f"{path}:{previous + 1}", reader.line_num
        row = {k.strip().lower(): _unguard(v or "") for k, v in row.items() if isinstance(k, str)}
        try:
            yield _csv_incoming(row, where)
        except ZppError as e:
            yield Malformed(where, row.get("name", ""), str(e))


def _csv_incoming(row: dict[str, str], where: str) -> Incoming:
    item = Incoming(
        where=where, label=row.get("name", ""), id=_uuid(row.get("id", "")), authoritative=True
    )
    if row.get("given_name") or row.get("family_name"):
        item.values.update(
            given_name=row.get("given_name", ""),
            particle=row.get("particle", ""),
            family_name=row.get("family_name", ""),
        )
    elif row.get("name"):
        n = names.split_name(row["name"])
        item.values.update(given_name=n.given, particle=n.particle, family_name=n.family)
    item.label = item.label or " ".join(v for v in item.values.values() if v)
    for key in ("handle", "city", "region", "website", "bio", "visibility", "day_rate", "note"):
        if row.get(key):
            item.values[key] = row[key]
    for key in ("links", "languages", "tags"):
        if key in row:
            item.values[key] = _list(row[key])
    for cell, target, types in (
        ("emails", item.emails, contacts.EMAIL_TYPES),
        ("email", item.emails, contacts.EMAIL_TYPES),
        ("phones", item.phones, contacts.PHONE_TYPES),
        ("phone", item.phones, contacts.PHONE_TYPES),
    ):
        for entry in _list(row.get(cell, "")):
            ctype, value = contacts.split_typed(entry, types)
            target.append((ctype or "", value, False))
    item.skills = skills.specs(_list(row.get("skills", "")), _list(row.get("learning", "")))
    for entry in _list(row.get("collectives", "")):
        ref, _, role = entry.partition(":")
        item.collectives.append((ref.strip(), role.strip() or "member"))
    return item


@dataclass
class Directory:
    skills: list[dict]
    collectives: list[dict]
    members: Iterator[Incoming | Malformed]
    total: int


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def read_json(path: Path) -> Directory:
    """A directory file. Members are parsed one at a time when the file has its
    skills and collectives before its members (as `zpp export json` writes it):
    100,000 members never sit in memory as objects. Other layouts load whole."""
    text, encoding = _decoded(path)
    try:
        streamed = _stream_header(text)
        if streamed is None:
            return _read_json_whole(path, text)
        header, start = streamed
    except json.JSONDecodeError as e:
        raise BadRecord(f"{path}:{e.lineno}", f"not valid JSON: {e.msg}") from None
    _check_format(path, header)
    total = text.count("\n    {") or None  # members as `zpp export json` indents them
    return Directory(
        header.get("skills") or [],
        header.get("collectives") or [],
        JsonMembers(path, text, start, encoding),
        total,
    )


class JsonMembers:
    """The members of a directory file that lists its catalogue first, as records;
    bulkimport reads the same file in worker processes."""

    def __init__(self, path: Path, text: str, start: int, encoding: str = "utf-8-sig"):
        self.path, self._text, self.start, self.encoding = path, text, start, encoding

    @property
    def text(self) -> str:
        if self._text is None:  # released: read again
            self._text = _read_text(self.path)
        return self._text

    def release(self) -> None:
        """Let go of the text while worker processes read the file (100 MB or more)."""
        self._text = None

    def __iter__(self) -> Iterator[Incoming | Malformed]:
        reader = MemberReader(self.path, self.encoding, self.start)
        try:
            for rec, lineno, _, _ in reader:
                yield _member_item(rec, f"{self.path}:{lineno}")
        finally:
            reader.close()


class MemberReader:
    """The members array of a directory file, from just inside it: iterating gives
    (member object, its line, its start and end offset in the text); after the
    array, a check that the rest of the file is valid JSON. A JSON error is a
    BadRecord naming the line. Reads the file `chunk` bytes at a time: a worker
    process never holds a 100 MB text (test_bulkimport compares it with a reader
    of the whole text on every chunk size).

    at() and seek() let import workers share the parsing: one parses a segment of
    records, tells the next where the segment after it starts, and that one goes
    there without parsing what lies between."""

    def __init__(self, path: Path, encoding: str, start: int, chunk: int = 1 << 22):
        import codecs

        self.path, self.chunk = path, chunk
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._file = open(path, "rb")  # noqa: SIM115 (closed at the end, or by close())
        self._buf, self._base, self._base_line = "", 0, 1  # buf is text[base:]
        self._counted, self._line = 0, 1  # the line at offset counted
        self._eof = False
        self._pos = start  # where the next record starts, once _after is passed
        self._after: int | None = None  # the end of the record last read, not yet passed
        self._started = self._done = False  # _done: the array is read, the rest checked

    def __iter__(self) -> MemberReader:
        return self

    def __next__(self) -> tuple[Any, int, int, int]:
        if self.at() is None:
            raise StopIteration
        buf, pos = self._buf, self._pos
        while True:
            try:
                rec, end = _DECODER.raw_decode(buf, pos - self._base)
            except json.JSONDecodeError as e:
                if self._more():
                    buf = self._buf
                    continue
                raise self._fail(e) from None
            if end < len(buf) or not self._more():  # a value up to the end may go on
                break
            buf = self._buf
        base = self._base
        self._line += buf.count("\n", self._counted - base, pos - base)
        self._counted = pos
        self._after = base + end
        return rec, self._line, pos, base + end

    def at(self) -> tuple[int, int] | None:
        """Where the next record starts and its line, or None after the last one."""
        if not self._started:  # (a BadRecord comes from reading, not from making one)
            self._started = True
            while self._base + len(self._buf) <= self._pos and self._more():
                pass
            self._pos = self._skip(self._pos)
            if self._char(self._pos) == "]":
                self._end(self._pos + 1)
        elif self._after is not None:  # past the delimiter after the record last read
            pos = self._skip(self._after)
            self._after = None
            if self._char(pos) == ",":
                self._pos = self._skip(pos + 1)
                if self._pos - self._base > self.chunk:  # let go of what is read
                    self.seek(self._pos, self._line_at(self._pos))
            elif self._char(pos) == "]":
                self._end(pos + 1)
            else:
                e = json.JSONDecodeError("Expecting ',' delimiter", self._buf, pos - self._base)
                raise self._fail(e)
        if self._done:
            return None
        return self._pos, self._line_at(self._pos)

    def seek(self, pos: int, line: int) -> None:
        """Go on at offset pos (ahead), where at() said a record starts, on that line."""
        while self._base + len(self._buf) < pos:
            self._base += len(self._buf)
            self._buf = ""
            if not self._more():
                break
        self._buf = self._buf[pos - self._base :]
        self._base = self._counted = self._pos = pos
        self._base_line = self._line = line
        self._after = None

    def close(self) -> None:
        self._file.close()

    def _line_at(self, pos: int) -> int:
        return self._line + self._buf.count("\n", self._counted - self._base, pos - self._base)

    def _more(self) -> bool:
        if self._eof:
            return False
        data = self._file.read(self.chunk)
        self._eof = not data
        self._buf += self._decoder.decode(data, final=self._eof)
        return True

    def _skip(self, at: int) -> int:  # past JSON whitespace from offset at
        while True:
            end = self._base + _WS.match(self._buf, at - self._base).end()
            if end - self._base < len(self._buf) or not self._more():
                return end

    def _char(self, at: int) -> str:
        while at - self._base >= len(self._buf) and self._more():
            pass
        return self._buf[at - self._base : at - self._base + 1]

    def _fail(self, e: json.JSONDecodeError) -> BadRecord:
        self.close()
        return BadRecord(
            f"{self.path}:{self._base_line + e.lineno - 1}", f"not valid JSON: {e.msg}"
        )

    def _end(self, pos: int) -> None:
        """The array ends before pos: what follows it must still be valid JSON."""
        self._done = True
        while self._more():
            pass
        self.close()
        rest = self._buf[pos - self._base :].strip()
        if rest != "}":  # more keys after the members
            try:
                if not rest.startswith(","):
                    raise json.JSONDecodeError(
                        "Expecting ',' delimiter", self._buf, pos - self._base
                    )
                json.loads("{" + rest[1:])
            except json.JSONDecodeError as e:
                if e.doc is self._buf:
                    raise self._fail(e) from None
                raise BadRecord(f"{self.path}:{e.lineno}", f"not valid JSON: {e.msg}") from None
        self._buf = ""


def _stream_header(text: str) -> tuple[dict, int] | None:
    """({key: value} before "members", where the members array starts), or None
    when the catalogue does not come first."""
    pos = _WS.match(text, 0).end()
    if text[pos : pos + 1] != "{":
        return None
    pos, header = pos + 1, {}
    while True:
        pos = _WS.match(text, pos).end()
        if text[pos : pos + 1] != '"':
            return None
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()
        if text[pos : pos + 1] != ":":
            return None
        pos = _WS.match(text, pos + 1).end()
        if key == "members":
            if "skills" not in header or "collectives" not in header or text[pos : pos + 1] != "[":
                return None
            return header, pos + 1
        header[key], pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()
        if text[pos : pos + 1] == ",":
            pos += 1


def _check_format(path: Path, data: dict) -> None:
    if data.get("format", "zpp-directory") != "zpp-directory" or data.get("version", 1) != 1:
        raise BadRecord(
            f"{path}:1",
            f"format {data.get('format')!r} version {data.get('version')!r}: "
            "this zpp reads zpp-directory version 1",
        )


def _member_item(rec: Any, where: str) -> Incoming | Malformed:
    try:
        return _json_incoming(rec, where)
    except (ZppError, KeyError, TypeError, ValueError, AttributeError) as e:
        label = rec.get("handle", "") if isinstance(rec, dict) else ""
        if isinstance(e, ZppError):
            return Malformed(where, label, str(e))
        return Malformed(where, label, f"malformed member ({type(e).__name__}: {e})")


def _read_json_whole(path: Path, text: str) -> Directory:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadRecord(f"{path}:{e.lineno}", f"not valid JSON: {e.msg}") from None
    if isinstance(data, list):  # a bare list of member records (`zpp member list --json`)
        data = {"members": data}
    if not isinstance(data, dict) or not isinstance(data.get("members"), list):
        raise BadRecord(f"{path}:1", 'not a zpp directory file (no "members" list)')
    _check_format(path, data)
    finder = _LineFinder(text)

    def items() -> Iterator[Incoming | Malformed]:
        for i, rec in enumerate(data["members"], start=1):
            member_id = rec.get("id") if isinstance(rec, dict) else None
            yield _member_item(rec, f"{path}:{finder.line(member_id, i)}")

    return Directory(
        data.get("skills") or [], data.get("collectives") or [], items(), len(data["members"])
    )


class _LineFinder:
    """The line a member starts on in a JSON file, found by its id (for error messages).

    Members come in file order, so the search and the line count move forward only."""

    def __init__(self, text: str):
        self.text = text
        self.pos, self.lineno = 0, 1

    def line(self, member_id: Any, index: int) -> str:
        if isinstance(member_id, str) and member_id:
            at = self.text.find(json.dumps(member_id), self.pos)
            if at >= 0:
                self.lineno += self.text.count("\n", self.pos, at)
                self.pos = at
                return str(self.lineno)
        return f"member {index}"


def _json_incoming(rec: dict, where: str) -> Incoming:
    if not isinstance(rec, dict):
        raise InvalidInput("member", rec, "must be a JSON object")
    item = Incoming(
        where=where, label=rec.get("name") or rec.get("handle") or "", authoritative=True
    )
    item.id = _uuid(rec.get("id", "")) if rec.get("id") else None
    if rec.get("id") and item.id is None:
        raise InvalidInput("id", rec["id"], "not a UUID")
    item.values = {k: rec[k] for k in members.SCALARS if k in rec}
    if not any(k in rec for k in ("given_name", "family_name")) and rec.get("name"):
        n = names.split_name(rec["name"])
        item.values.update(given_name=n.given, particle=n.particle, family_name=n.family)
    item.label = item.label or " ".join(
        str(item.values.get(k, ""))
        for k in ("given_name", "particle", "family_name")
        if item.values.get(k)
    )
    for key, target in (("emails", item.emails), ("phones", item.phones)):
        for c in rec.get(key, []):
            target.append((c.get("type", ""), c["value"], bool(c.get("private", False))))
    for s in rec.get("skills", []):
        level = skills.check_level(s.get("level", "competent"), "skill level")
        item.skills.append(
            skills.SkillSpec(
                s["skill"], level, bool(s.get("can_mentor")), bool(s.get("wants_to_learn"))
            )
        )
    item.collectives = [
        (c["handle"], c.get("role") or "member") for c in rec.get("collectives", [])
    ]
    item.collective_names = {
        c["handle"]: c["name"] for c in rec.get("collectives", []) if isinstance(c.get("name"), str)
    }
    item.availability = list(rec.get("availability", []))
    return item


# -- applying ----------------------------------------------------------------------
class _DryRun(Exception):
    pass


def member_entries(logged: list[tuple[str, str, str, dict]]) -> list[tuple[str, str, str, dict]]:
    """The change-log entries (stamp, table, row id, data) of new members' rows,
    one per member: the member's own, holding the entries of the rows added with
    it (contacts, skills, collectives, availability) under "rows" as
    {table: {row id: data}}. Entries of rows of no member in logged stay apart.
    Nothing is left out; an import of 100,000 members logs 100,000 entries
    instead of 530,000 (see store.py)."""
    members: dict[str, tuple[str, str, str, dict]] = {}
    for entry in logged:
        if entry[1] == "members":
            entry[3]["rows"] = {}
            members[entry[2]] = entry
    others = []
    for entry in logged:
        _, table, row_id, data = entry
        if table == "members":
            continue
        member = members.get(data.get("member_id"))
        if member is None:
            others.append(entry)
        else:
            member[3]["rows"].setdefault(table, {})[row_id] = data
    return [*members.values(), *others]


def lookup_skill(words: dict[str, str], ref: str) -> str | None:
    """A skill id by name or alias, in Importer's table of words (folded and slugged)."""
    return words.get(fold(ref.strip())) or words.get(slug(ref))


def lookup_collective(keys: dict[str, str], ref: str) -> str | None:
    """A collective id by handle or name, in Importer's table of keys."""
    for key in (ref.strip().lower(), fold(ref), slug(ref)):
        if key in keys:
            return keys[key]
    return None


def period_ids(item: Incoming) -> list[str | None]:
    """The ids the file gives the member's availability periods (None: not a UUID)."""
    return [
        _uuid(i) if isinstance(i, str) else None
        for i in (p.get("id") for p in item.availability or () if isinstance(p, dict))
        if i
    ]


def checked(item: Incoming) -> tuple[dict, list, list]:
    """The record's values, e-mail addresses and phones ((type, value, private) each),
    checked and normalised: what Importer.apply and bulkimport write."""
    values = members.check_values(item.values)
    emails = [
        (_contact_type(t, contacts.EMAIL_TYPES, "other"), contacts.normalize_email(v), p)
        for t, v, p in item.emails
    ]
    phones = []
    for t, v, p in item.phones:
        if t and contacts.E164.fullmatch(v):  # typed and E.164 (zpp's own files): check only
            phones.append(
                (_contact_type(t, contacts.PHONE_TYPES, "work"), contacts.check_e164(v), p)
            )
            continue
        e164, mobile = contacts.normalize_phone(v)
        phones.append(
            (_contact_type(t, contacts.PHONE_TYPES, "mobile" if mobile else "work"), e164, p)
        )
    return values, emails, phones


def period_values(member_id: str, period: dict) -> dict:
    """A period of the record (from, to, status, hours_per_week, note), checked, as the
    availability row it becomes."""
    from zppcli import availability

    start, end = date.fromisoformat(period["from"]), date.fromisoformat(period["to"])
    if end < start:
        raise InvalidInput(
            "availability", f"{period['from']}..{period['to']}", "ends before it starts"
        )
    hours = availability.check_hours(period.get("hours_per_week"))
    return {
        "member_id": member_id,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "status": availability.check_status(period["status"]),
        "hours_per_week": hours,
        "note": period.get("note") or "",
    }


def _contact_type(given: str, allowed: tuple[str, ...], default: str) -> str:
    t = (given or "").strip().lower()
    if not t:
        return default
    if t not in allowed:
        raise InvalidInput("type", given, f"use one of {', '.join(allowed)}")
    return t


class Importer:
    """Applies Incoming records inside one Tx, with caches so 100,000 members stay fast."""

    # New members are written in batches (Tx.insert_many) of this many.
    BATCH = 5000
    # Tables in the order a batch is written.
    BATCH_TABLES = ("members", "contacts", "member_skills", "collective_members", "availability")

    def __init__(self, tx: Tx, savepoint: str | None = None):
        self.tx, self.conn = tx, tx.conn
        self._skill_words: dict[str, str] | None = None
        self._skill_refs: dict[str, str | None] = {}  # answers of skill_id, with _skill_words
        self._collectives: dict[str, str] | None = None
        # The batch: rows of new members, checked and ready, not yet in the db. Reads
        # that could see them (a UID, an e-mail, a handle, an availability id) flush
        # the batch first, before the record writes anything, so every record sees
        # the db exactly as if each one before it had been written straight away.
        self.savepoint = savepoint  # run()'s per-record savepoint (skip_invalid)
        self._batch: dict[str, list[tuple[str | None, dict]]] = {}
        self._batch_members = 0
        self._pending_ids: set[str] = set()  # member and availability ids in the batch
        self._pending_emails: set[str] = set()
        self._pending_handles: set[str] = set()  # each handle and its prefixes up to a "-"
        self._staged: list[tuple[str, str | None, dict]] | None = None  # this record's rows
        self._logged: list[tuple[str, str, str, dict]] | None = None  # a new member's, unbatched
        self._staged_ids: dict[str, int] = {}  # row id -> its place in _staged (-1: written)
        # ("i", uid) / ("e", address) / ("h", handle) the db is known not to have:
        # looked up for a few hundred records at once (prefetch) instead of one by one.
        self._absent: set[tuple[str, str]] = set()

    def prefetch(self, items: list) -> None:
        """Look up the UIDs, e-mail addresses and handles of the next records in bulk;
        match() and the handle check skip their query for what the db does not have."""
        keys: dict[str, set[str]] = {"i": set(), "e": set(), "h": set()}
        for item in items:
            if not isinstance(item, Incoming):
                continue
            if item.id:
                keys["i"].add(item.id)
            keys["e"].update(v.strip().lower() for _, v, _ in item.emails if isinstance(v, str))
            handle = item.values.get("handle")
            if isinstance(handle, str):
                keys["h"].add(handle.strip().lower())
        queries = {
            "i": "SELECT id FROM members WHERE id IN ({})",
            "e": "SELECT value FROM contacts WHERE kind = 'email' AND value IN ({})",
            "h": "SELECT handle FROM members WHERE handle IN ({})",
        }
        absent = set()
        for kind, wanted in keys.items():
            wanted = sorted(wanted)
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                sql = queries[kind].format(",".join("?" * len(chunk)))
                found = {r[0] for r in self.conn.execute(sql, chunk)}
                absent.update((kind, k) for k in chunk if k not in found)
        self._absent = absent

    # -- the batch of new members --
    def flush(self) -> None:
        """Write the batch. Called only between records' writes; under skip_invalid
        the records before this one are released from its savepoint first, so a
        later failure of this record does not roll them back."""
        if not self._batch_members:
            return
        if self.savepoint:
            self.conn.execute(f"RELEASE {self.savepoint}")
        logged: list[tuple[str, str, str, dict]] = []
        for table in self.BATCH_TABLES:
            rows = self._batch.pop(table, None)
            if rows:
                self.tx.insert_many(table, rows, log=logged)
        self.tx.log_inserts(member_entries(logged))
        self._batch.clear()
        self._batch_members = 0
        self._absent.difference_update(("i", k) for k in self._pending_ids)
        self._absent.difference_update(("e", k) for k in self._pending_emails)
        self._absent.difference_update(("h", k) for k in self._pending_handles)
        self._pending_ids.clear()
        self._pending_emails.clear()
        self._pending_handles.clear()
        if self.savepoint:
            self.conn.execute(f"SAVEPOINT {self.savepoint}")

    def _insert(self, table: str, values: dict, row_id: str | None = None) -> str:
        """tx.insert, or a row staged for the batch while a new member is imported."""
        if self._staged is None:
            if row_id is not None and row_id in self._staged_ids:  # named twice: as below
                self.tx.update(table, row_id, values)
                return row_id
            if row_id is not None:
                self._staged_ids[row_id] = -1
            return self.tx.insert(table, values, row_id=row_id, log=self._logged)
        if row_id is not None:
            if row_id in self._staged_ids:  # named twice (a skill, an ORG): the later one
                at = self._staged_ids[row_id]  # wins, as it does for an existing member
                self._staged[at] = (table, row_id, {**self._staged[at][2], **values})
                return row_id
            self._staged_ids[row_id] = len(self._staged)
        self._staged.append((table, row_id, values))
        return row_id  # None only for availability, whose id nothing reads back

    def _commit_staged(self, member_id: str, handle: str, emails: list) -> None:
        for table, row_id, values in self._staged:
            self._batch.setdefault(table, []).append((row_id, values))
            if table == "availability" and row_id:
                self._pending_ids.add(row_id)
        self._pending_ids.add(member_id)
        self._pending_emails.update(value for _, value, _ in emails)
        self._pending_handles.add(handle)
        self._pending_handles.update(handle[:i] for i, ch in enumerate(handle) if ch == "-")
        self._batch_members += 1
        if self._batch_members >= self.BATCH:
            self.flush()

    # -- lookups --
    def skill_id(self, ref: str) -> str | None:
        if self._skill_words is None:
            self._skill_words, self._skill_refs = {}, {}
            for s in skills.catalogue(self.conn):
                for w in (s.name, *s.aliases):
                    self._skill_words.setdefault(fold(w), s.id)
                    self._skill_words.setdefault(slug(w), s.id)
        if ref not in self._skill_refs:  # the same few skill names, 100,000 times over
            self._skill_refs[ref] = lookup_skill(self._skill_words, ref)
        return self._skill_refs[ref]

    def ensure_skill(self, name: str) -> str:
        sid = self.skill_id(name)
        if sid is None:
            sid = skills.add_skill(self.tx, name)
            self._skill_words = None
        return sid

    def collective_id(self, ref: str, create: bool, name: str | None = None) -> str | None:
        """A collective by handle or name; made when create (from a vCard ORG, or
        from a member record that names it: `zpp search --format json` output)."""
        if self._collectives is None:
            self._collectives = {}
            for r in self.conn.execute(
                "SELECT id, handle, name FROM collectives WHERE deleted = 0"
            ):
                for key in (r["handle"], fold(r["name"]), slug(r["name"])):
                    self._collectives.setdefault(key, r["id"])
        found = lookup_collective(self._collectives, ref)
        if found is not None or not create:
            return found
        from zppcli import collectives

        try:
            handle = collectives.add(self.tx, name, ref) if name else collectives.add(self.tx, ref)
        except ZppError:  # an ORG no handle can be made of ("—", emoji): not a collective
            return None
        self._collectives = None
        return self.collective_id(handle, False)

    # -- the catalogue (JSON) --
    def apply_catalogue(
        self, skill_list: list[dict], collective_list: list[dict], where: str
    ) -> None:
        try:
            for s in skill_list:
                sid = self.skill_id(s["name"]) or s.get("id") or skills.skill_id(s["name"])
                self.tx.upsert(
                    "skills",
                    sid,
                    {
                        "name": s["name"].strip(),
                        "category": s.get("category", ""),
                        "description": s.get("description", ""),
                    },
                )
                self._skill_words = None
                for alias in s.get("aliases", []):
                    other = self.skill_id(alias)
                    if other is None:
                        self.tx.upsert(
                            "skill_aliases",
                            skills.alias_id(sid, alias),
                            {"skill_id": sid, "alias": alias.strip()},
                        )
                        self._skill_words = None
            for c in collective_list:
                from zppcli.members import check_url

                cid = self.collective_id(c["handle"], False) or _uuid(c.get("id", "")) or None
                values = {
                    "handle": names.check_handle(c["handle"]),
                    "name": c["name"].strip(),
                    "description": c.get("description", ""),
                    "website": check_url(c.get("website", ""), "website"),
                }
                if cid:
                    self.tx.upsert("collectives", cid, values)
                else:
                    self.tx.insert("collectives", values)
                self._collectives = None
        except (KeyError, TypeError, AttributeError) as e:
            raise BadRecord(
                where, f"malformed skills or collectives list ({type(e).__name__}: {e})"
            ) from None
        except ZppError as e:
            raise BadRecord(where, str(e)) from None

    # -- one member --
    def match(self, item: Incoming) -> tuple[str | None, bool]:
        """(member id, existed before) by UID, then e-mail."""
        if item.id and ("i", item.id) not in self._absent:
            row = self.conn.execute(
                "SELECT deleted FROM members WHERE id = ?", (item.id,)
            ).fetchone()
            if row is not None and row["deleted"]:
                raise Removed(item.id)
            if row is not None:
                return item.id, True
        for _, value, _ in item.emails:
            try:
                address = contacts.normalize_email(value)
            except InvalidInput:
                continue
            if ("e", address) in self._absent:
                continue
            owner = members.email_owner(self.conn, address)
            if owner is not None:
                return owner["id"], True
        return item.id, False

    def apply(self, item: Incoming) -> tuple[str, str]:
        """Import one member; returns (action, handle)."""
        values, emails, phones = checked(item)
        self._staged = self._logged = None
        self._staged_ids = {}
        if self._batch_members and (
            item.id in self._pending_ids or any(v in self._pending_emails for _, v, _ in emails)
        ):
            self.flush()
        member_id, existed = self.match(item)
        changes = 0
        if existed or not self._batchable(item):
            self.flush()  # written straight away, so its reads see everything before it
            self._absent.clear()  # and it may add what was absent
        if existed:
            row = self.conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
            if "handle" in values and values["handle"] != row["handle"]:
                other = members.find_by_handle(self.conn, values["handle"])
                if other is not None and other["id"] != member_id:
                    del values["handle"]
            if not item.authoritative:  # an address book fills in; it does not blank out
                values = {k: v for k, v in values.items() if v not in ("", [], None)}
                if "tags" in values:
                    values["tags"] = list(
                        dict.fromkeys([*json.loads(row["tags"]), *values["tags"]])
                    )
                if "website" in values or "links" in values:  # add web addresses it does not have
                    urls = [u for u in [values.pop("website", ""), *values.pop("links", [])] if u]
                    links = json.loads(row["links"])
                    new = [u for u in dict.fromkeys(urls) if u != row["website"] and u not in links]
                    if new and not row["website"]:
                        values["website"] = new.pop(0)
                    if new:
                        values["links"] = links + new
            changes += len(self.tx.update("members", member_id, values))
        else:
            if not values.get("given_name") and not values.get("family_name"):
                raise InvalidInput("name", item.label, "a member needs a name")
            handle = values.get("handle")
            if handle and handle in self._pending_handles:
                self.flush()
            if (
                not handle
                or ("h", handle) not in self._absent
                and members.find_by_handle(self.conn, handle) is not None
            ):
                base = handle or names.handle_base(
                    names.Name(
                        values.get("given_name", ""),
                        values.get("particle", ""),
                        values.get("family_name", ""),
                    )
                )
                if base in self._pending_handles:  # a batched handle is base or base-...
                    self.flush()
                values["handle"] = members._unique_handle(self.conn, base)
            if self._batchable(item):  # checked above; nothing written yet
                self._staged, self._staged_ids = [], {}
                member_id = member_id or new_id()
            else:
                self._logged = []  # its rows are logged as one entry, as a batch logs them
            member_id = self._insert("members", values, row_id=member_id)
            changes += 1
        changes += self._contacts(member_id, "email", emails, existed)
        changes += self._contacts(member_id, "phone", phones, existed)
        changes += self._skills(member_id, item, existed)
        for ref, role in item.collectives:
            named = item.collective_names.get(ref)
            cid = self.collective_id(ref, create=not item.authoritative or bool(named), name=named)
            if cid is None and not item.authoritative:
                continue
            if cid is None:
                raise InvalidInput(
                    "collective", ref, "not in this directory (nor in the file's collectives)"
                )
            from zppcli.collectives import membership_id

            if (
                existed
                and not item.authoritative
                and self.conn.execute(
                    "SELECT 1 FROM collective_members WHERE id = ? AND deleted = 0",
                    (membership_id(cid, member_id),),
                ).fetchone()
            ):
                continue  # already in it: an address book knows no roles
            changes += self._put(
                "collective_members",
                membership_id(cid, member_id),
                {"collective_id": cid, "member_id": member_id, "role": role or "member"},
                existed,
            )
        if item.availability:
            changes += self._availability(member_id, item.availability, existed)
        if self._staged is not None:
            self._commit_staged(member_id, values["handle"], emails)
            self._staged = None
        elif self._logged is not None:
            self.tx.log_inserts(member_entries(self._logged))
            self._logged = None
        if not existed:
            return "added", values["handle"]
        handle = self.conn.execute(
            "SELECT handle FROM members WHERE id = ?", (member_id,)
        ).fetchone()[0]
        return ("updated" if changes else "unchanged"), handle

    def _batchable(self, item: Incoming) -> bool:
        """A new member whose rows can wait in the batch: nothing it reads later can
        be a batched row (a vCard's CATEGORIES update the member's tags; an
        availability id may be one in the batch or repeated in the record)."""
        if item.categories:
            return False
        ids = period_ids(item)
        return len(set(ids)) == len(ids) and not any(i in self._pending_ids for i in ids)

    def _put(self, table: str, row_id: str, values: dict, existed: bool) -> int:
        if existed:
            return 1 if self.tx.upsert(table, row_id, values) else 0
        self._insert(table, values, row_id=row_id)
        return 1

    def _contacts(
        self, member_id: str, kind: str, found: list[tuple[str, str, bool]], existed: bool
    ) -> int:
        changes, seen = 0, set()
        start = len(members.live_contacts(self.conn, member_id, kind)) if existed else 0
        for position, (ctype, value, private) in enumerate(found):
            if value in seen:
                continue
            seen.add(value)
            if kind == "email" and existed:  # for a new member, match() looked already
                owner = members.email_owner(self.conn, value)
                if owner is not None and owner["id"] != member_id:
                    raise InvalidInput(
                        "email", value, f"already belongs to member {owner['handle']!r}"
                    )
            row_id = members.contact_id(member_id, kind, value)
            values = {
                "member_id": member_id,
                "kind": kind,
                "type": ctype,
                "value": value,
                "private": private,
            }
            if existed:
                current = self.conn.execute(
                    "SELECT deleted FROM contacts WHERE id = ?", (row_id,)
                ).fetchone()
                if current is not None and not current["deleted"]:
                    changes += 1 if self.tx.update("contacts", row_id, values) else 0
                    continue
                values["position"] = start + position
            else:
                values["position"] = position
            changes += self._put("contacts", row_id, values, existed)
        return changes

    def _skills(self, member_id: str, item: Incoming, existed: bool) -> int:
        changes = 0
        have = {}
        if existed:
            have = {
                r[0]: r[1]
                for r in self.conn.execute(
                    "SELECT skill_id, level FROM member_skills WHERE member_id = ? AND deleted = 0",
                    (member_id,),
                )
            }
        specs = list(item.skills)
        tags = []
        current_tags = set()
        if existed and item.categories:
            row = self.conn.execute(
                "SELECT tags FROM members WHERE id = ?", (member_id,)
            ).fetchone()
            current_tags = {fold(t) for t in json.loads(row[0])}
        for cat in item.categories:  # vCard: one of its tags, a known skill, else a new tag
            if fold(cat) in current_tags:
                continue
            if self.skill_id(cat):
                specs.append(skills.SkillSpec(cat))
            else:
                tags.append(cat)
        if tags:
            row = self.conn.execute(
                "SELECT tags FROM members WHERE id = ?", (member_id,)
            ).fetchone()
            merged = members.check_values({"tags": [*json.loads(row[0]), *tags]})["tags"]
            changes += len(self.tx.update("members", member_id, {"tags": merged}))
        for spec in specs:
            sid = self.ensure_skill(spec.ref) if item.authoritative else self.skill_id(spec.ref)
            if sid is None:
                continue
            if not item.authoritative and sid in have:
                continue  # an address book knows no levels: keep ours
            changes += self._put(
                "member_skills",
                skills.member_skill_id(member_id, sid),
                {
                    "member_id": member_id,
                    "skill_id": sid,
                    "level": spec.level,
                    "wants_to_learn": spec.wants_to_learn,
                    "can_mentor": spec.mentor,
                },
                existed,
            )
            have[sid] = spec.level
        return changes

    def _availability(self, member_id: str, periods: list[dict], existed: bool) -> int:
        from zppcli import availability

        changes = 0
        for p in periods:
            values = period_values(member_id, p)
            row_id = _uuid(p.get("id", "")) if p.get("id") else None
            row = None
            if row_id:
                row = self.conn.execute(
                    "SELECT member_id, deleted FROM availability WHERE id = ?", (row_id,)
                ).fetchone()
                if row is not None and row["member_id"] != member_id:
                    row_id, row = None, None  # another member's period: this one gets a new id
            if row is not None and not row["deleted"]:
                changes += 1 if self.tx.update("availability", row_id, values) else 0
                continue
            if existed:
                start, end = (date.fromisoformat(values[k]) for k in ("start_date", "end_date"))
                availability.clear(self.tx, member_id, start, end)
            if row is not None:  # a removed period of this member comes back
                changes += 1 if self.tx.upsert("availability", row_id, values) else 0
                continue
            self._insert("availability", values, row_id=row_id)
            changes += 1
        return changes


def run(
    conn: sqlite3.Connection,
    items: Iterable[Incoming | Malformed],
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    catalogue: tuple[list[dict], list[dict], str] | None = None,
    progress: Progress = None,
) -> Report:
    """Apply everything in one transaction (rolled back for a dry run or on an error)."""
    # 128 MB: an import touches index pages all over (100,000 members: 64 MB -> 128 MB, 2 s less)
    conn.execute("PRAGMA cache_size = -131072")
    journal = _rollback_journal_if_empty(conn)
    bulk = isinstance(items, JsonMembers)
    if bulk:
        from zppcli import bulkimport

        bulkimport.attach(conn)
    try:
        return _run(conn, items, dry_run, skip_invalid, catalogue, progress)
    finally:
        if bulk:
            bulkimport.detach(conn)
        # Waits busy_timeout for readers that came meanwhile; if one still holds the db,
        # it stays in the rollback journal (as safe, as zpp uses in shared folders).
        if journal:
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute(f"PRAGMA journal_mode = {journal}")


# A JSON directory file into a db without members takes bulkimport's fast path (the
# record-at-a-time path otherwise, and in tests that compare the two).
BULK = True


def _no_members(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM members LIMIT 1").fetchone() is None


def _rollback_journal_if_empty(conn: sqlite3.Connection) -> str | None:
    """Into a db without members, import through the rollback journal instead of WAL;
    returns the mode to go back to afterwards (None: nothing switched).

    In WAL mode every page of the import is written twice, to the WAL and, at the
    commit's checkpoint, into the db. With the rollback journal, pages beyond the
    db's old end go straight into the file and the journal holds only the few
    pages that existed (100,000 members: ~800 MB written once; the commit takes
    0.6 s instead of 3.4 s). It is as crash-safe: the transaction still commits
    or rolls back whole. Readers of the (empty) db may wait while it runs. Leaving
    WAL needs every other connection closed; if one is open, nothing changes."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return None
    if not _no_members(conn):
        return None
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")  # someone has it open: don't wait, keep WAL
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        mode = "wal"
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    return "wal" if mode == "delete" else None


def _run(
    conn: sqlite3.Connection,
    items: Iterable[Incoming | Malformed],
    dry_run: bool,
    skip_invalid: bool,
    catalogue: tuple[list[dict], list[dict], str] | None,
    progress: Progress,
) -> Report:
    report = Report(keep_all=dry_run)
    try:
        with Tx(conn) as tx:
            imp = Importer(tx, savepoint="zpp_import_item" if skip_invalid else None)
            if catalogue:
                imp.apply_catalogue(*catalogue)
            if BULK and isinstance(items, JsonMembers) and _no_members(conn):
                from zppcli import bulkimport

                bulkimport.load(imp, items, report, progress, lambda i: _apply_one(imp, i, report))
            else:
                for n, item in enumerate(_prefetched(items, imp), start=1):
                    if progress and n % 100 == 0:
                        progress(100)
                    _apply_one(imp, item, report)
            imp.savepoint = None  # outside any record now
            imp.flush()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _apply_one(imp: Importer, item: Incoming | Malformed, report: Report) -> str | None:
    """Import one record, or skip it (skip_invalid: imp has a savepoint) or abort;
    returns the member's handle when it was imported."""
    conn, skip_invalid = imp.conn, imp.savepoint is not None
    if isinstance(item, Malformed):
        if not skip_invalid:
            raise BadRecord(item.where, item.reason)
        report.note("skipped", item.label, where=item.where, reason=item.reason)
        return None
    if skip_invalid:
        conn.execute("SAVEPOINT zpp_import_item")
    try:
        action, handle = imp.apply(item)
    except Removed as e:  # policy, not a malformed record: skip, never abort
        if skip_invalid:
            conn.execute("RELEASE zpp_import_item")
        report.note("skipped", item.label, where=item.where, reason=str(e))
        return None
    except (ZppError, ValueError, KeyError, TypeError, AttributeError) as e:
        reason = str(e) if isinstance(e, ZppError) else f"{type(e).__name__}: {e}"
        if isinstance(e, BadRecord):
            reason = e.reason
        if not skip_invalid:
            raise BadRecord(item.where, reason) from None
        conn.execute("ROLLBACK TO zpp_import_item")
        conn.execute("RELEASE zpp_import_item")
        imp._skill_words = imp._collectives = None  # may hold rolled-back rows
        report.note("skipped", item.label, where=item.where, reason=reason)
        return None
    if skip_invalid:
        conn.execute("RELEASE zpp_import_item")
    report.note(action, item.label, handle, item.where)
    return handle


def _prefetched(items: Iterable, imp: Importer, size: int = 1000) -> Iterator:
    """The records, with imp.prefetch called for each next `size` of them."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        imp.prefetch(chunk)
        yield from chunk


def read(kind: str, path: Path) -> tuple[Iterable[Incoming | Malformed], tuple | None, int | None]:
    """(records, catalogue, total if known) for a file of the given kind."""
    if not path.exists():
        raise InvalidInput("file", str(path), "does not exist")
    if kind == "json":
        d = read_json(path)
        return d.members, (d.skills, d.collectives, f"{path}:1"), d.total
    if kind == "csv":  # totals only size the progress bar
        return read_csv(path), None, max(_read_text(path).count("\n") - 1, 0)
    if kind == "vcard":
        if path.is_dir():
            total = sum(1 for p in path.iterdir() if p.suffix.lower() == ".vcf")
        else:
            total = _read_text(path).upper().count("BEGIN:VCARD")
        return read_vcards(path), None, total
    raise ValueError(kind)
