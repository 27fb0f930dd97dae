"""What `rugslab players` and `Lake.players()` show: a player's games and the agreement rate
of the reconciliation (pure polars over the `player_games` and `player_reconciliation` rows)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from rugslab.tables.schemas import require_columns


@dataclass(frozen=True, slots=True)
class PlayerSummary:
    """`games`: `player_games` rows (filtered), with the player's reconciliation counts per
    game (`matched`, `mismatched`, `incomplete`); `statuses`: rows per status and reason;
    `mismatches`: every mismatching row (ledger - server differences); `agreement`: matched /
    (matched + mismatched), None when nothing was comparable."""

    games: pl.DataFrame
    statuses: pl.DataFrame
    mismatches: pl.DataFrame
    agreement: float | None

    def __str__(self) -> str:
        n_cmp = int(self.statuses.filter(pl.col("status") != "incomplete")["rows"].sum())
        rate = "n/a (no comparable row)" if self.agreement is None else f"{self.agreement:.1%}"
        with pl.Config(tbl_rows=30, tbl_cols=12, tbl_width_chars=160, fmt_str_lengths=26):
            return (f"player games: {self.games.height}\n{self.games}\n\n"
                    f"reconciliation rows by status:\n{self.statuses}\n\n"
                    f"agreement rate: {rate} of {n_cmp} comparable rows\n"
                    f"mismatches ({self.mismatches.height}):\n{self.mismatches.head(10)}")


def player_summary(player_games: pl.DataFrame, reconciliation: pl.DataFrame, *,
                   game_id: str | None = None, player_id: str | None = None) -> PlayerSummary:
    """A `PlayerSummary` of the rows of `game_id` and/or `player_id` (all when None).

    Raises:
        SchemaViolation: an input lacks a column.
    """
    require_columns(player_games, ("game_id", "player_id"), table="player_games")
    require_columns(reconciliation, ("game_id", "player_id", "status", "reason"),
                    table="player_reconciliation")
    keep = pl.lit(True)
    if game_id is not None:
        keep &= pl.col("game_id") == game_id
    if player_id is not None:
        keep &= pl.col("player_id") == player_id
    pg, rc = player_games.filter(keep), reconciliation.filter(keep)
    per_game = rc.group_by("game_id", "player_id").agg(
        matched=(pl.col("status") == "match").sum(),
        mismatched=(pl.col("status") == "mismatch").sum(),
        incomplete=(pl.col("status") == "incomplete").sum())
    games = (pg.join(per_game, on=["game_id", "player_id"], how="left")
             .select("game_id", "player_id", "trades", "side_bets", "realized_pnl_sol",
                     "side_bet_pnl_sol", "pnl_sol", "from_start", "matched", "mismatched",
                     "incomplete").sort("game_id", "player_id"))
    statuses = (rc.group_by("status", "reason").agg(rows=pl.len())
                .sort("status", "reason", nulls_last=True))
    matched = int((rc["status"] == "match").sum())
    mismatched = int((rc["status"] == "mismatch").sum())
    mismatches = rc.filter(pl.col("status") == "mismatch").sort("game_id", "tick", "player_id")
    agreement = matched / (matched + mismatched) if matched + mismatched else None
    return PlayerSummary(games, statuses, mismatches, agreement)
