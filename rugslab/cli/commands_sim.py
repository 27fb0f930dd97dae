"""Simulation commands: `rugslab sim lake` (N simulated games straight into a lake).

Thin: parses flags, resolves `Settings`, calls `rugslab.sim.lake.build_sim_lake` with a tqdm bar
of games written, and prints its summary.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer

from rugslab.cli import app
from rugslab.cli.stopping import Terminated, sigterm_raises
from rugslab.config import Settings
from rugslab.errors import ConfigError, LakeError

sim_app = typer.Typer(
    name="sim",
    help="Simulated data: lakes of provably-fair simulated games for tests and benchmarks.",
    no_args_is_help=True,
)
app.add_typer(sim_app, name="sim")


def parse_start(value: str) -> date:
    """`--start YYYY-MM-DD` → a date; ConfigError naming the flag, the value and the form."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"Invalid --start {value!r}: expected a date YYYY-MM-DD, e.g. "
                          "2026-01-01.") from None


@sim_app.command("lake")
def lake_command(
    games: int = typer.Option(
        ..., "--games", help="Games to simulate (a year at one a minute: 525,600).",
        show_default=False,
    ),
    start: str = typer.Option(
        "2026-01-01", "--start", help="Date (UTC, YYYY-MM-DD) of the first game."
    ),
    lake: Path | None = typer.Option(  # noqa: B008
        None, "--lake", help="Lake folder (default: $RUGSLAB_LAKE or ./lake); created if "
        "missing; real games already there are untouched."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed and flags give the same "
                             "rows."),
    games_per_day: int = typer.Option(
        1440, "--games-per-day",
        help="Games a day, evenly spaced (1440: one a minute, as rugs.fun plays); fewer spreads "
        "the games over more days, e.g. --games 2920 --games-per-day 8 fills 365 days.",
    ),
    players: int = typer.Option(20, "--players", help="Simulated players who trade and bet."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Write N simulated games into the lake's ticks, games, seeds, trades and side_bets tables.

    Provably-fair prices from real-format seeds (`rugslab verify` verifies them), receive times
    with realistic tick timing and stalls, the crowd's trades and side bets; one write per day
    through the lake writer (the same schemas and rejects as every write), so memory holds one
    day whatever N is. Game ids carry the simulated-game marker: `rugslab report` and the
    notebooks describe them only with `--origin sim` or `all`. Running the same command again
    adds nothing.

    Exit status 0; 1 when the lake cannot be written (read-only, disk full: fix it and run the
    same command again, what was written is kept once); 2 for a bad option or value; 130 on
    SIGINT and 143 on SIGTERM (the days written stay; the same command again finishes).
    """
    from tqdm import tqdm

    from rugslab.sim.lake import build_sim_lake

    first = parse_start(start)
    settings = Settings.from_env().with_overrides(lake=lake)
    bar = tqdm(total=max(games, 0), unit="game", unit_scale=True, desc="sim lake",
               file=sys.stderr, disable=no_progress or not sys.stderr.isatty())
    written = [0]

    def progress(n: int) -> None:
        written[0] += n
        bar.update(n)

    try:
        with sigterm_raises():  # SIGTERM as Ctrl-C: the writes done stay, and it says so
            summary = build_sim_lake(settings.lake, games=games, start=first, seed=seed,
                                     games_per_day=games_per_day, players=players,
                                     progress=progress)
    except LakeError as e:
        typer.echo(f"rugslab: error: {e}", err=True)
        raise typer.Exit(1) from e
    except (KeyboardInterrupt, Terminated):
        bar.close()
        typer.echo(f"rugslab sim lake: stopped after {written[0]:,} of {games:,} games were "
                   f"written to {settings.lake}; run the same command again to finish (what "
                   "is written is not written twice).", err=True)
        raise
    finally:
        bar.close()
    typer.echo(str(summary))
