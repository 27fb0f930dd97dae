"""Collector commands: `rugslab collect`, `rugslab status`, `rugslab nightly`, `rugslab demo`.

Thin: each parses flags, resolves `Settings`, calls one library function and prints.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from rugslab.cli import app
from rugslab.config import Settings, parse_duration
from rugslab.errors import ConfigError

_LAKE_HELP = "Lake folder (default: $RUGSLAB_LAKE or ./lake)."
_URL_HELP = "Feed URL (default: $RUGSLAB_URL or https://backend.rugs.fun)."


def _options(url: str | None, lake: Path | None, duration: str | None, max_games: int | None,
             flush_every: str) -> object:
    from rugslab.collector.run import CollectOptions

    settings = Settings.from_env().with_overrides(lake=lake, url=url)
    if max_games is not None and max_games < 1:
        raise ConfigError(f"Invalid --max-games {max_games}: expected at least 1 (or omit it).")
    return CollectOptions(
        url=settings.url,
        lake=settings.lake,
        duration_s=None if duration is None else parse_duration(duration),
        max_games=max_games,
        flush_every_s=parse_duration(flush_every, arg="--flush-every"),
    )


@app.command("collect")
def collect_command(
    url: str | None = typer.Option(None, "--url", help=_URL_HELP),
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    duration: str | None = typer.Option(
        None, "--duration", help="Stop after this long, e.g. 90s, 15m, 8h (default: run on)."
    ),
    max_games: int | None = typer.Option(
        None, "--max-games", help="Stop after N complete games (seen live, seed revealed)."
    ),
    flush_every: str = typer.Option(
        "60s", "--flush-every",
        help="Write the lake at least this often, and at each rug and seed reveal (the journal "
        "holds every frame within 0.5 s meanwhile; each write is a Delta commit per table)."
    ),
) -> None:
    """Listen to the live feed (never emitting) and stream it into the lake.

    Every frame is journalled (fsynced within a second) before anything else; the lake is
    written at each rug and on a timer. Reconnects forever with capped backoff. Stops at
    --duration, --max-games, SIGINT or SIGTERM, then writes what is left and exits 0.
    """
    from rugslab.collector.run import collect

    summary = collect(_options(url, lake, duration, max_games, flush_every))  # type: ignore[arg-type]
    typer.echo(str(summary))


@app.command("status")
def status_command(
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
) -> None:
    """Show the lake: games per day, coverage, last write, gaps, rejects, verification."""
    from rugslab.api import Lake

    settings = Settings.from_env().with_overrides(lake=lake)
    typer.echo(str(Lake(settings.lake).status()))


@app.command("nightly")
def nightly_command(
    url: str | None = typer.Option(None, "--url", help=_URL_HELP),
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    duration: str = typer.Option("8h", "--duration", help="How long to collect, e.g. 8h."),
    max_games: int | None = typer.Option(
        None, "--max-games", help="Stop collecting after N complete games."
    ),
    retention: str = typer.Option(
        "7d", "--retention",
        help="Vacuum deletes data files no table version needs once unreferenced this long "
        "(e.g. 7d, 36h). Readers holding an older snapshot need its files.",
    ),
) -> None:
    """Collect for --duration, compact the lake, verify every seed and print a report.

    SIGINT or SIGTERM ends the collecting early (what is held is written); compaction and
    verification still run. A signal during compaction or verification lets that step finish
    and skips the rest (the report says so). Exits 0, or 1 when any game fails verification.
    """
    from rugslab.collector.nightly import run_nightly

    opts = _options(url, lake, duration, max_games, "60s")
    keep = timedelta(seconds=parse_duration(retention, arg="--retention"))
    report = run_nightly(opts, retention=keep)
    typer.echo(str(report))
    if not report.ok:
        raise typer.Exit(1)


@app.command("demo")
def demo_command(
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    games: int = typer.Option(20, "--games", help="Complete games to collect."),
    speed: float = typer.Option(40.0, "--speed", help="Feed speed factor (1 = real time)."),
    seed: int = typer.Option(2026, "--seed", help="Simulation seed (same seed, same games)."),
) -> None:
    """Run the whole pipeline offline: simulated feed → collector → lake → verification.

    Starts `serve sim` on a free loopback port, collects --games games at --speed into the
    lake, verifies every seed and prints headline numbers. Exits 1 if any game fails.
    """
    from rugslab.demo import run_demo

    settings = Settings.from_env().with_overrides(lake=lake)
    report = run_demo(settings.lake, games=games, speed=speed, seed=seed)
    typer.echo(str(report))
    if report.verified.failures.height:
        raise typer.Exit(1)
