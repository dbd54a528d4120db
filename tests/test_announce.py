"""Announcement texts: Dutch and English dates, each channel's escaping with hostile
titles, Mastodon's 500 characters, and the UPDATED / CANCELLED lines."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from test_gatherings import _copied_example_db, _example_template  # noqa: F401  (fixtures)

from zppcli import announce

HOSTILE = "*Gratis* <script>alert('x')</script> & _korting_ ~50%~ `rm` @channel <!here> 🎉 [link](http://evil)"


def notice(**kw) -> announce.Notice:
    base = dict(
        lang="nl",
        title=HOSTILE,
        when="donderdag 10 december 2026, 17:30–19:30 (Amsterdamse tijd)",
        status="new",
        place="Mediapark 1 <b>, Hilversum",
        map_url=announce.map_url("Mediapark 1 <b>, Hilversum"),
        online="https://meet.example/a_b?x=1&y=2",
        audience="collectief old-school",
        agenda="17:30 *inloop*\n18:00 <i>pitches</i>\n@everyone welkom",
        places="20 plekken, nog 5 vrij",
        rsvp_by="dinsdag 8 december 2026",
        host="Renée Bakker",
        host_contact="renee@example.nl",
        rsvp_hint="Aanmelden: zpp gathering rsvp 1234abcd JOUW-HANDLE yes",
    )
    base.update(kw)
    return announce.Notice(**base)


def test_dutch_and_english_dates():
    from datetime import datetime

    start, end = datetime(2026, 12, 10, 17, 30), datetime(2026, 12, 10, 19, 30)
    assert announce.when_text(start, end, "Europe/Amsterdam", "nl") == (
        "donderdag 10 december 2026, 17:30–19:30 (Amsterdamse tijd)"
    )
    assert announce.when_text(start, end, "Europe/Amsterdam", "en") == (
        "Thursday 10 December 2026, 17:30–19:30 (Amsterdam time)"
    )
    assert "(Europe/London time)" in announce.when_text(start, end, "Europe/London", "en")


def test_whatsapp_title_cannot_open_or_close_formatting():
    out = announce.whatsapp(notice())
    title_line = out.splitlines()[0]
    assert title_line.startswith("*") and title_line.endswith("*")
    inner = title_line[1:-1]
    assert not re.search(r"[*_~`]", inner)  # the marks became look-alikes
    assert "∗Gratis∗" in inner and "🎉" in inner
    assert "@\u200bchannel" in inner  # no ping
    agenda = out[out.index("Programma") :]
    assert "*inloop*" not in agenda and "@\u200beveryone" in agenda
    assert "https://meet.example/a_b?x=1&y=2" in out  # links stay clickable


def test_slack_escapes_control_characters_and_links():
    out = announce.slack(notice())
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<!here>" not in out and "&lt;!here&gt;" in out
    assert " &amp; " in out
    # every < opens one of our links: <url|text>
    links = re.findall(r"<([^>]*)>", out)
    assert links and all(re.fullmatch(r"https://[^|<> ]+\|[^|<>]+", link) for link in links)
    assert "<https://meet.example/a_b?x=1&amp;y=2|" in out
    assert "*Gratis*" not in out and "@\u200bchannel" in out


def test_markdown_renders_the_title_as_literal_text():
    out = announce.markdown(notice())
    rendered = MarkdownIt("commonmark").render(out)
    assert "<script>" not in rendered and "<b>" not in rendered and "<i>" not in rendered
    heading = re.search(r"<h2>(.*)</h2>", rendered)[1]
    assert "<em>" not in heading and "<code>" not in heading and "<a " not in heading
    assert "*Gratis*" in heading and "[link](http://evil)" in heading and "🎉" in heading
    assert 'href="https://meet.example/a_b?x=1&amp;y=2"' in rendered
    assert rendered.count("<a href") == 2  # the map and the online link, nothing from user text


def test_html_part_has_no_markup_from_user_text():
    tags = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    Tags().feed(announce.html_body(notice()))
    assert "script" not in tags and "b" not in tags and "i" not in tags
    assert set(tags) <= {
        "html",
        "head",
        "meta",
        "body",
        "p",
        "strong",
        "h2",
        "ul",
        "li",
        "a",
        "br",
        "code",
    }


def test_newlines_in_a_title_do_not_break_lines():
    n = notice(title="Borrel\nFAKE: gratis bier\r\n\x1b[31m")
    for channel in announce.CHANNELS:
        out = announce.render(n, channel)
        assert "\x1b" not in out
        assert not any(line.startswith("FAKE") for line in out.splitlines()), channel


def test_mastodon_stays_within_500_characters():
    long = notice(
        agenda="\n".join(
            f"{h}:00 onderdeel nummer {h} met een lange uitleg erbij" for h in range(10, 24)
        ),
        title="Een heel lange titel " * 8,
    )
    out = announce.mastodon(long)
    assert announce.mastodon_length(out) <= 500
    assert "https://www.openstreetmap.org/search?query=" in out  # links are kept whole
    short = announce.mastodon(notice(agenda="18:00 pitches"))
    assert "18:00 pitches" in short and announce.mastodon_length(short) <= 500
    assert announce.mastodon_length("zie https://" + "x" * 200) == 4 + 23


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(min_size=1, max_size=600), agenda=st.text(max_size=800))
def test_any_text_fits_mastodon_and_keeps_whatsapp_marks_balanced(title, agenda):
    n = notice(title=title, agenda=agenda)
    assert announce.mastodon_length(announce.mastodon(n)) <= 500
    first = announce.whatsapp(n).splitlines()[0]
    assert first.count("*") == 2  # only our own bold marks
    slack_out = announce.slack(n)
    assert all(link.startswith("https://") for link in re.findall(r"<([^>]*)>", slack_out))


def test_cli_text_updated_and_cancelled(run, example_db, monkeypatch):
    monkeypatch.setenv("ZPP_NOW", "2026-12-01T09:00:00")
    gid = run(
        "gathering",
        "add",
        "Old School borrel",
        "--start",
        "2026-12-10 17:30",
        "--place",
        "Mediapark 1",
        "--host",
        "renee-bakker",
        "--capacity",
        "20",
        "--rsvp-by",
        "2026-12-08",
        ok=True,
    ).stdout.strip()
    first = run("gathering", "announce", gid, "--as", "text", ok=True).stdout
    assert "donderdag 10 december 2026, 17:30–19:30 (Amsterdamse tijd)" in first
    assert "GEWIJZIGD" not in first and "20 plekken, nog 20 vrij" in first
    assert "Aanmelden vóór: dinsdag 8 december 2026" in first
    run("gathering", "edit", gid, "--start", "2026-12-10 18:00", ok=True)
    for channel, lang, expected in [
        ("text", "nl", "GEWIJZIGD: nieuwe tijd 18:00"),
        ("slack", "en", "*UPDATED: new time 18:00*"),
        ("text", "en", "UPDATED: new time 18:00"),
    ]:
        out = run("gathering", "announce", gid, "--as", channel, "--lang", lang, ok=True).stdout
        assert out.splitlines()[0] == expected  # the same on every channel of this version
    run("gathering", "cancel", gid, "--reason", "zaal onder water", ok=True)
    out = run("gathering", "announce", gid, "--as", "whatsapp", ok=True).stdout
    assert out.splitlines()[0] == "*AFGELAST (reden: zaal onder water)*"
    assert "Plekken" not in out and "Aanmelden" not in out
    assert "rsvp" not in out


def test_cli_host_contact_only_when_public(run, example_db, monkeypatch):
    monkeypatch.setenv("ZPP_NOW", "2026-12-01T09:00:00")
    run("member", "edit", "renee-bakker", "--visibility", "network", ok=True)
    gid = run(
        "gathering",
        "add",
        "Borrel",
        "--start",
        "2026-12-10 17:30",
        "--host",
        "renee-bakker",
        ok=True,
    ).stdout.strip()
    result = run("gathering", "announce", gid, "--as", "mastodon", "--lang", "en", ok=True)
    assert "Host: Renée Bakker" in result.stdout and "@reneebakker" not in result.stdout
    assert "renee-bakker's e-mail is left out" in result.stderr


def test_cli_refuses_unknown_format_and_language(run, example_db):
    gid = run("gathering", "add", "Borrel", "--start", "2026-12-10 17:30", ok=True).stdout.strip()
    assert run("gathering", "announce", gid, "--as", "telegram").exit_code == 1
    result = run("gathering", "announce", gid, "--lang", "fr")
    assert result.exit_code == 1 and "language 'fr'" in result.stderr
    assert run("gathering", "announce", gid, "--as", "text", "--smtp", "x:25").exit_code == 2


def test_output_file_is_written_atomically(run, example_db, tmp_path):
    gid = run("gathering", "add", "Borrel", "--start", "2026-12-10 17:30", ok=True).stdout.strip()
    target = tmp_path / "post.md"
    target.write_text("old")
    run("gathering", "announce", gid, "--as", "markdown", "-o", str(target), ok=True)
    assert target.read_text().startswith("## Borrel")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".post.md")] == []
    missing = run(
        "gathering", "announce", gid, "--as", "markdown", "-o", str(tmp_path / "nope" / "x.md")
    )
    assert missing.exit_code == 1 and "output" in missing.stderr


def test_a_private_host_is_not_named(run, example_db, tmp_path, monkeypatch):
    monkeypatch.setenv("ZPP_NOW", "2026-12-01T09:00:00")
    gid = run(
        "gathering",
        "add",
        "Borrel",
        "--start",
        "2026-12-10 17:30",
        "--host",
        "noor-jansen",
        ok=True,
    ).stdout.strip()
    result = run("gathering", "announce", gid, "--as", "text", ok=True)
    assert "Noor" not in result.stdout and "Host" not in result.stdout
    assert "noor-jansen has private visibility" in result.stderr
    ics_text = run("gathering", "announce", gid, "--as", "ics", ok=True).stdout
    assert "Noor" not in ics_text and "noor" not in ics_text.lower()
