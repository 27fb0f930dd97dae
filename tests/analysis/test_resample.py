"""The cluster bootstrap: exact pieces by hand, and coverage over many simulated lakes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rugslab.analysis import resample
from rugslab.errors import ConfigError

TRUTH = 1 - 0.995**40  # P(win) of every bet placed while the game is alive


def _bets_lake(rng: np.random.Generator, games: int = 56) -> tuple[np.ndarray, np.ndarray]:
    """Per game (wins, bets) of side bets placed while it is alive.

    Rug ticks are Geometric(0.005) (the published generator). Each game draws its own betting
    intensity λ ~ Gamma(2, 0.1) and at every live tick s < rug, Poisson(λ) bets start at s; a
    bet wins iff rug ≤ s + 40. Bets of a game share its rug tick and games differ much in
    size (design effect ~10, the real lake's is ~8.5), but every bet wins with P = TRUTH.
    """
    rug = rng.geometric(0.005, games)
    lam = rng.gamma(2.0, 0.1, games)
    wins, bets = np.zeros(games), np.zeros(games)
    for g in range(games):
        s = np.repeat(np.arange(rug[g]), rng.poisson(lam[g], rug[g]))
        wins[g], bets[g] = np.sum(rug[g] <= s + 40), s.size
    keep = bets > 0
    return wins[keep], bets[keep]


def test_cluster_bootstrap_covers_the_win_rate_near_95_percent() -> None:
    rng = np.random.default_rng(2026)
    lakes, studentized, percentile, wilson = 200, 0, 0, 0
    for i in range(lakes):
        y, n = _bets_lake(rng)
        b = resample.bootstrap_ratios(y, n, n_resamples=400, bounds=(0, 1), seed=i)
        studentized += b.lo[0] <= TRUTH <= b.hi[0]
        p = resample.bootstrap_sums(np.column_stack([y, n]), resample.ratio_of_sums,
                                    n_resamples=400, seed=i)
        percentile += p.lo[0] <= TRUTH <= p.hi[0]
        ci = stats.binomtest(int(y.sum()), int(n.sum())).proportion_ci(method="wilson")
        wilson += ci.low <= TRUTH <= ci.high
    # 200 lakes: a 95% interval covers 190 ± 3 binomial sd (±9.2)
    assert 181 <= studentized <= 199, studentized
    assert percentile >= 175, percentile  # a little below: few, unequal games
    assert wilson < 130, wilson  # bets as independent rows: far too narrow


def test_ratio_pieces_by_hand() -> None:
    y, n = np.array([3.0, 0.0, 1.0]), np.array([3.0, 2.0, 1.0])
    # r = 4/6; cluster-robust var 3/2·[(3-2)² + (0-4/3)² + (1-2/3)²]/6² = 0.12037
    assert resample.ratio_cluster_se(y, n) == pytest.approx(np.sqrt(1.5 * (26 / 9) / 36))
    assert resample.design_effect(y, n) == pytest.approx(3.25)
    b = resample.bootstrap_ratios(y, n, n_resamples=200, bounds=(0, 1))
    assert b.estimate[0] == pytest.approx(4 / 6) and b.se[0] == pytest.approx(
        resample.ratio_cluster_se(y, n))
    assert 0 <= b.lo[0] <= 4 / 6 <= b.hi[0] <= 1 and b.method == "studentized"
    assert np.isnan(resample.design_effect([1.0], [2.0]))


def test_sums_and_rows_resample_the_same_games() -> None:
    rng = np.random.default_rng(5)
    y, n = _bets_lake(rng, games=40)
    rows = np.concatenate([np.r_[np.ones(int(k)), np.zeros(int(m - k))]
                           for k, m in zip(y, n, strict=True)])
    groups = np.repeat(np.arange(y.size), n.astype(int))
    fast = resample.bootstrap_sums(np.column_stack([y, n]), resample.ratio_of_sums,
                                   n_resamples=2000, seed=1)
    slow = resample.cluster_bootstrap(groups, lambda ix: rows[ix].mean(), n_resamples=2000,
                                      seed=2)
    assert fast.estimate[0] == pytest.approx(rows.mean()) == pytest.approx(slow.estimate[0])
    assert fast.se[0] == pytest.approx(slow.se[0], rel=0.1)
    assert fast.lo[0] == pytest.approx(slow.lo[0], abs=0.02)
    assert fast.clusters == slow.clusters == y.size


def test_bca_uses_the_leave_one_game_out_jackknife() -> None:
    rng = np.random.default_rng(6)
    x = rng.lognormal(0, 1, 60)  # skewed: BCa shifts the percentile interval up
    sums = np.column_stack([x, np.ones_like(x)])
    pct = resample.bootstrap_sums(sums, resample.ratio_of_sums, n_resamples=3000, seed=1)
    bca = resample.bootstrap_sums(sums, resample.ratio_of_sums, n_resamples=3000, seed=1,
                                  method="bca")
    assert bca.method == "bca" and bca.lo[0] > pct.lo[0] and bca.hi[0] > pct.hi[0]
    rows = resample.cluster_bootstrap(np.arange(60), lambda ix: x[ix].mean(),
                                      n_resamples=3000, seed=1, method="bca")
    assert rows.lo[0] == pytest.approx(bca.lo[0], rel=0.05)


def test_simultaneous_band_holds_every_replicate_path_jointly() -> None:
    rng = np.random.default_rng(7)
    sums = rng.poisson(5.0, (50, 10)).astype(float)  # 10 statistics: column means
    res = resample.bootstrap_sums(sums, lambda t: t / 50.0, n_resamples=1000, seed=3)
    lo, hi, gamma = resample.simultaneous_band(res)
    assert gamma > 0.95
    assert np.all(lo <= res.lo) and np.all(res.hi <= hi)
    inside = np.all((res.replicates >= lo) & (res.replicates <= hi), axis=1).mean()
    assert inside >= 0.95


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ConfigError, match="≥ 2 games"):
        resample.bootstrap_sums(np.ones((1, 2)), resample.ratio_of_sums)
    with pytest.raises(ConfigError, match="level"):
        resample.bootstrap_ratios([1, 2], [2, 3], level=1.5)
    with pytest.raises(ConfigError, match="method"):
        resample.cluster_bootstrap([0, 1], lambda ix: 0.0, method="normal")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="differ in shape"):
        resample.bootstrap_ratios([1, 2], [2, 3, 4])
