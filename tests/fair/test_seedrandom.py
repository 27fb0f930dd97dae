"""rugslab.fair.seedrandom against seedrandom's published vectors and the npm package's output."""

from __future__ import annotations

import pytest

from rugslab.fair.seedrandom import SeedRandom, mix_key, utf16_units


def test_published_vector_hello():
    rng = SeedRandom("hello.")
    assert rng() == 0.9282578795792454
    assert rng() == 0.3752569768646784


def test_raw_draws_equal_npm_seedrandom(golden):
    keys = [r["key"] for r in golden["raw"]]
    assert "" in keys and "🎲🚀" in keys and max(map(len, keys)) > 256
    for r in golden["raw"]:
        rng = SeedRandom(r["key"])
        assert [rng() for _ in r["draws"]] == r["draws"], r["key"]


def test_key_uses_utf16_units_masked_to_8_bits():
    # "Ā" is U+0100: its UTF-16 unit masks to 0; 🎲 is the surrogate pair D83C DFB2.
    assert mix_key("aĀ🎲") == [0x61, 0x00, 0x3C, 0xB2]
    assert utf16_units("🎲").tolist() == [0xD83C, 0xDFB2]


def test_key_longer_than_256_units_is_mixed_with_smear():
    key = mix_key("x" * 257)
    assert len(key) == 256
    # unit 256 lands on slot 0: smear = 0 ^ (120 * 19) = 2280; (2280 + 120) & 255 = 96
    assert key[0] == 96
    assert key[1:] == [120] * 255


def test_empty_seed_has_empty_key_and_draws_like_npm(golden):
    assert mix_key("") == []
    (entry,) = [r for r in golden["raw"] if r["key"] == ""]
    assert SeedRandom("")() == entry["draws"][0]


def test_non_string_seed_is_refused():
    with pytest.raises(TypeError, match="seed must be a str"):
        SeedRandom(42)  # type: ignore[arg-type]
