"""`rugslab.analysis.players` on hand-built `player_games` rows whose answers are counted by
hand."""

from __future__ import annotations

import math

import polars as pl
import pytest

from rugslab.analysis import players
from rugslab.errors import SchemaViolation


def _rows() -> pl.DataFrame:
    # game g1: a trades and bets, b only trades; game g2: a only bets, c bets (unresolved).
    return pl.DataFrame({
        "game_id": ["g1", "g1", "g2", "g2"],
        "player_id": ["a", "b", "a", "c"],
        "trades": [2, 3, 0, 0],
        "side_bets": [1, 0, 2, 1],
        "bought_sol": [1.0, 6.0, 0.0, 0.0],
        "sold_sol": [1.5, 2.0, 0.0, 0.0],
        "side_bet_stake_sol": [0.5, 0.0, 1.0, 0.25],
        "side_bet_pnl_sol": [2.0, None, -1.0, None],
    })


def test_players_per_game_counts_traders_bettors_and_players() -> None:
    out = players.players_per_game(_rows())
    assert out.rows() == [("g1", 2, 1, 2), ("g2", 0, 2, 2)]
    assert out.columns == ["game_id", "traders", "side_bettors", "players"]


def test_sidebet_return_pools_resolved_bets_and_states_the_analytic_ev() -> None:
    out = players.sidebet_return(_rows()).row(0, named=True)
    # c's bet is unresolved (null PnL) and b placed none: a's two rows only.
    assert (out["bettors"], out["games"]) == (1, 2)
    assert out["stake_sol"] == pytest.approx(1.5)
    assert out["pnl_sol"] == pytest.approx(1.0)
    assert out["return_per_stake"] == pytest.approx(1.0 / 1.5)
    assert out["ev_per_stake"] == pytest.approx(5 * (1 - 0.995**40) - 1)
    assert round(out["ev_per_stake"], 3) == -0.092  # the published -9.2%


def test_volume_concentration_shares_of_the_top_players() -> None:
    # volume: a 1+1.5+0.5+1 = 4.0, b 8.0, c 0.25; total 12.25
    out = players.volume_concentration(_rows(), top=(1, 2, 3))
    assert out["players"].to_list() == [3, 3, 3]
    assert out["share"].to_list() == pytest.approx([8 / 12.25, 12 / 12.25, 1.0])


def test_no_volume_gives_nan_shares_not_a_division_error() -> None:
    rows = _rows().with_columns(pl.lit(0.0).alias(c)
                                for c in ("bought_sol", "sold_sol", "side_bet_stake_sol"))
    assert all(math.isnan(s) for s in players.volume_concentration(rows)["share"])


@pytest.mark.parametrize("fn", [players.players_per_game, players.sidebet_return,
                                players.volume_concentration])
def test_a_missing_column_is_named(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SchemaViolation, match="player_games"):
        fn(_rows().drop("side_bets", "bought_sol", "side_bet_pnl_sol"))
