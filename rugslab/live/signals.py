"""Live signals: what the numbers of the running game say at each tick, and which model said it.

Recomputed for every tick received live while the game is alive (`SignalEngine.on_tick`), from
the tick, its receive time and what came before; no I/O, no clock of its own (pure, so tests
feed it made-up ticks). Each signal names its model in `models`:

- `p_rug_40_constant`: P(rug at one of the next 40 ticks | alive now) under the published
  constant hazard p = 0.005: 1 − (1 − p)^m with m = min(t + 40, 5000) − t draws
  (`analysis.sidebet.rug_within_probability`; the cap cuts the window). Model
  `constant_hazard`.
- `p_rug_40_lake` (+ `_lo`, `_hi`): the same under the hazard fitted to the lake's games
  (`analysis.hazard.pooled_hazard`: rugs / game-ticks at risk, left truncation and right
  censoring done right, studentized game bootstrap interval), pushed through the same formula
  (monotone in h, so the hazard's interval maps to the probability's). Model
  `lake_pooled_hazard`; null fields without a lake or before the first fit.
- `sidebet_p_win_now`, `sidebet_ev_now`: a side bet placed now (start tick t) wins iff the rug
  tick ≤ t + 40 (PROTOCOL.md), so P(win) is `p_rug_40_constant` and EV per unit stake is
  5·P − 1 (−0.0916 below the cap, −1 at the cap). `sidebet_ev_lake` (+ `_lo`, `_hi`) under the
  lake's hazard.
- `window_40_ms` (+ `_lo_ms`, `_hi_ms`): the wall-clock duration of the next 40 ticks,
  predicted from recent tick timing (`TickClock`). Model `recent_windows_empirical`: median and
  2.5 / 97.5 % quantiles of the observed durations of every run of 40 consecutive intervals
  among the last `keep` intervals (overlapping windows: the interval describes the spread of a
  window, it is not a confidence interval of the mean; stalls and catch-up bursts are in it as
  they came), once there are `min_windows` of them; before that `recent_intervals_normal`
  (40·mean ± 1.96·√40·sd of the recent intervals, independence assumed), and with fewer than
  `min_intervals` intervals `nominal` (40 × 250 ms, no interval).
- `tick_lateness_ms`: how late this tick arrived against the 250 ms schedule of its game. The
  schedule's phase is set by the earliest arrival seen: with offset(t) = recv(t) − t·250 ms,
  lateness(t) = offset(t) − min over the game's live ticks s ≤ t of offset(s) ≥ 0. A tick on
  schedule reads 0; a stall of 2 s reads ~1750 ms until catch-up ticks bring it back. Model
  `schedule_250ms_min_offset`.

Sources: PROTOCOL.md ("Side bets", "Timing"); `rugslab.analysis.sidebet`, `.hazard`,
`.timing_series` (the lake-wide versions of the window duration).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from rugslab.analysis.hazard import pooled_hazard
from rugslab.analysis.resample import DEFAULT_RESAMPLES
from rugslab.analysis.sidebet import rug_within_probability, window_draws
from rugslab.errors import ConfigError
from rugslab.feed.frames import iso_utc
from rugslab.feed.rules import (
    MAX_TICKS,
    NOMINAL_TICK_MS,
    RUG_PROB_PER_TICK,
    SIDEBET_PAYOUT_X,
    SIDEBET_WINDOW_TICKS,
)

CONSTANT_MODEL = "constant_hazard"
LAKE_MODEL = "lake_pooled_hazard"
EMPIRICAL_WINDOWS = "recent_windows_empirical"
NORMAL_WINDOWS = "recent_intervals_normal"
NOMINAL_WINDOWS = "nominal"
LATENESS_MODEL = "schedule_250ms_min_offset"
#: z of a two-sided 95% normal interval.
_Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class HazardFit:
    """A constant hazard fitted to a lake's games (`fit_lake_hazard`).

    Attributes:
        hazard, lo, hi: per-tick hazard and its 95% interval (studentized game bootstrap;
            Wilson when fewer than two games carry exposure).
        games, rugs, exposure: games with exposure, their rugs, game-ticks at risk.
        lake: where the games came from (a path, for the `models` note).
        fitted_at: ISO 8601 UTC time of the fit.
    """

    hazard: float
    lo: float
    hi: float
    games: int
    rugs: int
    exposure: int
    lake: str = ""
    fitted_at: str = ""

    def describe(self) -> dict[str, Any]:
        """The fit as the `models` entry of a signal: name and parameters."""
        return {"name": LAKE_MODEL, "hazard": self.hazard, "lo": self.lo, "hi": self.hi,
                "games": self.games, "rugs": self.rugs, "exposure": self.exposure,
                "lake": self.lake, "fitted_at": self.fitted_at}


def fit_lake_hazard(games: pl.DataFrame, *, lake: str = "", n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = 0, now: datetime | None = None) -> HazardFit | None:
    """The lake's constant hazard with its interval (`analysis.hazard.pooled_hazard`).

    Args:
        games: the lake's `games` rows (`game_id`, `rug_tick`, `last_live_tick`,
            `first_live_tick`, optional `rugged`).
        lake: a name for the source (shown in the signals' `models`).

    Returns:
        The fit, or None when no game carries exposure or none rugged (nothing to fit).
    """
    try:
        h = pooled_hazard(games, n_resamples=n_resamples, seed=seed)
    except ConfigError:
        return None
    if not h["rugs"]:
        return None
    lo, hi = h["lo"], h["hi"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = h["wilson_lo"], h["wilson_hi"]
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return HazardFit(float(h["hazard"]), float(lo), float(hi), int(h["games"]), int(h["rugs"]),
                     int(h["exposure"]), lake, stamp)


@dataclass(slots=True)
class WindowForecast:
    """Predicted wall-clock duration of the next `window_ticks` ticks (ms) and its model."""

    median_ms: float
    lo_ms: float | None
    hi_ms: float | None
    model: str
    n_intervals: int
    n_windows: int


@dataclass(slots=True)
class TickClock:
    """Recent receive-time intervals (for the window forecast) and per-game tick lateness.

    Args:
        keep: intervals kept (the most recent; ~8 minutes of the live feed at 2000).
        min_windows: observed 40-tick windows needed for the empirical forecast.
        min_intervals: intervals needed for the normal forecast.
    """

    keep: int = 2000
    window_ticks: int = SIDEBET_WINDOW_TICKS
    min_windows: int = 20
    min_intervals: int = 10
    nominal_ms: float = NOMINAL_TICK_MS
    _intervals: deque[float] = field(default_factory=deque)
    _runs: deque[int] = field(default_factory=deque)  # run number of each kept interval
    _run: int = 0
    _game: str | None = None
    _last_tick: int | None = None
    _last_recv_s: float | None = None
    _min_offset_s: float = math.inf

    def observe(self, game_id: str, tick: int, recv_s: float) -> float:
        """Take one live tick (receive time `recv_s`, seconds on any steady clock); returns its
        lateness in ms (module docstring). Ticks must come in increasing order within a game;
        an interval is kept only between adjacent ticks t−1 → t of one game."""
        if game_id != self._game:
            self._game, self._last_tick, self._last_recv_s = game_id, None, None
            self._min_offset_s = math.inf
            self._run += 1
        if self._last_tick is not None and self._last_recv_s is not None:
            if tick == self._last_tick + 1:
                self._intervals.append((recv_s - self._last_recv_s) * 1000.0)
                self._runs.append(self._run)
                if len(self._intervals) > self.keep:
                    self._intervals.popleft()
                    self._runs.popleft()
            else:  # a gap: the next interval starts a new run of consecutive ticks
                self._run += 1
        self._last_tick, self._last_recv_s = tick, recv_s
        offset = recv_s - tick * self.nominal_ms / 1000.0
        self._min_offset_s = min(self._min_offset_s, offset)
        return (offset - self._min_offset_s) * 1000.0

    def forecast(self) -> WindowForecast:
        """The duration of the next `window_ticks` ticks from the kept intervals (module
        docstring: empirical windows, else normal, else nominal)."""
        n = self.window_ticks
        x = np.fromiter(self._intervals, float, len(self._intervals))
        sums = self._window_sums(x, np.fromiter(self._runs, np.int64, len(self._runs)))
        if sums.size >= self.min_windows:
            lo, med, hi = (float(v) for v in np.quantile(sums, [0.025, 0.5, 0.975]))
            return WindowForecast(med, lo, hi, EMPIRICAL_WINDOWS, int(x.size), int(sums.size))
        if x.size >= self.min_intervals:
            mean = n * float(x.mean())
            half = _Z95 * math.sqrt(n) * float(x.std(ddof=1))
            return WindowForecast(mean, max(0.0, mean - half), mean + half, NORMAL_WINDOWS,
                                  int(x.size), int(sums.size))
        return WindowForecast(n * self.nominal_ms, None, None, NOMINAL_WINDOWS, int(x.size),
                              int(sums.size))

    def _window_sums(self, x: np.ndarray, runs: np.ndarray) -> np.ndarray:
        """Sums of every `window_ticks` consecutive intervals that lie in one run."""
        n = self.window_ticks
        if x.size < n:
            return np.zeros(0)
        c = np.concatenate([[0.0], np.cumsum(x)])
        sums = c[n:] - c[:-n]
        same_run = runs[n - 1:] == runs[: runs.size - n + 1]
        return sums[same_run]


@dataclass(slots=True)
class SignalEngine:
    """Signals for each live tick (module docstring); `fit` is swapped in when (re)fitted.

    Args:
        p: the published per-tick rug probability.
        payout_x: the side bet's payout multiple.
    """

    clock: TickClock = field(default_factory=TickClock)
    fit: HazardFit | None = None
    p: float = RUG_PROB_PER_TICK
    payout_x: float = SIDEBET_PAYOUT_X
    window_ticks: int = SIDEBET_WINDOW_TICKS

    def _p_within(self, tick: int, hazard: float) -> float:
        """`analysis.sidebet.rug_within_probability` at `tick` under `hazard`. A bound of the
        lake's interval can be 0 or 1 (the game bootstrap clips it there), outside the open
        interval that function takes: the probability is then its limit, 0, or 1 when the
        window holds a tick."""
        if 0.0 < hazard < 1.0:
            return float(rug_within_probability(tick, p=hazard, window=self.window_ticks))
        return float(hazard >= 1.0 and window_draws(tick, window=self.window_ticks) > 0)

    def on_tick(self, *, game_id: str, tick: int, recv_ts_us: int | None, recv_s: float,
                price_x: float | None = None) -> dict[str, Any]:
        """The `signals` message of one live tick.

        Args:
            game_id, tick, price_x: the tick.
            recv_ts_us: its receive time (µs since the epoch, UTC), shown as `recv_ts`.
            recv_s: its receive time on a steady clock (s), for intervals and lateness.

        Returns:
            `game_id`, `tick`, `price_x`, `recv_ts`, `p_rug_40_constant`, `p_rug_40_lake`,
            `p_rug_40_lake_lo`, `p_rug_40_lake_hi`, `sidebet_p_win_now`, `sidebet_ev_now`,
            `sidebet_ev_lake`, `sidebet_ev_lake_lo`, `sidebet_ev_lake_hi`, `window_40_ms`,
            `window_40_lo_ms`, `window_40_hi_ms`, `tick_lateness_ms`, `model` (the model of
            `p_rug_40_constant` and `sidebet_ev_now`), `models` (field → model name and
            parameters). Lake fields are None without a fit.
        """
        late = self.clock.observe(game_id, tick, recv_s)
        w = self.clock.forecast()
        draws = int(window_draws(tick, window=self.window_ticks))
        p_const = self._p_within(tick, self.p)
        constant = {"name": CONSTANT_MODEL, "hazard": self.p, "window_ticks": self.window_ticks,
                    "draws": draws, "max_ticks": MAX_TICKS}
        out: dict[str, Any] = {
            "game_id": game_id, "tick": tick, "price_x": price_x, "recv_ts": iso_utc(recv_ts_us),
            "p_rug_40_constant": p_const,
            "p_rug_40_lake": None, "p_rug_40_lake_lo": None, "p_rug_40_lake_hi": None,
            "sidebet_p_win_now": p_const,
            "sidebet_ev_now": self.payout_x * p_const - 1.0,
            "sidebet_ev_lake": None, "sidebet_ev_lake_lo": None, "sidebet_ev_lake_hi": None,
            "window_40_ms": w.median_ms, "window_40_lo_ms": w.lo_ms, "window_40_hi_ms": w.hi_ms,
            "tick_lateness_ms": late,
            "model": CONSTANT_MODEL,
        }
        lake: dict[str, Any] = {"name": LAKE_MODEL, "fitted": False}
        f = self.fit
        if f is not None:
            ps = [self._p_within(tick, h) for h in (f.hazard, f.lo, f.hi)]
            out |= {"p_rug_40_lake": ps[0], "p_rug_40_lake_lo": ps[1], "p_rug_40_lake_hi": ps[2],
                    "sidebet_ev_lake": self.payout_x * ps[0] - 1.0,
                    "sidebet_ev_lake_lo": self.payout_x * ps[1] - 1.0,
                    "sidebet_ev_lake_hi": self.payout_x * ps[2] - 1.0}
            lake = {**f.describe(), "fitted": True}
        out["models"] = {
            "p_rug_40_constant": constant, "sidebet_ev_now": constant, "p_rug_40_lake": lake,
            "sidebet_ev_lake": lake,
            "window_40_ms": {"name": w.model, "intervals": w.n_intervals,
                             "windows": w.n_windows, "level": 0.95},
            "tick_lateness_ms": {"name": LATENESS_MODEL, "nominal_ms": self.clock.nominal_ms},
        }
        return out
