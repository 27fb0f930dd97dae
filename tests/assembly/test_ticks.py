"""Tick candidates (priority, order independence, price conflicts), partialPrices parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rugslab.assembly.assembler import GameAssembler
from rugslab.assembly.ticks import (
    HISTORY,
    LIVE,
    PARTIAL,
    TICK_COLUMNS,
    TickBuffer,
    parse_window,
    tick_row,
)
from rugslab.errors import FrameError
from rugslab.feed.frames import Frame
from rugslab.tables.schemas import TABLES

G = "20251212-25dcb17086a24ad7"


def test_live_beats_partial_beats_history() -> None:
    buf = TickBuffer()
    buf.offer(G, 5, HISTORY, None, 1.5)
    buf.offer(G, 5, PARTIAL, None, 1.25)
    assert buf.best[(G, 5)] == (PARTIAL, 1 << 62, 1.25)
    buf.offer(G, 5, LIVE, 2_000, 1.0)
    buf.offer(G, 5, PARTIAL, None, 0.5)
    assert buf.best[(G, 5)] == (LIVE, 2_000, 1.0)


def test_earliest_live_receipt_wins() -> None:
    buf = TickBuffer()
    buf.offer(G, 7, LIVE, 3_000, 1.0)
    buf.offer(G, 7, LIVE, 1_000, 1.0)
    buf.offer(G, 7, LIVE, 2_000, 1.0)
    assert buf.best[(G, 7)] == (LIVE, 1_000, 1.0)


_offer = st.tuples(
    st.integers(0, 6),
    st.sampled_from([LIVE, PARTIAL, HISTORY]),
    st.one_of(st.none(), st.integers(0, 10)),
    st.sampled_from([0.5, 1.0, 1.5]),
)


@given(st.lists(_offer, max_size=40), st.randoms(use_true_random=False))
def test_buffer_content_does_not_depend_on_offer_order(offers: list, rnd) -> None:
    a, b = TickBuffer(), TickBuffer()
    for t, rank, ts, p in offers:
        a.offer(G, t, rank, ts, p)
    shuffled = offers + offers[: len(offers) // 2]
    rnd.shuffle(shuffled)
    for t, rank, ts, p in shuffled:
        b.offer(G, t, rank, ts, p)
    assert a.best == b.best


@given(st.lists(st.tuples(st.integers(0, 8), st.sampled_from([0.5, 1.0, 1.5])), max_size=12),
       st.lists(_offer, max_size=10), st.sampled_from([PARTIAL, HISTORY]), st.integers(0, 8))
def test_offer_many_equals_offering_each_tick_up_to_last(
    prices: list, before: list, rank: int, last: int
) -> None:
    a, b = TickBuffer(), TickBuffer()
    for t, r, ts, p in before:  # candidates already there: replaced or conflicting
        a.offer(G, t, r, ts, p)
        b.offer(G, t, r, ts, p)
    a.offer_many(G, prices, rank, last)
    for t, p in prices:
        if t <= last:
            b.offer(G, t, rank, None, p)
    assert (a.best, a.conflicts) == (b.best, b.conflicts)


def test_parse_window_reads_string_tick_keys() -> None:
    pp = {"startTick": 12, "endTick": 16, "values": {"12": 1.25, "15": 1, "16": 0.02}}
    assert parse_window(pp, "pp") == (16, [(12, 1.25), (15, 1.0), (16, 0.02)], [])


@pytest.mark.parametrize(
    ("pp", "fragment"),
    [
        ({"endTick": "16", "values": {}}, "pp.endTick '16' (str)"),
        ({"endTick": 16, "values": [1.0]}, "pp.values [1.0] (list): expected an object"),
        ("window", "pp 'window' (str): expected an object"),
    ],
)
def test_parse_window_rejects_bad_windows_naming_field_and_value(pp: object, fragment: str) -> None:
    with pytest.raises(FrameError) as e:
        parse_window(pp, "pp")
    assert fragment in e.value.reason


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("x1", 1.0, "pp.values key 'x1' (str)"),
        ("+3", 1.0, "pp.values key '+3' (str)"),
        ("9999", 1.0, "pp.values key '9999' (str)"),
        ("3", "1.0", "pp.values.3 '1.0' (str)"),
        ("3", -1.0, "pp.values.3 -1.0 (float)"),
        ("3", True, "pp.values.3 True (bool)"),
    ],
)
def test_a_bad_value_is_left_out_and_the_window_kept(
    key: str, value: object, fragment: str
) -> None:
    pp = {"endTick": 16, "values": {"12": 1.25, key: value, "16": 0.02}}
    end, good, bad = parse_window(pp, "pp")
    assert (end, good) == (16, [(12, 1.25), (16, 0.02)])
    assert len(bad) == 1 and fragment in bad[0]


def test_a_price_that_disagrees_for_the_same_tick_is_counted() -> None:
    from rugslab.assembly.ticks import HISTORY, LIVE, TickBuffer

    buf = TickBuffer()
    buf.offer("g", 5, LIVE, 100, 1.25)
    buf.offer("g", 5, HISTORY, None, 1.25)  # agrees: no conflict
    assert buf.conflicts == 0
    buf.offer("g", 5, HISTORY, None, 1.5)  # the revealed path says otherwise
    assert buf.conflicts == 1
    assert buf.best[("g", 5)] == (LIVE, 100, 1.25)  # the live price still wins


def test_a_later_batch_that_disagrees_with_a_written_tick_is_counted() -> None:
    """A tick written in one batch is not written again; a later candidate at another price
    (here a partialPrices window) counts as `ticks.price_conflict` (review M2)."""
    gid = "20251212-0123456789abcdef"
    t0 = 1_765_500_000_000_000

    def state(tick: int, price: float, **more: object) -> Frame:
        p = {"gameId": gid, "active": True, "rugged": False, "tickCount": tick, "price": price,
             **more}
        return Frame("gameStateUpdate", [p], "t", recv_ts_us=t0 + tick * 250_000)

    asm = GameAssembler()
    for tick, price in ((0, 1.0), (1, 1.1), (2, 1.2)):
        asm.feed(state(tick, price))
    first = asm.drain()
    assert sorted(r["tick"] for r in first.rows["ticks"]) == [0, 1, 2]
    assert "ticks.price_conflict" not in first.counters
    window = {"startTick": 0, "endTick": 4,
              "values": {"0": 1.0, "1": 1.6, "2": 1.2, "3": 1.3}}  # tick 1 disagrees
    asm.feed(state(4, 1.4, partialPrices=window))
    second = asm.drain()
    assert sorted((r["tick"], r["source"]) for r in second.rows["ticks"]) == [
        (3, "partial"), (4, "live")]
    assert (second.counters["ticks.duplicate"], second.counters["ticks.price_conflict"]) == (3, 1)


def test_a_tick_row_holds_the_ticks_columns_in_table_order() -> None:
    assert tuple(TABLES["ticks"].polars_schema) == TICK_COLUMNS
    row = tick_row(G, 3, 1.25, 1_765_500_000_000_000, "live", False)
    assert dict(zip(TICK_COLUMNS, row, strict=True)) == {
        "game_id": G, "tick": 3, "price_x": 1.25, "recv_ts": 1_765_500_000_000_000,
        "source": "live", "is_rug": False}
