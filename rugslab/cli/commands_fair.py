"""Provably-fair commands: `rugslab fair replay` (seeds → paths) and `rugslab verify` (the lake).

Thin: parse flags, call `rugslab.fair.jsonl.replay_jsonl` / `rugslab.lake.verify.verify_lake`,
print, and exit non-zero when any input line or game failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rugslab.cli import app
from rugslab.config import Settings
from rugslab.errors import InputFormatError

fair_app = typer.Typer(
    name="fair",
    help="Provably fair: replay rugs.fun games from their revealed server seeds.",
    no_args_is_help=True,
)
app.add_typer(fair_app, name="fair")


@fair_app.command("replay")
def replay_command(
    file: str = typer.Argument(
        "-",
        help='JSON lines file of {"server_seed", "game_id", "version"} requests; "-" reads stdin.',
    ),
) -> None:
    """Replay games bit-exactly and print one JSON line per game.

    Output fields: server_seed, game_id, version, prices (tick 0 = 1.0, one price per tick before
    the rug), peak_multiplier, rugged (false only at the 5000-tick cap), total_ticks
    (= len(prices) - 1; the feed's rug tick is total_ticks + 1). Floats round-trip exactly.
    A bad line is reported on stderr with its line number and the fix; the others still run,
    and the exit code is 1 if any line failed.
    """
    from rugslab.fair.jsonl import BadRequest, replay_jsonl

    if file == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(file, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise InputFormatError(
                f"Cannot read FILE {file!r}: {e.strerror}; give a readable path or '-'.", path=file
            ) from e
    failed = 0
    out = sys.stdout.buffer
    try:
        for item in replay_jsonl(stream):
            if isinstance(item, BadRequest):
                failed += 1
                out.flush()
                typer.echo(f"rugslab fair replay: {item.message}", err=True)
            else:
                out.write(item + b"\n")
    finally:
        out.flush()
        if stream is not sys.stdin.buffer:
            stream.close()
    if failed:
        typer.echo(f"rugslab fair replay: {failed} line(s) failed (see above)", err=True)
        raise typer.Exit(1)


@app.command("verify")
def verify_command(
    lake: Path | None = typer.Option(  # noqa: B008 - typer declares options by default value
        None, "--lake", help="Lake folder (default: $RUGSLAB_LAKE or ./lake)."
    ),
) -> None:
    """Verify every game with a revealed seed against the lake and store the verdicts.

    Checks the seed hash, replays the game and compares every recorded tick (all but the
    post-rug crash price), the peak and the rug tick. Writes the `verifications` table, prints
    the counts of verified, failed and unverifiable games and every failure, and exits 1 when
    any game fails.
    """
    from rugslab.api import Lake

    settings = Settings.from_env().with_overrides(lake=lake)
    summary = Lake(settings.lake).verify()
    failed = summary.failures.height
    typer.echo(str(summary), err=bool(failed))
    if failed:
        typer.echo(f"rugslab verify: {failed} game(s) FAILED provably-fair verification", err=True)
        raise typer.Exit(1)
