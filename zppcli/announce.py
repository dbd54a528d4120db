"""Announcement texts for a gathering, in each channel's own markup.

`notice()` gathers what to say (in Dutch or English); one renderer per channel
turns it into paste-ready text: plain text, Markdown, WhatsApp, Slack,
Mastodon (500 characters, links count 23) and HTML for e-mail. Text typed by
users is escaped per channel, so a title like `*<script>` stays a title.
"""

from __future__ import annotations

import html
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from zppcli import gatherings
from zppcli.errors import InvalidInput

CHANNELS = ("text", "markdown", "whatsapp", "slack", "mastodon")
LANGS = ("nl", "en")
MASTODON_LIMIT = 500
MASTODON_URL_LENGTH = 23  # every link counts as 23 characters on Mastodon

WEEKDAYS = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
ORDINALS = {
    "nl": {1: "eerste", 2: "tweede", 3: "derde", 4: "vierde", -1: "laatste"},
    "en": {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"},
}
WORDS = {
    "nl": {
        "when": "Wanneer",
        "where": "Waar",
        "online": "Online",
        "for": "Voor wie",
        "agenda": "Programma",
        "places": "Plekken",
        "rsvp_by": "Aanmelden vóór",
        "host": "Host",
        "repeat": "Herhaalt",
        "updated": "GEWIJZIGD",
        "cancelled": "AFGELAST",
        "reason": "Reden",
        "map": "kaart",
        "everyone": "iedereen in het netwerk",
        "left": "nog {n} vrij",
        "full": "vol, wachtlijst open",
        "of": "{n} plekken",
        "rsvp": "Aanmelden: zpp gathering rsvp {ref} JOUW-HANDLE yes",
        "local_time": "Amsterdamse tijd",
        "zone_time": "tijd {zone}",
        "weekly": "elke week",
        "every_n": "elke {n} weken",
        "monthly": "elke maand op de {day}e",
        "monthly_nth": "elke {ord} {weekday} van de maand",
        "until": "t/m {date}",
        "new_time": "nieuwe tijd {time}",
        "new_date": "nieuwe datum {when}",
        "new_end": "eindigt nu om {time}",
        "new_title": "nieuwe titel: {value}",
        "new_place": "nieuwe plek: {value}",
        "new_online": "nieuwe link: {value}",
        "new_host": "andere host",
        "new_agenda": "programma aangepast",
        "new_capacity": "aantal plekken nu {value}",
        "no_capacity": "geen maximum meer aan plekken",
        "new_rsvp_by": "aanmelden nu vóór {value}",
        "new_audience": "andere doelgroep: {value}",
        "new_repeat": "nieuw schema: {value}",
        "no_repeat": "herhaalt niet meer",
        "new_tz": "tijdzone nu {value}",
        "skill": "vaardigheid {v}",
        "level": "niveau {v}+",
        "free": "vrij {v}",
        "city": "in {v}",
        "collective": "collectief {v}",
        "tag": "tag {v}",
        "lang": "taal {v}",
        "mentor": "mentoren voor {v}",
        "learner": "wie {v} wil leren",
        "query": "'{v}'",
    },
    "en": {
        "when": "When",
        "where": "Where",
        "online": "Online",
        "for": "Who it is for",
        "agenda": "Agenda",
        "places": "Places",
        "rsvp_by": "RSVP by",
        "host": "Host",
        "repeat": "Repeats",
        "updated": "UPDATED",
        "cancelled": "CANCELLED",
        "reason": "Reason",
        "map": "map",
        "everyone": "everyone in the network",
        "left": "{n} left",
        "full": "full, waitlist open",
        "of": "{n} places",
        "rsvp": "RSVP: zpp gathering rsvp {ref} YOUR-HANDLE yes",
        "local_time": "Amsterdam time",
        "zone_time": "{zone} time",
        "weekly": "every week",
        "every_n": "every {n} weeks",
        "monthly": "monthly on day {day}",
        "monthly_nth": "every {ord} {weekday} of the month",
        "until": "until {date}",
        "new_time": "new time {time}",
        "new_date": "new date {when}",
        "new_end": "now ends at {time}",
        "new_title": "new title: {value}",
        "new_place": "new place: {value}",
        "new_online": "new link: {value}",
        "new_host": "new host",
        "new_agenda": "agenda changed",
        "new_capacity": "places now {value}",
        "no_capacity": "no limit on places any more",
        "new_rsvp_by": "RSVP now by {value}",
        "new_audience": "new audience: {value}",
        "new_repeat": "new schedule: {value}",
        "no_repeat": "no longer repeats",
        "new_tz": "time zone now {value}",
        "skill": "skill {v}",
        "level": "level {v}+",
        "free": "free {v}",
        "city": "in {v}",
        "collective": "collective {v}",
        "tag": "tag {v}",
        "lang": "language {v}",
        "mentor": "mentors of {v}",
        "learner": "learners of {v}",
        "query": "'{v}'",
    },
}


def check_lang(lang: str | None) -> str:
    value = (lang or "nl").strip().lower()
    if value not in LANGS:
        raise InvalidInput("language", lang, f"use one of {', '.join(LANGS)}")
    return value


def long_date(day: date, lang: str) -> str:
    """'donderdag 10 december 2026' / 'Thursday 10 December 2026'."""
    return f"{WEEKDAYS[lang][day.weekday()]} {day.day} {MONTHS[lang][day.month - 1]} {day.year}"


def when_text(start: datetime, end: datetime, tz: str, lang: str) -> str:
    """'donderdag 10 december 2026, 17:30–19:30 (Amsterdamse tijd)'."""
    w = WORDS[lang]
    label = w["local_time"] if tz == gatherings.DEFAULT_TZ else w["zone_time"].format(zone=tz)
    span = (
        f"{start:%H:%M}–{end:%H:%M}"
        if end.date() == start.date()
        else (f"{start:%H:%M} – {long_date(end.date(), lang)}, {end:%H:%M}")
    )
    return f"{long_date(start.date(), lang)}, {span} ({label})"


def repeat_text(g: Any, lang: str) -> str:
    rule, until = gatherings.rule_of(g)
    if rule is None:
        return ""
    w = WORDS[lang]
    if rule.kind == "weekly":
        text = w["weekly"] if rule.interval == 1 else w["every_n"].format(n=rule.interval)
    elif rule.kind == "monthly":
        text = w["monthly"].format(day=int(g["start_at"][8:10]))
    else:
        text = w["monthly_nth"].format(
            ord=ORDINALS[lang][rule.nth], weekday=WEEKDAYS[lang][rule.weekday]
        )
    if until:
        text += " " + w["until"].format(date=long_date(until, lang))
    return text


def audience_text(filters: Any, lang: str) -> str:
    w = WORDS[lang]
    parts = [w["query"].format(v=filters.query)] if filters.query else []
    parts += [w["skill"].format(v=s) for s in filters.skills]
    if filters.level:
        parts.append(w["level"].format(v=filters.level))
    if filters.free:
        a, b = filters.free
        parts.append(w["free"].format(v=a.isoformat() + (f"..{b.isoformat()}" if b != a else "")))
    for key in ("city", "collective", "tag", "lang", "mentor", "learner"):
        value = getattr(filters, key)
        if value:
            parts.append(w[key].format(v=value))
    return ", ".join(parts) or w["everyone"]


def map_url(place: str) -> str:
    return "https://www.openstreetmap.org/search?query=" + quote_plus(place)


@dataclass
class Notice:
    """What an announcement says; user text kept raw, escaped by each renderer."""

    lang: str
    title: str
    when: str
    status: str  # "new" | "updated" | "cancelled"
    changes: list[str] = field(default_factory=list)
    reason: str = ""
    repeat: str = ""
    place: str = ""
    map_url: str = ""
    online: str = ""
    audience: str = ""
    agenda: str = ""
    places: str = ""
    rsvp_by: str = ""
    host: str = ""
    host_contact: str = ""  # a public e-mail address or website
    rsvp_hint: str = ""
    warnings: list[str] = field(default_factory=list)  # for stderr, never in the text


def _change_lines(g: Any, entries: list[dict], lang: str, conn: sqlite3.Connection) -> list[str]:
    w = WORDS[lang]
    merged: dict[str, list] = {}
    for entry in entries:
        for key, (old, new) in entry["changes"].items():
            merged[key] = [merged.get(key, [old])[0], new]
    lines = []
    if "start_at" in merged:
        old, new = (datetime.strptime(v, gatherings.LOCAL_FMT) for v in merged["start_at"])
        if old.date() == new.date():
            lines.append(w["new_time"].format(time=f"{new:%H:%M}"))
        else:
            lines.append(w["new_date"].format(when=f"{long_date(new.date(), lang)}, {new:%H:%M}"))
    elif "end_at" in merged:
        lines.append(w["new_end"].format(time=merged["end_at"][1][11:16]))
    for key, word in (("title", "new_title"), ("place", "new_place"), ("online_url", "new_online")):
        if key in merged and merged[key][1]:
            lines.append(w[word].format(value=merged[key][1]))
    if "host_member_id" in merged or "host_collective_id" in merged:
        lines.append(w["new_host"])
    if "description" in merged:
        lines.append(w["new_agenda"])
    if "capacity" in merged:
        value = merged["capacity"][1]
        lines.append(w["no_capacity"] if value is None else w["new_capacity"].format(value=value))
    if "rsvp_by" in merged and merged["rsvp_by"][1]:
        lines.append(
            w["new_rsvp_by"].format(value=long_date(date.fromisoformat(merged["rsvp_by"][1]), lang))
        )
    if "audience" in merged:
        from zppcli import search

        lines.append(
            w["new_audience"].format(
                value=audience_text(search.Filters.from_json(merged["audience"][1]), lang)
            )
        )
    if "repeat_rule" in merged or "repeat_until" in merged:
        lines.append(
            w["new_repeat"].format(value=repeat_text(g, lang))
            if g["repeat_rule"]
            else w["no_repeat"]
        )
    if "tz" in merged:
        lines.append(w["new_tz"].format(value=merged["tz"][1]))
    return lines


def notice(
    conn: sqlite3.Connection,
    g: Any,
    lang: str = "nl",
    occurrence: tuple[datetime, datetime] | None = None,
) -> Notice:
    lang = check_lang(lang)
    w = WORDS[lang]
    if occurrence is None:
        occurrence = gatherings.next_occurrence(g) or (
            datetime.strptime(g["start_at"], gatherings.LOCAL_FMT),
            datetime.strptime(g["end_at"], gatherings.LOCAL_FMT),
        )
    status = "cancelled" if g["status"] == "cancelled" else "new"
    changes = []
    if status != "cancelled":
        changes = _change_lines(g, gatherings.unannounced_changes(conn, g), lang, conn)
        if changes:
            status = "updated"
    out = Notice(
        lang=lang,
        title=g["title"],
        when=when_text(*occurrence, g["tz"], lang),
        status=status,
        changes=changes,
        reason=g["cancel_reason"],
        repeat=repeat_text(g, lang),
        place=g["place"],
        map_url=map_url(g["place"]) if g["place"] else "",
        online=g["online_url"],
        agenda=g["description"],
        audience=audience_text(gatherings.audience_filters(g), lang),
    )
    open_ = g["status"] != "cancelled"  # a cancelled one has no places or deadline to offer
    if open_ and g["capacity"] is not None:
        going = gatherings.counts(conn, g["id"])["going"]
        left = max(g["capacity"] - going, 0)
        out.places = (
            w["of"].format(n=g["capacity"])
            + ", "
            + (w["left"].format(n=left) if left else w["full"])
        )
    if open_ and g["rsvp_by"]:
        out.rsvp_by = long_date(date.fromisoformat(g["rsvp_by"]), lang)
    host = gatherings.host_of(conn, g)
    if host and host["kind"] == "member" and host["record"]["visibility"] == "private":
        out.warnings.append(f"host {host['handle']} has private visibility: left out of the text")
    elif host:
        out.host = host["name"]
        if host["kind"] == "member":
            out.host_contact = gatherings.public_email(host["record"]) or ""
            if not out.host_contact:
                out.warnings.append(
                    f"host {host['handle']}'s e-mail is left out of the text (visibility "
                    f"{host['record']['visibility']}, or no public address)"
                )
        else:
            out.host_contact = host.get("website", "")
    out.rsvp_hint = w["rsvp"].format(ref=g["id"][:8])
    return out


# -- renderers ---------------------------------------------------------------------
def _line(text: str) -> str:
    """One line of user text: control characters and newlines become spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", " ", text)).strip()


def _block(text: str) -> list[str]:
    """Multi-line user text (an agenda): lines kept, control characters dropped."""
    lines = [
        re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", ln).rstrip()
        for ln in text.replace("\r\n", "\n").split("\n")
    ]
    return [ln for ln in lines if ln.strip()]


def _fields(n: Notice) -> list[tuple[str, str]]:
    w = WORDS[n.lang]
    rows = [(w["when"], n.when)]
    if n.repeat:
        rows.append((w["repeat"], n.repeat))
    if n.place:
        rows.append((w["where"], n.place))
    if n.online:
        rows.append((w["online"], n.online))
    rows.append((w["for"], n.audience))
    if n.places:
        rows.append((w["places"], n.places))
    if n.rsvp_by:
        rows.append((w["rsvp_by"], n.rsvp_by))
    if n.host:
        rows.append((w["host"], n.host + (f" ({n.host_contact})" if n.host_contact else "")))
    return rows


def _status_line(n: Notice) -> str:
    w = WORDS[n.lang]
    if n.status == "cancelled":
        return w["cancelled"] + (f" ({w['reason'].lower()}: {_line(n.reason)})" if n.reason else "")
    if n.status == "updated":
        return w["updated"] + ": " + "; ".join(_line(c) for c in n.changes)
    return ""


def text(n: Notice) -> str:
    out = []
    if _status_line(n):
        out.append(_status_line(n))
    out.append(_line(n.title))
    out.append("")
    for label, value in _fields(n):
        out.append(f"{label}: {_line(value)}")
        if label == WORDS[n.lang]["where"] and n.map_url:
            out.append(f"  {WORDS[n.lang]['map']}: {n.map_url}")
    if n.agenda:
        out += ["", WORDS[n.lang]["agenda"] + ":", *_block(n.agenda)]
    if n.status != "cancelled":
        out += ["", n.rsvp_hint]
    return "\n".join(out) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_escape(value: str) -> str:
    """Markdown (CommonMark): HTML neutralised, every punctuation that could format escaped."""
    escaped = html.escape(value, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def md_url(url: str) -> str:
    return (
        url.replace("(", "%28")
        .replace(")", "%29")
        .replace(" ", "%20")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )


def markdown(n: Notice) -> str:
    w = WORDS[n.lang]
    out = []
    if _status_line(n):
        out += [f"**{md_escape(_status_line(n))}**", ""]
    out += [f"## {md_escape(_line(n.title))}", ""]
    for label, value in _fields(n):
        if label == w["where"] and n.map_url:
            shown = f"{md_escape(_line(value))} ([{w['map']}]({md_url(n.map_url)}))"
        elif label == w["online"]:
            shown = f"<{md_url(value)}>"
        else:
            shown = md_escape(_line(value))
        out.append(f"- **{md_escape(label)}:** {shown}")
    if n.agenda:
        out += ["", f"**{md_escape(w['agenda'])}**", ""]
        out += [md_escape(ln) + "  " for ln in _block(n.agenda)]
    if n.status != "cancelled":
        out += ["", f"`{n.rsvp_hint}`"]
    return "\n".join(out).rstrip() + "\n"


# WhatsApp and Slack have no escape character: their formatting marks in user text
# become look-alikes, so a title "*50% off*" cannot turn the rest bold.
_LOOKALIKE = str.maketrans({"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"})
_MENTION = re.compile(r"(^|(?<=[\s(]))@(?=\w)")


def _no_mentions(value: str) -> str:
    """'@channel', '@here', '@user@server' in user text must not ping anyone."""
    return _MENTION.sub("@\u200b", value)


def wa_escape(value: str) -> str:
    return _no_mentions(value.translate(_LOOKALIKE))


def whatsapp(n: Notice) -> str:
    w = WORDS[n.lang]
    out = []
    if _status_line(n):
        out += [f"*{wa_escape(_status_line(n))}*"]
    out += [f"*{wa_escape(_line(n.title))}*", ""]
    for label, value in _fields(n):
        if label == w["online"]:
            out.append(f"_{label}:_ {value}")
            continue
        out.append(f"_{label}:_ {wa_escape(_line(value))}")
        if label == w["where"] and n.map_url:
            out.append(n.map_url)
    if n.agenda:
        out += ["", f"_{w['agenda']}:_", *(wa_escape(ln) for ln in _block(n.agenda))]
    if n.status != "cancelled":
        out += ["", f"```{n.rsvp_hint}```"]
    return "\n".join(out) + "\n"


def slack_escape(value: str) -> str:
    """Slack mrkdwn: & < > escaped as entities (its only escapes), marks as look-alikes."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _no_mentions(escaped.translate(_LOOKALIKE))


def slack_link(url: str, label: str) -> str:
    safe_url = quote(url, safe=":/?#[]@!$'()*+,;=%&-._~")  # no <, >, | or spaces in the URL
    safe_url = safe_url.replace("&", "&amp;")
    return f"<{safe_url}|{slack_escape(label).replace('|', '¦')}>"


def slack(n: Notice) -> str:
    w = WORDS[n.lang]
    out = []
    if _status_line(n):
        out.append(f"*{slack_escape(_status_line(n))}*")
    out += [f"*{slack_escape(_line(n.title))}*", ""]
    for label, value in _fields(n):
        if label == w["where"] and n.map_url:
            shown = f"{slack_escape(_line(value))} ({slack_link(n.map_url, w['map'])})"
        elif label == w["online"]:
            shown = slack_link(value, value)
        else:
            shown = slack_escape(_line(value))
        out.append(f"*{label}:* {shown}")
    if n.agenda:
        out += ["", f"*{w['agenda']}:*", *(slack_escape(ln) for ln in _block(n.agenda))]
    if n.status != "cancelled":
        out += ["", f"`{slack_escape(n.rsvp_hint)}`"]
    return "\n".join(out) + "\n"


_URL = re.compile(r"https?://\S+")


def mastodon_length(value: str) -> int:
    """Characters as Mastodon counts them: every link is 23."""
    return len(_URL.sub("x" * MASTODON_URL_LENGTH, value))


def mastodon(n: Notice) -> str:
    """Plain text within 500 characters: the agenda goes first, then long values are cut."""
    w = WORDS[n.lang]
    head = [_no_mentions(_status_line(n))] if _status_line(n) else []
    head.append(_no_mentions(_line(n.title)))
    body = []
    for label, value in _fields(n):
        shown = value if label == w["online"] else _no_mentions(_line(value))
        body.append(f"{label}: {shown}")
        if label == w["where"] and n.map_url:
            body.append(n.map_url)
    agenda = [_no_mentions(ln) for ln in _block(n.agenda)]

    def compose(parts_head, parts_body, parts_agenda):
        chunks = ["\n".join(parts_head), "\n".join(parts_body)]
        if parts_agenda:
            chunks.append("\n".join(parts_agenda))
        return "\n\n".join(chunks)

    post = compose(head, body, agenda)
    while agenda and mastodon_length(post) > MASTODON_LIMIT:
        agenda.pop()
        post = compose(head, body, agenda + (["…"] if agenda else []))
    if mastodon_length(post) > MASTODON_LIMIT:
        post = compose(head, body, [])
    budget_cut = 0
    while mastodon_length(post) > MASTODON_LIMIT:
        budget_cut += 10  # shorten the longest non-link line until it fits
        lines = post.split("\n")
        longest = max(
            (i for i, ln in enumerate(lines) if not _URL.fullmatch(ln)), key=lambda i: len(lines[i])
        )
        lines[longest] = lines[longest][: max(len(lines[longest]) - 10, 1)].rstrip() + "…"
        post = "\n".join(lines)
    return post + "\n"


def html_body(n: Notice) -> str:
    """The e-mail's HTML part: everything user-typed goes through html.escape."""
    w = WORDS[n.lang]
    e = html.escape
    parts = [
        '<!DOCTYPE html>\n<html lang="' + n.lang + '"><head><meta charset="utf-8"></head><body>'
    ]
    if _status_line(n):
        parts.append(f"<p><strong>{e(_status_line(n))}</strong></p>")
    parts.append(f"<h2>{e(_line(n.title))}</h2>\n<ul>")
    for label, value in _fields(n):
        if label == w["where"] and n.map_url:
            shown = f'{e(_line(value))} (<a href="{e(n.map_url)}">{e(w["map"])}</a>)'
        elif label == w["online"]:
            shown = f'<a href="{e(value)}">{e(value)}</a>'
        else:
            shown = e(_line(value))
        parts.append(f"<li><strong>{e(label)}:</strong> {shown}</li>")
    parts.append("</ul>")
    if n.agenda:
        parts.append(
            f"<p><strong>{e(w['agenda'])}</strong><br>\n"
            + "<br>\n".join(e(ln) for ln in _block(n.agenda))
            + "</p>"
        )
    if n.status != "cancelled":
        parts.append(f"<p><code>{e(n.rsvp_hint)}</code></p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


RENDERERS = {
    "text": text,
    "markdown": markdown,
    "whatsapp": whatsapp,
    "slack": slack,
    "mastodon": mastodon,
}


def render(n: Notice, channel: str) -> str:
    if channel not in RENDERERS:
        raise InvalidInput("format", channel, f"use one of {', '.join(CHANNELS)}")
    return RENDERERS[channel](n)


def subject(n: Notice) -> str:
    prefix = {
        "cancelled": WORDS[n.lang]["cancelled"] + ": ",
        "updated": WORDS[n.lang]["updated"] + ": ",
    }
    return prefix.get(n.status, "") + _line(n.title) + " — " + n.when.split(" (")[0]
