"""E-mail goes to a real aiosmtpd server on 127.0.0.1 and is parsed back with the
stdlib `email` package: Bcc out of the headers, every audience member in the
envelope, the .ics part intact."""

from __future__ import annotations

import email
import json
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from icalendar import Calendar
from test_gatherings import _copied_example_db, _example_template  # noqa: F401  (fixtures)

NOW = "2026-12-01T09:00:00"


class Inbox:
    def __init__(self):
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def messages(self):
        return [
            email.message_from_bytes(raw, policy=policy.default) for _, _, raw in self.envelopes
        ]


def free_port() -> int:
    with socket.socket() as s:  # aiosmtpd cannot bind port 0 itself
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        inbox.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    inbox.address = f"127.0.0.1:{port}"
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("ZPP_NOW", NOW)


@pytest.fixture
def gathering(run, example_db):
    return run(
        "gathering",
        "add",
        "Old School <borrel> & *pitch*",
        "--start",
        "2026-12-10 17:30",
        "--place",
        "Mediapark 1, Hilversum",
        "--host",
        "renee-bakker",
        "--collective",
        "old-school",
        ok=True,
    ).stdout.strip()


def audience(run, gid) -> dict[str, str]:
    """handle -> e-mail of everyone the dry run lists (the oracle for the envelope)."""
    out = run(
        "gathering", "announce", gid, "--as", "email", "--dry-run", "--format", "json", ok=True
    ).stdout
    return {r["handle"]: r["email"] for r in json.loads(out)}


def calendar_part(msg):
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def test_announcement_bcc_envelope_and_ics(run, gathering, smtp):
    expected = audience(run, gathering)
    assert len(expected) == 8  # old-school has 13: 2 private, 3 without e-mail
    result = run(
        "gathering", "announce", gathering, "--as", "email", "--smtp", smtp.address, "--html"
    )
    assert result.exit_code == 0, result.stderr
    assert "ingrid-tcate, noor-jansen" in result.stderr  # private: reported, not addressed
    assert "kees-camera" in result.stderr  # no e-mail: reported
    ((mail_from, rcpts, raw),) = smtp.envelopes
    assert mail_from == "renee@reneebakker.example"  # the host's address
    assert set(expected.values()) <= set(rcpts)
    assert set(rcpts) == set(expected.values()) | {"renee@reneebakker.example"}
    msg = smtp.messages()[0]
    assert (
        msg["Bcc"] is None
        and b"Bcc" not in raw.split(b"\r\n\r\n")[0]
        and b"Bcc" not in raw.split(b"\n\n")[0]
    )
    assert msg["To"] == "Renée Bakker <renee@reneebakker.example>"
    assert (
        msg["Subject"] == "Old School <borrel> & *pitch* — donderdag 10 december 2026, 17:30–19:30"
    )
    others = set(expected.values()) - {"renee@reneebakker.example"}  # the host sends it
    assert len(others) == 7
    for address in others:
        assert address not in raw.decode("utf-8", "replace")  # nobody sees the others
    text = msg.get_body(("plain",)).get_content()
    assert "donderdag 10 december 2026, 17:30–19:30 (Amsterdamse tijd)" in text
    html = msg.get_body(("html",)).get_content()
    assert "Old School &lt;borrel&gt; &amp; *pitch*" in html
    part = calendar_part(msg)
    assert part.get_param("method") == "PUBLISH" and part.get_content_charset() == "utf-8"
    assert part.get_filename() == "gathering.ics"
    cal = Calendar.from_ical(part.get_content())
    (ev,) = cal.walk("VEVENT")
    assert cal["METHOD"] == "PUBLISH" and str(ev["UID"]) == f"{gathering}@zpp"
    assert str(ev["SUMMARY"]) == "Old School <borrel> & *pitch*"
    assert "ATTENDEE" not in ev and str(ev["ORGANIZER"]) == "mailto:renee@reneebakker.example"


def test_personal_invitations_one_per_member_with_one_attendee(run, gathering, smtp):
    expected = audience(run, gathering)
    run(
        "gathering",
        "announce",
        gathering,
        "--as",
        "email",
        "--personal",
        "--smtp",
        smtp.address,
        "--from",
        "borrel@oldschool.example",
        ok=True,
    )
    assert len(smtp.envelopes) == len(expected)
    seen = set()
    for (mail_from, rcpts, _), msg in zip(smtp.envelopes, smtp.messages(), strict=True):
        assert mail_from == "borrel@oldschool.example" and len(rcpts) == 1
        assert msg["To"].addresses[0].addr_spec == rcpts[0]
        cal = Calendar.from_ical(calendar_part(msg).get_content())
        assert cal["METHOD"] == "REQUEST" and calendar_part(msg).get_param("method") == "REQUEST"
        attendee = cal.walk("VEVENT")[0]["ATTENDEE"]
        assert str(attendee) == f"mailto:{rcpts[0]}"  # the only one
        seen.add(rcpts[0])
    assert seen == set(expected.values())


def test_cancel_sends_method_cancel_with_a_higher_sequence(run, gathering, smtp):
    run("gathering", "cancel", gathering, "--reason", "zaal onder water", ok=True)
    run("gathering", "announce", gathering, "--as", "email", "--smtp", smtp.address, ok=True)
    msg = smtp.messages()[0]
    assert msg["Subject"].startswith("AFGELAST: ")
    part = calendar_part(msg)
    assert part.get_param("method") == "CANCEL"
    ev = Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert str(ev["STATUS"]) == "CANCELLED" and int(ev["SEQUENCE"]) == 1


def test_eml_file_parses_and_keeps_bcc_for_the_sender(run, gathering, tmp_path):
    path = tmp_path / "borrel.eml"
    run("gathering", "announce", gathering, "--as", "email", "-o", str(path), ok=True)
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert len(msg["Bcc"].addresses) == 8  # a draft: the sender's MUA moves Bcc to the envelope
    assert Calendar.from_ical(calendar_part(msg).get_content()).walk("VEVENT")


def test_no_sender_is_a_clear_error_and_nothing_is_recorded(run, example_db, smtp):
    from conftest import snapshot

    gid = run(
        "gathering", "add", "Borrel", "--start", "2026-12-10 17:30", "--host", "old-school", ok=True
    ).stdout.strip()
    before = snapshot(example_db)
    result = run("gathering", "announce", gid, "--as", "email", "--smtp", smtp.address)
    assert result.exit_code == 2 and "--from ADDRESS" in result.stderr
    assert smtp.envelopes == [] and snapshot(example_db) == before
    bad = run("gathering", "announce", gid, "--as", "email", "--smtp", "nohost", "--from", "a@b.nl")
    assert bad.exit_code == 1 and "smtp 'nohost'" in bad.stderr


def test_login_uses_the_password_from_the_environment(run, gathering, smtp, monkeypatch):
    missing = run(
        "gathering",
        "announce",
        gathering,
        "--as",
        "email",
        "--smtp",
        smtp.address,
        "--user",
        "renee",
    )
    assert missing.exit_code == 2 and "ZPP_SMTP_PASSWORD" in missing.stderr
    monkeypatch.setenv("ZPP_SMTP_PASSWORD", "geheim")
    run(
        "gathering",
        "announce",
        gathering,
        "--as",
        "email",
        "--smtp",
        smtp.address,
        "--user",
        "renee",
        ok=True,
    )
    assert smtp.logins == [("renee", "geheim")] and len(smtp.envelopes) == 1


def test_unreachable_server_is_one_line(run, gathering):
    result = run(
        "gathering", "announce", gathering, "--as", "email", "--smtp", f"127.0.0.1:{free_port()}"
    )
    assert (
        result.exit_code == 1
        and result.stderr.count("\n") <= 8
        and "smtp 127.0.0.1:" in result.stderr
    )


def test_remind_via_smtp_sends_once(run, gathering, smtp, monkeypatch):
    for handle in ("fleur-vbeek", "mikkel-baek"):
        run("gathering", "rsvp", gathering, handle, "yes", ok=True)
    run("gathering", "rsvp", gathering, "kees-camera", "maybe", ok=True)  # no e-mail address
    monkeypatch.setenv("ZPP_NOW", "2026-12-09T18:00:00")
    first = run("gathering", "remind", "--before", "1d", "--smtp", smtp.address, "--lang", "en")
    assert first.exit_code == 0, first.stderr
    assert "kees-camera has no e-mail address" in first.stderr
    assert sorted(r for _, rcpts, _ in smtp.envelopes for r in rcpts) == [
        "fleur@fleurvanbeek.example",
        "mikkel@pixelpolder.example",
    ]
    assert all(m["Subject"].startswith("Reminder: ") for m in smtp.messages())
    monkeypatch.setenv("ZPP_NOW", "2026-12-09T19:00:00")  # cron, an hour later
    run("gathering", "remind", "--before", "1d", "--smtp", smtp.address, ok=True)
    assert len(smtp.envelopes) == 2


@pytest.fixture
def tls_smtp(tmp_path):
    """aiosmtpd demanding STARTTLS, with a self-signed certificate for 127.0.0.1."""
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    inbox.address, inbox.cert = f"127.0.0.1:{port}", cert
    yield inbox
    controller.stop()


def test_starttls_verifies_the_certificate(run, gathering, tls_smtp, monkeypatch):
    plain = run("gathering", "announce", gathering, "--as", "email", "--smtp", tls_smtp.address)
    assert plain.exit_code == 1 and "STARTTLS" in plain.stderr  # the server refuses plain text
    untrusted = run(
        "gathering",
        "announce",
        gathering,
        "--as",
        "email",
        "--smtp",
        tls_smtp.address,
        "--starttls",
    )
    assert untrusted.exit_code == 1 and "certificate verify failed" in untrusted.stderr
    assert tls_smtp.envelopes == []
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_smtp.cert))  # trust our test CA
    run(
        "gathering",
        "announce",
        gathering,
        "--as",
        "email",
        "--smtp",
        tls_smtp.address,
        "--starttls",
        ok=True,
    )
    assert len(tls_smtp.envelopes) == 1


def test_personal_invitations_written_as_mbox(run, gathering, tmp_path):
    import mailbox

    path = tmp_path / "invitations.mbox"
    run("gathering", "announce", gathering, "--as", "email", "--personal", "-o", str(path), ok=True)
    box = mailbox.mbox(str(path))
    messages = [
        email.message_from_bytes(box.get_bytes(k), policy=policy.default) for k in box.iterkeys()
    ]
    assert len(messages) == 8
    assert len({m["To"].addresses[0].addr_spec for m in messages}) == 8
    for msg in messages:
        cal = Calendar.from_ical(calendar_part(msg).get_content())
        assert (
            str(cal.walk("VEVENT")[0]["ATTENDEE"]) == f"mailto:{msg['To'].addresses[0].addr_spec}"
        )
