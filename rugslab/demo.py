"""`rugslab demo`: the whole pipeline on a simulated feed, offline, in about a minute.

Starts the simulation server (`rugslab.sim`, provably-fair games) on a free loopback port,
collects `games` complete games at `speed`× into the lake with the real collector, verifies
every seed, and prints the collector summary, the verification summary and a few headline
numbers computed from the lake. Nothing touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from rugslab.analysis.sidebet import resolved_bets_vs_model
from rugslab.analysis.timing import interval_stats, tick_intervals
from rugslab.collector.run import CollectOptions, CollectSummary, collect
from rugslab.config import STDERR, Out
from rugslab.errors import ConfigError
from rugslab.fair.verify import VerifySummary
from rugslab.feed.rules import NOMINAL_TICK_MS
from rugslab.lake.catalog import connect
from rugslab.lake.verify import verify_lake
from rugslab.testing import running_server, sim_frames


@dataclass(slots=True)
class DemoReport:
    """What the demo collected, verified and measured."""

    collected: CollectSummary
    verified: VerifySummary
    headline: dict[str, float]
    speed: float

    def __str__(self) -> str:
        h = self.headline
        lo, hi = h["win_rate_lo"], h["win_rate_hi"]
        return "\n".join(
            [
                str(self.collected),
                "",
                str(self.verified),
                "",
                "headline numbers (from the lake, the games of this demo):",
                f"  games: {h['games']:.0f} ({h['games_rugged']:.0f} rugged), "
                f"ticks: {h['ticks']:,.0f}",
                f"  median tick interval: {h['median_interval_ms']:.2f} ms at {self.speed:g}x "
                f"(= {h['median_interval_ms'] * self.speed:.1f} ms at 1x; nominal "
                f"{NOMINAL_TICK_MS:.0f} ms)",
                f"  side bets resolved: {h['bets']:.0f} in {h['bet_games']:.0f} games, won "
                f"{h['won']:.0f}: win rate {h['win_rate']:.3f} ({_interval(lo, hi)}, resampling "
                f"games) vs {h['win_rate_model']:.3f} expected under the published constant "
                "hazard",
                "",
                "next: open notebooks/00_lake_tour.ipynb (jupyter lab notebooks/)",
            ]
        )


def demo_numbers(lake: Path, session_id: str | None = None) -> dict[str, float]:
    """Games, ticks, mean live tick interval and side-bet win rate against the model.

    Args:
        lake: the lake.
        session_id: count only the games a collector session received frames of (the demo's
            own games, not whatever else the lake holds); None = every game in the lake.

    The model's rate averages P(rug within the bet's window | alive at its start tick) under
    the constant 0.5% hazard over the resolved bets. The win rate's 95% interval resamples
    whole games (bets of one game share its rug tick: `sidebet.resolved_bets_vs_model`); it is
    NaN with fewer than two games holding bets.
    """
    scope = ""
    params: list[str] = []
    if session_id is not None:
        scope = (
            " WHERE game_id IN (SELECT DISTINCT game_id FROM raw_events"
            " WHERE session_id = ? AND game_id IS NOT NULL)"
        )
        params = [session_id]
    with connect(lake) as con:
        games = con.sql(f"SELECT game_id, rug_tick, rugged FROM games{scope}",
                        params=params).pl()
        ticks = con.sql(f"SELECT game_id, tick, recv_ts FROM ticks{scope}", params=params).pl()
        bets_sql = f"SELECT * FROM side_bets{scope or ' WHERE true'} AND resolved"
        bets = con.sql(bets_sql, params=params).pl()
    n_games = games.height
    rugged = pl.col("rugged").fill_null(False) | pl.col("rug_tick").is_not_null()
    n_rugged = games.filter(rugged).height
    iv = interval_stats(tick_intervals(ticks, games))
    vs_model = resolved_bets_vs_model(bets, include_practice=True).row(0, named=True)
    return {
        "games": float(n_games),
        "games_rugged": float(n_rugged),
        "ticks": float(ticks.height),
        "median_interval_ms": iv["median"],
        "bets": float(vs_model["n"]),
        "bet_games": float(vs_model["games"]),
        "won": float(vs_model["wins"]),
        "win_rate": vs_model["win_rate"],
        "win_rate_lo": vs_model["lo"],
        "win_rate_hi": vs_model["hi"],
        "win_rate_model": vs_model["expected_win_rate"],
    }


def _interval(lo: float, hi: float) -> str:
    """"95% CI lo-hi", or why there is none (no interval of zero width is shown)."""
    if math.isnan(lo) or math.isnan(hi) or hi <= lo:
        return "95% CI: n too small"
    return f"95% CI {lo:.3f}-{hi:.3f}"


def run_demo(
    lake: Path, *, games: int = 20, speed: float = 40.0, seed: int = 2026,
    out: Out = STDERR,
) -> DemoReport:
    """Serve a simulated feed, collect `games` complete games into `lake`, verify, measure.

    Raises:
        ConfigError: `games` < 1 or `speed` ≤ 0.
        LakeError: the lake cannot be written (or another collector holds it).
    """
    if games < 1:
        raise ConfigError(f"Invalid --games {games}: expected at least 1.")
    if speed <= 0:
        raise ConfigError(f"Invalid --speed {speed}: expected a positive factor, e.g. 40.")
    # one more game than needed: a game's seed is revealed during the next game's cooldown
    with running_server(sim_frames(games + 1, seed=seed, speed=speed), wait_for_clients=1) as srv:
        opts = CollectOptions(
            url=srv.url, lake=Path(lake), max_games=games, duration_s=600.0, status_every_s=5.0
        )
        collected = collect(opts, out=out)
    verified = verify_lake(lake)
    return DemoReport(collected, verified, demo_numbers(lake, collected.session_id), speed)

