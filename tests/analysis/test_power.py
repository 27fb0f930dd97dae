"""Power of a test of the side bet's win probability against breakeven."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from rugslab.analysis import power
from rugslab.errors import ConfigError


def test_games_needed_follow_the_arcsine_formula() -> None:
    r = power.sidebet_power()
    h = 2 * math.asin(math.sqrt(1 - 0.995**40)) - 2 * math.asin(math.sqrt(0.2))
    assert r["effect_h"] == pytest.approx(h)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert r["independent_bets"] == math.ceil((z / h) ** 2)
    assert 0.77 < r["exact_power"] < 0.83  # the exact binomial test at that n
    assert math.isnan(r["power_now"])


def test_clustered_bets_need_more_bets_and_fewer_games() -> None:
    one = power.sidebet_power()
    clustered = power.sidebet_power(design_effect=8.0, bets_per_game=40.0, games_now=56)
    assert clustered["games_needed"] == math.ceil(one["independent_bets"] * 8 / 40)
    assert 0.05 < clustered["power_now"] < 0.5  # 56 games of 40 bets: 280 effective
    with pytest.raises(ConfigError, match="design effect"):
        power.sidebet_power(design_effect=0.5)
    with pytest.raises(ConfigError, match="p_true"):
        power.sidebet_power(p_true=0.2)
