"""GamePhase from one gameStateUpdate payload; the rug tick of a rug frame."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from _capture_frames import DEC06, DEC12, FEB06, load_frames

from rugslab.feed.phases import GamePhase, no_phase_reason, phase_of, rug_tick_of


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # counted by a separate script reading the files with the PROTOCOL.md table
        (DEC06, {"active": 138, "cooldown": 36, "rug": 2}),
        (DEC12, {"active": 241, "presale": 166, "cooldown": 99, "rug": 4}),
        (FEB06, {"cooldown": 2, "active": 2, "rug": 2, "presale": 1}),
    ],
)
def test_phase_counts_of_real_captures(captures_dir: Path, name: str, expected: dict) -> None:
    counts = Counter(
        phase_of(f.payload).value  # type: ignore[union-attr]
        for f in load_frames(captures_dir / name)
        if f.event == "gameStateUpdate"
    )
    assert dict(counts) == expected


def test_curated_phase_samples_have_their_labelled_phase(captures_dir: Path) -> None:
    raw = json.loads((captures_dir / FEB06).read_text())
    got = {k: phase_of(v["data"]) for k, v in raw.items() if v["event_type"] == "gameStateUpdate"}
    assert got == {
        "01_cooldown_early_minimal": GamePhase.COOLDOWN,
        "02_cooldown_early_full": GamePhase.COOLDOWN,
        "03_presale_transition": GamePhase.PRESALE,
        "04_game_start_tick0": GamePhase.ACTIVE,
        "05_active_midgame": GamePhase.ACTIVE,
        "10_rug_event": GamePhase.RUG,
        "11_postrug_final": GamePhase.RUG,
    }


def test_rugged_wins_over_active_because_rug_frames_keep_active_true() -> None:
    assert phase_of({"gameId": "g", "active": True, "rugged": True}) is GamePhase.RUG


def test_active_wins_over_presale_flag() -> None:
    assert phase_of({"gameId": "g", "active": True, "allowPreRoundBuys": True}) is GamePhase.ACTIVE


def test_null_flags_count_as_absent() -> None:
    assert phase_of({"gameId": "g", "active": None, "rugged": None}) is GamePhase.COOLDOWN


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [1, 2],
        "gameStateUpdate",
        {},  # no game, no flag
        {"gameId": "g", "rugged": "true"},
        {"gameId": "g", "active": 1},
        {"gameId": "g", "allowPreRoundBuys": "yes"},
    ],
)
def test_payload_without_a_usable_phase_gives_none(payload: object) -> None:
    assert phase_of(payload) is None


@pytest.mark.parametrize(
    ("tick_count", "partial_end", "expected"),
    [
        (266, 266, 266),  # first rug frame (2025-12-06)
        (268, 266, 266),  # second rug frame: tickCount ran on, the window did not
        (17, 16, 16),  # 2025-12-12 early rug
        (231, None, 231),  # no window: only tickCount is known
        (5, 7, 5),  # a window ending later than tickCount is not believed
        (5, -1, 5),
    ],
)
def test_rug_tick_of(tick_count: int, partial_end: int | None, expected: int) -> None:
    assert rug_tick_of(tick_count, partial_end) == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"active": "true"}, "ctx.active 'true' (str): expected true/false"),
        ({"rugged": 1, "active": "x"}, "ctx.rugged 1 (int): expected true/false"),
        ({"tickCount": 3}, "ctx: no phase"),
    ],
)
def test_no_phase_reason_names_the_first_bad_flag(payload: dict, reason: str) -> None:
    assert phase_of(payload) is None
    assert no_phase_reason(payload, "ctx") == reason
