"""The engine's books: every path's money, open bets and positions, and running summaries.

`Book` holds one array per field over a chunk's paths (the engine updates them in place);
`Book.close_games` closes a game's books (return, drawdown, checkpoints) once what it left
open is settled (`rugslab.strategy.settlement`). `PathSummaries` is what a chunk hands back:
O(1) numbers per path plus bankrolls at a few checkpoints (`checkpoint_games`), never a
game-by-game record, so memory is bounded by the chunk and the number of paths, not by
paths × games.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from rugslab.errors import ConfigError
from rugslab.strategy.protocol import CAPPED, CENSORED, RECENT_GAMES

#: Relative tolerance when comparing a stake with the cash (float rounding of sums).
STAKE_TOLERANCE = 1e-9
#: Float dust of sums: a stake below it (SOL) is none, cash below it × the bankroll is 0.
DUST = 1e-12


@dataclass(frozen=True, slots=True)
class PathSummaries:
    """Per-path results of an ensemble (one entry per path, in path order; amounts in SOL).

    `ruin_game`: 0-based game in which the path first ordered a stake it could not cover
    (-1: never). `voided`: side bets and positions a censored game left without an outcome
    (stake returned; not in `bets`, `wins` or `staked_sol`). Per-game returns r = game P&L /
    cash at the game's start feed `sum_r`, `sum_r2`, `sum_down2` (Σ min(r, 0)²).
    `checkpoint_games` (K,) are game counts (0 = the start); `cp_bankroll` and `cp_drawdown`
    (n, K) hold each path's cash and drawdown fraction after that many games.
    """

    bankroll_sol: float
    checkpoint_games: np.ndarray
    final_sol: np.ndarray
    ruin_game: np.ndarray
    games_played: np.ndarray
    exposed_games: np.ndarray
    bets: np.ndarray
    wins: np.ndarray
    voided: np.ndarray
    staked_sol: np.ndarray
    pnl_sol: np.ndarray
    gross_win_sol: np.ndarray
    gross_loss_sol: np.ndarray
    sum_r: np.ndarray
    sum_r2: np.ndarray
    sum_down2: np.ndarray
    max_drawdown: np.ndarray
    max_drawdown_sol: np.ndarray
    max_underwater_games: np.ndarray
    cp_bankroll: np.ndarray
    cp_drawdown: np.ndarray

    @property
    def paths(self) -> int:
        """Number of paths."""
        return int(self.final_sol.shape[0])

    @staticmethod
    def concat(parts: Sequence[PathSummaries]) -> PathSummaries:
        """The paths of `parts`, in order (same bankroll and checkpoints)."""
        if not parts:
            raise ConfigError("No path summaries to join: an ensemble needs ≥ 1 path.")
        first = parts[0]
        out = {}
        for f in fields(PathSummaries):
            if f.name in ("bankroll_sol", "checkpoint_games"):
                out[f.name] = getattr(first, f.name)
            else:
                out[f.name] = np.concatenate([getattr(p, f.name) for p in parts])
        return PathSummaries(**out)


def checkpoint_games(games: int, *, points: int = 50) -> np.ndarray:
    """Game counts at which bankrolls are kept for fan charts: 0..games, at most points + 1."""
    return np.unique(np.linspace(0, games, min(games, points) + 1).round().astype(np.int64))


class Book:
    """Every path's state; per-game fields are reset when a path starts a game."""

    def __init__(self, n: int, first_path: int, bankroll: float, cps: np.ndarray) -> None:
        self.path = np.arange(first_path, first_path + n, dtype=np.int64)

        def f0() -> np.ndarray:
            return np.zeros(n)

        def i0() -> np.ndarray:
            return np.zeros(n, np.int64)

        self.cash, self.peak, self.game_start = (np.full(n, bankroll) for _ in range(3))
        self.stopped = np.zeros(n, bool)
        self.ruin_game = np.full(n, -1, np.int64)
        self.games_played, self.bets, self.wins, self.exposed = i0(), i0(), i0(), i0()
        self.voided = i0()
        self.consec_losses, self.consec_wins = i0(), i0()
        self.last_stake = f0()
        self.last_won = np.full(n, -1, np.int8)
        self.recent = np.zeros((n, RECENT_GAMES), np.int64)
        self.staked, self.pnl, self.gross_win, self.gross_loss = f0(), f0(), f0(), f0()
        self.sum_r, self.sum_r2, self.sum_down2 = f0(), f0(), f0()
        self.max_dd, self.max_dd_sol = f0(), f0()
        self.under, self.max_under = i0(), i0()
        self.cps = cps
        self.cp_bank = np.full((n, cps.size), np.nan)
        self.cp_dd = np.full((n, cps.size), np.nan)
        self.cp_bank[:, 0], self.cp_dd[:, 0] = bankroll, 0.0
        self.n = n

        # the game in play of each path (its index is `games_played`), on the path's own
        # clock: paths do not wait for each other
        self.tick = i0()
        self.end = i0()  # last known tick of the game in play (engine only)
        self.rugged = np.zeros(n, bool)
        self.censored = np.zeros(n, bool)  # nothing known after `end` (engine only)
        self.live = np.zeros(n, bool)  # a game is in play
        self.bet_stake, self.pend_bet_stake, self.pos_qty, self.pos_cost = f0(), f0(), f0(), f0()
        self.pend_buy_stake = f0()
        self.pos_entry = np.full(n, np.nan)
        self.bet_start, self.pend_bet_tick = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        self.pend_buy_tick = np.full(n, -1, np.int64)
        self.pend_sell_tick = np.full(n, -1, np.int64)
        self.done = np.zeros(n, bool)
        self.wake = i0()
        self.risked = np.zeros(n, bool)

    def start_games(self, idx: np.ndarray, end: np.ndarray, rugged: np.ndarray,
                    censored: np.ndarray) -> None:
        """Paths `idx` start a game (tick 0) whose last known tick is `end`."""
        self.end[idx], self.rugged[idx], self.censored[idx] = end, rugged, censored
        self.tick[idx], self.live[idx] = 0, True
        for name in ("bet_stake", "pend_bet_stake", "pos_qty", "pos_cost", "pend_buy_stake",
                     "wake"):
            getattr(self, name)[idx] = 0
        for name in ("bet_start", "pend_bet_tick", "pend_buy_tick", "pend_sell_tick"):
            getattr(self, name)[idx] = -1
        self.pos_entry[idx] = np.nan
        self.done[idx] = self.risked[idx] = False
        self.game_start[idx] = self.cash[idx]

    def settle(self, idx: np.ndarray, stake: np.ndarray, back: np.ndarray) -> None:
        """Book finished bets or trades: `stake` paid, `back` returned."""
        pnl = back - stake
        won = pnl > 0
        self.cash[idx] += back
        self.bets[idx] += 1
        self.wins[idx] += won
        self.staked[idx] += stake
        self.pnl[idx] += pnl
        self.gross_win[idx] += np.maximum(pnl, 0.0)
        self.gross_loss[idx] += np.maximum(-pnl, 0.0)
        self.consec_wins[idx] = np.where(won, self.consec_wins[idx] + 1, 0)
        self.consec_losses[idx] = np.where(won, 0, self.consec_losses[idx] + 1)
        self.last_stake[idx] = stake
        self.last_won[idx] = won

    def void(self, idx: np.ndarray, stake: np.ndarray) -> None:
        """Book bets or trades without an outcome (a censored game): `stake` returned; not a
        bet, a win or a loss."""
        self.cash[idx] += stake
        self.voided[idx] += 1

    def close_games(self, idx: np.ndarray, bankroll: float) -> np.ndarray:
        """End-of-game books of paths `idx` (everything open already settled): the game's
        return, drawdown, time under water, rug tick (`recent`) and checkpoints. The paths'
        games played, this one counted."""
        cash = self.cash[idx]
        cash[cash < DUST * bankroll] = 0.0  # float dust of sums: 1e-16 SOL
        self.cash[idx] = cash
        start = self.game_start[idx]
        r = np.where(start > 0, (cash - start) / np.where(start > 0, start, 1.0), 0.0)
        self.sum_r[idx] += r
        self.sum_r2[idx] += r * r
        self.sum_down2[idx] += np.minimum(r, 0.0) ** 2
        self.exposed[idx] += self.risked[idx]
        peak = np.maximum(self.peak[idx], cash)
        fall = peak - cash
        dd = np.where(peak > 0, fall / np.where(peak > 0, peak, 1.0), 0.0)
        self.peak[idx] = peak
        self.max_dd[idx] = np.maximum(self.max_dd[idx], dd)
        self.max_dd_sol[idx] = np.maximum(self.max_dd_sol[idx], fall)
        under = np.where(cash < peak * (1.0 - STAKE_TOLERANCE), self.under[idx] + 1, 0)
        self.under[idx] = under
        self.max_under[idx] = np.maximum(self.max_under[idx], under)
        self.recent[idx, 1:] = self.recent[idx, :-1]
        self.recent[idx, 0] = np.where(self.rugged[idx], self.end[idx] + 1,
                                       np.where(self.censored[idx], CENSORED, CAPPED))
        played = self.games_played[idx] + 1
        self.games_played[idx] = played
        cps = self.cps
        k = np.searchsorted(cps, played)
        at = (k < cps.size) & (cps[np.minimum(k, cps.size - 1)] == played)
        self.cp_bank[idx[at], k[at]], self.cp_dd[idx[at], k[at]] = cash[at], dd[at]
        self.live[idx] = False
        return played

    def summaries(self, bankroll: float) -> PathSummaries:
        """The per-path results. A path that stopped early keeps its last bankroll and
        drawdown at the checkpoints it did not reach."""
        fill = np.isnan(self.cp_bank)
        dd = np.where(self.peak > 0, (self.peak - self.cash) / np.where(self.peak > 0,
                                                                          self.peak, 1.0), 0.0)
        self.cp_bank[fill] = np.broadcast_to(self.cash[:, None], fill.shape)[fill]
        self.cp_dd[fill] = np.broadcast_to(dd[:, None], fill.shape)[fill]
        return PathSummaries(
            bankroll_sol=bankroll, checkpoint_games=self.cps, final_sol=self.cash,
            ruin_game=self.ruin_game, games_played=self.games_played,
            exposed_games=self.exposed, bets=self.bets, wins=self.wins, voided=self.voided,
            staked_sol=self.staked, pnl_sol=self.pnl, gross_win_sol=self.gross_win,
            gross_loss_sol=self.gross_loss, sum_r=self.sum_r, sum_r2=self.sum_r2,
            sum_down2=self.sum_down2, max_drawdown=self.max_dd, max_drawdown_sol=self.max_dd_sol,
            max_underwater_games=self.max_under, cp_bankroll=self.cp_bank, cp_drawdown=self.cp_dd)
