"""zpp skill list|add|rm|alias|unalias, and a member's skills: set|drop."""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import confirm, fmt, open_db, writing
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt, YesOpt

app = new_app("The skill catalogue (with Dutch and English aliases) and members' skills.")


@app.command("list")
def list_(
    member: Annotated[str | None, typer.Argument(help="Show this member's skills instead.")] = None,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """The catalogue with how many members have, learn and mentor each skill."""
    from zppcli import members, output, skills

    chosen = fmt(format_, json_)
    conn = open_db(db)
    if member:
        rec = members.record(conn, members.resolve(conn, member)["id"])
        output.render(rec["skills"], chosen, ["skill", "level", "wants_to_learn", "can_mentor"])
        return
    counts = skills.usage_counts(conn)
    rows = [
        {
            "skill": s.name,
            "category": s.category,
            "aliases": s.aliases,
            **counts.get(s.id, {"members": 0, "experts": 0, "learners": 0, "mentors": 0}),
        }
        for s in skills.catalogue(conn)
    ]
    output.render(
        rows,
        chosen,
        ["skill", "category", "members", "experts", "learners", "mentors", "aliases"],
        empty="No skills yet: add one with `zpp skill add NAME`.",
    )


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help='The skill, like "Sound design".')],
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", help="Another word for it, Dutch or English (repeatable)."),
    ] = None,
    category: Annotated[
        str, typer.Option(help="broadcast, film, audio, games, apps, social ...")
    ] = "",
    description: Annotated[str, typer.Option(help="One line about the skill.")] = "",
    db: DbOpt = None,
) -> None:
    """Add a skill to the catalogue."""
    from zppcli import skills

    with writing(db) as tx:
        skills.add_skill(tx, name, alias or [], category, description)
    typer.echo(name.strip())


@app.command("alias")
def alias(
    skill: Annotated[str, typer.Argument(help="The skill (name or alias).")],
    words: Annotated[
        list[str], typer.Argument(help='Other words for it: "video editing" videomontage.')
    ],
    db: DbOpt = None,
) -> None:
    """Give a skill more names, so that either word finds it."""
    from zppcli import skills

    with writing(db) as tx:
        for word in words:
            found = skills.add_alias(tx, skill, word)
    typer.echo(found.name)


@app.command("unalias")
def unalias(
    words: Annotated[list[str], typer.Argument(help="Aliases to remove.")],
    db: DbOpt = None,
) -> None:
    """Remove aliases."""
    from zppcli import skills

    with writing(db) as tx:
        for word in words:
            skills.remove_alias(tx, word)


@app.command("rm")
def rm(
    skill: Annotated[str, typer.Argument(help="The skill (name or alias).")],
    yes: YesOpt = False,
    db: DbOpt = None,
) -> None:
    """Remove a skill from the catalogue and from every member who has it."""
    from zppcli import skills

    conn = open_db(db)
    found = skills.resolve(conn, skill)
    used = skills.usage_counts(conn).get(found.id, {}).get("members", 0)
    conn.close()
    confirm(f"Remove skill {found.name!r} (held by {used} members)?", yes)
    with writing(db) as tx:
        _, n = skills.remove_skill(tx, skill)
    typer.echo(f"removed {found.name} from the catalogue and {n} members", err=True)


@app.command("set")
def set_(
    member: Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")],
    specs: Annotated[
        list[str],
        typer.Argument(
            help="camera:expert, montage:learning, geluid:expert:mentor",
            metavar="SKILL[:LEVEL][:mentor]...",
        ),
    ],
    learn: Annotated[
        bool, typer.Option("--learn", help="The member wants to learn these.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Give a member skills (or change their level)."""
    from zppcli import members, skills

    with writing(db) as tx:
        row = members.resolve(tx.conn, member)
        for text in specs:
            spec = skills.parse_spec(text)
            if learn:
                spec = skills.SkillSpec(
                    spec.ref, spec.level if ":" in text else "learning", spec.mentor, True
                )
            skills.set_member_skill(tx, row["id"], spec)
    typer.echo(row["handle"])


@app.command("drop")
def drop(
    member: Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")],
    names: Annotated[
        list[str], typer.Argument(help="Skills to take off the member.", metavar="SKILL...")
    ],
    db: DbOpt = None,
) -> None:
    """Take skills off a member."""
    from zppcli import members, skills

    with writing(db) as tx:
        row = members.resolve(tx.conn, member)
        for name in names:
            skills.remove_member_skill(tx, row["id"], name)
    typer.echo(row["handle"])
