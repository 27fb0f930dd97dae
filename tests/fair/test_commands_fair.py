"""`rugslab fair replay` and `rugslab verify` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from rugslab.cli import main

FIELDS = ["server_seed", "game_id", "version", "prices", "peak_multiplier", "rugged", "total_ticks"]


def _requests(games):
    return "".join(
        json.dumps(
            {"server_seed": g["server_seed"], "game_id": g["game_id"], "version": g["version"]}
        )
        + "\n"
        for g in games
    )


def test_replay_prints_golden_paths_that_round_trip(tmp_path, capsysbinary, golden):
    games = [g for g in golden["games"] if "max_ticks" not in g]
    req = tmp_path / "req.jsonl"
    req.write_text(_requests(games), encoding="utf-8")
    assert main(["fair", "replay", str(req)]) == 0
    out, err = capsysbinary.readouterr()
    assert err == b""
    lines = out.decode("utf-8").splitlines()
    assert len(lines) == len(games)
    for line, g in zip(lines, games, strict=True):
        got = json.loads(line)
        assert list(got) == FIELDS
        assert got == {k: g[k] for k in FIELDS}


def test_bad_lines_are_reported_and_the_rest_still_run(tmp_path, capsysbinary, golden):
    good = _requests(golden["games"][:1])
    text = (
        good
        + "not json\n"
        + "\n"
        + '{"server_seed": "s", "game_id": "g"}\n'
        + '{"server_seed": "s", "game_id": "g", "version": "v4"}\n'
        + '{"server_seed": 7, "game_id": "g", "version": "v3"}\n'
        + good
    )
    req = tmp_path / "req.jsonl"
    req.write_text(text, encoding="utf-8")
    assert main(["fair", "replay", str(req)]) == 1
    out, err = capsysbinary.readouterr()
    assert len(out.splitlines()) == 2
    errors = err.decode().splitlines()
    assert errors[0].startswith("rugslab fair replay: line 2: not valid JSON")
    assert errors[1:] == [
        "rugslab fair replay: line 4: missing field 'version'; "
        "every line needs server_seed, game_id, version",
        "rugslab fair replay: line 5: version 'v4' is unknown; use one of v1, v2, v3",
        "rugslab fair replay: line 6: field 'server_seed' is 7 (int); give it as a JSON string",
        "rugslab fair replay: 4 line(s) failed (see above)",
    ]


def test_replay_of_a_missing_file_names_it(capsys):
    assert main(["fair", "replay", "/no/such/file.jsonl"]) == 2
    assert "Cannot read FILE '/no/such/file.jsonl'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["fair", "--help"], "Provably fair: replay rugs.fun games"),
        (
            ["fair", "replay", "--help"],
            "Replay games bit-exactly and print one JSON line per game.",
        ),
        (["verify", "--help"], "Verify every game with a revealed seed against the lake"),
    ],
)
def test_help_texts(argv, text, capsys):
    assert main(argv) == 0
    assert text in capsys.readouterr().out


def test_verify_counts_and_exits_1_on_a_failure(tmp_path, capsys, capture_tables):
    from rugslab.lake.writer import write_batch
    from rugslab.tables.batch import RowBatch

    batch = RowBatch()
    for t in ("games", "seeds", "ticks"):
        batch.extend(t, capture_tables[t])
    write_batch(tmp_path, batch)
    assert main(["verify", "--lake", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        out.splitlines()[0]
        == "verified 33, failed 0, unverifiable 0 (of 33 games); 33 verifications rows written"
    )

    bad = RowBatch()
    bad.add(
        "ticks",
        {
            "game_id": "20251212-dbb443e2e08a45fd",
            "tick": 20,
            "price_x": 9.0,
            "is_rug": False,
            "source": "live",
        },
    )
    write_batch(tmp_path, bad)
    assert main(["verify", "--lake", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err[0]
        == "verified 32, failed 1, unverifiable 0 (of 33 games); 33 verifications rows written"
    )
    assert err[1] == (
        "FAILED 20251212-dbb443e2e08a45fd (v3): path differs from tick 20: recorded 9.0, "
        "replay no price (after the replayed rug)"
    )
    assert err[-1] == "rugslab verify: 1 game(s) FAILED provably-fair verification"


def test_verify_without_a_lake_says_how_to_make_one(tmp_path, capsys):
    assert main(["verify", "--lake", str(tmp_path / "none")]) == 2
    assert "run `rugslab ingest" in capsys.readouterr().err


def test_replay_reads_stdin_by_default(monkeypatch, capsysbinary, golden):
    import io

    g = next(g for g in golden["games"] if g["tag"] == "first_tick_rug")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(_requests([g]).encode())))
    assert main(["fair", "replay"]) == 0
    got = json.loads(capsysbinary.readouterr().out)
    assert (got["prices"], got["total_ticks"], got["rugged"]) == ([1.0], 0, True)
