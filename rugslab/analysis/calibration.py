"""Scoring probabilistic predictions of "rug within the next 40 ticks": Brier score, log loss,
reliability tables, and model comparisons on held-out games.

Rows of one game are not independent: a game yields a row per tick, each row's 40-tick window
overlaps ~40 others and shares the game's rug tick (design effect ~40 for the reliability bars of
a real lake). Every interval here therefore resamples whole games
(`rugslab.analysis.resample`); binomial intervals are used only when each row is its own game.

Models are anything with `predict(rows) -> np.ndarray` (`rugmodel.TimingModel`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from rugslab.analysis._frames import require_columns
from rugslab.analysis.hazard import binomial_interval
from rugslab.analysis.resample import DEFAULT_RESAMPLES, bootstrap_ratios
from rugslab.errors import ConfigError


class Predictor(Protocol):
    def predict(self, rows: pl.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Calibration:
    """Scores of probabilistic predictions against 0/1 outcomes.

    Attributes:
        n: predictions scored; base_rate: mean outcome; games: distinct games (None when
            no `groups` were given).
        brier: mean (p - y)²; log_loss: mean -[y log p + (1-y) log(1-p)] (p clipped to
            [1e-15, 1 - 1e-15]).
        table: reliability bins: `bin`, `n`, `games` (null without groups), `mean_pred`,
            `observed`, `lo`, `hi` (95%: cluster bootstrap over games with `groups`, else
            Wilson), `interval` ("game bootstrap" or "wilson").
    """

    n: int
    base_rate: float
    brier: float
    log_loss: float
    table: pl.DataFrame
    games: int | None = None


def _codes(groups: ArrayLike, n: int) -> np.ndarray:
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ConfigError(f"groups has {g.size} values for {n} predictions: pass one game id "
                          "per prediction.")
    return np.unique(g, return_inverse=True)[1]


def calibration(preds: ArrayLike, outcomes: ArrayLike, *, groups: ArrayLike | None = None,
                bins: int = 10, strategy: Literal["uniform", "quantile"] = "quantile",
                n_resamples: int = DEFAULT_RESAMPLES, level: float = 0.95, seed: int = 0
                ) -> Calibration:
    """Brier score, log loss and a reliability table.

    Args:
        preds: predicted probabilities in [0, 1].
        outcomes: 0/1 (or bool) outcomes, same length.
        groups: the game of each prediction. Given, the reliability bars are a studentized
            cluster bootstrap (`resample.bootstrap_ratios`: resamples whole games,
            `n_resamples` replicates, seeded; the same replicates for every bin); without,
            Wilson intervals (rows independent).
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
    used = np.unique(idx)
    code = _codes(groups, p.size) if groups is not None else None
    lo = hi = None
    games: list[int | None] = [None] * used.size
    if code is not None:
        n_games = int(code.max()) + 1
        # per game and bin: [positives, rows] → totals → observed rate per bin
        sums = np.zeros((n_games, used.size, 2))
        col = np.searchsorted(used, idx).astype(np.int64)
        flat = (code.astype(np.int64) * used.size + col) * 2  # index of [game, bin, 0]
        np.add.at(sums.reshape(-1), flat, y)
        np.add.at(sums.reshape(-1), flat + 1, 1.0)
        games = [int(v) for v in (sums[:, :, 1] > 0).sum(axis=0)]
        if n_games >= 2:
            boot = bootstrap_ratios(sums[:, :, 0], sums[:, :, 1], n_resamples=n_resamples,
                                    level=level, bounds=(0.0, 1.0), seed=seed)
            lo, hi = boot.lo, boot.hi
    rows = []
    for j, b in enumerate(used.tolist()):
        sel = idx == b
        n, k = int(sel.sum()), int(y[sel].sum())
        if lo is not None and hi is not None:
            bounds, how = (float(lo[j]), float(hi[j])), "game bootstrap"
        else:
            bounds, how = binomial_interval(k, n, "wilson", level), "wilson"
        rows.append({"bin": b, "n": n, "games": games[j], "mean_pred": float(p[sel].mean()),
                     "observed": k / n, "lo": bounds[0], "hi": bounds[1], "interval": how})
    table = pl.DataFrame(rows, schema={"bin": pl.Int64, "n": pl.Int64, "games": pl.Int64,
                                       "mean_pred": pl.Float64, "observed": pl.Float64,
                                       "lo": pl.Float64, "hi": pl.Float64,
                                       "interval": pl.String})
    return Calibration(int(p.size), float(y.mean()), brier, log_loss, table,
                       None if code is None else int(code.max()) + 1)


def _predictions(test_rows: pl.DataFrame, model: Predictor, baseline: Predictor | None
                 ) -> dict[str, np.ndarray]:
    preds = {"constant": test_rows["p_constant"].to_numpy(), "timing": model.predict(test_rows)}
    if baseline is not None:
        preds["intercept"] = baseline.predict(test_rows)
    return preds


def compare_models(test_rows: pl.DataFrame, model: Predictor, *,
                   baseline: Predictor | None = None, bins: int = 10) -> pl.DataFrame:
    """Published constant, timing model (and the intercept-only `baseline`) on held-out rows.

    Returns:
        One row per model (`model` = "constant", "timing", "intercept"): `n`, `brier`,
        `log_loss`, `base_rate`. Lower is better for both scores.
    """
    require_columns(test_rows, ("p_constant", "rug_within"), table="rug_window_rows")
    y = test_rows["rug_within"].cast(pl.Float64).to_numpy()
    out = []
    for name, pred in _predictions(test_rows, model, baseline).items():
        c = calibration(pred, y, bins=bins)
        out.append({"model": name, "n": c.n, "brier": c.brier, "log_loss": c.log_loss,
                    "base_rate": c.base_rate})
    return pl.DataFrame(out)


def compare_models_by_game(
    test_rows: pl.DataFrame, model: Predictor, *, baseline: Predictor | None = None,
    n_resamples: int = DEFAULT_RESAMPLES, level: float = 0.95, seed: int = 0,
) -> pl.DataFrame:
    """Which model the held-out games support: score differences with game-level intervals.

    The timing model is set against the published constant and, when `baseline` is given,
    against the intercept-only model. Each interval is a studentized cluster bootstrap
    (`resample.bootstrap_ratios`: resamples whole test games, `n_resamples` replicates,
    seeded) of mean score(timing) - mean score(reference) over the resampled games' rows.

    Returns:
        One row per metric ("brier", "log_loss") and reference ("constant", "intercept"):
        `metric`, `reference`, `reference_score`, `timing` (mean scores, lower is better),
        `diff` (timing - reference), `lo`, `hi`, `games`, `rows`, `better`: "timing" or the
        reference when the interval excludes 0, else "neither (interval spans 0)" (a
        predictive comparison cannot show equality: `timing_hazard.test_timing_hazard` can).

    Raises:
        ConfigError: fewer than 2 test games.

    Source: `rugslab.analysis.resample.bootstrap_ratios` over per-game score sums.
    """
    require_columns(test_rows, ("game_id", "p_constant", "rug_within"), table="rug_window_rows")
    y = test_rows["rug_within"].cast(pl.Float64).to_numpy()
    preds = {k: np.clip(v, 1e-15, 1 - 1e-15)
             for k, v in _predictions(test_rows, model, baseline).items()}
    codes = test_rows["game_id"].cast(pl.Categorical).to_physical().to_numpy()
    _, game = np.unique(codes, return_inverse=True)
    n_games = int(game.max()) + 1 if game.size else 0
    if n_games < 2:
        raise ConfigError(f"compare_models_by_game needs ≥ 2 test games, got {n_games}.")
    rows_per_game = np.bincount(game, minlength=n_games).astype(float)
    total = rows_per_game.sum()
    out = []
    for metric in ("brier", "log_loss"):
        loss = {}
        for name, p in preds.items():
            per_row = (p - y) ** 2 if metric == "brier" else -(y * np.log(p)
                                                               + (1 - y) * np.log(1 - p))
            loss[name] = np.bincount(game, weights=per_row, minlength=n_games)
        for ref in [r for r in ("constant", "intercept") if r in loss]:
            delta = loss["timing"] - loss[ref]
            boot = bootstrap_ratios(delta, rows_per_game, n_resamples=n_resamples,
                                    level=level, seed=seed)
            _, lo, hi = boot.scalar()
            better = "timing" if hi < 0 else ref if lo > 0 else "neither (interval spans 0)"
            out.append({"metric": metric, "reference": ref,
                        "reference_score": float(loss[ref].sum() / total),
                        "timing": float(loss["timing"].sum() / total),
                        "diff": float(delta.sum() / total), "lo": lo, "hi": hi,
                        "games": n_games, "rows": int(total), "better": better})
    return pl.DataFrame(out)
