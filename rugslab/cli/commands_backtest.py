"""`rugslab backtest`: a built-in strategy on an ensemble of independent bankrolls.

Thin: parse flags, build the source (the generator, or the lake's real games through
`rugslab.notebook.Lab.lake_source`), call `rugslab.strategy.report.run_backtest` on the local
engine (`--workers` processes) or on Ray (`--engine ray [--address ADDR]`:
`rugslab.strategy.ray_engine`; with a cluster, the lake's tables are read through Ray Data),
print.
"""

from __future__ import annotations

import json
import math
from contextlib import AbstractContextManager, nullcontext
from enum import StrEnum
from pathlib import Path

import typer

from rugslab.cli import app
from rugslab.cli.stopping import sigterm_raises
from rugslab.config import Settings
from rugslab.errors import ConfigError

#: Runs of at least this many games use every core (the numbers do not depend on it) and
#: show a progress bar.
LONG_RUN_GAMES = 1_000_000


class SourceKind(StrEnum):
    """`--source`: the provably-fair generator or the lake's real games."""

    sim = "sim"
    lake = "lake"


class Engine(StrEnum):
    """`--engine`: where the chunks run (the same numbers either way)."""

    local = "local"
    ray = "ray"


class Format(StrEnum):
    """`--format`: text for people, one JSON object for programs."""

    text = "text"
    json = "json"


def _positive(name: str, value: int | float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"Invalid {name} {value!r}: expected a finite number > 0.")


@app.command("backtest")
def backtest_command(
    strategy: str | None = typer.Argument(
        None, help="Built-in strategy, e.g. sidebet-fixed (see --list).", show_default=False),
    param: list[str] = typer.Option(  # noqa: B008 - typer declares options by default value
        [], "--param", "-p", help="Strategy parameter KEY=VALUE (repeatable; see --list)."),
    list_: bool = typer.Option(False, "--list", help="List the strategies and their "
                               "parameters with defaults, then exit."),
    source: SourceKind = typer.Option(SourceKind.sim, "--source",  # noqa: B008
                                      help="sim: the provably-fair generator; lake: the "
                                      "lake's real games in blocks of consecutive games."),
    lake: Path | None = typer.Option(  # noqa: B008
        None, "--lake", help="Lake folder for --source lake (default: $RUGSLAB_LAKE or ./lake)."),
    all_origins: bool = typer.Option(False, "--all-origins", help="With --source lake, also "
                                     "use simulated games (`rugslab sim lake`, or collected "
                                     "from a loopback server)."),
    block_games: int | None = typer.Option(None, "--block-games", help="With --source lake, "
                                           "games per block (default: cube root of the games)."),
    paths: int = typer.Option(1000, "--paths", help="Independent bankrolls."),
    games: int = typer.Option(500, "--games", help="Games per bankroll."),
    bankroll: float = typer.Option(10.0, "--bankroll", help="Starting bankroll (SOL)."),
    seed: int = typer.Option(0, "--seed", help="Seed: same seed, same games and numbers."),
    latency: int = typer.Option(1, "--latency", help="Ticks from a decision to its fill."),
    stop_at_ruin: bool = typer.Option(False, "--stop-at-ruin", help="A path that cannot "
                                      "cover its stake stops (default: it bets what is left)."),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: every "
                                       f"core from {LONG_RUN_GAMES:,} games, else 1)."),
    engine: Engine = typer.Option(Engine.local, "--engine",  # noqa: B008
                                  help="local: this process or a process pool (--workers); "
                                  "ray: chunks as Ray tasks, on Ray started on this machine "
                                  "(--workers CPUs) or on the cluster at --address. Same "
                                  "numbers either way."),
    address: str | None = typer.Option(None, "--address", help="With --engine ray: a running "
                                       "Ray cluster (HOST:PORT from `ray start --head`, or "
                                       "auto); its nodes must see the lake at the same path. "
                                       "Default: start Ray on this machine."),
    fmt: Format = typer.Option(Format.text, "--format", help="text or json."),  # noqa: B008
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Backtest a strategy on independent bankrolls and print EV, ruin and bankroll metrics.

    Every interval is across paths (the independent bankrolls); where it cannot be honest
    (too few paths, zero width) it is left out and the output says "n too small". Ruin: a
    path ordered a stake its bankroll could not cover. For sidebet-fixed, the exact values
    of the published process are printed beside the ensemble's.
    """
    from rugslab.strategy.builtins import describe_strategies, parse_params
    from rugslab.strategy.engine import ExecutionRules
    from rugslab.strategy.ensemble import Executor
    from rugslab.strategy.report import run_backtest
    from rugslab.strategy.sources import MonteCarloSource, Source

    if list_:
        typer.echo(describe_strategies())
        return
    if strategy is None:
        raise ConfigError("Missing STRATEGY: name a built-in strategy, e.g. `rugslab backtest "
                          "sidebet-fixed`; `rugslab backtest --list` shows them all.")
    params = parse_params(param)
    for name, value in (("--paths", paths), ("--games", games), ("--bankroll", bankroll)):
        _positive(name, value)
    if seed < 0:
        raise ConfigError(f"Invalid --seed {seed}: expected a whole number ≥ 0.")
    if latency < 0:
        raise ConfigError(f"Invalid --latency {latency}: expected ticks ≥ 0.")
    if workers is not None and workers < 1:
        raise ConfigError(f"Invalid --workers {workers}: expected a whole number ≥ 1.")
    if source is not SourceKind.lake and (lake is not None or block_games is not None
                                          or all_origins):
        raise ConfigError("--lake, --block-games and --all-origins go with --source lake.")
    if address is not None and engine is not Engine.ray:
        raise ConfigError(f"--address {address} goes with --engine ray: add --engine ray, or "
                          "drop --address to run on this machine.")
    long = paths * games >= LONG_RUN_GAMES
    rules = ExecutionRules(bankroll_sol=bankroll, latency_ticks=latency,
                           stop_at_ruin=stop_at_ruin)
    session: AbstractContextManager[Executor | None] = nullcontext(None)
    if engine is Engine.ray:
        from rugslab.strategy.ray_engine import ray_executor

        session = ray_executor(address, num_cpus=workers)
    with sigterm_raises(), session as executor:  # SIGTERM: the pool or Ray is torn down
        src: Source
        if source is SourceKind.lake:
            from rugslab.lake.origins import ORIGINS, REAL_ORIGINS
            from rugslab.notebook import Lab

            lab = Lab(lake=Settings.from_env().with_overrides(lake=lake).lake)
            src = lab.lake_source(ORIGINS if all_origins else REAL_ORIGINS,
                                  block_games=block_games,
                                  scan="ray" if address is not None else "duckdb")
        else:
            src = MonteCarloSource()
        report = run_backtest(strategy, params, src, paths=paths, games=games, seed=seed,
                              rules=rules, workers=workers or (None if long else 1),
                              executor=executor, progress=long and not no_progress)
    if fmt is Format.json:
        typer.echo(json.dumps(report.to_dict(), allow_nan=False))
    else:
        typer.echo(str(report))
