"""`rugslab paper`: a built-in strategy played live on the feed (or a capture), never betting.

Thin: parse flags (the strategy and `--param` exactly as `rugslab backtest` reads them),
call `rugslab.paper.run.run_paper`, print the summary.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from rugslab.cli import app
from rugslab.config import Settings, parse_duration
from rugslab.errors import ConfigError


class Format(StrEnum):
    """`--format` of the summary: text for people, one JSON object for programs."""

    text = "text"
    json = "json"


def _event_writer(target: Path, stack: ExitStack) -> Callable[[dict[str, Any]], None]:
    """Append each event as one JSON line to `target` ("-": standard output).

    A line is written whole or not at all: a write that fails (a full disk) raises after the
    file is cut back to its length before the line, so the file never holds half a line and
    nothing is left buffered to fail again at close. The paper trader counts such a failure
    (`PaperSummary.event_errors`) and trades on.

    Raises:
        ConfigError: `target` cannot be opened for appending (naming --events and the fix).
    """
    if str(target) == "-":
        def to_stdout(ev: dict[str, Any]) -> None:
            sys.stdout.write(json.dumps(ev, allow_nan=False) + "\n")
            sys.stdout.flush()

        return to_stdout
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as e:
        raise ConfigError(f"Invalid --events {str(target)!r}: cannot open it for appending "
                          f"({e.strerror or e}); give a writable file, or - for standard "
                          "output.") from e
    stack.callback(os.close, fd)

    def write(ev: dict[str, Any]) -> None:
        data = memoryview((json.dumps(ev, allow_nan=False) + "\n").encode())
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            while data:
                data = data[os.write(fd, data):]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)  # no half line
            raise

    return write


@app.command("paper")
def paper_command(
    strategy: str | None = typer.Argument(
        None, help="Built-in strategy, e.g. sidebet-fixed (`rugslab backtest --list`).",
        show_default=False),
    param: list[str] = typer.Option(  # noqa: B008 - typer declares options by default value
        [], "--param", "-p", help="Strategy parameter KEY=VALUE (repeatable; as in backtest)."),
    feed: str | None = typer.Option(
        None, "--feed", help="Feed URL to listen to (default: $RUGSLAB_URL or "
        "https://backend.rugs.fun). Listen only: nothing is ever sent."),
    replay: Path | None = typer.Option(  # noqa: B008
        None, "--replay", help="Play a recorded file (capture, browser log or collector "
        "archive) instead of the live feed, as fast as it reads."),
    bankroll: float = typer.Option(10.0, "--bankroll", help="Starting bankroll (SOL)."),
    lake: Path | None = typer.Option(  # noqa: B008
        None, "--lake", help="Lake folder for paper_decisions, paper_results and paper_games "
        "(default: $RUGSLAB_LAKE or ./lake)."),
    latency: int = typer.Option(1, "--latency", help="Ticks from a decision to its fill."),
    stop_at_ruin: bool = typer.Option(False, "--stop-at-ruin", help="Stop when a stake "
                                      "cannot be covered (default: bet what is left)."),
    duration: str | None = typer.Option(
        None, "--duration", help="Stop after this long, e.g. 90s, 15m, 8h (default: run on)."),
    max_games: int | None = typer.Option(None, "--max-games", help="Stop after N games played."),
    events: Path | None = typer.Option(  # noqa: B008
        None, "--events", help="Append every event (orders, fills, settlements, games) as "
        "JSON lines to this file; - for standard output."),
    fmt: Format = typer.Option(Format.text, "--format", help="Summary as text or json."),  # noqa: B008
) -> None:
    """Paper-trade a strategy live: the backtest's execution rules on observed prices.

    Each game is played tick by tick as the feed shows it (fills at the next tick, side bets
    over 40 ticks, settled at the observed rug); games joined late are skipped; a game whose
    end was missed is censored at its last tick seen alive and settled as a lake backtest
    settles it (what that tick decides is settled, the rest void). Decisions and outcomes go
    to the lake's paper_decisions and paper_results tables, and a row per game observed to
    paper_games, at the end of each game. Stops at --duration, --max-games, the end of a
    --replay file, SIGINT or SIGTERM (the game in play is censored; what is held is written),
    then prints a summary. Exits 1 when the last lake write failed, or when events could
    not be written to --events (a full disk: counted in the summary; the run trades on).
    """
    from rugslab.paper.run import PaperOptions, run_paper
    from rugslab.strategy.builtins import parse_params
    from rugslab.strategy.engine import ExecutionRules

    if strategy is None:
        raise ConfigError("Missing STRATEGY: name a built-in strategy, e.g. `rugslab paper "
                          "sidebet-fixed`; `rugslab backtest --list` shows them all.")
    params = parse_params(param)
    if not bankroll > 0:
        raise ConfigError(f"Invalid --bankroll {bankroll!r}: expected SOL > 0.")
    if latency < 0:
        raise ConfigError(f"Invalid --latency {latency}: expected ticks ≥ 0.")
    if feed is not None and replay is not None:
        raise ConfigError(f"Invalid --feed {feed!r} with --replay {str(replay)!r}: give one "
                          "frame source (--feed to listen live, --replay for a recorded file).")
    settings = Settings.from_env().with_overrides(lake=lake, url=feed)
    opts = PaperOptions(
        strategy=strategy, params=params, lake=settings.lake,
        url=None if replay is not None else settings.url, replay=replay,
        rules=ExecutionRules(bankroll_sol=bankroll, latency_ticks=latency,
                             stop_at_ruin=stop_at_ruin),
        duration_s=None if duration is None else parse_duration(duration),
        max_games=max_games)
    with ExitStack() as stack:
        sink = None if events is None else _event_writer(events, stack)
        summary = run_paper(opts, on_event=sink, out=sys.stderr)
    if fmt is Format.json:
        typer.echo(json.dumps(summary.to_dict(), allow_nan=False))
    else:
        typer.echo(str(summary))
    if summary.write_error or (events is not None and summary.event_errors):
        raise typer.Exit(1)
