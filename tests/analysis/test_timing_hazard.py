"""The timing hazard regression and its equivalence verdict, on hand-built rows and on simulated
lakes whose truth is known (`rugslab.sim.timed`)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from rugslab.analysis import timing_hazard as th
from rugslab.errors import ConfigError
from rugslab.sim.timed import simulate_timed_lake

T0 = dt.datetime(2025, 11, 3, 12, tzinfo=dt.UTC)


def test_equivalence_margin_is_the_breakeven_odds_ratio() -> None:
    h_b = 1 - 0.8 ** (1 / 40)  # a 40-tick bet paying 5x breaks even at P(win) = 0.2
    assert th.equivalence_margin() == pytest.approx((h_b / (1 - h_b)) / (0.005 / 0.995))
    assert 1.11 < th.equivalence_margin() < 1.12


def test_rows_use_only_intervals_before_the_tick() -> None:
    # game A seen from tick 0, intervals 250 except 400 ms at tick 3, rugs at tick 6;
    # game B joined at tick 2 (ticks 2..5 live, 300 ms), censored at 5
    ms_a = [0, 250, 500, 900, 1150, 1400, 1650]
    rows = [("A", t, T0 + dt.timedelta(milliseconds=m)) for t, m in enumerate(ms_a)]
    rows += [("B", t, T0 + dt.timedelta(milliseconds=300 * t)) for t in range(2, 6)]
    ticks = pl.DataFrame(rows, schema={"game_id": pl.String, "tick": pl.Int32,
                                       "recv_ts": pl.Datetime("us", "UTC")}, orient="row")
    games = pl.DataFrame({"game_id": ["A", "B"], "first_live_tick": [0, 2],
                          "rug_tick": [6, None], "last_live_tick": [5, 5]},
                         schema={"game_id": pl.String, "first_live_tick": pl.Int32,
                                 "rug_tick": pl.Int32, "last_live_tick": pl.Int32})
    r = th.hazard_rows(ticks, games, k=2, min_intervals=1)
    # A at risk 1..6: tick 1 has no earlier interval; tick t uses intervals ending at t-2, t-1
    # B at risk 3..5: its first interval ends at tick 3, so rows from tick 4
    assert r.select("game_id", "tick", "rug").rows() == [
        ("A", 2, False), ("A", 3, False), ("A", 4, False), ("A", 5, False), ("A", 6, True),
        ("B", 4, False), ("B", 5, False)]
    a4 = r.filter((pl.col("game_id") == "A") & (pl.col("tick") == 4)).row(0, named=True)
    assert (a4["mean_interval_ms"], a4["max_interval_ms"]) == (325.0, 400.0)  # ticks 2, 3
    assert a4["log_mean_interval"] == pytest.approx(math.log(325.0))
    a2 = r.filter((pl.col("game_id") == "A") & (pl.col("tick") == 2)).row(0, named=True)
    assert (a2["n_intervals"], a2["std_interval_ms"], a2["stall_recent"]) == (1, 0.0, 0.0)


def test_tost_says_constant_on_constant_hazard_games() -> None:
    games, ticks = simulate_timed_lake(2000, odds_ratio=1.0, late_share=0.3, seed=3)
    t = th.test_timing_hazard(th.hazard_rows(ticks, games))
    assert t.verdict == "constant"
    assert t.lo < 1.0 < t.hi and t.tost_p_value < 0.05
    assert 1 / t.margin < t.lo and t.hi < t.margin
    assert t.hazard_at_mean == pytest.approx(0.005, rel=0.1)


def test_tost_says_timing_on_games_with_a_timing_effect() -> None:
    games, ticks = simulate_timed_lake(600, odds_ratio=1.5, seed=4)
    t = th.test_timing_hazard(th.hazard_rows(ticks, games))
    assert t.verdict == "timing"
    assert t.lo > 1.0 and t.p_value < 0.001


def test_the_fit_is_the_binomial_glm_with_the_game_clustered_sandwich() -> None:
    # the Logit fit (kept for its memory) against the textbook GLM Binomial formulation
    import numpy as np
    import statsmodels.api as sm

    games, ticks = simulate_timed_lake(400, odds_ratio=1.3, seed=7)
    rows = th.hazard_rows(ticks, games)
    t = th.test_timing_hazard(rows)
    x = rows["log_mean_interval"].to_numpy()
    z = (x - x.mean()) / np.std(x)
    groups = rows["game_id"].cast(pl.Categorical).to_physical().to_numpy()
    glm = sm.GLM(rows["rug"].cast(pl.Float64).to_numpy(), sm.add_constant(z),
                 family=sm.families.Binomial()).fit(cov_type="cluster",
                                                    cov_kwds={"groups": groups})
    assert t.log_odds_ratio == pytest.approx(float(glm.params[1]), rel=1e-6)
    assert t.se == pytest.approx(float(glm.bse[1]), rel=1e-6)
    assert t.p_value == pytest.approx(float(glm.pvalues[1]), rel=1e-6)
    assert t.hazard_at_mean == pytest.approx(1 / (1 + math.exp(-glm.params[0])), rel=1e-6)


def test_few_games_leave_the_question_undecided() -> None:
    games, ticks = simulate_timed_lake(150, odds_ratio=1.0, seed=1000)
    rows = th.hazard_rows(ticks, games)
    t = th.test_timing_hazard(rows)
    assert t.verdict == "undecided" and t.lo < 1.0 < t.hi
    table = th.timing_hazard_table(rows)
    assert table["feature"].to_list() == ["log_mean_interval", "std_interval_ms",
                                          "max_interval_ms"]  # no stalls: no spread
    with pytest.raises(ConfigError, match="margin"):
        th.test_timing_hazard(rows, margin=0.9)
    with pytest.raises(ConfigError, match="need ≥ 2 games"):
        th.test_timing_hazard(rows.filter(pl.col("game_id") == rows["game_id"][0]))


@pytest.mark.slow
def test_false_timing_verdicts_stay_near_five_percent() -> None:
    # 40 constant-hazard lakes of 150 games: "timing" is a false positive of the 5% test
    verdicts = []
    for i in range(40):
        games, ticks = simulate_timed_lake(150, seed=2000 + i)
        verdicts.append(th.test_timing_hazard(th.hazard_rows(ticks, games)).verdict)
    false = verdicts.count("timing")
    assert false <= 7  # binomial(40, 0.05): P(X > 7) < 0.004


def test_a_feature_that_separates_the_rugs_is_no_fit_not_a_verdict() -> None:
    # 60 games with a rare stall: no rug follows a stall, so stall_recent has no finite MLE
    # (statsmodels warns and stops; the GLM formulation reported se 1e-55 on the std feature)
    games, ticks = simulate_timed_lake(60, stall_prob=0.001, seed=1)
    rows = th.hazard_rows(ticks, games)
    assert rows.filter(pl.col("rug"))["stall_recent"].max() == 0.0
    assert rows["stall_recent"].max() == 1.0
    with pytest.raises(th.NoFiniteFit, match=r"stall_recent.*did not converge"):
        th.test_timing_hazard(rows, feature="stall_recent")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no statsmodels warning escapes
        table = th.timing_hazard_table(rows)
    stall = table.filter(pl.col("feature") == "stall_recent").row(0, named=True)
    assert stall["verdict"] == "no fit" and stall["odds_ratio"] is None
    assert stall["rugs"] == int(rows["rug"].sum()) > 0
    fitted = table.filter(pl.col("verdict") != "no fit")
    assert fitted.height >= 1 and fitted["odds_ratio"].is_null().sum() == 0
