"""Seeds a JavaScript string can hold, lone UTF-16 surrogates included: `rugslab fair replay`
reads and writes them, and the replay and the seed hash equal the published JavaScript's.

Golden values: Node 20 with seedrandom 3.0.5 through tests/fair/golden/rugs_game.js, and
`crypto.createHash("sha256").update(seed)`, for seed "ab\\ud800cd" and game
20251212-eec31b1b16194f08, v3 (2026-12-03).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rugslab.fair import replay_game
from rugslab.feed.rules import hash_matches, seed_hash

SEED = "ab\ud800cd"
GAME = "20251212-eec31b1b16194f08"
JS_PRICES_0_3 = [1.0, 1.0125592983517762, 1.0340460119838086, 1.0254670404217767]
JS_TOTAL_TICKS = 18
JS_PEAK = 1.53085405030065
JS_HASH = "507e708296690cedd811a6dcc01e1c84e83ad3f220fb77937b31fa504b22db5f"


def test_the_replay_and_the_hash_of_a_lone_surrogate_seed_equal_javascripts() -> None:
    game = replay_game(SEED, GAME, "v3")
    assert game.prices[:4] == JS_PRICES_0_3
    assert (game.total_ticks, game.peak_multiplier) == (JS_TOTAL_TICKS, JS_PEAK)
    assert seed_hash(SEED) == JS_HASH
    assert hash_matches(SEED, JS_HASH) is True



#: `crypto.createHash("sha256").update(s).digest("hex")` under Node 20 (2026-12-03), for a
#: surrogate pair held as two code points, a valid non-ASCII seed, lone surrogates at both
#: ends, and a real hex seed.
JS_HASHES = {
    "ab\ud83d\ude00cd": "1305b9b74af9a1cf19b99e9a54bfcffcea2f4102f59b29407b41ddeb25a69994",
    "é€seed": "11fbc950487b4797c3b89f07b39063a8c756b083113c29587738178655155619",
    "\udc00x\ud800": "aab1b7c16eb72ab93c7ad9e5a498d7f2a5417114f1f5161bf560373cca153e6d",
    "7f122ef95df0fd17c3d84cb87da28098078d8fc7202eda326582b4a35ef3c5e4":
        "d3c54285bd7b958e8d84918127c5c75e5f608e8fe076c00ba219dbd7eecd0ae9",
}


@pytest.mark.parametrize("seed", list(JS_HASHES), ids=["pair", "non-ascii", "lone-ends", "hex"])
def test_seed_hash_equals_javascripts_for_every_kind_of_string(seed: str) -> None:
    assert seed_hash(seed) == JS_HASHES[seed]


def test_fair_replay_reads_and_writes_a_lone_surrogate_seed(tmp_path: Path) -> None:
    line = json.dumps({"server_seed": SEED, "game_id": GAME, "version": "v3"})
    assert "\\ud800" in line  # as JavaScript's JSON.stringify writes it
    requests = tmp_path / "requests.jsonl"
    requests.write_text(line + "\n")
    run = subprocess.run([sys.executable, "-m", "rugslab", "fair", "replay", str(requests)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    (out,) = run.stdout.splitlines()
    got = json.loads(out)
    assert got["server_seed"] == SEED
    assert got["prices"][:4] == JS_PRICES_0_3 and got["total_ticks"] == JS_TOTAL_TICKS
