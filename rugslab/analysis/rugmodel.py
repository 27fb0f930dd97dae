"""Timing-adjusted rug probability: P(rug within the next 40 ticks | tick t, recent intervals).

The original design proposed adjusting the rug probability by the observed tick interval and
its reliability (slow or erratic ticks as a warning sign). This module names that idea as a
model and sets it against the constant-hazard model of the published generator:

- constant:  P = 1 - (1 - p)^m, m = min(t + 40, 5000) - t (`sidebet.rug_within_probability`);
- timing:    logistic regression of the outcome on features of the last k receive-time
             intervals (mean, standard deviation, ...), fitted by maximum likelihood with a
             small L2 penalty (scipy.optimize, L-BFGS-B), features standardised on the train set.

Both are judged on held-out games by `calibration`: Brier score, log loss and a reliability
table, against a third, the intercept-only model (one probability fitted on the train games:
what the timing features add beyond refitting the rate). Rows of one game overlap (windows share
ticks and the rug), so every row of a game goes to the same side of a split (`split_by_game`,
random; `split_by_time`, the latest games held out), and every interval resamples whole games
(`rugslab.analysis.resample`): a 40-tick row shares its outcome with ~40 neighbours.

This is the predictive comparison; the direct test of "does timing move the hazard", with an
equivalence verdict, is `rugslab.analysis.timing_hazard`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import optimize, special

from rugslab.analysis._frames import require_columns
from rugslab.analysis.sidebet import rug_within_probability
from rugslab.analysis.timing import tick_intervals
from rugslab.errors import ConfigError
from rugslab.feed.rules import RUG_PROB_PER_TICK, SIDEBET_WINDOW_TICKS

DEFAULT_FEATURES = ("mean_interval_ms", "std_interval_ms")


def rug_window_rows(
    ticks: pl.DataFrame,
    games: pl.DataFrame,
    *,
    horizon: int = SIDEBET_WINDOW_TICKS,
    k: int = 10,
    min_intervals: int | None = None,
    step: int = 1,
    p: float = RUG_PROB_PER_TICK,
) -> pl.DataFrame:
    """One row per (game, live tick t) with interval features and the 40-tick outcome.

    A row exists for a tick t that was received live, with t % step == 0, while the game was
    alive (t < rug tick), whose outcome is known (the game rugged, or was seen alive through
    t + horizon), and with at least `min_intervals` (default max(2, k // 2)) measured
    intervals among ticks t-k+1..t. Other ticks are not rows (they are not bad input).

    Args:
        ticks: lake `ticks` (`game_id`, `tick`, `recv_ts`).
        games: lake `games` (`game_id`, `rug_tick`, `last_live_tick`); ticks of games not in
            `games` get no rows.

    Returns:
        `game_id`, `tick`, `recv_ts` (of tick t), `mean_interval_ms`, `std_interval_ms`,
        `max_interval_ms`, `last_interval_ms`, `n_intervals`, `rug_within` (bool: rug tick ≤
        t + horizon), `p_constant` (the constant-hazard probability for that tick).
    """
    require_columns(games, ("game_id", "rug_tick", "last_live_tick"), table="games")
    if k < 2 or step < 1 or horizon < 1:
        raise ConfigError(f"Invalid k={k}, step={step}, horizon={horizon}: expected k ≥ 2, "
                          "step ≥ 1, horizon ≥ 1.")
    need = max(2, k // 2) if min_intervals is None else min_intervals
    iv = tick_intervals(ticks).select("game_id", "tick", "interval_ms")
    live = (
        ticks.filter(pl.col("recv_ts").is_not_null()).select("game_id", "tick", "recv_ts")
        .join(iv, on=["game_id", "tick"], how="left").sort("game_id", "tick")
    )
    win = f"{k}i"
    x = pl.col("interval_ms")
    feats = live.with_columns(
        x.rolling_mean_by("tick", win, min_samples=1).over("game_id").alias("mean_interval_ms"),
        x.rolling_std_by("tick", win, min_samples=2).over("game_id").alias("std_interval_ms"),
        x.rolling_max_by("tick", win, min_samples=1).over("game_id").alias("max_interval_ms"),
        x.alias("last_interval_ms"),
        x.is_not_null().cast(pl.Int64).rolling_sum_by("tick", win).over("game_id").alias(
            "n_intervals"
        ),
    ).drop("interval_ms")
    g = games.select("game_id", pl.col("rug_tick").cast(pl.Int64),
                     pl.col("last_live_tick").cast(pl.Int64))
    rows = feats.join(g, on="game_id", how="inner").filter(
        (pl.col("tick") % step == 0)
        & (pl.col("n_intervals") >= need)
        & (pl.col("rug_tick").is_null() | (pl.col("tick") < pl.col("rug_tick")))
        & (pl.col("rug_tick").is_not_null()
           | (pl.col("last_live_tick") >= pl.col("tick") + horizon))
    )
    rows = rows.with_columns(
        (pl.col("rug_tick").is_not_null() & (pl.col("rug_tick") <= pl.col("tick") + horizon))
        .alias("rug_within"),
        pl.col("std_interval_ms").fill_null(0.0),
    ).drop("rug_tick", "last_live_tick")
    return rows.with_columns(
        pl.Series("p_constant", rug_within_probability(rows["tick"].to_numpy(), p=p,
                                                       window=horizon))
    )


@dataclass(frozen=True, slots=True)
class TimingModel:
    """A fitted logistic model: P = expit(coef[0] + Σ coef[i]·(x_i - mean_i) / scale_i)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    n_train: int
    converged: bool

    def predict(self, rows: pl.DataFrame) -> np.ndarray:
        """P(rug within the horizon) for each row of `rows` (needs the model's features)."""
        c = np.array(self.coef)
        if not self.features:  # intercept only
            return np.full(rows.height, float(special.expit(c[0])))
        require_columns(rows, self.features, table="rug_window_rows")
        z = (_matrix(rows, self.features) - np.array(self.mean)) / np.array(self.scale)
        return special.expit(c[0] + z @ c[1:])


def _matrix(rows: pl.DataFrame, features: Sequence[str]) -> np.ndarray:
    m = rows.select(pl.col(f).cast(pl.Float64) for f in features).to_numpy()
    if np.isnan(m).any():
        raise ConfigError(f"Features {list(features)} hold nulls/NaN: drop or fill those rows.")
    return m


def fit_timing_model(
    rows: pl.DataFrame, *, features: Sequence[str] = DEFAULT_FEATURES, l2: float = 1e-3,
    target: str = "rug_within",
) -> TimingModel:
    """Fit the logistic timing model by penalised maximum likelihood.

    Args:
        rows: `rug_window_rows` output (train games only).
        features: feature columns; standardised with the train mean and std.
        l2: ridge penalty per row on the slopes (not the intercept).

    Raises:
        ConfigError: no rows, or the target is all true / all false.
    """
    require_columns(rows, (*features, target), table="rug_window_rows")
    y = rows[target].cast(pl.Float64).to_numpy()
    if y.size == 0 or y.min() == y.max():
        raise ConfigError(
            f"Cannot fit: {y.size} rows with {int(y.sum()) if y.size else 0} positives; need "
            "both outcomes. Use more games."
        )
    x = _matrix(rows, features)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = np.column_stack([np.ones(len(y)), (x - mean) / scale])
    n = len(y)
    pen = np.r_[0.0, np.full(len(features), l2)]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        eta = z @ w
        nll = np.sum(np.logaddexp(0.0, eta) - y * eta) / n + 0.5 * np.sum(pen * w * w)
        grad = z.T @ (special.expit(eta) - y) / n + pen * w
        return float(nll), grad

    w0 = np.zeros(z.shape[1])
    w0[0] = special.logit(y.mean())
    res = optimize.minimize(loss, w0, jac=True, method="L-BFGS-B")
    return TimingModel(tuple(features), tuple(mean.tolist()), tuple(scale.tolist()),
                       tuple(res.x.tolist()), n, bool(res.success))


def fit_intercept_model(rows: pl.DataFrame, *, target: str = "rug_within") -> TimingModel:
    """The intercept-only baseline: one probability, the train rows' rate of `target`.

    Raises:
        ConfigError: no rows, or the target is all true / all false.
    """
    require_columns(rows, (target,), table="rug_window_rows")
    y = rows[target].cast(pl.Float64).to_numpy()
    if y.size == 0 or y.min() == y.max():
        raise ConfigError(f"Cannot fit: {y.size} rows; need both outcomes. Use more games.")
    return TimingModel((), (), (), (float(special.logit(y.mean())),), int(y.size), True)


def split_by_game(rows: pl.DataFrame, *, test_fraction: float = 0.3, seed: int = 0
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split rows into (train, test) by game: every row of a game lands on one side.

    Games are shuffled (sorted ids, then a seeded permutation) and the first
    round(test_fraction · games) go to test.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"Invalid test_fraction {test_fraction!r}: expected a value in (0, 1).")
    ids = np.array(sorted(rows["game_id"].unique().to_list()), dtype=object)
    perm = np.random.default_rng(seed).permutation(ids.size)
    test_ids = ids[perm[: round(test_fraction * ids.size)]].tolist()
    is_test = pl.col("game_id").is_in(test_ids)
    return rows.filter(~is_test), rows.filter(is_test)


def split_by_time(rows: pl.DataFrame, *, test_fraction: float = 0.3, time_col: str = "recv_ts"
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split rows into (train, test) by time: the latest round(test_fraction · games) games,
    ordered by their first `time_col`, are the test set (a model must predict games that came
    after the ones it learned from; days that differ show up here and not in a random split).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"Invalid test_fraction {test_fraction!r}: expected a value in (0, 1).")
    require_columns(rows, ("game_id", time_col), table="rug_window_rows")
    order = rows.group_by("game_id").agg(pl.col(time_col).min()).sort(time_col, "game_id")
    n_test = round(test_fraction * order.height)
    test_ids = order["game_id"].tail(n_test).to_list() if n_test else []
    is_test = pl.col("game_id").is_in(test_ids)
    return rows.filter(~is_test), rows.filter(is_test)
