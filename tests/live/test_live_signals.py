"""Live signals: exact values of each signal on made-up ticks, and the model each one names."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import polars as pl
import pytest

from rugslab.analysis.hazard import pooled_hazard
from rugslab.feed.frames import iso_utc
from rugslab.live.signals import (
    CONSTANT_MODEL,
    EMPIRICAL_WINDOWS,
    LAKE_MODEL,
    NOMINAL_WINDOWS,
    NORMAL_WINDOWS,
    HazardFit,
    SignalEngine,
    TickClock,
    fit_lake_hazard,
)

G = "20251212-00000000000000a1"
H = "20251212-00000000000000b2"


def test_iso_utc_has_microseconds_and_a_z() -> None:
    assert iso_utc(1_765_584_000_123_456) == "2025-12-13T00:00:00.123456Z"
    assert iso_utc(None) is None


def test_p_rug_40_is_the_published_figure_below_the_cap_and_shrinks_at_the_cap() -> None:
    def p(tick: int) -> float:
        return SignalEngine().on_tick(game_id=G, tick=tick, recv_ts_us=None,
                                      recv_s=0.0)["p_rug_40_constant"]

    assert p(0) == pytest.approx(1 - 0.995**40)
    assert p(0) == pytest.approx(0.18168, abs=1e-5)
    assert p(4980) == pytest.approx(1 - 0.995**20)
    assert p(5000) == 0.0


def test_a_signal_below_the_cap_carries_the_constant_model_and_the_side_bet_ev() -> None:
    s = SignalEngine().on_tick(game_id=G, tick=10, recv_ts_us=1_765_584_000_000_000,
                               recv_s=100.0, price_x=1.25)
    assert (s["game_id"], s["tick"], s["price_x"]) == (G, 10, 1.25)
    assert s["recv_ts"] == "2025-12-13T00:00:00.000000Z"
    assert s["model"] == CONSTANT_MODEL
    assert s["p_rug_40_constant"] == pytest.approx(1 - 0.995**40)
    assert s["sidebet_p_win_now"] == s["p_rug_40_constant"]
    assert s["sidebet_ev_now"] == pytest.approx(5 * (1 - 0.995**40) - 1)
    assert s["sidebet_ev_now"] == pytest.approx(-0.0916, abs=1e-4)
    assert s["models"]["p_rug_40_constant"] == {"name": CONSTANT_MODEL, "hazard": 0.005,
                                                "window_ticks": 40, "draws": 40,
                                                "max_ticks": 5000}
    assert s["p_rug_40_lake"] is None and s["sidebet_ev_lake"] is None
    assert s["models"]["p_rug_40_lake"] == {"name": LAKE_MODEL, "fitted": False}
    assert s["tick_lateness_ms"] == 0.0


def test_the_side_bet_ev_at_the_cap_includes_the_shortened_window() -> None:
    s = SignalEngine().on_tick(game_id=G, tick=4990, recv_ts_us=None, recv_s=0.0)
    assert s["models"]["sidebet_ev_now"]["draws"] == 10
    assert s["sidebet_ev_now"] == pytest.approx(5 * (1 - 0.995**10) - 1)
    last = SignalEngine().on_tick(game_id=G, tick=5000, recv_ts_us=None, recv_s=0.0)
    assert (last["p_rug_40_constant"], last["sidebet_ev_now"]) == (0.0, -1.0)


def test_the_lake_fit_maps_its_hazard_interval_through_the_same_formula() -> None:
    fit = HazardFit(hazard=0.006, lo=0.004, hi=0.008, games=50, rugs=40, exposure=6000,
                    lake="lake", fitted_at="2025-12-13T00:00:00Z")
    s = SignalEngine(fit=fit).on_tick(game_id=G, tick=3, recv_ts_us=None, recv_s=0.0)
    assert s["p_rug_40_lake"] == pytest.approx(1 - 0.994**40)
    assert s["p_rug_40_lake_lo"] == pytest.approx(1 - 0.996**40)
    assert s["p_rug_40_lake_hi"] == pytest.approx(1 - 0.992**40)
    assert s["sidebet_ev_lake"] == pytest.approx(5 * (1 - 0.994**40) - 1)
    assert s["sidebet_ev_lake_lo"] == pytest.approx(5 * (1 - 0.996**40) - 1)
    assert s["models"]["p_rug_40_lake"] == {
        "name": LAKE_MODEL, "fitted": True, "hazard": 0.006, "lo": 0.004, "hi": 0.008,
        "games": 50, "rugs": 40, "exposure": 6000, "lake": "lake",
        "fitted_at": "2025-12-13T00:00:00Z"}


def test_a_lake_interval_clipped_at_zero_or_one_gives_the_limits() -> None:
    fit = HazardFit(hazard=0.5, lo=0.0, hi=1.0, games=2, rugs=2, exposure=4)
    s = SignalEngine(fit=fit).on_tick(game_id=G, tick=3, recv_ts_us=None, recv_s=0.0)
    assert (s["p_rug_40_lake_lo"], s["p_rug_40_lake"], s["p_rug_40_lake_hi"]) == (
        0.0, pytest.approx(1 - 0.5**40), 1.0)
    cap = SignalEngine(fit=fit).on_tick(game_id=G, tick=5000, recv_ts_us=None, recv_s=0.0)
    assert cap["p_rug_40_lake_hi"] == 0.0  # no tick left in the window


def test_fit_lake_hazard_is_the_pooled_hazard_of_the_games() -> None:
    games = pl.DataFrame({
        "game_id": [f"g{i}" for i in range(6)],
        "first_live_tick": [0, 0, 0, 0, 0, 0],
        "rug_tick": [100, 250, None, 40, 500, 180],
        "last_live_tick": [99, 249, 300, 39, 499, 179],
    })
    now = datetime(2025, 12, 13, tzinfo=UTC)
    fit = fit_lake_hazard(games, lake="L", n_resamples=200, now=now)
    ref = pooled_hazard(games, n_resamples=200)
    assert fit is not None
    assert (fit.hazard, fit.lo, fit.hi) == (ref["hazard"], ref["lo"], ref["hi"])
    assert (fit.games, fit.rugs, fit.exposure) == (6, 5, 1370)
    assert fit.hazard == 5 / 1370
    assert (fit.lake, fit.fitted_at) == ("L", "2025-12-13T00:00:00Z")


def test_fit_lake_hazard_without_rugs_or_exposure_is_none() -> None:
    none = pl.DataFrame({"game_id": ["g"], "first_live_tick": [0], "rug_tick": [None],
                         "last_live_tick": [None]}, schema_overrides={"rug_tick": pl.Int32,
                                                                      "last_live_tick": pl.Int32})
    assert fit_lake_hazard(none) is None
    alive = none.with_columns(pl.lit(20, pl.Int32).alias("last_live_tick"))
    assert fit_lake_hazard(alive) is None


def test_lateness_is_the_offset_from_the_earliest_arrival_against_the_schedule() -> None:
    c = TickClock()
    # ticks 5, 6, 7, 8 at 0.0, 0.25, 0.75 (a stall of 250 ms), 0.80 (catch-up)
    got = [c.observe(G, t, s) for t, s in ((5, 0.0), (6, 0.25), (7, 0.75), (8, 0.80))]
    assert got == pytest.approx([0.0, 0.0, 250.0, 50.0])
    # a tick that comes early moves the schedule: later lateness is measured from it
    assert c.observe(G, 9, 0.90) == pytest.approx(0.0)
    # a new game starts a new schedule
    assert c.observe(H, 0, 50.0) == 0.0


def test_the_window_forecast_goes_nominal_then_normal_then_empirical() -> None:
    c = TickClock(min_windows=5, min_intervals=10)
    f = c.forecast()
    assert (f.median_ms, f.lo_ms, f.hi_ms, f.model) == (10_000.0, None, None, NOMINAL_WINDOWS)
    t = 0.0
    for tick in range(12):  # 11 intervals alternating 200 / 300 ms
        c.observe(G, tick, t)
        t += 0.2 if tick % 2 == 0 else 0.3
    f = c.forecast()
    xs = [200.0, 300.0] * 5 + [200.0]
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    assert f.model == NORMAL_WINDOWS and (f.n_intervals, f.n_windows) == (11, 0)
    assert f.median_ms == pytest.approx(40 * mean)
    assert f.hi_ms == pytest.approx(40 * mean + 1.959963984540054 * math.sqrt(40) * sd)
    for tick in range(12, 60):  # all 250 ms: windows of 40 from here on
        c.observe(G, tick, t)
        t += 0.25
    f = c.forecast()
    assert f.model == EMPIRICAL_WINDOWS
    assert f.n_intervals == 59 and f.n_windows == 20


def test_windows_never_span_a_gap_or_two_games() -> None:
    c = TickClock(min_windows=1)
    for tick in range(30):
        c.observe(G, tick, tick * 0.25)
    for tick in range(31, 61):  # tick 30 missed: a new run
        c.observe(G, tick, tick * 0.25)
    assert c.forecast().n_windows == 0
    for tick in range(0, 41):  # another game: 40 intervals, one window
        c.observe(H, tick, 100 + tick * 0.5)
    f = c.forecast()
    assert (f.n_windows, f.median_ms, f.model) == (1, pytest.approx(20_000.0), EMPIRICAL_WINDOWS)


def test_the_kept_intervals_are_bounded() -> None:
    c = TickClock(keep=50)
    for tick in range(200):
        c.observe(G, tick, tick * 0.25)
    assert c.forecast().n_intervals == 50
