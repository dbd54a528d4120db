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


def new_app(help_text: str, cls: type = ZppGroup, **kwargs) -> typer.Typer:
    """Every (sub)app is made here, with the same app-wide settings."""
    return typer.Typer(
        help=help_text,
        cls=cls,
        no_args_is_help=True,
        rich_markup_mode=None,  # halves --help time; our help is plain text
        pretty_exceptions_enable=False,  # never dump locals (member data) on a crash
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        **kwargs,
    )


# Every command, by name: "module:attribute" of a typer sub-app or a command
# function, plus modules that add commands to it. Loaded on first use, so that
# `zpp search` builds only the search command (typer builds a command from each
# function's signature, which for every command costs ~60 ms per call).
COMMANDS: dict[str, tuple[str, ...]] = {
    "search": ("zppcli.cli.search:search",),
    "show": ("zppcli.cli.search:show",),
    "member": ("zppcli.cli.member:app",),
    "skill": ("zppcli.cli.skill:app",),
    "avail": ("zppcli.cli.avail:app",),
    "collective": ("zppcli.cli.collective:app",),
    "db": ("zppcli.cli.dbcmd:app",),
    "export": ("zppcli.cli.export:app",),  # issue 4: contacts out and in
    "import": ("zppcli.cli.imports:app",),
    "gathering": ("zppcli.cli.gathering:app",),  # issue 5: gatherings
    "team": ("zppcli.cli.team:team",),  # issue 7: team builder
}


def load_command(name: str):
    """The click command for COMMANDS[name], built now."""
    from importlib import import_module

    target, *extensions = COMMANDS[name]
    for module in extensions:
        import_module(module)
    module, _, attribute = target.partition(":")
    obj = getattr(import_module(module), attribute)
    if not isinstance(obj, typer.Typer):
        single = typer.Typer()
        single.command(name)(obj)
        obj = single
    command = typer.main.get_command(obj)
    command.name = name
    return command


class ZppRoot(ZppGroup):
    def list_commands(self, ctx):
        return [*self.commands, *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx, name):
        if name not in self.commands and name in COMMANDS:
            self.commands[name] = load_command(name)
        return self.commands.get(name)


app = new_app(
    cls=ZppRoot,
    help_text="zpp: the member directory of Hilversum Media Valley's zpp'ers.\n\n"
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


def main() -> None:
    app(prog_name="zpp")
