"""Fault injection drops, garbles, duplicates and swaps exactly what its seeded draws say."""

from __future__ import annotations

import random
from itertools import pairwise

import orjson
import pytest

from rugslab.errors import ConfigError
from rugslab.sim.faults import MALFORMED_KINDS, Faults, FaultStats, apply_faults, malform
from rugslab.sim.feed import ScheduledFrame

N = 1000


def _frames(n: int = N) -> list[ScheduledFrame]:
    return [ScheduledFrame(i * 0.1, "gameStateUpdate", [{"gameId": "g", "tickCount": i,
                                                        "price": 1.0 + i}]) for i in range(n)]


def _draws(seed: int, n: int) -> list[tuple[float, float, float, float]]:
    """The documented contract: four uniforms per input frame, in order drop/bad/dup/swap."""
    rng = random.Random(seed)
    return [(rng.random(), rng.random(), rng.random(), rng.random()) for _ in range(n)]


def test_drop_removes_exactly_the_frames_whose_draw_is_below_p() -> None:
    stats = FaultStats()
    out = list(apply_faults(_frames(), Faults(drop=0.3, seed=11), stats))
    expected = [i for i, d in enumerate(_draws(11, N)) if d[0] >= 0.3]
    assert [f.args[0]["tickCount"] for f in out] == expected
    assert stats.dropped == N - len(expected) and 250 < stats.dropped < 350
    assert (stats.frames_in, stats.frames_out) == (N, len(expected))


def test_duplicate_sends_the_same_frame_twice_at_the_same_time() -> None:
    stats = FaultStats()
    out = list(apply_faults(_frames(), Faults(duplicate=0.2, seed=5), stats))
    dup = [i for i, d in enumerate(_draws(5, N)) if d[2] < 0.2]
    ticks = [f.args[0]["tickCount"] for f in out]
    assert ticks == sorted(ticks) and len(ticks) == N + len(dup)
    assert sorted({t for t in ticks if ticks.count(t) == 2}) == dup
    assert stats.duplicated == len(dup)


def test_reorder_swaps_a_frame_with_the_next_keeping_the_send_times() -> None:
    out = list(apply_faults(_frames(10), Faults(reorder=1.0, seed=0)))
    assert [f.args[0]["tickCount"] for f in out] == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8]
    assert [f.at_s for f in out] == [f.at_s for f in _frames(10)]
    stats = FaultStats()
    out = list(apply_faults(_frames(), Faults(reorder=0.1, seed=3), stats))
    ticks = [f.args[0]["tickCount"] for f in out]
    assert sorted(ticks) == list(range(N))
    swaps = sum(1 for a, b in pairwise(ticks) if a > b)
    assert swaps == stats.reordered and 60 < swaps < 140


def test_malformed_counts_each_kind_and_same_seed_same_garbage() -> None:
    stats = FaultStats()
    out = list(apply_faults(_frames(), Faults(malformed=0.25, seed=9), stats))
    bad = [i for i, d in enumerate(_draws(9, N)) if d[1] < 0.25]
    assert stats.malformed == len(bad) == sum(stats.malformed_kinds.values())
    assert set(stats.malformed_kinds) == set(MALFORMED_KINDS)
    changed = [i for i, (a, b) in enumerate(zip(_frames(), out, strict=True))
               if (a.args, a.raw) != (b.args, b.raw)]
    assert changed == bad
    again = list(apply_faults(_frames(), Faults(malformed=0.25, seed=9)))
    assert [(f.args, f.raw) for f in again] == [(f.args, f.raw) for f in out]


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_each_malformed_kind_breaks_the_payload(kind: str) -> None:
    trace = {"__trace": True, "traceparent": "00-a-b-01"}
    frame = ScheduledFrame(0.0, "standard/newTrade", [trace, {"id": "x", "type": "buy",
                                                             "price": 1.5, "tickIndex": 3,
                                                             "qty": 2}])
    bad = malform(frame, kind, random.Random(1))
    if kind == "truncated_packet":
        text = bad.raw
        assert text is not None and text.startswith("42")
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(text[2:])
        return
    assert bad.raw is None and bad.args[0] == trace  # the trace marker is left alone
    payload = bad.args[1]
    if kind == "wrong_types":
        r = random.Random(1)  # strings become ints drawn from the RNG passed in
        assert payload == [["id", r.randint(0, 9)], ["type", r.randint(0, 9)],
                           ["price", "1.5"], ["tickIndex", "3"], ["qty", "2"]]
    elif kind == "missing_keys":
        assert payload == {"qty": 2}
    elif kind == "garbage_string":
        assert isinstance(payload, str)
    else:
        assert isinstance(payload, dict) and len(payload) < 5


def test_probabilities_outside_zero_one_are_refused() -> None:
    with pytest.raises(ConfigError, match="--drop"):
        Faults(drop=1.5)
    with pytest.raises(ConfigError, match="--disconnect-every"):
        Faults(disconnect_every_s=0)
    with pytest.raises(ConfigError, match="--disconnect-kind"):
        Faults(disconnect_kind="reboot")
