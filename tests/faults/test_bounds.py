"""Values beyond what the game allows are rejected with their reason (issue item 7).

Before the fix a gameStateUpdate `price` of 1.23e29 became a tick and its game's `peak_x`, and
trade or side-bet amounts of 1e12 SOL were stored. Real frames of
`2025-12-12_two-rugs.jsonl` are mutated one field each and ingested through `rugslab.ingest`:
each absurd value becomes a `rejects` row whose reason names the field or check and the value
(frames are bounded at parse time, rows from other inputs by the pandera schemas), no game's
`peak_x` moves, and every other frame and row is kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from rugslab.errors import FrameError
from rugslab.feed.frames import extract_payload
from rugslab.feed.payloads import price, short_number
from rugslab.feed.rules import PRICE_MAX_X, TICK_MAX
from rugslab.ingest import ingest
from rugslab.lake.delta_read import read_rows
from rugslab.lake.validate import validate_frame

SEQ_FILE = "2025-12-12_two-rugs.jsonl"
RECORDING = "game_20251029_183608.jsonl"
ABSURD_PRICE = 1.23e29
Line = dict[str, Any]


def _table(lake: Path, table: str) -> pl.DataFrame:
    return read_rows(lake, table)


def _payload(line: Line) -> Any:
    data = line["data"]
    return extract_payload(data) if isinstance(data, list) else data


def _mutate(src: Path, dest: Path, edits: list[Callable[[list[Line]], None]]) -> Path:
    lines = [orjson.loads(x) for x in src.read_bytes().splitlines()]
    for edit in edits:
        edit(lines)
    dest.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return dest


def _active_states(lines: list[Line]) -> list[Line]:
    """Active (not rugged) gameStateUpdate lines past tick 5, in file order."""
    return [x for x in lines if x["event"] == "gameStateUpdate"
            and _payload(x).get("active") is True and _payload(x).get("rugged") is False
            and _payload(x).get("tickCount", 0) > 5]


def _absurd_live_price(lines: list[Line]) -> None:
    _payload(_active_states(lines)[10])["price"] = ABSURD_PRICE


def _absurd_tick_count(lines: list[Line]) -> None:
    _payload(_active_states(lines)[20])["tickCount"] = 10**9


def _absurd_partial_price(lines: list[Line]) -> None:
    pp = _payload(_active_states(lines)[30])["partialPrices"]["values"]
    pp[max(pp, key=int)] = 1e30  # the frame's own tick: the live price of the next frame differs


def _trades(lines: list[Line]) -> list[dict[str, Any]]:
    return [_payload(x) for x in lines if x["event"] == "standard/newTrade"]


def _absurd_trade_amount(lines: list[Line]) -> None:
    _trades(lines)[3]["amount"] = 1e12


def _absurd_trade_tick(lines: list[Line]) -> None:
    _trades(lines)[5]["tickIndex"] = 10**9


def _history_entries(lines: list[Line]) -> list[dict[str, Any]]:
    return [e for x in lines if x["event"] == "gameStateUpdate"
            for e in (_payload(x).get("gameHistory") or [])]


def _absurd_bet_amount(lines: list[Line]) -> None:
    # a placed side bet repeats in every frame that carries its game's history: mutate them all
    bet_id = _history_entries(lines)[0]["globalSidebets"][0]["id"]
    for e in _history_entries(lines):
        for bet in e.get("globalSidebets") or []:
            if bet.get("id") == bet_id:
                bet["betAmount"] = 1e12


def _absurd_history_peak(lines: list[Line]) -> None:
    # one frame's copy of a history entry claims a peak of 1e20 (the others keep the real one)
    entry = next(e for x in lines if x["event"] == "gameStateUpdate"
                 for e in (_payload(x).get("gameHistory") or [])[1:2])
    entry["peakMultiplier"] = 1e20


Edit = Callable[[list[Line]], None]
EDITS: list[Edit] = [_absurd_live_price, _absurd_tick_count, _absurd_partial_price,
                     _absurd_trade_amount, _absurd_trade_tick, _absurd_bet_amount,
                     _absurd_history_peak]


@pytest.fixture(scope="module")
def lakes(captures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(lake of the real file, lake of the file with one absurd value per edit)."""
    root = tmp_path_factory.mktemp("bounds")
    clean, bad = root / "clean", root / "bad"
    ingest([captures_dir / SEQ_FILE], lake=clean, progress=False)
    mutated = _mutate(captures_dir / SEQ_FILE, root / SEQ_FILE, EDITS)
    ingest([mutated], lake=bad, progress=False)
    return clean, bad


def _reasons(lake: Path) -> list[str]:
    return sorted(_table(lake, "rejects")["reason"].to_list())


def test_each_absurd_value_is_one_reject_naming_the_check_and_the_value(
    lakes: tuple[Path, Path],
) -> None:
    clean, bad = lakes
    assert _reasons(clean) == []
    reasons = _reasons(bad)
    expected = [
        "gameStateUpdate.price 1.23e+29 (float): price_x <= 1e9 failed, beyond what the game "
        "allows",
        "gameStateUpdate.tickCount 1000000000: above the last tick 5001",
        "gameStateUpdate.partialPrices.values.",  # + tick: checked below
        "standard/newTrade.amount 1000000000000.0 (float): amount in SOL <= 1e6 failed",
        "standard/newTrade.tickIndex 1000000000 (int): expected an int in [0, 5001]",
        "gameHistory[",  # the peak, + game id: checked below
        "gameHistory[",  # the side bet's placed record, + game id: checked below
    ]
    assert len(reasons) == len(expected), reasons
    for want in set(expected):
        assert sum(r.startswith(want) for r in reasons) == expected.count(want), (want, reasons)
    partial = next(r for r in reasons if r.startswith("gameStateUpdate.partialPrices"))
    assert partial.endswith(" 1e+30 (float): price_x <= 1e9 failed, beyond what the game allows")
    bet = next(r for r in reasons if r.startswith("gameHistory[") and "globalSidebets" in r)
    assert bet.endswith("].globalSidebets[0].betAmount 1000000000000.0 (float): bet_amount_sol "
                        "<= 1e6 failed, beyond what the game allows")
    peak = next(r for r in reasons if r.startswith("gameHistory[") and "peak" in r)
    assert peak.endswith("].peakMultiplier 1e+20 (float): price_x <= 1e9 failed, beyond what "
                         "the game allows")


def test_an_absurd_price_never_becomes_a_peak(lakes: tuple[Path, Path]) -> None:
    clean, bad = lakes
    peaks = {t: _table(t, "games").sort("game_id").select("game_id", "peak_x") for t in lakes}
    assert peaks[bad].equals(peaks[clean])
    assert _table(bad, "games")["peak_x"].max() < 2_000  # type: ignore[operator]
    assert _table(bad, "ticks")["price_x"].max() < 2_000  # type: ignore[operator]


def test_every_other_frame_and_row_is_kept(lakes: tuple[Path, Path]) -> None:
    clean, bad = lakes
    assert _table(bad, "raw_events").height == _table(clean, "raw_events").height == 554
    # the side bet's placed record is rejected; its payout record (same key, the real amount)
    # still makes its row
    for table, lost in (("trades", 2), ("side_bets", 0), ("games", 0), ("seeds", 0)):
        assert _table(bad, table).height == _table(clean, table).height - lost, table
    # ticks: the frame with the absurd live price lost its tick only if no later window had it
    keys = ["game_id", "tick"]
    missing = _table(clean, "ticks").join(_table(bad, "ticks"), on=keys, how="anti")
    assert missing.height <= 1


def test_an_absurd_legacy_price_is_rejected_before_it_becomes_a_peak(
    recordings_dir: Path, tmp_path: Path
) -> None:
    src = recordings_dir / RECORDING
    lines = src.read_bytes().splitlines()
    ticks = [i for i, x in enumerate(lines) if orjson.loads(x).get("type") == "tick"]
    rec = orjson.loads(lines[ticks[100]])
    rec["price"] = ABSURD_PRICE
    lines[ticks[100]] = orjson.dumps(rec)
    bad = tmp_path / RECORDING
    bad.write_bytes(b"\n".join(lines) + b"\n")
    ingest([src], lake=tmp_path / "clean", progress=False)
    ingest([bad], lake=tmp_path / "bad", progress=False)
    reasons = _reasons(tmp_path / "bad")
    assert len(reasons) == 1
    assert reasons[0].endswith("'price' 1.23e+29: price_x <= 1e9 failed, beyond what the game "
                               "allows")
    peak = {t: _table(tmp_path / t, "games")["peak_x"].to_list() for t in ("clean", "bad")}
    assert peak["bad"] == peak["clean"]


def _first_row(lake: Path, table: str) -> pl.DataFrame:
    return _table(lake, table).head(1)


@pytest.mark.parametrize(
    ("table", "column", "value", "reason"),
    [
        ("ticks", "price_x", ABSURD_PRICE, "ticks: price_x <= 1e9 failed: 1.23e29"),
        ("ticks", "tick", TICK_MAX + 1, "ticks: tick <= 5001 failed: 5002"),
        ("games", "peak_x", 2e9, "games: peak_x <= 1e9 failed: 2e9"),
        ("games", "last_live_tick", 10**6, "games: last_live_tick <= 5001 failed: 1e6"),
        ("games", "ticks_recorded", 6000, "games: ticks_recorded <= 5002 failed: 6000"),
        ("trades", "price_x", 1e10, "trades: price_x <= 1e9 failed: 1e10"),
        ("trades", "qty", -2e12, "trades: qty in [-1e12, 1e12] failed: -2e12"),
        ("side_bets", "payout_x", 500.0, "side_bets: payout_x <= 100 failed: 500"),
        ("side_bets", "start_tick", 9999, "side_bets: start_tick <= 5001 failed: 9999"),
        ("side_bets", "end_tick", 9999, "side_bets: end_tick <= 5041 failed: 9999"),
        ("side_bets", "payout_sol", 1e9, "side_bets: payout_sol <= 1e8 failed: 1e9"),
    ],
)
def test_a_lake_row_beyond_a_bound_is_rejected_with_the_check_and_the_value(
    lakes: tuple[Path, Path], table: str, column: str, value: float, reason: str
) -> None:
    row = _first_row(lakes[0], table)
    dtype = row.schema[column]
    bad = row.with_columns(pl.lit(value).cast(dtype).alias(column))
    good, rejects = validate_frame(pl.concat([row, bad]), table)
    assert good.height == 1
    assert [r["reason"] for r in rejects] == [reason]


def test_price_bound_is_inclusive_and_reads_as_a_check() -> None:
    assert price(PRICE_MAX_X, "ctx", "price") == PRICE_MAX_X
    assert price(0, "ctx", "price") == 0.0
    with pytest.raises(FrameError) as e:
        price(PRICE_MAX_X * 1.000001, "ctx", "price")
    assert "price_x <= 1e9 failed" in e.value.reason
    assert short_number(PRICE_MAX_X) == "1e9"


_HI = 1e9
_SIGNED = {"nonneg": False, "lo": -_HI}


@pytest.mark.parametrize(("value", "kw", "kept"), [
    (_HI, {}, _HI),  # exactly the bound: kept
    (-_HI, _SIGNED, -_HI),
    (0.0, {}, 0.0),
    (-0.0, {}, -0.0),  # negative zero is >= 0: kept as it came
    (10**9, {}, 1e9),  # an int at the bound
])
def test_a_value_at_the_bound_is_kept(value: Any, kw: dict[str, Any], kept: float) -> None:
    from rugslab.feed.payloads import num

    got = num(value, "ctx", "k", hi=_HI, **kw)
    assert got == kept and type(got) is float


@pytest.mark.parametrize(("value", "kw", "reason"), [
    (math.nextafter(_HI, math.inf), {}, "value <= 1e9 failed, beyond what the game allows"),
    (math.nextafter(-_HI, -math.inf), _SIGNED, "value >= -1e9 failed, beyond what the game"),
    (10**400, {}, "(int): value <= 1e9 failed"),
    (-(10**400), _SIGNED, "(int): value >= -1e9 failed"),
    (float("nan"), {}, "nan (float): expected a finite number >= 0"),
    (math.inf, {}, "inf (float): expected a finite number >= 0"),
    (-math.inf, _SIGNED, "-inf (float): expected a finite number"),
    ("NaN", {}, "'NaN' (str): expected a finite number >= 0"),
    ("1", {}, "'1' (str): expected a finite number"),
    (True, {}, "True (bool): expected a finite number >= 0"),
    (False, _SIGNED, "False (bool): expected a finite number"),
    (-1e-300, {}, "expected a finite number >= 0"),
    (None, {}, "None"),
])
def test_a_value_beyond_or_not_a_number_is_refused_with_its_reason(
    value: Any, kw: dict[str, Any], reason: str
) -> None:
    from rugslab.feed.payloads import num

    with pytest.raises(FrameError) as err:
        num(value, "ctx", "k", hi=_HI, **kw)
    assert str(err.value).startswith("ctx.k ") and reason in str(err.value), str(err.value)


def test_1e309_in_a_frame_line_is_a_rejects_row_not_lost(tmp_path: Path,
                                                          captures_dir: Path) -> None:
    """orjson refuses `1e309` (infinity as a double): the line becomes a reject, the rest of
    the file is ingested."""
    src = (captures_dir / SEQ_FILE).read_bytes().splitlines()
    line = next(i for i, x in enumerate(src) if b'"price":' in x)
    bad = re.sub(rb'"price":\s*[-0-9.eE+]+', b'"price":1e309', src[line], count=1)
    assert bad != src[line]
    path = tmp_path / "inf.jsonl"
    path.write_bytes(b"\n".join([*src[:line], bad, *src[line + 1:]]) + b"\n")
    ingest([path], lake=tmp_path / "lake", progress=False)
    rejects = _table(tmp_path / "lake", "rejects")
    assert rejects.filter(pl.col("raw").str.contains("1e309")).height == 1
    assert _table(tmp_path / "lake", "raw_events").height == len(src) - 1
