"""The zpp command line: one app, one error mapping.

Commands parse their arguments, call one core function and hand rows to the
renderer. Core modules are imported inside the commands, so that `zpp search`
piped into another program loads only what it needs.
"""

from __future__ import annotations

import os

import typer
from typer.core import TyperGroup

from zppcli.errors import ZppError


class ZppGroup(TyperGroup):
    """Maps errors to exit codes, for the real program and for CliRunner alike."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ZppError as e:
            typer.echo(f"zpp: {e}", err=True)
            raise typer.Exit(e.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `zpp ... | head`: the reader has what it wanted
            _silence_stdout()
            raise typer.Exit(0) from None
        except Exception as e:
            if os.environ.get("ZPP_DEBUG") == "1" or _is_click_exception(e):
                raise
            typer.echo(
                f"zpp: internal error: {type(e).__name__}: {e} "
                "(rerun with ZPP_DEBUG=1 for the traceback, and please report it)",
                err=True,
            )
            raise typer.Exit(1) from None


def _silence_stdout() -> None:
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _is_click_exception(e: Exception) -> bool:
    from typer._click.exceptions import ClickException

    return isinstance(e, ClickException)


def new_app(help_text: str, **kwargs) -> typer.Typer:
    """Every (sub)app is made here, with the same app-wide settings."""
    return typer.Typer(
        help=help_text,
        cls=ZppGroup,
        no_args_is_help=True,
        rich_markup_mode=None,  # halves --help time; our help is plain text
        pretty_exceptions_enable=False,  # never dump locals (member data) on a crash
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        **kwargs,
    )


app = new_app(
    "zpp: the member directory of Hilversum Media Valley's zpp'ers.\n\n"
    "Find each other by skill and availability, export contacts, plan gatherings,\n"
    "and share one db file safely. Start with `zpp db init --example`."
)


def _version(value: bool) -> None:
    if value:
        from zppcli import __version__

        typer.echo(f"zpp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    pass


def _register() -> None:
    from zppcli.cli import avail, collective, dbcmd, member, search, skill

    app.command("search")(search.search)
    app.command("show")(search.show)

    app.add_typer(member.app, name="member")
    app.add_typer(skill.app, name="skill")
    app.add_typer(avail.app, name="avail")
    app.add_typer(collective.app, name="collective")
    app.add_typer(dbcmd.app, name="db")
    from zppcli.cli import export, imports  # issue 4: contacts out and in

    app.add_typer(export.app, name="export")
    app.add_typer(imports.app, name="import")
    from zppcli.cli import team  # issue 7: team builder

    app.command("team")(team.team)
    from zppcli.cli import gathering  # issue 5: gatherings

    app.add_typer(gathering.app, name="gathering")


_register()


def main() -> None:
    app(prog_name="zpp")
