"""Collector commands: `rugslab collect`, `rugslab status`, `rugslab nightly`, `rugslab demo`.

Thin: each parses flags, resolves `Settings`, calls one library function and prints.
"""

from __future__ import annotations

import os
import stat
import sys
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


def stdout_folder() -> Path | None:
    """The folder of the file standard output goes to (cron's `>> rugslab-nightly.log`), or
    None when it is a terminal, a pipe, a socket or cannot be told (Linux's /proc names the
    file; it must be the same file as the descriptor's)."""
    try:
        fd = sys.stdout.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        same = target.stat()
    except (OSError, ValueError, AttributeError):  # no descriptor (captured), no /proc
        return None
    if (same.st_dev, same.st_ino) != (st.st_dev, st.st_ino):
        return None  # the log was moved or removed since it was opened
    return target.parent


def report_folder(report_dir: Path | None, lake: Path) -> Path:
    """Where `rugslab nightly` writes the day's report: `--report-dir`, else beside the log
    standard output is appended to, else `reports/` beside the lake folder."""
    if report_dir is not None:
        return report_dir
    return stdout_folder() or Path(lake).resolve().parent / "reports"


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
    report_dir: Path | None = typer.Option(  # noqa: B008
        None, "--report-dir",
        help="Folder for the day's report-YYYY-MM-DD.json and .html (`rugslab report`) "
        "(default: beside the log file standard output is appended to, as in the README's "
        "cron line; else reports/ beside the lake folder).",
    ),
    report_resamples: int = typer.Option(
        1000, "--report-resamples", help="Bootstrap replicates per interval of the report."
    ),
) -> None:
    """Collect for --duration, compact the lake, verify every seed, write the day's report and
    print a summary.

    SIGINT or SIGTERM ends the collecting early (what is held is written); compaction and
    verification still run. A signal during compaction, verification or the report lets that
    step finish and skips the rest (the summary says so). The report (the lake's headline
    numbers as JSON and an offline HTML page, UTC date in the name) comes last: if it cannot
    be written, the summary says why and the lake stays compacted and verified.

    Exits 0; 1 when any game fails verification or the report could not be written.
    """
    if report_resamples < 10:
        raise ConfigError(f"Invalid --report-resamples {report_resamples}: expected at least "
                          "10 (default 1000).")
    from rugslab.collector.nightly import run_nightly
    from rugslab.report import write_daily_report

    opts = _options(url, lake, duration, max_games, "60s")
    keep = timedelta(seconds=parse_duration(retention, arg="--retention"))
    folder = report_folder(report_dir, opts.lake)  # type: ignore[attr-defined]

    def day_report() -> str:
        paths = write_daily_report(opts.lake, folder,  # type: ignore[attr-defined]
                                   n_resamples=report_resamples)
        return "wrote " + ", ".join(str(p) for p in paths)

    # stderr as it is now (the default is bound when the module is first imported)
    summary = run_nightly(opts, retention=keep, report=day_report,  # type: ignore[arg-type]
                          out=sys.stderr)
    typer.echo(str(summary))
    if not summary.ok or summary.report_failed:
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
