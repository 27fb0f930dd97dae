"""Timing-adjusted rug probability: P(rug within the next 40 ticks | tick t, recent intervals).

The original design proposed adjusting the rug probability by the observed tick interval and
its reliability (slow or erratic ticks as a warning sign). This module names that idea as a
model and sets it against the constant-hazard model of the published generator:

- constant:  P = 1 - (1 - p)^m, m = min(t + 40, 5000) - t (`sidebet.rug_within_probability`);
- timing:    logistic regression of the outcome on features of the last k receive-time
             intervals (mean, standard deviation, ...), fitted by maximum likelihood with a
             small L2 penalty (scipy.optimize, L-BFGS-B), features standardised on the train set.

Both are judged on held-out games (`split_by_game`) by `calibration`: Brier score, log loss and
a reliability table. Rows of one game overlap (windows share ticks), so every row of a game
goes to the same side of the split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

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
        `game_id`, `tick`, `mean_interval_ms`, `std_interval_ms`, `max_interval_ms`,
        `last_interval_ms`, `n_intervals`, `rug_within` (bool: rug tick ≤ t + horizon),
        `p_constant` (the constant-hazard probability for that tick).
    """
    require_columns(games, ("game_id", "rug_tick", "last_live_tick"), table="games")
    if k < 2 or step < 1 or horizon < 1:
        raise ConfigError(f"Invalid k={k}, step={step}, horizon={horizon}: expected k ≥ 2, "
                          "step ≥ 1, horizon ≥ 1.")
    need = max(2, k // 2) if min_intervals is None else min_intervals
    iv = tick_intervals(ticks).select("game_id", "tick", "interval_ms")
    live = (
        ticks.filter(pl.col("recv_ts").is_not_null()).select("game_id", "tick")
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
        require_columns(rows, self.features, table="rug_window_rows")
        z = (_matrix(rows, self.features) - np.array(self.mean)) / np.array(self.scale)
        c = np.array(self.coef)
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


@dataclass(frozen=True, slots=True)
class Calibration:
    """Scores of probabilistic predictions against 0/1 outcomes.

    Attributes:
        n: predictions scored; base_rate: mean outcome.
        brier: mean (p - y)²; log_loss: mean -[y log p + (1-y) log(1-p)] (p clipped to
            [1e-15, 1 - 1e-15]).
        table: reliability bins: `bin`, `n`, `mean_pred`, `observed`, `lo`, `hi` (Wilson 95%).
    """

    n: int
    base_rate: float
    brier: float
    log_loss: float
    table: pl.DataFrame


def calibration(preds: ArrayLike, outcomes: ArrayLike, *, bins: int = 10,
                strategy: Literal["uniform", "quantile"] = "quantile") -> Calibration:
    """Brier score, log loss and a reliability table.

    Args:
        preds: predicted probabilities in [0, 1].
        outcomes: 0/1 (or bool) outcomes, same length.
        bins: number of bins; "uniform" splits [0, 1] evenly, "quantile" at prediction
            quantiles (better when predictions sit in a narrow range, as here).

    Raises:
        ConfigError: lengths differ, empty input, or predictions outside [0, 1].
    """
    p = np.asarray(preds, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    if p.shape != y.shape or p.size == 0:
        raise ConfigError(f"preds ({p.size}) and outcomes ({y.size}) must be non-empty and of "
                          "equal length.")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ConfigError("preds must be probabilities in [0, 1] (no NaN).")
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    brier = float(np.mean((p - y) ** 2))
    log_loss = float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)))
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
    elif strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, bins + 1)))
    else:
        raise ConfigError(f"Invalid strategy {strategy!r}: expected 'uniform' or 'quantile'.")
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(edges.size - 2, 0))
    rows = []
    for b in np.unique(idx).tolist():
        sel = idx == b
        n, k = int(sel.sum()), int(y[sel].sum())
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        rows.append({"bin": b, "n": n, "mean_pred": float(p[sel].mean()),
                     "observed": k / n, "lo": float(ci.low), "hi": float(ci.high)})
    return Calibration(int(p.size), float(y.mean()), brier, log_loss, pl.DataFrame(rows))


def compare_models(test_rows: pl.DataFrame, model: TimingModel, *, bins: int = 10
                   ) -> pl.DataFrame:
    """Constant-hazard vs timing model on held-out rows.

    Returns:
        Two rows (`model` = "constant", "timing"): `n`, `brier`, `log_loss`, `base_rate`.
        Lower is better for both scores.
    """
    require_columns(test_rows, ("p_constant", "rug_within"), table="rug_window_rows")
    y = test_rows["rug_within"].cast(pl.Float64).to_numpy()
    out = []
    for name, pred in (("constant", test_rows["p_constant"].to_numpy()),
                       ("timing", model.predict(test_rows))):
        c = calibration(pred, y, bins=bins)
        out.append({"model": name, "n": c.n, "brier": c.brier, "log_loss": c.log_loss,
                    "base_rate": c.base_rate})
    return pl.DataFrame(out)



def compare_models_by_game(
    test_rows: pl.DataFrame, model: TimingModel, *, n_resamples: int = 2000,
    level: float = 0.95, seed: int = 0,
) -> pl.DataFrame:
    """Which model the held-out games support: score differences with game-level intervals.

    Rows of one game overlap (their 40-tick windows share the rug), so the interval resamples
    whole games (a cluster bootstrap): each resample draws the test games with replacement
    and recomputes mean score(timing) - mean score(constant) over their rows.

    Returns:
        Two rows (`metric` = "brier", "log_loss"): `constant`, `timing` (mean scores, lower is
        better), `diff` (timing - constant), `lo`, `hi` (bootstrap percentile interval of
        `diff`), `games`, `rows`, `better`: "timing" or "constant" when the interval excludes
        0, else "neither (interval spans 0)".

    Raises:
        ConfigError: fewer than 2 test games.

    Source: scipy.stats.bootstrap (percentile) over game indices.
    """
    require_columns(test_rows, ("game_id", "p_constant", "rug_within"), table="rug_window_rows")
    y = test_rows["rug_within"].cast(pl.Float64).to_numpy()
    preds = {"constant": np.clip(test_rows["p_constant"].to_numpy(), 1e-15, 1 - 1e-15),
             "timing": np.clip(model.predict(test_rows), 1e-15, 1 - 1e-15)}
    codes = test_rows["game_id"].cast(pl.Categorical).to_physical().to_numpy()
    _, game = np.unique(codes, return_inverse=True)
    n_games = int(game.max()) + 1 if game.size else 0
    if n_games < 2:
        raise ConfigError(f"compare_models_by_game needs ≥ 2 test games, got {n_games}.")
    rows_per_game = np.bincount(game, minlength=n_games).astype(float)
    out = []
    for metric in ("brier", "log_loss"):
        loss = {}
        for name, p in preds.items():
            per_row = (p - y) ** 2 if metric == "brier" else -(y * np.log(p)
                                                               + (1 - y) * np.log(1 - p))
            loss[name] = np.bincount(game, weights=per_row, minlength=n_games)
        delta = loss["timing"] - loss["constant"]

        def stat(ix: np.ndarray, axis: int = -1, delta: np.ndarray = delta) -> np.ndarray:
            i = ix.astype(np.int64)
            return delta[i].sum(axis=axis) / rows_per_game[i].sum(axis=axis)

        res = stats.bootstrap((np.arange(n_games, dtype=float),), stat, n_resamples=n_resamples,
                              confidence_level=level, method="percentile", vectorized=True,
                              rng=np.random.default_rng(seed))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        better = "timing" if hi < 0 else "constant" if lo > 0 else "neither (interval spans 0)"
        total = rows_per_game.sum()
        out.append({"metric": metric, "constant": float(loss["constant"].sum() / total),
                    "timing": float(loss["timing"].sum() / total),
                    "diff": float(delta.sum() / total), "lo": lo, "hi": hi,
                    "games": n_games, "rows": int(total), "better": better})
    return pl.DataFrame(out)
