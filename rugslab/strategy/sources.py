"""Where an ensemble's games come from: the provably-fair generator, or the lake's real games.

`MonteCarloSource`: the same process as `rugslab.sim.montecarlo` (its `draw_game_lengths` and
`step_prices`, so no constant is restated). A game's length is drawn when a path starts it
(for all paths starting one at that step at once); prices are drawn tick by tick only for the
paths and ticks a strategy (or a fill) asks for, so a side-bet strategy that never reads a
price costs no price draws. Every path-tick still gets its own fresh uniforms, so the prices
a strategy sees have exactly the generator's distribution; which draw lands on which path
depends on what was asked, so a chunk is reproducible for a given strategy, seed and chunk,
not across strategies.

`LakeSource`: real games, in start-time order, resampled as blocks of consecutive games
(moving-block bootstrap, Künsch 1989): each path is a run of blocks whose first games are
drawn uniformly among the n − b + 1 possible starts. Blocks keep whatever dependence there
is between neighbouring games (a block length of 1 is the plain bootstrap). Default block
length: round(n^(1/3)) games (the order that is optimal for variance estimates; Hall,
Horowitz & Jing 1995).

Which real games: every game with a known rug tick, every game seen to run to the cap, and
every right-censored game (rug tick unknown: the recording stopped, or a history entry without
prices) that has a last live tick (`last_live_tick`). A censored game ends at that tick,
marked censored: the engine settles what the data decide (a side bet whose window closed by
then lost) and voids the rest (`rugslab.strategy.engine`). Leaving censored games out would
be a complete-case filter: they are the longer games, so dropping them drops known losses
and biases a backtest toward wins. Only games with neither a rug tick nor a live tick are
left out, and counted. Ticks the lake did not record are NaN prices (a strategy sees NaN;
fills wait for the next recorded tick); games joined late (first recorded tick > 0) are kept
and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.errors import ConfigError
from rugslab.feed.rules import GAME_VERSIONS, MAX_TICKS, NOMINAL_TICK_MS, START_PRICE
from rugslab.sim.montecarlo import draw_game_lengths, step_prices
from rugslab.strategy.protocol import GameStream


class Source(Protocol):
    """Games for the engine: `stream(n, games, seed)` is a `GameStream` of `games` games for
    each of `n` paths, from a `SeedSequence` (the same seed gives the same games)."""

    @property
    def name(self) -> str:
        """Short name ("sim", "lake")."""
        ...

    def stream(self, n: int, games: int, seed: np.random.SeedSequence) -> GameStream:
        """The games of `n` paths."""
        ...

    def describe(self) -> dict[str, object]:
        """What the source is (for reports): name and parameters, counts of games used."""
        ...


class _MonteCarloStream:
    """Generated games, one at a time per path; prices drawn on demand (module docstring).
    Each path's prices of its current game are kept (`_drawn`, n × the longest game so far)
    for `past_price`."""

    has_clock = False

    def __init__(self, rng: np.random.Generator, n: int, version: str) -> None:
        self._rng, self._version = rng, version
        self._at = np.zeros(n, np.int64)  # the last tick drawn of each path's game
        self._drawn = np.full((n, 64), np.nan)

    def deal(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._at[idx] = 0
        self._drawn[idx, 0] = START_PRICE
        end, rugged = draw_game_lengths(self._rng, idx.shape[0])
        return end, rugged, np.zeros(idx.shape[0], bool)

    def prices(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        need = int(ticks.max()) if ticks.size else 0
        if need >= self._drawn.shape[1]:
            grow = np.full((self._drawn.shape[0], max(need + 1, 2 * self._drawn.shape[1])),
                           np.nan)
            grow[:, : self._drawn.shape[1]] = self._drawn
            self._drawn = grow
        lag = self._at[idx] < ticks
        while lag.any():  # one tick at a time for the paths behind their tick
            sub = idx[lag]
            at = self._at[sub]
            self._drawn[sub, at + 1] = step_prices(self._rng, self._drawn[sub, at],
                                                   self._version)
            self._at[sub] = at + 1
            lag = self._at[idx] < ticks
        return self._drawn[idx, ticks]

    def recv_ts(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        return np.full(idx.shape[0], np.nan)


@dataclass(frozen=True, slots=True)
class MonteCarloSource:
    """Games from the provably-fair generator (`rugslab.sim.montecarlo`), version v1-v3."""

    version: str = "v3"
    name: str = "sim"

    def __post_init__(self) -> None:
        if self.version not in GAME_VERSIONS:
            raise ConfigError(f"Invalid version {self.version!r}: expected one of "
                              f"{', '.join(GAME_VERSIONS)}.")

    def stream(self, n: int, games: int, seed: np.random.SeedSequence) -> GameStream:
        """Generated games for `n` paths (module docstring)."""
        return _MonteCarloStream(np.random.default_rng(seed), n, self.version)

    def describe(self) -> dict[str, object]:
        """`source` "sim" and the generator version."""
        return {"source": self.name, "version": self.version}


@dataclass(frozen=True, slots=True)
class LakeGames:
    """Real games ready for resampling: one entry per kept game in start-time order, and
    their prices and receive times (epoch seconds) flat, game after game from `offset`.
    `end_tick`: the rug tick − 1, the cap, or for a `censored` game its last live tick.

    `counts`: `games` (rows given), `used` (kept), `censored_kept` (kept, ending at the last
    live tick: rug tick unknown), `left_out` (neither a rug tick nor a live tick),
    `joined_late` (kept; first recorded tick > 0, or none recorded), `ticks_missing` (kept
    games' ticks without a recorded price)."""

    game_id: np.ndarray
    end_tick: np.ndarray
    rugged: np.ndarray
    censored: np.ndarray
    offset: np.ndarray
    price: np.ndarray
    recv_ts: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Games kept."""
        return int(self.end_tick.shape[0])


#: The columns `lake_games` reads of the `games` and `ticks` tables.
LAKE_GAME_COLUMNS = ("game_id", "start_ts", "rug_tick", "rugged", "last_live_tick")
LAKE_TICK_COLUMNS = ("game_id", "tick", "price_x", "recv_ts", "is_rug")


def lake_games(games: pl.DataFrame, ticks: pl.DataFrame | Iterable[pl.DataFrame]
               ) -> LakeGames:
    """The lake's games with a known rug tick, cap or last live tick (censored), with their
    price paths (module docstring).

    Args:
        games: the `games` table (`game_id`, `rug_tick`, `rugged`, `last_live_tick`,
            `start_ts`; `start_ts` orders them, nulls last, then `game_id`).
        ticks: the `ticks` table of those games (`game_id`, `tick`, `price_x`, `recv_ts`,
            `is_rug`), as one frame or as batches of its rows in any order (e.g. a DuckDB
            stream, `notebook.Lab.lake_source`): the flat arrays (16 bytes a tick) are filled
            batch by batch, so a year of ticks is never one frame. Rows of other games are
            ignored.

    Raises:
        SchemaViolation: a column is missing.
    """
    require_columns(games, [c for c in LAKE_GAME_COLUMNS if c != "start_ts"], table="games")
    batches = [ticks] if isinstance(ticks, pl.DataFrame) else ticks
    order = ["start_ts", "game_id"] if "start_ts" in games.columns else ["game_id"]
    g = games.unique("game_id", keep="first").sort(order, nulls_last=True).with_columns(
        pl.col("rug_tick").cast(pl.Int64),
        (pl.col("rug_tick").is_null() & ~pl.col("rugged").fill_null(False)
          & (pl.col("last_live_tick") == MAX_TICKS)).alias("capped"),
    ).with_columns((pl.col("rug_tick").is_null() & ~pl.col("capped")
                    & pl.col("last_live_tick").is_not_null()).alias("censored"))
    kept = g.filter((pl.col("rug_tick") >= 1) | pl.col("capped") | pl.col("censored")
                    ).with_columns(
        pl.when(pl.col("capped")).then(MAX_TICKS)
        .when(pl.col("censored")).then(pl.col("last_live_tick").cast(pl.Int64))
        .otherwise(pl.col("rug_tick") - 1).alias("end_tick")).with_row_index("k")
    end = kept["end_tick"].to_numpy().astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(end + 1)[:-1]]).astype(np.int64)
    total = int((end + 1).sum())
    price, recv = np.full(total, np.nan), np.full(total, np.nan)
    first = np.full(kept.height, np.iinfo(np.int64).max)  # first recorded tick of each game
    index = kept.select("game_id", "k", "end_tick")
    for batch in batches:
        require_columns(batch, LAKE_TICK_COLUMNS, table="ticks")
        t = (batch.filter(~pl.col("is_rug"))
             .join(index, on="game_id", how="inner")
             .filter(pl.col("tick") <= pl.col("end_tick"))
             .select("k", pl.col("tick").cast(pl.Int64), "price_x",
                     (pl.col("recv_ts").dt.epoch("us").cast(pl.Float64) / 1e6).alias("ts")))
        k, tick = t["k"].to_numpy(), t["tick"].to_numpy()
        pos = offset[k] + tick
        price[pos] = t["price_x"].to_numpy()
        recv[pos] = t["ts"].to_numpy()
        np.minimum.at(first, k, tick)
    censored = kept["censored"].to_numpy()
    counts = {"games": games["game_id"].n_unique(), "used": kept.height,
              "censored_kept": int(censored.sum()), "left_out": g.height - kept.height,
              # first tick > 0, or no tick recorded at all (first still at its sentinel)
              "joined_late": int((first > 0).sum()),
              "ticks_missing": int(np.isnan(price).sum())}
    rugged = ~kept["capped"].to_numpy() & ~censored
    return LakeGames(kept["game_id"].to_numpy(), end, rugged, censored, offset, price, recv,
                     counts)


class _RecordedStream:
    """Games of a `LakeGames`; each path plays the games `order(path, k)` gives, k = 0, 1…"""

    has_clock = True

    def __init__(self, data: LakeGames, order: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 n: int) -> None:
        self._data, self._order = data, order
        self._dealt = np.zeros(n, np.int64)
        self._game = np.zeros(n, np.int64)

    def deal(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = self._order(idx, self._dealt[idx])
        self._dealt[idx] += 1
        self._game[idx] = g
        return self._data.end_tick[g], self._data.rugged[g], self._data.censored[g]

    def prices(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        return self._data.price[self._data.offset[self._game[idx]] + ticks]

    def recv_ts(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        return self._data.recv_ts[self._data.offset[self._game[idx]] + ticks]


def select_games(data: LakeGames, game_ids: Sequence[str]) -> LakeGames:
    """The games `game_ids` of `data`, in that order, with their prices and receive times
    (e.g. the games a paper run played, to replay exactly those: `rugslab.paper.compare`).

    Raises:
        ConfigError: a game is not in `data` (`lake_games` leaves out games with neither a
            rug tick nor a live tick).
    """
    pos = {g: i for i, g in enumerate(data.game_id.tolist())}
    missing = [g for g in game_ids if g not in pos]
    if missing:
        raise ConfigError(f"Games {missing[:3]} ({len(missing)} in all) are not among the "
                          f"{data.n} lake games that can settle a bet: ingest them first "
                          "(a game with neither a rug tick nor a live tick is left out).")
    k = np.array([pos[g] for g in game_ids], np.int64)
    end = data.end_tick[k]
    offset = np.concatenate([[0], np.cumsum(end + 1)[:-1]]).astype(np.int64)
    take = (np.concatenate([data.offset[i] + np.arange(data.end_tick[i] + 1) for i in k])
            if k.size else np.zeros(0, np.int64))
    return LakeGames(data.game_id[k], end, data.rugged[k], data.censored[k], offset,
                     data.price[take], data.recv_ts[take],
                     {"games": k.size, "used": k.size,
                      "censored_kept": int(data.censored[k].sum())})


@dataclass(frozen=True, slots=True)
class InOrderSource:
    """The games of a `LakeGames` in their order, the same sequence for every path (repeated
    when a path plays more games than there are): recorded games replayed as they came."""

    data: LakeGames
    name: str = "in-order"

    def stream(self, n: int, games: int, seed: np.random.SeedSequence) -> GameStream:
        """The games in order for every one of `n` paths (`seed` is not used)."""
        k = self.data.n
        return _RecordedStream(self.data, lambda idx, dealt: dealt % k, n)

    def describe(self) -> dict[str, object]:
        """`source` "in-order" and the number of games."""
        return {"source": self.name, "games": self.data.n}


@dataclass(frozen=True, slots=True)
class ScriptedSource:
    """Hand-built games, the same sequence for every path (tests, worked examples).

    `games[g]` holds game g's prices for ticks 0..N (NaN: not recorded); the game rugs at
    tick N + 1, except a game of `MAX_TICKS` + 1 prices, which ran to the cap, and the games
    whose indices are in `censored`, which were alive at tick N and then stopped being
    recorded. Games repeat when a path plays more than `len(games)`. Receive times are
    tick × 0.25 s."""

    games: tuple[tuple[float, ...], ...]
    censored: tuple[int, ...] = ()
    name: str = "scripted"

    def __post_init__(self) -> None:
        if not self.games or any(len(g) == 0 or len(g) > MAX_TICKS + 1 for g in self.games):
            raise ConfigError(f"ScriptedSource needs games of 1..{MAX_TICKS + 1} prices.")
        if any(not 0 <= i < len(self.games) for i in self.censored):
            raise ConfigError(f"Invalid censored {self.censored!r}: expected indices of "
                              f"games 0..{len(self.games) - 1}.")

    def stream(self, n: int, games: int, seed: np.random.SeedSequence) -> GameStream:
        """The scripted games in order, for every one of `n` paths (`seed` is not used)."""
        prices = [np.asarray(g, float) for g in self.games]
        end = np.array([p.size - 1 for p in prices], np.int64)
        k = len(prices)
        offset = np.concatenate([[0], np.cumsum(end + 1)[:-1]]).astype(np.int64)
        flat = np.concatenate(prices)
        ts = np.concatenate([np.arange(p.size) * NOMINAL_TICK_MS / 1000.0 for p in prices])
        censored = np.isin(np.arange(k), self.censored)
        data = LakeGames(np.array([f"scripted-{i}" for i in range(k)]), end,
                         (end < MAX_TICKS) & ~censored, censored, offset, flat, ts)
        return InOrderSource(data).stream(n, games, seed)

    def describe(self) -> dict[str, object]:
        """`source` "scripted" and the number of games."""
        return {"source": self.name, "scripted_games": len(self.games)}


def scripted_game(rug_tick: int | None, *, prices: dict[int, float] | None = None
                  ) -> tuple[float, ...]:
    """Prices of a game rugging at `rug_tick` (None: ran to the cap), 1.0 at every tick but
    those given in `prices`."""
    n = MAX_TICKS + 1 if rug_tick is None else rug_tick
    out = [START_PRICE] * n
    for t, p in (prices or {}).items():
        out[t] = p
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LakeSource:
    """Real games resampled in blocks of `block_games` consecutive games (module docstring;
    None: round(n^(1/3)))."""

    data: LakeGames
    block_games: int | None = None
    name: str = "lake"

    def __post_init__(self) -> None:
        if self.data.n == 0:
            raise ConfigError(
                "No lake games can settle a bet (none has a known rug tick or a live tick): "
                f"ingest captures or recordings with whole games first ({self.data.counts}).")
        if self.block_games is not None and self.block_games < 1:
            raise ConfigError(f"Invalid block_games {self.block_games!r}: expected a whole "
                              "number of games ≥ 1.")

    @property
    def block(self) -> int:
        """The block length in use (games)."""
        b = self.block_games or max(1, round(self.data.n ** (1 / 3)))
        return min(b, self.data.n)

    def stream(self, n: int, games: int, seed: np.random.SeedSequence) -> GameStream:
        """Each path: ⌈games / b⌉ blocks of b consecutive real games, starts uniform."""
        rng = np.random.default_rng(seed)
        b = self.block
        starts = rng.integers(0, self.data.n - b + 1, size=(n, -(-games // b)))
        return _RecordedStream(self.data, lambda idx, k: starts[idx, k // b] + k % b, n)

    def describe(self) -> dict[str, object]:
        """`source` "lake", `block_games` and the counts of `LakeGames`."""
        return {"source": self.name, "block_games": self.block, **self.data.counts}
