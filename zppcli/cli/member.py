"""zpp member add|edit|show|list|rm"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import confirm, fmt, open_db, writing
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt, YesOpt

app = new_app("Add, change, show, list and remove members.")


def _opt(*names: str, help: str, metavar: str = "TEXT"):
    return Annotated[
        str | None, typer.Option(*names, help=help, metavar=metavar, show_default=False)
    ]


def _multi(*names: str, help: str, metavar: str = "TEXT"):
    return Annotated[
        list[str] | None, typer.Option(*names, help=help, metavar=metavar, show_default=False)
    ]


Given = _opt("--given", help="Given name (overrides the split of NAME).")
Particle = _opt("--particle", help='Tussenvoegsel, like "van den" (overrides the split of NAME).')
Family = _opt("--family", help="Family name without particle (overrides the split of NAME).")
Handle = _opt("--handle", help="Short unique handle people type, like joran-vdburg.")
Emails = _multi(
    "--email",
    help="E-mail, optionally typed: home=jan@voorbeeld.nl (repeatable).",
    metavar="[TYPE=]EMAIL",
)
Phones = _multi(
    "--phone",
    help='Phone, optionally typed: "home=035 123 4567" (repeatable).',
    metavar="[TYPE=]PHONE",
)
City = _opt("--city", help="City.")
Region = _opt("--region", help="Region.")
Website = _opt("--website", help="Website.", metavar="URL")
Links = _multi("--link", help="Portfolio or social link (repeatable).", metavar="URL")
Bio = _opt("--bio", help="A sentence or two about the member.")
Langs = _multi("--lang", help="Language spoken, ISO code like nl, en (repeatable).", metavar="CODE")
Rate = _opt("--rate", help="Day rate in whole euros.", metavar="EUROS")
Tags = _multi("--tag", help="Tag (repeatable).")
Note = _opt("--note", help="A note for the directory.")
Visibility = _opt(
    "--visibility",
    help="public | network | private (who may see this member outside the directory).",
    metavar="LEVEL",
)
SkillsOpt = _multi(
    "--skill",
    help="Skill with level: camera:expert, montage:learning, geluid:expert:mentor (repeatable).",
    metavar="SKILL[:LEVEL][:mentor]",
)
Learn = _multi("--learn", help="A skill the member wants to learn (repeatable).", metavar="SKILL")


def _values(**kwargs) -> dict:
    mapping = {
        "given": "given_name",
        "particle": "particle",
        "family": "family_name",
        "rate": "day_rate",
    }
    return {mapping.get(k, k): v for k, v in kwargs.items() if v is not None}


def _interactive_name() -> tuple[str, dict]:
    """Ask for the essentials when `member add` gets no name on a terminal."""
    name = typer.prompt("Name (like Jöran van den Bürg)", err=True)
    extra = {}
    for key, question in (
        ("email", "E-mail"),
        ("phone", "Phone"),
        ("city", "City"),
        ("skill", "Skills, comma-separated (camera:expert, montage)"),
    ):
        answer = typer.prompt(question, default="", show_default=False, err=True).strip()
        if answer:
            extra[key] = [a.strip() for a in answer.split(",")] if key == "skill" else [answer]
    return name, extra


@app.command("add")
def add(
    name: Annotated[
        str | None, typer.Argument(help='Full name: "Jöran van den Bürg".', show_default=False)
    ] = None,
    email: Emails = None,
    phone: Phones = None,
    city: City = None,
    region: Region = None,
    website: Website = None,
    link: Links = None,
    bio: Bio = None,
    lang: Langs = None,
    rate: Rate = None,
    tag: Tags = None,
    note: Note = None,
    visibility: Visibility = None,
    skill: SkillsOpt = None,
    learn: Learn = None,
    handle: Handle = None,
    given: Given = None,
    particle: Particle = None,
    family: Family = None,
    db: DbOpt = None,
) -> None:
    """Add a member; prints the new member's handle (for scripts).

    Without NAME on a terminal, asks for the essentials.
    """
    from zppcli import contacts, members, skills

    if name is None and given is None and family is None:
        if not sys.stdin.isatty():
            from zppcli.errors import UsageError

            raise UsageError("name: missing; give NAME (or --given/--family), or run on a terminal")
        name, extra = _interactive_name()
        email, phone = email or extra.get("email"), phone or extra.get("phone")
        city, skill = city or (extra.get("city") or [None])[0], skill or extra.get("skill")
    data = members.MemberInput(
        values=_values(
            given=given,
            particle=particle,
            family=family,
            handle=handle,
            city=city,
            region=region,
            website=website,
            bio=bio,
            note=note,
            visibility=visibility,
            rate=rate,
            links=link,
            languages=lang,
            tags=tag,
        ),
        emails=[contacts.parse_email(e) for e in email or []],
        phones=[contacts.parse_phone(p) for p in phone or []],
        skills=skills.specs(skill or [], learn or []),
    )
    with writing(db) as tx:
        new_handle = members.add(tx, name, data)
    typer.echo(new_handle)


@app.command("edit")
def edit(
    member: Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")],
    name: _opt(
        "--name", help="New full name (split into given name, particle, family name)."
    ) = None,
    given: Given = None,
    particle: Particle = None,
    family: Family = None,
    handle: Handle = None,
    email: _multi("--email", help="Add an e-mail (repeatable).", metavar="[TYPE=]EMAIL") = None,
    rm_email: _multi("--rm-email", help="Remove an e-mail (repeatable).", metavar="EMAIL") = None,
    phone: _multi("--phone", help="Add a phone (repeatable).", metavar="[TYPE=]PHONE") = None,
    rm_phone: _multi("--rm-phone", help="Remove a phone (repeatable).", metavar="PHONE") = None,
    city: City = None,
    region: Region = None,
    website: Website = None,
    link: _multi("--link", help="Add a link (repeatable).", metavar="URL") = None,
    rm_link: _multi("--rm-link", help="Remove a link (repeatable).", metavar="URL") = None,
    bio: Bio = None,
    lang: _multi("--lang", help="Add a language (repeatable).", metavar="CODE") = None,
    rm_lang: _multi("--rm-lang", help="Remove a language (repeatable).", metavar="CODE") = None,
    rate: _opt("--rate", help="Day rate in whole euros ('' for none).", metavar="EUROS") = None,
    tag: _multi("--tag", help="Add a tag (repeatable).") = None,
    untag: _multi("--untag", help="Remove a tag (repeatable).") = None,
    note: Note = None,
    visibility: Visibility = None,
    skill: _multi(
        "--skill",
        help="Add or change a skill: camera:expert[:mentor] (repeatable).",
        metavar="SKILL[:LEVEL][:mentor]",
    ) = None,
    rm_skill: _multi("--rm-skill", help="Remove a skill (repeatable).", metavar="SKILL") = None,
    learn: Learn = None,
    db: DbOpt = None,
) -> None:
    """Change a member by flags, or with no flags in $EDITOR (a TOML form)."""
    flags = {k: v for k, v in locals().items() if k not in ("member", "db") and v is not None}
    from zppcli import contacts, members, names, skills

    if not flags:
        _edit_in_editor(member, db)
        return
    with writing(db) as tx:
        row = members.resolve(tx.conn, member)
        rec = members.record(tx.conn, row["id"])
        values = _values(
            given=given,
            particle=particle,
            family=family,
            handle=handle,
            city=city,
            region=region,
            website=website,
            bio=bio,
            note=note,
            visibility=visibility,
            rate=rate,
        )
        if name is not None:
            split = names.split_name(name)
            values = {
                "given_name": split.given,
                "particle": split.particle,
                "family_name": split.family,
            } | values
        for key, add_items, remove_items in (
            ("links", link, rm_link),
            ("languages", lang, rm_lang),
            ("tags", tag, untag),
        ):
            if add_items or remove_items:
                drop = {x.strip().lower() for x in remove_items or []}
                current = [x for x in rec[key] if x.lower() not in drop]
                values[key] = current + [x for x in add_items or [] if x not in current]
        data = members.MemberInput(
            values=values,
            add_emails=[contacts.parse_email(e) for e in email or []],
            remove_emails=rm_email or [],
            add_phones=[contacts.parse_phone(p) for p in phone or []],
            remove_phones=rm_phone or [],
            set_skills=skills.specs(skill or [], learn or []),
            remove_skills=rm_skill or [],
        )
        members.edit(tx, row["id"], data)
        handle_now = members.get_row(tx.conn, row["id"])["handle"]
    typer.echo(handle_now)


def _run_editor(path: Path) -> None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    result = subprocess.run([*shlex.split(editor), str(path)])
    if result.returncode != 0:
        from zppcli.errors import ZppError

        raise ZppError(f"editor {editor!r} exited with {result.returncode}; nothing was changed")


def _edit_in_editor(member: str, db: str | None) -> None:
    """Open the TOML form; reopen it with the error until it is valid.

    What the user typed is never lost: a form given up while invalid stays in
    its temp file, whose name is printed.
    """
    from zppcli import memberform, members
    from zppcli.errors import ZppError

    conn = open_db(db)
    try:
        row = members.resolve(conn, member)
        original = memberform.to_form(members.record(conn, row["id"]))
    finally:
        conn.close()
    with tempfile.NamedTemporaryFile(
        "w", suffix=".toml", prefix=f"zpp-{row['handle']}-", delete=False, encoding="utf-8"
    ) as f:
        f.write(original)
        path = Path(f.name)
    shown = original
    while True:
        _run_editor(path)
        text = path.read_text(encoding="utf-8")
        body = "".join(line for line in text.splitlines(True) if not line.startswith("# ERROR"))
        if not body.strip() or body.strip() == original.strip():
            path.unlink(missing_ok=True)
            typer.echo("zpp: no changes", err=True)
            return
        if text == shown:  # closed an invalid form without saving: give up, keep it
            raise ZppError(f"nothing was changed; your text is kept in {path}")
        try:
            data = memberform.parse_form(body)
            with writing(db) as tx:
                members.edit(tx, row["id"], data)
                handle = members.get_row(tx.conn, row["id"])["handle"]
        except ZppError as e:
            if not sys.stdin.isatty():
                raise ZppError(f"{e}; nothing was changed, your text is kept in {path}") from None
            shown = f"# ERROR: {e}\n# ERROR: fix it and save, or close without saving to give up.\n{body}"
            path.write_text(shown, encoding="utf-8")
            continue
        path.unlink(missing_ok=True)
        typer.echo(handle)
        return


@app.command("show")
def show(
    member: Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")],
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Everything about one member, and what of it is shared outside the directory."""
    from zppcli import members, output

    conn = open_db(db)
    rec = members.record(conn, members.resolve(conn, member)["id"])
    chosen = fmt(format_, json_)
    output.render_record(rec if chosen == "json" else members.card(rec), chosen)


NO_MEMBERS = (
    "No members yet: add one with `zpp member add NAME`, or load the example directory "
    "with `zpp db init --example`."
)


@app.command("list")
def list_(
    sort: Annotated[
        str, typer.Option("--sort", help="name (Dutch: family name without particle) | city.")
    ] = "name",
    city: City = None,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """All members, sorted Dutch-style on family name."""
    from zppcli import members, output
    from zppcli.errors import InvalidInput
    from zppcli.textfold import fold

    if sort not in ("name", "city"):
        raise InvalidInput("sort", sort, "use name or city")
    chosen = fmt(format_, json_)
    conn = open_db(db)
    recs = members.records(conn)
    if city:
        recs = [r for r in recs if fold(r["city"]) == fold(city)]
    recs = members.sort_records(recs, sort)
    if chosen == "json":
        output.render(recs, chosen)
    else:
        from zppcli.cli.searching import COLUMNS, TABLE_COLUMNS

        output.render(
            [members.summary(r) for r in recs],
            chosen,
            TABLE_COLUMNS if chosen == "table" else COLUMNS,
            empty=f"No members in {city}." if city else NO_MEMBERS,
        )


@app.command("rm")
def rm(
    member: Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")],
    yes: YesOpt = False,
    db: DbOpt = None,
) -> None:
    """Remove a member (a tombstone, so a merge with an old copy cannot bring it back)."""
    from zppcli import members

    conn = open_db(db)
    row = members.resolve(conn, member)
    conn.close()
    confirm(f"Remove {row['display_name']} ({row['handle']})?", yes)
    with writing(db) as tx:
        members.remove(tx, row["id"])
    typer.echo(f"removed {row['handle']}", err=True)
