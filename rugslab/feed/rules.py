"""The rules of the rugs.fun game: one home for every constant, bound and identifier format
that the feed, the tables, the generator and the analyses share.

Sources: `../shared/PROTOCOL.md` ("Game cycle", "Side bets", "Provably fair") and the public
rugs.fun verifier. The generator's own constants (start price, move sizes) are here too, so
`rugslab.fair.game` (the reference generator) and the analyses read the same numbers.

Seed hash: a game's commitment is sha256 of its server seed's UTF-8 bytes, as the published
JavaScript verifier computes it (`crypto.subtle.digest("SHA-256", new TextEncoder()
.encode(seed))`; Node's `createHash("sha256").update(seed)` encodes the same way). Real
seeds are 64 hex digits, so their UTF-8 and ASCII bytes are the same; a JavaScript string may
also hold lone UTF-16 surrogates, which both encoders turn into U+FFFD: `seed_hash` does too.
"""

from __future__ import annotations

import hashlib
from typing import Final

#: Game id: `YYYYMMDD-<16 lowercase hex>` (the date is the game's UTC date).
GAME_ID_PATTERN: Final = r"^\d{8}-[0-9a-f]{16}$"
#: The first 8 hex digits of a simulated game's id after the date (`rugslab sim lake`):
#: `YYYYMMDD-5111a7ed<4 hex run tag><4 hex slot>`. The id keeps the real format (every reader,
#: schema and partition rule applies unchanged) and says "simulated" to analyses
#: (`is_sim_game_id`, origin "sim" in `rugslab.lake.origins.game_origins`). A real id, 16 random hex
#: digits, starts with it with probability 16^-8 = 2.3e-10 (about 1e-4 over a year of games).
SIM_GAME_ID_MARKER: Final = "5111a7ed"
#: SQL/regex for a simulated game id (the marker right after the date).
SIM_GAME_ID_PATTERN: Final = rf"^\d{{8}}-{SIM_GAME_ID_MARKER}[0-9a-f]{{8}}$"


def is_sim_game_id(game_id: str) -> bool:
    """Whether `game_id` carries the simulated-game marker (`SIM_GAME_ID_MARKER`)."""
    return game_id[9:17] == SIM_GAME_ID_MARKER and len(game_id) == 25
#: Generator versions (`gameHistory[].provablyFair.version`, PROTOCOL "Provably fair").
GAME_VERSIONS: Final = ("v1", "v2", "v3")
#: `standard/newTrade` types.
TRADE_TYPES: Final = ("buy", "sell", "short_open", "short_close")

#: Generator: the price at tick 0 and its moves (PROTOCOL "Provably fair"; `fair.game`).
START_PRICE: Final = 1.0
GOD_CANDLE_CHANCE: Final = 0.00001
GOD_CANDLE_MOVE: Final = 10.0
GOD_CANDLE_MAX_PRICE: Final = 100.0 * START_PRICE
BIG_MOVE_CHANCE: Final = 0.125
BIG_MOVE_MIN: Final = 0.15
BIG_MOVE_MAX: Final = 0.25
DRIFT_MIN: Final = -0.02
DRIFT_MAX: Final = 0.03
#: Volatility of a drift tick: VOLATILITY_SCALE·√price (v1), VOLATILITY_SCALE·min(
#: VOLATILITY_ROOT_CAP, √price) (v2, v3).
VOLATILITY_SCALE: Final = 0.005
VOLATILITY_ROOT_CAP: Final = 10.0

#: Side-bet rule (PROTOCOL.md): window 40 ticks, pays 5x the stake, wins iff rug tick <= end.
SIDEBET_WINDOW_TICKS = 40
SIDEBET_PAYOUT_X = 5.0
#: Published generator: rug probability per tick and the tick cap.
RUG_PROB_PER_TICK = 0.005
MAX_TICKS = 5000
#: Highest tick a lake row may hold: the generator stops at MAX_TICKS, and the rug tick (the
#: crash price) may be one more. Used by the schemas, the assembler and the legacy importer.
TICK_MAX = MAX_TICKS + 1
NOMINAL_TICK_MS = 250.0

# Bounds of what the game allows: a value beyond one is rejected with its reason (payload
# parsing in `rugslab.feed.payloads` for prices, which feed `games.peak_x`; the pandera models of
# `rugslab.tables.schemas` for every lake column), its frame kept in `raw_events`.

#: Highest price multiplier a tick, trade or game peak may hold. The generator (PROTOCOL
#: "Provably fair", `fair.game`) has no hard cap (×1.25 a tick at most, god candles ×10 below
#: 100x), so the bound is where games stop happening: a Monte Carlo of 4M games
#: (`sim.montecarlo`, v3 and v1, seeds 7 and 11) gives P(peak > 1e3) = 5.6e-4, > 1e4 = 4e-5,
#: > 1e5 = 3e-6, > 1e6 = 5e-7 (max 2.4e6), ~12x rarer per decade: P(peak > 1e9) ≈ 3e-10, once
#: in ~6,000 years at 1,500 games a day. The highest peak in ../shared is 1,122x. (A bound of
#: 1e4 would reject a real game about once a month.)
PRICE_MAX_X = 1e9
#: Largest amount (SOL, or practice tokens) of one trade or side-bet stake, and of its bonus
#: and real portions. PROTOCOL names no limit; the largest in ../shared is a 1,010.58 practice
#: bet (trades: 5.43 SOL). 1e6 SOL, ~0.2% of all SOL, is beyond any bankroll paying 5x on it.
AMOUNT_MAX_SOL = 1e6
#: Largest trade quantity (tokens; |qty|): AMOUNT_MAX_SOL bought at a price of 1e-6x (live
#: prices stay above ~1e-3x until the rug). The largest in ../shared is 6.04.
QTY_MAX = AMOUNT_MAX_SOL / 1e-6
#: Highest side-bet payout multiple: PROTOCOL says 5x (`SIDEBET_PAYOUT_X`, every bet in
#: ../shared); 20x margin for a changed rule.
PAYOUT_X_MAX = 20 * SIDEBET_PAYOUT_X
#: Largest side-bet payout (SOL): the largest stake at the highest payout multiple.
PAYOUT_MAX_SOL = AMOUNT_MAX_SOL * PAYOUT_X_MAX
#: Highest tick a side bet can end at: a bet placed at the last tick runs its window on.
SIDEBET_END_TICK_MAX = TICK_MAX + SIDEBET_WINDOW_TICKS
#: Most ticks one game can have (ticks 0..TICK_MAX): bounds tick counts and gap lengths.
TICKS_PER_GAME_MAX = TICK_MAX + 1


def seed_hash(server_seed: str) -> str:
    """sha256 hex digest of the seed's UTF-8 bytes as JavaScript encodes the string (module
    docstring): the commitment the feed publishes as `serverSeedHash`. A Python string may
    hold a surrogate pair as two code points: read as UTF-16, as JavaScript holds it, a pair
    is one character and a lone surrogate is U+FFFD."""
    if server_seed.isascii():
        return hashlib.sha256(server_seed.encode("ascii")).hexdigest()
    units = server_seed.encode("utf-16-le", "surrogatepass")
    return hashlib.sha256(units.decode("utf-16-le", "replace").encode("utf-8")).hexdigest()


def hash_matches(seed: str | None, committed: str | None) -> bool | None:
    """`seed_hash(seed) == committed`; None until both are known."""
    if seed is None or committed is None:
        return None
    return seed_hash(seed) == committed
