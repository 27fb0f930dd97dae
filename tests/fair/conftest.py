"""Fixtures for the provably-fair tests: revealed games from the real captures, golden vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden" / "vectors.json"

#: (file, wrapper) of the captures whose gameStateUpdate frames carry `gameHistory`.
_JSONL_CAPTURES = ("2025-12-06_active-to-cooldown.jsonl", "2025-12-12_two-rugs.jsonl")
_JSON_CAPTURES = ("2026-02-06_phase-samples.json",)


def _payloads(captures_dir: Path):
    for name in _JSONL_CAPTURES:
        with open(captures_dir / name, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line).get("data")
    for name in _JSON_CAPTURES:
        for sample in json.loads((captures_dir / name).read_text(encoding="utf-8")).values():
            yield sample.get("data")


@pytest.fixture(scope="session")
def history_games(captures_dir: Path) -> dict[str, dict[str, Any]]:
    """game id → first `gameHistory[]` entry seen for it, over all machine-readable captures."""
    games: dict[str, dict[str, Any]] = {}
    for data in _payloads(captures_dir):
        if isinstance(data, list):  # [trace, payload] two-argument events
            data = data[-1]
        if not isinstance(data, dict):
            continue
        for entry in data.get("gameHistory") or []:
            games.setdefault(entry["id"], entry)
    return games


@pytest.fixture(scope="session")
def golden() -> dict[str, Any]:
    """tests/fair/golden/vectors.json, made by make_vectors.js with the real seedrandom."""
    return json.loads(GOLDEN.read_text(encoding="utf-8"))
