"""The `rugslab` command line: thin commands that parse flags, call one library function and
map `RugslabError`s to a one-line message and exit code 2.

Each command group lives in its own module and registers itself on `app` when imported below.
"""

from __future__ import annotations

import sys

import typer

from rugslab import __version__
from rugslab.cli.stopping import TERMINATED, Terminated
from rugslab.errors import RugslabError

app = typer.Typer(
    name="rugslab",
    help="Research workbench and Parquet data lake for the rugs.fun crash game.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rugslab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Research workbench and Parquet data lake for the rugs.fun crash game."""


# Command groups register themselves on `app` when imported (keep this list sorted).
from rugslab.cli import (  # noqa: E402 - the commands need `app` defined above
    commands_backtest,  # noqa: F401
    commands_collect,  # noqa: F401
    commands_fair,  # noqa: F401
    commands_lake,  # noqa: F401
    commands_paper,  # noqa: F401
    commands_players,  # noqa: F401
    commands_report,  # noqa: F401
    commands_serve,  # noqa: F401
    commands_sim,  # noqa: F401
)

#: The exit code of an interrupted command (128 + SIGINT), as typer and shells give it.
INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rugslab` script. Returns the process exit code."""
    try:
        # with standalone_mode=False, typer returns a `typer.Exit`'s code instead of raising it
        code = app(args=argv, standalone_mode=False)
    except RugslabError as e:
        typer.echo(f"rugslab: error: {e}", err=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return INTERRUPTED
    except Terminated:  # SIGTERM inside `stopping.sigterm_raises()`: the work was torn down
        return _terminated()
    except Exception as e:  # click usage errors carry their own exit code
        if _raised_by(e, Terminated):  # Ray's `ray.get` wraps it in a SystemError
            return _terminated()
        code = getattr(e, "exit_code", None)
        if code is not None and hasattr(e, "show"):
            e.show()
            return int(code)
        raise
    if code == INTERRUPTED:  # typer turns a KeyboardInterrupt into exit code 130, silently
        typer.echo("rugslab: interrupted (SIGINT)", err=True)
    return code if isinstance(code, int) else 0


def _terminated() -> int:
    typer.echo("rugslab: terminated (SIGTERM)", err=True)
    return TERMINATED


def _raised_by(e: BaseException, kind: type[BaseException]) -> bool:
    """Whether `e`, or an exception it was raised from or while handling, is a `kind`."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
