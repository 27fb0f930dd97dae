"""Who plays and how they fare: players per game, PnL, side-bettors' return against the side
bet's EV, and how concentrated the volume is (pure polars over `player_games` rows)."""

from __future__ import annotations

import polars as pl

from rugslab.tables.schemas import require_columns

#: The side bet's EV per unit staked under the published hazard, at start tick 0
#: (`analysis.sidebet.analytic_sidebet_ev`: 5·(1 - 0.995^40) - 1).
SIDEBET_EV_PER_STAKE = 5 * (1 - 0.995 ** 40) - 1


def players_per_game(player_games: pl.DataFrame) -> pl.DataFrame:
    """Per game: `traders` (players with a feed trade), `side_bettors`, `players` (either).

    Raises:
        SchemaViolation: `player_games` lacks a column.
    """
    require_columns(player_games, ("game_id", "trades", "side_bets"), table="player_games")
    return player_games.group_by("game_id").agg(
        traders=(pl.col("trades") > 0).sum(), side_bettors=(pl.col("side_bets") > 0).sum(),
        players=pl.len()).sort("game_id")


def sidebet_return(player_games: pl.DataFrame) -> pl.DataFrame:
    """Side-bettors' realized return per unit staked (real bets of rugged games) beside the
    analytic EV: one row, `bettors`, `games`, `stake_sol`, `pnl_sol`, `return_per_stake`,
    `ev_per_stake`. Pooled over bets: a handful of large bettors dominate it."""
    require_columns(player_games, ("game_id", "side_bets", "side_bet_stake_sol",
                                   "side_bet_pnl_sol"), table="player_games")
    b = player_games.filter((pl.col("side_bets") > 0) & pl.col("side_bet_pnl_sol").is_not_null())
    return b.select(
        bettors=pl.col("player_id").n_unique(), games=pl.col("game_id").n_unique(),
        stake_sol=pl.col("side_bet_stake_sol").sum(), pnl_sol=pl.col("side_bet_pnl_sol").sum(),
    ).with_columns(return_per_stake=pl.col("pnl_sol") / pl.col("stake_sol"),
                   ev_per_stake=pl.lit(SIDEBET_EV_PER_STAKE))


def volume_concentration(player_games: pl.DataFrame, *, top: tuple[int, ...] = (1, 5, 10)
                         ) -> pl.DataFrame:
    """Share of the volume (SOL bought + sold + staked on side bets, summed over games) held by
    the top N players: one row per N, `players`, `share`."""
    require_columns(player_games, ("player_id", "bought_sol", "sold_sol", "side_bet_stake_sol"),
                    table="player_games")
    vol = (player_games.group_by("player_id")
           .agg(v=(pl.col("bought_sol") + pl.col("sold_sol") + pl.col("side_bet_stake_sol")).sum())
           .sort("v", descending=True)["v"])
    total = float(vol.sum()) or float("nan")
    return pl.DataFrame({"top": list(top), "players": [vol.len()] * len(top),
                         "share": [float(vol.head(n).sum()) / total for n in top]})
