"""Simulated players for the simulated feed: trades, side bets and the leaderboard.

A `Crowd` holds a fixed set of players and, fed one tick at a time by `rugslab.sim.feed`,
returns the records the real server produces for them (field names and order copied from
`../shared/captures/2025-12-12_two-rugs.jsonl`, Dec 2025 era):

- trades (`standard/newTrade` payloads): `buy` (with `leverage`), `sell`, `short_open`,
  `short_close` (`qty` 0); presale buys sit at tick 0, price 1;
- side bets: `placed` records (`startedAtTick` s, `end` s + 40; presale bets have s = 0) and
  `payout` records: a win when the rug tick ≤ end (payout 5× the stake, `tickIndex` = rug tick,
  `price` = crash price, `level` present), a loss at tick end + 1 (`payout` 0,
  `profit` −stake, `tickIndex` = startTick), as in the captures;
- leaderboard entries (the active-phase form, and the shorter presale form).

Liquidations at the rug become `sell` trades at the crash price (counted in `tradeCount`, not
broadcast, as in the captures). Randomness comes only from the `random.Random` passed in, so a
seed fixes everything. Source: PROTOCOL.md ("Side bets", "Trades").
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from rugslab.feed.rules import SIDEBET_PAYOUT_X, SIDEBET_WINDOW_TICKS

SOL = "So11111111111111111111111111111111111111112"
PRACTICE = "0xPractice"
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_NAMES = ("Zer0", "Manno", "Chev", "Boss", "getSmoked", "Biggz", "emilio", "XLR", "SILVER",
          "Greg", "HotAir", "Mikey", "Zyzco", "shank", "Jxm", "Fanny", "Syken", "BANDZ")
#: per player and tick: chance to trade, chance to place a side bet (when none is active)
TRADE_CHANCE = 0.03
SIDEBET_CHANCE = 0.004
PRESALE_BUY_CHANCE = 0.3
PRESALE_SIDEBET_CHANCE = 0.1
#: what a buy spends, a short stakes, a side bet stakes (SOL; one drawn uniformly)
BUY_AMOUNTS_SOL = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1)
SHORT_AMOUNTS_SOL = (0.01, 0.05, 0.2)
SIDEBET_STAKES_SOL = (0.001, 0.003, 0.005, 0.01, 0.013)


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from `rng` (deterministic for a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(slots=True)
class Player:
    """One simulated player and their state in the current game (amounts in SOL)."""

    player_id: str
    username: str
    level: int
    coin: str
    qty: float = 0.0
    avg_cost: float = 0.0
    invested: float = 0.0
    realized: float = 0.0
    sidebet_pnl: float = 0.0
    short_amount: float = 0.0
    short_price: float = 0.0
    sidebet: dict[str, Any] | None = None
    active: bool = False

    def reset(self) -> None:
        """Forget the last game's position (a new game starts flat)."""
        self.qty = self.avg_cost = self.invested = self.realized = self.sidebet_pnl = 0.0
        self.short_amount = self.short_price = 0.0
        self.sidebet = None
        self.active = False


class Crowd:
    """The simulated players of a feed; all randomness from `rng`."""

    def __init__(self, rng: random.Random, n_players: int) -> None:
        self.rng = rng
        self.players = [self._new_player(i) for i in range(n_players)]
        self.game_id = ""
        self.trade_count = 0
        self.sidebets: list[dict[str, Any]] = []
        self.last_trade: dict[str, Any] | None = None

    def _new_player(self, i: int) -> Player:
        r = self.rng
        pid = "did:privy:cm" + "".join(r.choice(_ALNUM) for _ in range(23))
        name = f"{_NAMES[i % len(_NAMES)]}{r.randint(1, 99)}"
        coin = PRACTICE if r.random() < 0.2 else SOL
        return Player(pid, name, r.randint(1, 80), coin)

    def new_game(self, game_id: str) -> None:
        """Start a game: every player flat, no trades, no side bets."""
        self.game_id = game_id
        self.trade_count = 0
        self.sidebets = []
        self.last_trade = None
        for p in self.players:
            p.reset()

    # --- trades -------------------------------------------------------------------------
    def _trade(self, p: Player, kind: str, tick: int, price: float, qty: float,
               amount: float) -> dict[str, Any]:
        self.trade_count += 1
        p.active = True
        tid = new_uuid(self.rng)
        base = {"id": tid, "gameId": self.game_id, "playerId": p.player_id}
        if kind == "buy":
            real = 0 if p.coin == PRACTICE else amount
            rec = {**base, "price": price, "type": "buy", "qty": qty, "tickIndex": tick,
                   "coin": "solana", "amount": amount, "leverage": 1,
                   "bonusPortion": round(amount - real, 9), "realPortion": real}
        elif kind == "sell":
            real = 0 if p.coin == PRACTICE else amount
            rec = {**base, "type": "sell", "price": price, "tickIndex": tick, "coin": "solana",
                   "amount": amount, "qty": qty, "bonusPortion": round(amount - real, 9),
                   "realPortion": real}
        else:
            rec = {**base, "price": price, "type": kind, "qty": 0, "tickIndex": tick,
                   "coin": "solana", "amount": amount}
        rec["username"] = p.username
        rec["level"] = p.level
        self.last_trade = rec
        return rec

    def _buy(self, p: Player, tick: int, price: float) -> dict[str, Any]:
        amount = round(self.rng.choice(BUY_AMOUNTS_SOL), 9)
        qty = round(amount / price, 9)
        p.avg_cost = (p.avg_cost * p.qty + amount) / (p.qty + qty)
        p.qty += qty
        p.invested += amount
        return self._trade(p, "buy", tick, price, qty, amount)

    def _sell(self, p: Player, tick: int, price: float) -> dict[str, Any]:
        qty = p.qty
        amount = round(qty * price, 9)
        p.realized += amount - qty * p.avg_cost
        p.qty = p.avg_cost = 0.0
        return self._trade(p, "sell", tick, price, qty, amount)

    def _short(self, p: Player, tick: int, price: float) -> dict[str, Any]:
        if p.short_amount:
            amount = round(p.short_amount * (2.0 - price / p.short_price), 9)
            p.realized += amount - p.short_amount
            p.short_amount = p.short_price = 0.0
            return self._trade(p, "short_close", tick, price, 0, max(amount, 0.0))
        p.short_amount = round(self.rng.choice(SHORT_AMOUNTS_SOL), 9)
        p.short_price = price
        p.invested += p.short_amount
        return self._trade(p, "short_open", tick, price, 0, p.short_amount)

    # --- side bets ------------------------------------------------------------------------
    def _place_sidebet(self, p: Player, tick: int, ts_ms: int) -> dict[str, Any]:
        stake = self.rng.choice(SIDEBET_STAKES_SOL)
        bonus = stake if p.coin == PRACTICE else 0
        real = 0 if p.coin == PRACTICE else stake
        end = tick + SIDEBET_WINDOW_TICKS
        p.sidebet = {"startedAtTick": tick, "gameId": self.game_id, "end": end,
                     "betAmount": stake, "xPayout": int(SIDEBET_PAYOUT_X),
                     "coinAddress": p.coin, "bonusPortion": bonus, "realPortion": real}
        p.invested += stake
        p.active = True
        rec = {"playerId": p.player_id, "username": p.username, "gameId": self.game_id,
               "betAmount": stake, "xPayout": int(SIDEBET_PAYOUT_X), "coinAddress": p.coin,
               "bonusPortion": bonus, "realPortion": real, "timestamp": ts_ms,
               "type": "placed", "startedAtTick": tick, "end": end, "id": new_uuid(self.rng)}
        self.sidebets.append(rec)
        return rec

    def _settle(self, p: Player, ts_ms: int, *, rug_tick: int | None,
                crash_price: float | None) -> dict[str, Any]:
        bet = p.sidebet
        assert bet is not None
        stake = bet["betAmount"]
        won = rug_tick is not None
        payout = stake * SIDEBET_PAYOUT_X if won else 0
        rec: dict[str, Any] = {"playerId": p.player_id, "gameId": self.game_id,
                               "username": p.username}
        if won:
            rec["level"] = p.level
        rec.update({"betAmount": stake, "payout": payout, "profit": payout - stake,
                    "xPayout": bet["xPayout"], "coinAddress": bet["coinAddress"],
                    "endTick": bet["end"], "startTick": bet["startedAtTick"],
                    "tickIndex": rug_tick if won else bet["startedAtTick"]})
        if won:
            rec["price"] = crash_price
        rec.update({"timestamp": ts_ms, "type": "payout", "id": new_uuid(self.rng)})
        p.sidebet_pnl += payout - stake
        p.sidebet = None
        self.sidebets.append(rec)
        return rec

    # --- phases -----------------------------------------------------------------------------
    def presale(self, ts_ms: int) -> list[dict[str, Any]]:
        """Presale activity: buys at price 1 (tick 0) and side bets from tick 0; returns trades."""
        trades = []
        for p in self.players:
            if self.rng.random() < PRESALE_BUY_CHANCE:
                trades.append(self._buy(p, 0, 1))
            if self.rng.random() < PRESALE_SIDEBET_CHANCE:
                self._place_sidebet(p, 0, ts_ms)
        return trades

    def on_tick(self, tick: int, price: float, ts_ms: int) -> list[dict[str, Any]]:
        """Activity at a non-rug tick `tick` (≥ 1): settle lost bets, trade, bet; returns trades."""
        trades = []
        for p in self.players:
            if p.sidebet is not None and tick > p.sidebet["end"]:
                self._settle(p, ts_ms, rug_tick=None, crash_price=None)
            r = self.rng.random()
            if r < TRADE_CHANCE:
                if self.rng.random() < 0.1:
                    trades.append(self._short(p, tick, price))
                elif p.qty > 0 and self.rng.random() < 0.5:
                    trades.append(self._sell(p, tick, price))
                else:
                    trades.append(self._buy(p, tick, price))
            if p.sidebet is None and self.rng.random() < SIDEBET_CHANCE:
                self._place_sidebet(p, tick, ts_ms)
        return trades

    def on_rug(self, rug_tick: int, crash_price: float, ts_ms: int) -> None:
        """The rug at `rug_tick`: liquidate positions, pay out every bet still running.

        Win iff rug tick ≤ end (a bet whose end + 1 is the rug tick loses here).
        """
        for p in self.players:
            if p.qty > 0:
                self._sell(p, rug_tick, crash_price)
            if p.short_amount:
                self._short(p, rug_tick, crash_price)
            if p.sidebet is not None:
                won = rug_tick <= p.sidebet["end"]
                self._settle(p, ts_ms, rug_tick=rug_tick if won else None,
                             crash_price=crash_price)

    def leaderboard(self, price: float, *, presale: bool = False) -> list[dict[str, Any]]:
        """Top 10 active players by PnL at `price` (presale: the shorter entry form)."""
        rows = []
        for p in self.players:
            if not p.active:
                continue
            regular = p.realized + p.qty * (price - p.avg_cost)
            pnl = regular + p.sidebet_pnl
            pct = 100.0 * pnl / p.invested if p.invested else 0
            rows.append((pnl, regular, pct, p))
        rows.sort(key=lambda r: -r[0])
        out = []
        for pos, (pnl, regular, pct, p) in enumerate(rows[:10], start=1):
            e: dict[str, Any] = {"id": p.player_id, "username": p.username, "level": p.level}
            if presale:
                e.update({"pnl": 0, "pnlPercent": 0})
            else:
                e.update({"pnl": round(pnl, 9), "regularPnl": round(regular, 9),
                          "sidebetPnl": round(p.sidebet_pnl, 9), "shortPnl": 0})
            e.update({"sidebetActive": True if p.sidebet else None,
                      "sideBet": dict(p.sidebet) if p.sidebet else None,
                      "shortPosition": None})
            if not presale:
                e["pnlPercent"] = pct
            e.update({"hasActiveTrades": True, "positionQty": round(p.qty, 9),
                      "avgCost": round(p.avg_cost, 9), "totalInvested": round(p.invested, 9),
                      "selectedCoin": None, "position": pos})
            out.append(e)
        return out
