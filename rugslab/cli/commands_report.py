"""`rugslab report`: the lake's headline numbers as JSON, text or one offline HTML page.

Thin: parses flags, resolves `Settings`, calls `rugslab.report` and prints or writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rugslab.cli import app
from rugslab.config import Settings, parse_as_of
from rugslab.errors import ConfigError

_LAKE_HELP = "Lake folder (default: $RUGSLAB_LAKE or ./lake)."


@app.command("report")
def report_command(
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    as_of: str | None = typer.Option(
        None, "--as-of",
        help="Read every table as it was at this instant (ISO 8601, UTC unless an offset is "
        "given): a read time a report, `rugslab status` or a notebook printed.",
    ),
    fmt: str = typer.Option(
        "text", "--format",
        help="json (one object: the lake's versions and read time, then every number), html "
        "(one self-contained page with the notebooks' main charts) or text.",
    ),
    out: Path | None = typer.Option(  # noqa: B008
        None, "--out", help="Write the report to this file (atomically) instead of stdout."
    ),
    resamples: int = typer.Option(
        1000, "--resamples", help="Bootstrap replicates per interval (fewer: faster, coarser)."
    ),
    sim_games: int = typer.Option(
        100_000, "--sim-games",
        help="Games simulated from the published generator for the HTML charts.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstraps and the simulation."),
    origin: str = typer.Option(
        "real", "--origin",
        help="Which games to describe: real (default, as the notebooks), sim (simulated: "
        "`rugslab sim lake`, demo and loopback collector sessions) or all.",
    ),
    all_origins: bool = typer.Option(
        False, "--all-origins", hidden=True,
        help="Deprecated: the same as --origin all.",
    ),
    max_games: int = typer.Option(
        20_000, "--max-games",
        help="Describe a seeded random sample of this many games when the origin holds more "
        "(the report says so); 0: every game (a year of games takes far longer).",
    ),
) -> None:
    """Compute the lake's headline numbers from one snapshot, as the notebooks do.

    Every table is read at one version (the latest, or --as-of), so the numbers agree with
    each other; the report starts with the versions and the read time, and --as-of that time
    reproduces it. Numbers the data cannot give are null ("no data" or "n too small").

    Exit status 0; 2 for a bad option or value (an --as-of later than now too), a missing
    lake, or an --out that cannot be written (the message names it and the fix).
    """
    from rugslab.lake.origins import resolve_origins
    from rugslab.report import (
        ReportFormat,
        build_report,
        check_writable,
        render_report,
        write_report,
    )

    try:
        fmt_ = ReportFormat(fmt.strip().lower())
    except ValueError:
        raise ConfigError(f"Invalid --format {fmt!r}: expected json, html or text.") from None
    if resamples < 10:
        raise ConfigError(f"Invalid --resamples {resamples}: expected at least 10 (the "
                          "notebooks use 1000).")
    if sim_games < 1:
        raise ConfigError(f"Invalid --sim-games {sim_games}: expected at least 1.")
    if max_games < 0:
        raise ConfigError(f"Invalid --max-games {max_games}: expected a number of games ≥ 1, "
                          "or 0 for every game.")
    if all_origins:
        if origin not in ("real", "all"):
            raise ConfigError(f"--all-origins (deprecated: it means --origin all) contradicts "
                              f"--origin {origin}: pass only --origin.")
        origin = "all"
    resolve_origins(origin, arg="--origin")  # before the work
    when = None if as_of is None else parse_as_of(as_of)
    if out is not None:
        check_writable(out)  # before the work, not after it
    settings = Settings.from_env().with_overrides(lake=lake)
    report = build_report(settings.lake, as_of=when, n_resamples=resamples, seed=seed,
                          origins=origin, max_games=max_games or None)
    text = render_report(report, fmt_, sim_games=sim_games)
    if out is None:
        sys.stdout.write(text)
        return
    write_report(text, out)
    typer.echo(f"rugslab: wrote {out} ({len(text.encode()):,} bytes)", err=True)
