"""The main charts of notebooks 01, 02, 03 and 05, made from a report's frames by the same
analysis functions and chart builders the notebooks call.

    sections = report_charts(report.data, n_resamples=200, sim_games=20_000)
    # {"01 · Tick timing": [chart, chart, ...], "02 · Rug hazard": [...], ...}

A chart whose data are missing (no ticks, no rugs, no verified game) is replaced by one line of
text, "<chart>: no data (...)", so a report of a thin lake still builds.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np
import polars as pl

from rugslab import plots
from rugslab.analysis import (
    hazard,
    peaks,
    sidebet,
    survival,
    timing,
    timing_hazard,
    timing_series,
)
from rugslab.errors import ConfigError, RugslabError
from rugslab.fair.verify import VERIFIED, verify_games
from rugslab.notebook import replay_vs_recorded
from rugslab.plots.render import Block
from rugslab.report.build import ReportData
from rugslab.sim.montecarlo import simulate_summaries

#: Monte Carlo games for the generator's side of the charts (notebook 03 uses 200,000,
#: notebook 05 100,000; `--sim-games`).
DEFAULT_SIM_GAMES = 100_000
#: Section (notebook) → the charts it holds, in order: what a report shows (or says it lacks).
REPORT_CHARTS: dict[str, tuple[str, ...]] = {
    "01 · Tick timing": ("interval histogram", "intervals by day", "autocorrelation"),
    "02 · Rug hazard": ("hazard curve", "Kaplan–Meier survival", "rug tick Q–Q",
                        "timing effect"),
    "03 · Side-bet EV": ("EV by start tick",),
    "05 · Provably fair": ("replayed game", "rug tick distribution", "peaks given the rug tick"),
}
#: Side-bet start ticks of notebook 03's EV chart.
EV_START_TICKS = np.arange(0, 301, 20)
#: Generator peaks simulated per complete game at its length (notebook 05's full size).
PIT_PATHS_PER_GAME = 200
_ChartMaker = Callable[[], alt.TopLevelMixin]


def _chart(name: str, make: _ChartMaker) -> Block:
    """The chart, or one line saying why it is missing (the data cannot make it)."""
    try:
        return make()
    except RugslabError as e:
        return f"{name}: no data ({e})"


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise ConfigError(what)


def _timing(iv: pl.DataFrame, n_resamples: int, seed: int) -> list[Block]:
    """Notebook 01 from the tick intervals `iv`: the log-axis histogram, the distributions by
    day, the autocorrelation."""
    none = "no tick intervals of games received live"

    def acf() -> alt.TopLevelMixin:
        _need(iv.height > 0, none)
        return plots.autocorrelation_chart(timing_series.interval_autocorrelation(
            iv, max_lag=20, n_resamples=n_resamples, seed=seed))

    def histogram() -> alt.TopLevelMixin:
        _need(iv.height > 0, none)
        return plots.interval_histogram(iv)

    def by_day() -> alt.TopLevelMixin:
        _need(iv.height > 0, none)
        return plots.interval_distribution_by(iv, by="day")

    names = REPORT_CHARTS["01 · Tick timing"]
    return [_chart(n, f) for n, f in zip(names, (histogram, by_day, acf), strict=True)]


def _hazard(data: ReportData, iv: pl.DataFrame) -> list[Block]:
    """Notebook 02: the binned hazard curve, Kaplan–Meier, the Q–Q plot, the timing effects
    (from the tick intervals `iv`)."""
    games = data.games
    rugs = "no rugged game with a known rug tick"

    def curve() -> alt.TopLevelMixin:
        _need(games["rug_tick"].is_not_null().any(), rugs)
        binned = hazard.binned_hazard(hazard.hazard_curve(games, max_tick=300), bin_ticks=25)
        return plots.hazard_chart(binned)

    def km() -> alt.TopLevelMixin:
        _need(games["rug_tick"].is_not_null().any(), rugs)
        return plots.survival_chart(survival.kaplan_meier(games))

    def qq() -> alt.TopLevelMixin:
        _need(games["rug_tick"].is_not_null().any(), rugs)
        return plots.qq_chart(survival.survival_qq(games))

    def effects() -> alt.TopLevelMixin:
        _need(data.ticks.height > 0, "no ticks")
        rows = timing_hazard.hazard_rows(data.ticks, games, intervals=iv)
        table = timing_hazard.timing_hazard_table(rows)
        _need(table.height > 0, "no timing feature varies over the game-ticks at risk")
        return plots.effect_chart(table, margin=timing_hazard.equivalence_margin())

    names = REPORT_CHARTS["02 · Rug hazard"]
    return [_chart(n, f) for n, f in zip(names, (curve, km, qq, effects), strict=True)]


def _sidebet(data: ReportData, sims: pl.DataFrame, n_resamples: int, seed: int
             ) -> list[Block]:
    """Notebook 03: EV by start tick, analytic, Monte Carlo and the lake's real games with the
    simultaneous band (the lake's line is left out when no game is at risk)."""

    def ev() -> alt.TopLevelMixin:
        rug_ticks = sims["rug_tick"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        frames = {"analytic": sidebet.analytic_sidebet_ev(EV_START_TICKS),
                  "Monte Carlo": sidebet.montecarlo_sidebet_ev(rug_ticks, EV_START_TICKS)}
        if data.games.height:
            lake = sidebet.empirical_win_rate(data.games, EV_START_TICKS,
                                              n_resamples=n_resamples, seed=seed)
            if lake["n"].sum() > 0:
                frames["lake (real games)"] = lake
        return plots.ev_by_start_tick(frames, band="simultaneous")

    return [_chart(REPORT_CHARTS["03 · Side-bet EV"][0], ev)]


def _fair(data: ReportData, sims: pl.DataFrame, seed: int) -> list[Block]:
    """Notebook 05: the verified game with the most recorded ticks replayed against them, the
    generator's rug ticks, and the complete games' peaks given their rug ticks (PITs, flat
    under the generator; unconditional peaks would mix in the length bias of complete games)."""

    def replay() -> alt.TopLevelMixin:
        ids = data.games["game_id"].implode()
        seeds = data.seeds.filter(pl.col("game_id").is_in(ids)
                                  & pl.col("server_seed").is_not_null())
        _need(seeds.height > 0, "no game with a revealed seed")
        results = verify_games(data.games, seeds, data.ticks)
        verified = results.filter(pl.col("status") == VERIFIED)
        _need(verified.height > 0, "no game verified against its revealed seed")
        best = (verified.join(data.ticks.group_by("game_id").len("recorded"), on="game_id")
                .sort(["recorded", "game_id"], descending=[True, False]).row(0, named=True))
        seed = seeds.filter(pl.col("game_id") == best["game_id"]).row(0, named=True)
        frame = replay_vs_recorded(seed["server_seed"], best["game_id"], best["version"],
                                   data.ticks)
        return plots.replay_chart(
            frame, title=f"{best['game_id']}: replay (line) vs lake (points)")

    def rug_ticks() -> alt.TopLevelMixin:
        return plots.rug_tick_distribution(sims["rug_tick"], bin_ticks=20, max_tick=1000)

    def pit() -> alt.TopLevelMixin:
        pits = peaks.peak_pit(data.games, per_game=PIT_PATHS_PER_GAME, seed=seed)
        _need(pits.height > 0, "no complete game with a known rug tick")
        return plots.pit_histogram(pits)

    names = REPORT_CHARTS["05 · Provably fair"]
    return [_chart(n, f) for n, f in zip(names, (replay, rug_ticks, pit), strict=True)]


def report_charts(data: ReportData, *, n_resamples: int, sim_games: int = DEFAULT_SIM_GAMES,
                  seed: int = 0) -> dict[str, list[Block]]:
    """The report's charts by section (`REPORT_CHARTS`: one block per chart, in its order).

    Args:
        data: the report's frames (`build.ReportData`).
        n_resamples: bootstrap replicates of the charts' intervals; seed: theirs and the
            Monte Carlo's.
        sim_games: games simulated from the published generator (≥ 1).

    Returns:
        Section heading → blocks: an altair chart, or a line of text where the data cannot
        make it ("<chart>: no data (<why>)").

    Raises:
        ConfigError: `sim_games` < 1.
    """
    if sim_games < 1:
        raise ConfigError(f"Invalid sim_games {sim_games!r}: expected at least 1 simulated game.")
    sims = pl.concat(simulate_summaries(sim_games, seed=seed))
    iv = timing.tick_intervals(data.ticks, data.games)
    return {
        "01 · Tick timing": _timing(iv, n_resamples, seed),
        "02 · Rug hazard": _hazard(data, iv),
        "03 · Side-bet EV": _sidebet(data, sims, n_resamples, seed),
        "05 · Provably fair": _fair(data, sims, seed),
    }
