"""zpp gathering add|edit|show|list|cancel|rsvp|attendees|announce|feed|remind"""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import fmt, open_db, writing
from zppcli.cli.options import (
    CityFilter,
    CollectiveFilter,
    DbOpt,
    FormatOpt,
    FreeFilter,
    JsonOpt,
    LangFilter,
    LearnerFilter,
    LevelFilter,
    MentorFilter,
    OutOpt,
    SkillFilter,
    TagFilter,
    filters_from,
)

app = new_app(
    "Gatherings: plan meet-ups, collect RSVPs, announce them (chat text, .ics, e-mail).\n\n"
    "Times are Europe/Amsterdam unless an offset or --tz is given."
)
Gathering = Annotated[
    str, typer.Argument(help="Id (a prefix of 4+ characters) or the exact title.")
]
Start = Annotated[
    str | None,
    typer.Option(
        "--start",
        help='Start: "2026-12-10 17:30", "friday 16:00", or with an offset "2026-12-10T16:30Z".',
        metavar="WHEN",
        show_default=False,
    ),
]
End = Annotated[
    str | None,
    typer.Option(
        "--end",
        help='End: a date and time, or just "19:30" on the start day.',
        metavar="WHEN",
        show_default=False,
    ),
]
Duration = Annotated[
    str | None,
    typer.Option(
        "--duration",
        help="Length instead of --end: 2h, 90m, 1h30m [default on add: 2h].",
        metavar="SPAN",
        show_default=False,
    ),
]
Tz = Annotated[
    str | None,
    typer.Option(
        "--tz",
        help="IANA time zone of the times [default: Europe/Amsterdam].",
        metavar="ZONE",
        show_default=False,
    ),
]
Place = Annotated[
    str | None,
    typer.Option("--place", help="Street address.", metavar="ADDRESS", show_default=False),
]
Online = Annotated[
    str | None,
    typer.Option("--online", help="Link to join online.", metavar="URL", show_default=False),
]
Host = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="A member (handle, id, name) or a collective.",
        metavar="MEMBER|COLLECTIVE",
        show_default=False,
    ),
]
Description = Annotated[
    str | None,
    typer.Option(
        "--description",
        "--agenda",
        help="What happens; the agenda.",
        metavar="TEXT",
        show_default=False,
    ),
]
Capacity = Annotated[
    str | None,
    typer.Option(
        "--capacity",
        help='Places; a yes beyond it joins the waitlist ("none" on edit removes the limit).',
        metavar="N",
        show_default=False,
    ),
]
RsvpBy = Annotated[
    str | None,
    typer.Option("--rsvp-by", help="RSVP deadline (a date).", metavar="DATE", show_default=False),
]
Repeat = Annotated[
    str | None,
    typer.Option(
        "--repeat",
        help='weekly, "every 2 weeks", monthly, '
        '"monthly on last thursday" ... [+ " until DATE"]; "none" stops it.',
        metavar="RULE",
        show_default=False,
    ),
]
Smtp = Annotated[
    str | None,
    typer.Option(
        "--smtp", help="Send through this SMTP server.", metavar="HOST:PORT", show_default=False
    ),
]
StartTls = Annotated[
    bool, typer.Option("--starttls", help="Upgrade the SMTP connection with STARTTLS.")
]
SmtpUser = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="SMTP login; the password comes from $ZPP_SMTP_PASSWORD.",
        metavar="USER",
        show_default=False,
    ),
]
From = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Sender address [default: the host member's e-mail].",
        metavar="ADDRESS",
        show_default=False,
    ),
]
Lang = Annotated[str, typer.Option("--lang", help="Language of the text: nl | en.", metavar="LANG")]
Output = OutOpt
AS_CHOICES = ("text", "markdown", "whatsapp", "slack", "mastodon", "ics", "email")


def _say(text: str) -> None:
    from zppcli import output

    output.message(text)


def _write_file(path: str, data: bytes) -> None:
    from zppcli.files import write_atomic

    write_atomic(path, data)


def _audience(skill, level, free, city, collective, tag, lang, mentor, learner, everyone):
    given = any([skill, level, free, city, collective, tag, lang, mentor, learner])
    if everyone or given:
        return filters_from(None, skill, level, free, city, collective, tag, lang, mentor, learner)
    return None


def _input(**kw):
    from zppcli.gatherings import GatheringInput

    return GatheringInput(**kw)


@app.command("add")
def add(
    title: Annotated[str, typer.Argument(help='Title, like "Old School borrel".')],
    start: Start = None,
    end: End = None,
    duration: Duration = None,
    tz: Tz = None,
    place: Place = None,
    online: Online = None,
    host: Host = None,
    description: Description = None,
    capacity: Capacity = None,
    rsvp_by: RsvpBy = None,
    repeat: Repeat = None,
    skill: SkillFilter = None,
    level: LevelFilter = None,
    free: FreeFilter = None,
    city: CityFilter = None,
    collective: CollectiveFilter = None,
    tag: TagFilter = None,
    lang: LangFilter = None,
    mentor: MentorFilter = None,
    learner: LearnerFilter = None,
    db: DbOpt = None,
) -> None:
    """Plan a gathering; prints its id. The filter flags (as in `zpp search`) say who it is for."""
    from zppcli import gatherings

    audience = _audience(skill, level, free, city, collective, tag, lang, mentor, learner, False)
    with writing(db) as tx:
        gid = gatherings.add(
            tx,
            _input(
                title=title,
                start=start,
                end=end,
                duration=duration,
                tz=tz,
                place=place,
                online=online,
                host=host,
                description=description,
                capacity=capacity,
                rsvp_by=rsvp_by,
                repeat=repeat,
                audience=audience,
            ),
        )
        reach = gatherings.audience(tx.conn, gatherings.get_row(tx.conn, gid))
    _say(
        f"zpp: planned; audience: {len(reach.recipients)} to e-mail"
        + "".join(f"; {note}" for note in reach.notes())
    )
    typer.echo(gid)


@app.command("edit")
def edit(
    gathering: Gathering,
    title: Annotated[
        str | None, typer.Option("--title", help="New title.", metavar="TITLE", show_default=False)
    ] = None,
    start: Start = None,
    end: End = None,
    duration: Duration = None,
    tz: Tz = None,
    place: Place = None,
    online: Online = None,
    host: Host = None,
    description: Description = None,
    capacity: Capacity = None,
    rsvp_by: RsvpBy = None,
    repeat: Repeat = None,
    skill: SkillFilter = None,
    level: LevelFilter = None,
    free: FreeFilter = None,
    city: CityFilter = None,
    collective: CollectiveFilter = None,
    tag: TagFilter = None,
    lang: LangFilter = None,
    mentor: MentorFilter = None,
    learner: LearnerFilter = None,
    everyone: Annotated[
        bool, typer.Option("--everyone", help="Drop the audience filter: for everyone.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Change a gathering: raises its SEQUENCE and records what changed (prints the id)."""
    from zppcli import announce, gatherings

    audience = _audience(skill, level, free, city, collective, tag, lang, mentor, learner, everyone)
    with writing(db) as tx:
        g = gatherings.resolve(tx.conn, gathering)
        changes = gatherings.edit(
            tx,
            g,
            _input(
                title=title,
                start=start,
                end=end,
                duration=duration,
                tz=tz,
                place=place,
                online=online,
                host=host,
                description=description,
                capacity=capacity,
                rsvp_by=rsvp_by,
                repeat=repeat,
                audience=audience,
            ),
        )
        g = gatherings.get_row(tx.conn, g["id"])
        lines = announce._change_lines(g, [{"changes": changes}], "en", tx.conn) if changes else []
        promoted = _promoted_handles(tx.conn, g) if "capacity" in changes else []
    if not changes:
        _say("zpp: nothing changed")
    else:
        _say(f"zpp: updated (SEQUENCE {g['sequence']}): " + "; ".join(lines))
    for handle in promoted:
        _say(f"zpp: {handle} moved from the waitlist to going")
    typer.echo(g["id"])


def _promoted_handles(conn, g) -> list[str]:
    """Members promoted in this transaction (promoted_at set, no promotion sent yet)."""
    from zppcli import gatherings

    return [
        a["handle"]
        for a in gatherings.attendees(conn, g)
        if a["promoted_at"] and a["state"] == "going" and a["promoted_at"] >= g["updated_at"]
    ]


@app.command("show")
def show(
    gathering: Gathering, format_: FormatOpt = None, json_: JsonOpt = False, db: DbOpt = None
) -> None:
    """A gathering: when, where, who, places, status and its change history."""
    from zppcli import gatherings, output

    chosen = fmt(format_, json_)
    conn = open_db(db)
    rec = gatherings.record(conn, gatherings.resolve(conn, gathering))
    if chosen != "json":
        rec["history"] = [
            f"#{h['sequence']} {h['kind']}: "
            + ", ".join(h["changes"])
            + (f" ({h['reason']})" if h["reason"] else "")
            for h in rec["history"]
        ]
    output.render_record(rec, chosen)


@app.command("list")
def list_(
    past: Annotated[bool, typer.Option("--past", help="Gatherings that have taken place.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Upcoming and past.")] = False,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Upcoming gatherings, soonest first (the next date of a repeating one)."""
    from zppcli import gatherings, output

    chosen = fmt(format_, json_)
    rows = gatherings.listing(open_db(db), "all" if all_ else "past" if past else "upcoming")
    if chosen == "table":  # compact for a terminal; full ids and counts in json/csv/tsv
        rows = [
            {
                **r,
                "id": r["id"][:8],
                "going": f"{r['going']}/{r['capacity']}"
                if r["capacity"] is not None
                else r["going"],
                "status": "" if r["status"] == "confirmed" else r["status"],
            }
            for r in rows
        ]
        output.render(
            rows,
            chosen,
            ["when", "title", "place", "going", "waitlist", "repeat", "status", "id"],
            empty="No past gatherings."
            if past and not all_
            else "No gatherings yet; plan one with `zpp gathering add TITLE --start WHEN`."
            if all_
            else "No upcoming gatherings; plan one with `zpp gathering add TITLE --start WHEN`"
            " (--all lists past ones too).",
        )
        return
    output.render(
        rows,
        chosen,
        None
        if chosen == "json"
        else [
            "when",
            "title",
            "place",
            "host",
            "going",
            "capacity",
            "waitlist",
            "repeat",
            "status",
            "id",
        ],
    )


@app.command("cancel")
def cancel(
    gathering: Gathering,
    reason: Annotated[
        str, typer.Option("--reason", help="Why; it goes into the announcement.")
    ] = "",
    db: DbOpt = None,
) -> None:
    """Cancel a gathering (raises SEQUENCE; announce it again to tell everyone)."""
    from zppcli import gatherings

    with writing(db) as tx:
        g = gatherings.resolve(tx.conn, gathering)
        sequence = gatherings.cancel(tx, g, reason)
    _say(
        f"zpp: cancelled {g['title']!r} (SEQUENCE {sequence}); "
        f"`zpp gathering announce {g['id'][:8]} --as email` tells the audience"
    )
    typer.echo(g["id"])


@app.command("rsvp")
def rsvp(
    gathering: Gathering,
    member: Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")],
    answer: Annotated[str, typer.Argument(help="yes | no | maybe", metavar="yes|no|maybe")],
    note: Annotated[
        str | None,
        typer.Option("--note", help='Like "bring a friend" or "late".', show_default=False),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Record an answer; prints going, waitlist, maybe or no. A yes beyond the capacity waits."""
    from zppcli import gatherings, members

    with writing(db) as tx:
        g = gatherings.resolve(tx.conn, gathering)
        person = members.resolve(tx.conn, member)
        result = gatherings.rsvp(tx, g, person["id"], answer, note)
        promoted = [members.get_row(tx.conn, m)["handle"] for m in result.promoted]
    for warning in result.warnings:
        _say(f"zpp: {warning}")
    if result.state == "waitlist":
        _say(f"zpp: {g['title']!r} is full; {person['handle']} is on the waitlist")
    for handle in promoted:
        _say(f"zpp: {handle} moved from the waitlist to going (`zpp gathering remind` tells them)")
    typer.echo(result.state)


@app.command("attendees")
def attendees(
    gathering: Gathering,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state", help="Only going | maybe | waitlist | no; repeat.", show_default=False
        ),
    ] = None,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Who answered: going, maybe, waitlist (in order), no. CSV makes the door list."""
    from zppcli import gatherings, output
    from zppcli.errors import InvalidInput

    chosen = fmt(format_, json_)
    conn = open_db(db)
    rows = gatherings.attendees(conn, gatherings.resolve(conn, gathering))
    for s in state or []:
        if s not in gatherings.STATES:
            raise InvalidInput("state", s, f"use one of {', '.join(gatherings.STATES)}")
    if state:
        rows = [r for r in rows if r["state"] in state]
    output.render(
        rows,
        chosen,
        None
        if chosen == "json"
        else ["state", "position", "handle", "name", "city", "note", "answered_at"],
    )


@app.command("announce")
def announce_(
    gathering: Gathering,
    as_: Annotated[
        str, typer.Option("--as", help=" | ".join(AS_CHOICES), metavar="FORMAT")
    ] = "text",
    lang: Lang = "nl",
    output_: Output = None,
    from_: From = None,
    smtp: Smtp = None,
    starttls: StartTls = False,
    user: SmtpUser = None,
    html: Annotated[bool, typer.Option("--html", help="E-mail: add an HTML part.")] = False,
    personal: Annotated[
        bool,
        typer.Option(
            "--personal",
            help="E-mail: one invitation per member "
            "(METHOD:REQUEST, that member the only ATTENDEE).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="E-mail: list the recipients, send nothing.")
    ] = False,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Announce: paste-ready chat text, an .ics, or an e-mail to the audience (Bcc).

    Says what changed since the last announcement ("GEWIJZIGD: nieuwe tijd 18:00")
    or that it is cancelled."""
    from zppcli import announce, gatherings, ics
    from zppcli.errors import InvalidInput, UsageError

    if as_ not in AS_CHOICES:
        raise InvalidInput("as", as_, f"use one of {', '.join(AS_CHOICES)}")
    lang = announce.check_lang(lang)
    if as_ != "email" and (smtp or personal or dry_run or from_ or html or format_ or json_):
        raise UsageError(
            "--smtp, --personal, --dry-run, --from, --html and --format are for --as email"
        )
    if as_ == "email" and not (smtp or output_ or dry_run):
        raise UsageError(
            "--as email needs -o FILE.eml (write it), --smtp HOST:PORT (send it) or --dry-run"
        )
    with writing(db) as tx:
        g = gatherings.resolve(tx.conn, gathering)
        if as_ == "email":
            listing = fmt(format_, json_)
            _email(
                tx, g, lang, output_, from_, smtp, starttls, user, html, personal, dry_run, listing
            )
            return
        if as_ == "ics":
            data = ics.announcement(tx.conn, g)
        else:
            n = announce.notice(tx.conn, g, lang)
            for warning in n.warnings:
                _say(f"zpp: {warning}")
            data = announce.render(n, as_)
        if output_:
            _write_file(output_, data.encode("utf-8"))
            _say(f"zpp: wrote {output_}")
        else:
            typer.echo(data, nl=False)
        gatherings.record_send(tx, g, "announce", recipient=as_)


def _email(
    tx, g, lang, output_, from_, smtp, starttls, user, html, personal, dry_run, listing
) -> None:
    from zppcli import gatherings, mail, output

    server = mail.parse_smtp(smtp, starttls, user) if smtp else None
    reach = gatherings.audience(tx.conn, g)
    for note in reach.notes():
        _say(f"zpp: {note}")
    if dry_run:
        output.render(
            [
                {"handle": m["handle"], "name": m["name"], "email": m["email"]}
                for m in reach.recipients
            ],
            listing,
            ["handle", "name", "email"],
        )
        _say(f"zpp: dry run: {len(reach.recipients)} recipients, nothing sent")
        return
    if not reach.recipients:
        from zppcli.errors import ZppError

        raise ZppError(f"nobody to e-mail for {g['title']!r}; see the notes above")
    sender = mail.sender_for(tx.conn, g, from_)
    if personal:
        pairs = mail.invitations(tx.conn, g, reach, sender, lang, html)
    else:
        pairs = [(None, mail.announcement(tx.conn, g, reach, sender, lang, html))]
    if output_:
        messages = [m for _, m in pairs]
        _write_file(output_, mail.mbox(messages) if personal else mail.as_bytes(messages[0]))
        _say(
            f"zpp: wrote {len(messages)} message{'s' * (len(messages) != 1)} to {output_}"
            + (" (mbox)" if personal else "")
        )
    if server:
        refused_all: dict = {}
        with mail.Sender(server) as client:
            for _, msg in pairs:
                refused_all.update(client.send(msg))
        for address, why in refused_all.items():
            _say(f"zpp: refused by the server: {address} ({why})")
        _say(
            f"zpp: sent {len(pairs)} message{'s' * (len(pairs) != 1)} to "
            f"{len(reach.recipients) - len(refused_all)} recipients via {server.host}:{server.port}"
        )
    gatherings.record_send(tx, g, "announce", recipient="email-personal" if personal else "email")


@app.command("feed")
def feed(
    output_: Output = None,
    name: Annotated[
        str, typer.Option("--name", help="Calendar name shown by subscribers.")
    ] = "zpp gatherings",
    refresh: Annotated[
        str, typer.Option("--refresh", help="How often subscribers reload: 1h, 12h ...")
    ] = "12h",
    db: DbOpt = None,
) -> None:
    """Every upcoming gathering in one subscribable .ics (publish it on a web server)."""
    from zppcli import gatherings, ics

    span = gatherings.parse_duration(refresh)
    data = ics.feed(open_db(db), name=name, refresh=span)
    if output_:
        _write_file(output_, data.encode("utf-8"))
        n = data.count("BEGIN:VEVENT")
        _say(f"zpp: wrote {output_} ({n} gathering{'s' * (n != 1)})")
    else:
        typer.echo(data, nl=False)


@app.command("remind")
def remind(
    before: Annotated[
        str, typer.Option("--before", help="Window ahead: 1d, 2h, 36h, 1d12h.", metavar="SPAN")
    ] = "1d",
    smtp: Smtp = None,
    starttls: StartTls = False,
    user: SmtpUser = None,
    from_: From = None,
    lang: Lang = "nl",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what is due; send and record nothing.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Remind those going (or maybe) of gatherings starting within --before, and tell
    promoted members they are off the waitlist. Records what it sent: safe to run hourly
    from cron. Without --smtp it prints the messages."""
    from zppcli import announce, gatherings, mail
    from zppcli.errors import ZppError

    window = _window(before)
    lang = announce.check_lang(lang)
    failure = None
    server = mail.parse_smtp(smtp, starttls, user) if smtp else None
    with writing(db) as tx:
        items, notes = gatherings.due(tx.conn, window)
        for note in notes:
            _say(f"zpp: {note}")
        ready = []
        for item in items:
            try:
                sender = mail.sender_for(tx.conn, item.gathering, from_)
            except Exception as e:
                if server:
                    _say(f"zpp: skipped {item.kind} for {item.member['handle']}: {e}")
                    continue
                sender = ("zpp", "noreply@zpp.invalid")
            ready.append((item, mail.reminder(tx.conn, item, sender, lang)))
        if dry_run:
            for item, msg in ready:
                typer.echo(
                    f"{item.kind}\t{item.gathering['title']}\t{item.occurrence[0]:%Y-%m-%d %H:%M}"
                    f"\t{item.member['handle']}\t{msg['To']}"
                )
            _say(f"zpp: dry run: {len(ready)} due, nothing sent or recorded")
            return
        if server and ready:
            with mail.Sender(server) as client:
                for sent, (item, msg) in enumerate(ready):
                    try:
                        client.send(msg)
                    except ZppError as e:  # keep the record of what did go out
                        failure = f"{e} ({sent} of {len(ready)} sent and recorded)"
                        break
                    gatherings.mark_reminded(tx, item)
        else:
            for item, msg in ready:
                body = msg.get_body(("plain",)).get_content()
                typer.echo(
                    f"To: {item.member['name']} <{msg['To'].addresses[0].addr_spec}>\n"
                    f"Subject: {msg['Subject']}\n\n{body.rstrip()}\n"
                )
                gatherings.mark_reminded(tx, item)
    if failure:
        raise ZppError(failure)
    _say(
        f"zpp: {len(ready)} reminder{'s' * (len(ready) != 1)} " + ("sent" if server else "printed")
    )


def _window(text: str):
    import re
    from datetime import timedelta

    from zppcli.errors import InvalidInput

    match = re.fullmatch(
        r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", text.strip().lower().replace(" ", "")
    )
    if not match or not any(match.groups()):
        raise InvalidInput("before", text, "use days/hours/minutes, like 1d, 2h or 1d12h")
    return timedelta(days=int(match[1] or 0), hours=int(match[2] or 0), minutes=int(match[3] or 0))
