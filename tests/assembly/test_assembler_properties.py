"""GameAssembler invariants: frame order and duplicates do not change the rows; damaged frames
become rejects (never an exception) and every row written still fits its table; Aug 2025
arrays and the public newSideBet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from _capture_frames import DEC06, DEC12, FEB06, load_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rugslab.assembly.assembler import GameAssembler
from rugslab.feed.frames import STATE_FIELDS, Frame, HistoryText
from rugslab.readers.archive import state_fields
from rugslab.tables.batch import RowBatch
from rugslab.tables.schemas import TABLES

SHARED = Path(__file__).resolve().parents[3] / "shared" / "captures"
_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _run(frames: list[Frame]) -> RowBatch:
    asm = GameAssembler()
    for f in frames:
        asm.feed(f)
    return asm.drain()


def _canonical(b: RowBatch) -> dict[str, list[bytes]]:
    return {
        t: sorted(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in rows)
        for t, rows in b.rows.items()
    }


@pytest.fixture(scope="module")
def dec12(captures_dir: Path) -> list[Frame]:
    return load_frames(captures_dir / DEC12)


@pytest.fixture(scope="module")
def dec12_rows(dec12: list[Frame]) -> dict[str, list[bytes]]:
    return _canonical(_run(dec12))


@_SETTINGS
@given(data=st.data())
def test_shuffled_and_duplicated_frames_give_the_same_rows(
    dec12: list[Frame], dec12_rows: dict, data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(dec12))))
    dups = data.draw(st.lists(st.integers(0, len(dec12) - 1), max_size=60))
    frames = [dec12[i] for i in order]
    for j, i in enumerate(dups):  # re-read copies (new objects, same content) anywhere
        f = dec12[i]
        copy = Frame(event=f.event, args=orjson.loads(f.args_json), source=f.source,
                     recv_ts_us=f.recv_ts_us, seq=f.seq)  # fmt: skip
        frames.insert((j * 7919) % (len(frames) + 1), copy)
    b = _run(frames)
    assert _canonical(b) == dec12_rows
    assert b.counters["duplicates"] == len(dups)


# ------------------------------------------------------------------ damaged frames
def _pick(frames: list[Frame], pred: Any) -> Frame:
    return next(f for f in frames if pred(f))


def _gsu(f: Frame) -> dict:
    p = f.payload
    return p if f.event == "gameStateUpdate" and isinstance(p, dict) else {}


def _bases() -> list[Frame]:
    if not SHARED.is_dir():
        return []
    d12 = load_frames(SHARED / DEC12)
    d06 = load_frames(SHARED / DEC06)
    f06 = load_frames(SHARED / FEB06)
    return [
        _pick(d12, lambda f: "gameHistory" in _gsu(f) and "prices" in _gsu(f)),
        _pick(d12, lambda f: _gsu(f).get("active") is True and "gameHistory" not in _gsu(f)),
        _pick(d06, lambda f: _gsu(f).get("rugged") is True),
        _pick(d12, lambda f: _gsu(f).get("allowPreRoundBuys") is True),
        _pick(d12, lambda f: f.event == "standard/newTrade"),
        _pick(d12, lambda f: f.event == "newChatMessage"),
        _pick(f06, lambda f: "gameHistory" in _gsu(f)),
        *AUG_FRAMES,
    ]


G = "20250810-65d95c0a0c8248c3"
AUG_HASH = "a87ec7bf14ac3a9696ef5b60f587782aa62371f028379af5ffa16a33efb3e068"
AUG_FRAMES = [  # shapes from ../shared/captures/2025-08-10_console-frames.txt
    Frame(event="gameStateUpdate", source="aug", recv_ts_us=1_754_802_410_000_000, args=[{
        "active": True, "price": 1.0211, "prices": [1, 1.0105, 1.0211], "tickCount": 2,
        "rugged": False, "cooldownTimer": 0, "allowPreRoundBuys": False, "gameId": G,
        "gameVersion": "v3", "trades": [{
            "id": "362", "gameId": G, "playerId": "did:privy:p1", "type": "buy", "qty": 0.3,
            "tickIndex": 0, "coin": "solana", "amount": 0.3}],
        "provablyFair": {"serverSeedHash": AUG_HASH, "version": "v3"}}]),
    Frame(event="newSideBet", source="aug", recv_ts_us=1_754_802_412_955_000, args=[{
        "playerId": "did:privy:p2", "gameId": G, "username": "Devo776", "betAmount": 0.04,
        "xPayout": 5, "coinAddress": "So11111111111111111111111111111111111111112",
        "startTick": 0, "endTick": 40, "tickIndex": 0, "timestamp": 1754802412955,
        "type": "placed"}]),
]  # fmt: skip
BASES = _bases()


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


PATHS = [_paths(f.args) for f in BASES]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=6),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=5,
)


def _mutate(args: Any, path: tuple, delete: bool, value: Any) -> Any:
    if not path:
        return value
    node = args
    for k in path[:-1]:
        node = node[k]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return args


@_SETTINGS
@given(data=st.data())
def test_damaged_frames_become_rejects_and_valid_rows_never_errors(data: st.DataObject) -> None:
    if not BASES:
        from conftest import require_shared

        require_shared()  # skips, or fails under CI=true, with the reason
    frames = []
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(BASES) - 1))
        args = orjson.loads(orjson.dumps(BASES[i].args))
        for _ in range(data.draw(st.integers(1, 3))):
            paths = _paths(args)
            path = paths[data.draw(st.integers(0, len(paths) - 1))]
            args = _mutate(args, path, data.draw(st.booleans()) and bool(path), data.draw(JSON))
        event = data.draw(st.sampled_from([BASES[i].event, "gameStateUpdate", "standard/newTrade"]))
        frames.append(Frame(event=event, args=args, source="fuzz", recv_ts_us=BASES[i].recv_ts_us))
    b = _run(frames)
    assert b.counters["errors.internal"] == 0
    raw = len(b.rows.get("raw_events", []))
    assert raw + b.counters["rejects.raw_events"] == b.counters["frames"] - b.counters["duplicates"]
    for table in b.rows:
        TABLES[table].model.validate(b.frame(table))


def _with(base: int, path: tuple, value: Any = None, delete: bool = False) -> Frame:
    f = BASES[base]
    args = _mutate(orjson.loads(orjson.dumps(f.args)), path, delete, value)
    return Frame(event=f.event, args=args, source="t", recv_ts_us=f.recv_ts_us)


CASES = [
    # (base index, path, new value or DELETE, table, reason fragment)
    (1, (0, "tickCount"), "12", "ticks", "gameStateUpdate.tickCount '12' (str)"),
    (1, (0, "price"), "1.2", "ticks", "gameStateUpdate.price '1.2' (str)"),
    (1, (0, "price"), -3, "ticks", "gameStateUpdate.price -3 (int)"),
    (1, (0, "gameId"), 123, "games", "gameStateUpdate.gameId 123 (int)"),
    (1, (0, "gameId"), "DELETE", "games", "gameStateUpdate.gameId missing"),
    (1, (0, "rugged"), "no", "ticks", "gameStateUpdate.rugged 'no' (str)"),
    (1, (0, "tickCount"), 9000, "ticks", "gameStateUpdate.tickCount 9000: above"),
    (1, (0, "partialPrices", "values"), {"a": 1}, "ticks", "partialPrices.values key 'a'"),
    (1, (0, "provablyFair", "serverSeedHash"), "zz", "seeds", "serverSeedHash 'zz' (str)"),
    (1, (0,), [1, 2], "frame", "gameStateUpdate payload [1, 2] (list)"),
    (4, (1, "type"), "hold", "trades", "standard/newTrade.type 'hold' (str)"),
    (4, (1, "tickIndex"), -1, "trades", "standard/newTrade.tickIndex -1 (int)"),
    (4, (1, "id"), "DELETE", "trades", "standard/newTrade.id missing"),
    (0, (0, "gameHistory", 0, "id"), "bad", "games", "gameHistory[].id 'bad' (str)"),
    (0, (0, "gameHistory", 0, "prices", 3), "x", "ticks", ".prices.3 'x' (str)"),
    (0, (0, "gameHistory", 0, "globalSidebets", 0, "betAmount"), "x", "side_bets",
     ".globalSidebets[0].betAmount 'x' (str)"),
    (0, (0, "gameHistory", 0, "gameVersion"), "v9", "games", ".gameVersion 'v9' (str)"),
    # found by the fuzz test above: amounts are bounded at parse time as the schemas bound them
    (0, (0, "gameHistory", 0, "globalSidebets", 0, "betAmount"), 1000001, "side_bets",
     ".globalSidebets[0].betAmount 1000001 (int): bet_amount_sol <= 1e6 failed"),
    (4, (1, "amount"), -2e6, "trades",
     "standard/newTrade.amount -2000000.0 (float): amount in SOL >= -1e6 failed"),
    (4, (1, "qty"), 1e13, "trades",
     "standard/newTrade.qty 10000000000000.0 (float): qty <= 1e12 failed"),
    (8, (0, "startTick"), None, "side_bets", "newSideBet.startTick None (NoneType)"),
    (8, (0, "startTick"), "DELETE", "side_bets", "newSideBet.startTick missing"),
    (7, (0, "trades", 0, "type"), None, "trades", "gameStateUpdate.trades[0].type None"),
]  # fmt: skip


@pytest.mark.parametrize(("base", "path", "value", "table", "fragment"), CASES)
def test_a_bad_field_is_one_reject_naming_field_and_value(
    shared_dir: Path, base: int, path: tuple, value: Any, table: str, fragment: str
) -> None:
    f = _with(base, path, None if value == "DELETE" else value, delete=value == "DELETE")
    b = _run([f])
    rejects = b.rows["rejects"]
    assert [(r["table"], fragment in r["reason"]) for r in rejects] == [(table, True)], rejects
    assert b.counters["rejects"] == 1
    assert len(b.rows["raw_events"]) == 1  # the frame itself is still kept raw
    for t in b.rows:
        TABLES[t].model.validate(b.frame(t))


def test_aug_2025_arrays_and_public_side_bet(shared_dir: Path) -> None:
    b = _run(AUG_FRAMES)
    ticks = sorted((r["tick"], r["price_x"], r["source"]) for r in b.rows["ticks"])
    assert ticks == [(0, 1.0, "history"), (1, 1.0105, "history"), (2, 1.0211, "live")]
    (trade,) = b.rows["trades"]
    assert (trade["trade_id"], trade["source"], trade["recv_ts"]) == ("362", "history", None)
    (bet,) = b.rows["side_bets"]
    assert (bet["start_tick"], bet["end_tick"], bet["placed_id"], bet["resolved"]) == (
        0,
        40,
        None,
        False,
    )
    assert bet["placed_ts"] == 1754802412955 * 1000
    assert b.rows["games"][0]["version"] == "v3"


# ------------------------------------------------------------------ lazy frames
def _lazy(f: Frame) -> Frame:
    """`f` as the archive reader hands a gameStateUpdate over: args undecoded, only the
    payload's STATE_FIELDS given, by the reader's own `state_fields` (a history that opens
    the payload stays text); other frames unchanged."""
    if f.event != "gameStateUpdate":
        return f
    fields = state_fields(f.args_json)
    if fields is None:
        p = f.payload
        if type(p) is not dict:
            return f
        fields = {k: v for k, v in p.items() if k in STATE_FIELDS}
    return Frame.lazy(f.event, f.args_json, fields, f.source, f.recv_ts_us, f.recv_mono_ns,
                      f.seq, f.session_id)


@pytest.mark.parametrize("name", [DEC06, DEC12, FEB06, "aug"])
def test_the_state_fields_alone_give_the_same_rows(captures_dir: Path, name: str) -> None:
    frames = AUG_FRAMES if name == "aug" else load_frames(captures_dir / name)
    lazy = [_lazy(f) for f in frames]
    assert sum(f.state_fields is not None for f in lazy) > 0
    got, want = _run(lazy), _run(frames)
    assert _canonical(got) == _canonical(want)
    assert got.counters == want.counters


def _history_frame(entries: list[dict[str, Any]], recv: int) -> Frame:
    args = [{"gameHistory": entries, "gameId": "20251212-00000000000000aa", "active": False,
             "rugged": False, "allowPreRoundBuys": False, "tickCount": 0, "price": 1.0}]
    text = orjson.dumps(args)
    fields = state_fields(text)
    assert fields is not None and isinstance(fields["gameHistory"], HistoryText)
    return Frame.lazy("gameStateUpdate", text, fields, "t", recv_ts_us=recv)


def test_a_repeated_history_text_is_not_decoded_again(
    dec12: list[Frame], monkeypatch: pytest.MonkeyPatch
) -> None:
    (hist,) = [p["gameHistory"] for f in dec12 if "gameHistory" in (p := f.payload or {})][:1]
    decoded = []
    real = HistoryText.decode
    monkeypatch.setattr(HistoryText, "decode", lambda self: decoded.append(1) or real(self))
    changed = [dict(hist[0], peakMultiplier=hist[0]["peakMultiplier"] + 1), *hist[1:]]
    asm = GameAssembler()
    for i, entries in enumerate([hist, hist, hist, changed, changed]):
        asm.feed(_history_frame(entries, 1_765_500_000_000_000 + i))
    b = asm.drain()
    # decoded whole: the first only; the changed entry alone (remembered ones follow it)
    assert len(decoded) == 1
    n = len(hist)
    assert (b.counters["history.parsed"], b.counters["history.cached"]) == (n + 1, 4 * n - 1)
    peak = {g["game_id"]: g["peak_x"] for g in b.rows["games"]}
    assert peak[hist[0]["id"]] == hist[0]["peakMultiplier"] + 1


def test_prices_past_the_frames_tick_are_left_out_and_counted() -> None:
    base = AUG_FRAMES[0]
    args = [dict(base.args[0], prices=[1, 1.0105, 1.0211, 1.03, 1.04])]  # tickCount 2: 2 past
    b = _run([Frame(event="gameStateUpdate", source="aug", recv_ts_us=base.recv_ts_us,
                    args=args)])
    assert sorted(r["tick"] for r in b.rows["ticks"]) == [0, 1, 2]
    assert b.counters["ticks.beyond_frame_tick"] == 2
    assert "ticks.beyond_frame_tick" not in _run(AUG_FRAMES[:1]).counters  # none past: no count
