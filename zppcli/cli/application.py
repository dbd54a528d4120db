"""The typer app: one app factory, lazily loaded commands, one error mapping."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from zppcli.cli.errormap import exit_code


class ZppGroup(TyperGroup):
    """Maps errors to exit codes, for the real program and for CliRunner alike."""

    def invoke(self, ctx):
        from typer._click.exceptions import ClickException

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt, ClickException):
            raise
        except Exception as e:
            raise typer.Exit(exit_code(e)) from None


def new_app(
    help_text: str, cls: type = ZppGroup, no_args_is_help: bool = True, **kwargs
) -> typer.Typer:
    """Every (sub)app is made here, with the same app-wide settings."""
    return typer.Typer(
        help=help_text,
        cls=cls,
        no_args_is_help=no_args_is_help,
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
    "member": ("zppcli.cli.member:app", "zppcli.cli.privacy"),  # privacy: forget, export (issue 7)
    "skill": ("zppcli.cli.skill:app",),
    "avail": ("zppcli.cli.avail:app",),
    "collective": ("zppcli.cli.collective:app",),
    "db": ("zppcli.cli.dbcmd:app", "zppcli.cli.sync"),  # sync: db merge, db merge-driver (issue 6)
    "export": ("zppcli.cli.export:app",),  # issue 4: contacts out and in
    "import": ("zppcli.cli.imports:app",),
    "gathering": ("zppcli.cli.gathering:app",),  # issue 5: gatherings
    "team": ("zppcli.cli.team:team",),  # issue 7: team builder
    "mentor": ("zppcli.cli.mentor:app",),  # issue 7: mentor matching
    "stats": ("zppcli.cli.stats:stats",),  # issue 7: network overview
    "sync": ("zppcli.cli.sync:sync",),  # issue 6: absorb conflict copies
    "log": ("zppcli.cli.sync:log",),  # issue 6: who changed what
}


def load_command(name: str):
    """The click command for COMMANDS[name], built now."""
    from importlib import import_module

    target, *extensions = COMMANDS[name]
    for module in extensions:
        import_module(module)
    module, _, attribute = target.partition(":")
    obj = getattr(import_module(module), attribute)
    if not isinstance(obj, typer.Typer):  # a single command: wrap it, same settings
        single = new_app("", no_args_is_help=False)
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
    "and share one db file safely. Start with `zpp db init --example`.",
)


def _version(value: bool) -> None:
    if value:
        from zppcli import __version__

        typer.echo(f"zpp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass
