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


@pytest.fixture(scope="session")
def capture_tables(history_games) -> dict[str, list[dict[str, Any]]]:
    """`games`, `seeds`, `ticks` rows (lake columns) built straight from the captures' history.

    Rug tick = len(prices) − 1 and the last price is the crash price (`is_rug`), per PROTOCOL.md.
    """
    games, seeds, ticks = [], [], []
    for gid, e in history_games.items():
        prices = e.get("prices")
        pf = e["provablyFair"]
        games.append(
            {
                "game_id": gid,
                "version": e["gameVersion"],
                "server_seed_hash": pf["serverSeedHash"],
                "rug_tick": len(prices) - 1 if prices else None,
                "peak_x": e["peakMultiplier"],
                "seen_live": False,
                "revealed": True,
            }
        )
        seeds.append(
            {
                "game_id": gid,
                "server_seed": pf["serverSeed"],
                "server_seed_hash": pf["serverSeedHash"],
                "version": e["gameVersion"],
            }
        )
        for t, p in enumerate(prices or []):
            ticks.append(
                {
                    "game_id": gid,
                    "tick": t,
                    "price_x": p,
                    "is_rug": t == len(prices) - 1,
                    "source": "history",
                }
            )
    return {"games": games, "seeds": seeds, "ticks": ticks}
