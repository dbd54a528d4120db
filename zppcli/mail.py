"""E-mail for gatherings: announcements (audience in Bcc), personal invitations,
reminders; written as .eml/mbox or sent with smtplib.

The .ics goes along as a text/calendar part with method=PUBLISH|REQUEST|CANCEL,
passed as str so it keeps its charset. `smtplib.send_message` moves Bcc into
the envelope and leaves it out of the headers the recipients see.
"""

from __future__ import annotations

import os
import re
import smtplib
import sqlite3
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from zppcli import announce, gatherings, ics
from zppcli.contacts import normalize_email
from zppcli.errors import InvalidInput, UsageError, ZppError

PASSWORD_ENV = "ZPP_SMTP_PASSWORD"
REMINDER_WORDS = {
    "nl": {
        "reminder": "Herinnering",
        "promotion": "Je bent van de wachtlijst: er is plek",
        "hello": "Hoi {name},",
        "remind_body": "Een herinnering: je hebt je aangemeld voor",
        "promotion_body": "Er is een plek vrijgekomen: je staat nu op de lijst voor",
        "cant": "Kun je toch niet? Laat het weten: zpp gathering rsvp {ref} {handle} no",
    },
    "en": {
        "reminder": "Reminder",
        "promotion": "You're off the waitlist: a place opened up",
        "hello": "Hi {name},",
        "remind_body": "A reminder: you said you would come to",
        "promotion_body": "A place opened up: you are now on the list for",
        "cant": "Can't make it after all? Let us know: zpp gathering rsvp {ref} {handle} no",
    },
}


def sender_for(conn: sqlite3.Connection, g: Any, given: str | None) -> tuple[str, str]:
    """(display name, address) of the sender: --from, else the host member's e-mail."""
    if given:
        return "", normalize_email(given, "from")
    host = gatherings.host_of(conn, g)
    if host and host["kind"] == "member" and host["record"]["visibility"] != "private":
        shown = [e["value"] for e in host["record"]["emails"] if not e["private"]]
        if shown:
            return host["name"], shown[0]
    who = (
        f"host {host['handle']} has no e-mail address that may be shown"
        if host
        else "the gathering has no host member"
    )
    raise UsageError(f"no sender: {who}; pass --from ADDRESS")


def _base(sender: tuple[str, str], subject: str, domain: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr(sender)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(gatherings.now_utc())
    msg["Message-ID"] = make_msgid(domain=domain)
    return msg


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "zpp.invalid"


def _attach_ics(msg: EmailMessage, calendar_text: str, method: str) -> None:
    msg.add_attachment(
        calendar_text, subtype="calendar", filename="gathering.ics", params={"method": method}
    )


def announcement(
    conn: sqlite3.Connection,
    g: Any,
    audience: gatherings.Audience,
    sender: tuple[str, str],
    lang: str = "nl",
    html: bool = False,
) -> EmailMessage:
    """One message to the whole audience in Bcc (To: the sender), with the .ics attached."""
    n = announce.notice(conn, g, lang)
    msg = _base(sender, announce.subject(n), _domain(sender[1]))
    msg["To"] = formataddr(sender)
    if audience.recipients:
        msg["Bcc"] = ", ".join(formataddr((m["name"], m["email"])) for m in audience.recipients)
    msg.set_content(announce.text(n))
    if html:
        msg.add_alternative(announce.html_body(n), subtype="html")
    _attach_ics(msg, ics.announcement(conn, g, organizer_email=sender[1]), ics.method_for(g))
    return msg


def invitations(
    conn: sqlite3.Connection,
    g: Any,
    audience: gatherings.Audience,
    sender: tuple[str, str],
    lang: str = "nl",
    html: bool = False,
) -> list[tuple[dict, EmailMessage]]:
    """One REQUEST (CANCEL once cancelled) per member, that member the only ATTENDEE."""
    n = announce.notice(conn, g, lang)
    body, page = announce.text(n), announce.html_body(n) if html else None
    out = []
    for member in audience.recipients:
        msg = _base(sender, announce.subject(n), _domain(sender[1]))
        msg["To"] = formataddr((member["name"], member["email"]))
        msg.set_content(body)
        if page:
            msg.add_alternative(page, subtype="html")
        attendee = {"email": member["email"], "name": member["name"]}
        _attach_ics(
            msg,
            ics.invitation(conn, g, attendee, organizer_email=sender[1]),
            ics.method_for(g, personal=True),
        )
        out.append((member, msg))
    return out


def reminder(
    conn: sqlite3.Connection, item: gatherings.Reminder, sender: tuple[str, str], lang: str = "nl"
) -> EmailMessage:
    w = REMINDER_WORDS[lang]
    g, member = item.gathering, item.member
    n = announce.notice(conn, g, lang, occurrence=item.occurrence)
    n.status, n.changes = "new", []
    head = w["reminder"] if item.kind == "reminder" else w["promotion"]
    msg = _base(sender, f"{head}: {announce.subject(n)}", _domain(sender[1]))
    msg["To"] = formataddr((member["name"], gatherings.email_of(member)))
    intro = w["remind_body"] if item.kind == "reminder" else w["promotion_body"]
    body = (
        f"{w['hello'].format(name=member['given_name'] or member['name'])}\n\n{intro}:\n\n"
        f"{announce.text(n)}\n{w['cant'].format(ref=g['id'][:8], handle=member['handle'])}\n"
    )
    msg.set_content(body)
    _attach_ics(msg, ics.announcement(conn, g, organizer_email=sender[1]), "PUBLISH")
    return msg


@dataclass
class Smtp:
    host: str
    port: int
    starttls: bool = False
    user: str | None = None


def parse_smtp(text: str, starttls: bool = False, user: str | None = None) -> Smtp:
    match = re.fullmatch(r"\[?([\w.:-]+?)\]?:(\d{1,5})", (text or "").strip())
    if not match or not 0 < int(match[2]) < 65536:
        raise InvalidInput("smtp", text, "use HOST:PORT, like smtp.example.nl:587")
    if user and not os.environ.get(PASSWORD_ENV):
        raise UsageError(f"--user {user} needs the password in ${PASSWORD_ENV}")
    return Smtp(match[1], int(match[2]), starttls, user)


class Sender:
    """One SMTP session for a batch of messages: `with Sender(smtp) as s: s.send(msg)`."""

    def __init__(self, smtp: Smtp, timeout: float = 30):
        self.smtp, self.timeout, self.client = smtp, timeout, None

    def __enter__(self) -> Sender:
        try:
            self.client = smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.timeout)
            if self.smtp.starttls:
                import ssl

                # verify the server's certificate (smtplib's own default does not);
                # SSL_CERT_FILE / SSL_CERT_DIR point OpenSSL at a private CA
                self.client.starttls(context=ssl.create_default_context())
            if self.smtp.user:
                self.client.login(self.smtp.user, os.environ.get(PASSWORD_ENV, ""))
        except (OSError, smtplib.SMTPException) as e:
            if self.client is not None:
                self.client.close()
            raise ZppError(f"smtp {self.smtp.host}:{self.smtp.port}: {e}") from None
        return self

    def send(self, msg: EmailMessage) -> dict:
        """Returns the refused recipients ({} when all were accepted)."""
        try:
            return self.client.send_message(msg)
        except (OSError, smtplib.SMTPException) as e:
            raise ZppError(f"smtp {self.smtp.host}:{self.smtp.port}: sending failed: {e}") from None

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                self.client.close()


def as_bytes(msg: EmailMessage) -> bytes:
    return bytes(msg)


def mbox(messages: list[EmailMessage]) -> bytes:
    """Several messages as one mbox (From_ lines, >From quoting)."""
    out = []
    for msg in messages:
        sender = re.sub(r".*<|>.*", "", str(msg["From"])) or "zpp"
        stamp = gatherings.now_utc().strftime("%a %b %d %H:%M:%S %Y")
        body = bytes(msg).replace(b"\r\n", b"\n")
        body = re.sub(rb"(?m)^(>*From )", rb">\1", body)
        out.append(f"From {sender} {stamp}\n".encode() + body.rstrip(b"\n") + b"\n\n")
    return b"".join(out)
