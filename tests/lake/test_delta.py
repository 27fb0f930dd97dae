"""Delta tables of the lake: schema, idempotent and concurrent writes, merge rules, time travel,
kills, bad folders, exit status, maintenance (rugslab.lake.delta, delta_write, delta_maintain)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rugslab.errors import LakeError, SchemaViolation
from rugslab.lake import delta, delta_maintain, delta_read, delta_write
from rugslab.lake.merge import merge_rows
from rugslab.lake.snapshot import lake_snapshot
from rugslab.tables.schemas import TABLES

REPO = Path(__file__).resolve().parents[2]
G1 = "20251207-e8186dbf38e046d1"
G2 = "20251208-0123456789abcdef"
T0 = datetime(2025, 12, 7, 0, 10, tzinfo=UTC)
HASH = "ab" * 32


def _ticks(game: str, ticks: range | list[int], price: float = 1.0) -> pl.DataFrame:
    n = len(ticks)
    return pl.DataFrame({
        "game_id": [game] * n, "tick": list(ticks), "price_x": [price] * n,
        "recv_ts": [T0] * n, "source": ["live"] * n, "is_rug": [False] * n,
    })


def _seed(game: str, seed: str | None, seed_hash: str | None = HASH) -> pl.DataFrame:
    return pl.DataFrame({"game_id": [game], "server_seed_hash": [seed_hash],
                         "server_seed": [seed], "version": ["v3"], "hash_ok": [None]},
                        schema=TABLES["seeds"].polars_schema)


def _game(game: str, **values: object) -> pl.DataFrame:
    row = {c: None for c in TABLES["games"].columns}
    row.update(game_id=game, seen_live=False, revealed=False, **values)
    return pl.DataFrame([row], schema=TABLES["games"].polars_schema)


def _gaps(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    return pl.DataFrame({
        "game_id": [g for g, _, _ in rows], "tick_from": [a for _, a, _ in rows],
        "tick_to": [b for _, _, b in rows], "n_ticks": [b - a + 1 for _, a, b in rows],
        "reason": ["not_received"] * len(rows),
    }, schema=TABLES["gaps"].polars_schema)


def _trade(trade_id: str) -> pl.DataFrame:
    row = {c: None for c in TABLES["trades"].columns}
    row.update(trade_id=trade_id, game_id=G1, trade_type="buy", source="live")
    return pl.DataFrame([row], schema=TABLES["trades"].polars_schema)


def _merge(table: str):  # the combine step the writer will pass to `upsert`
    return lambda old, new: merge_rows(pl.concat([old, new], how="vertical"), table)


def _version(lake: Path, table: str) -> int:
    dt = delta.open_table(lake, table)
    assert dt is not None
    return dt.version()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ---- schema and layout ------------------------------------------------------------------


def test_arrow_schema_is_the_table_columns_plus_the_date_partition() -> None:
    schema = delta.arrow_schema("ticks")
    assert schema.names == [*TABLES["ticks"].columns, "date"]
    assert schema.field("game_id").type == pa.large_string()
    assert not schema.field("game_id").nullable
    assert schema.field("tick").type == pa.int32()
    assert schema.field("recv_ts").type == pa.timestamp("us", tz="UTC")
    assert schema.field("recv_ts").nullable
    assert schema.field("date").type == pa.date32()


def test_rows_land_in_date_partition_folders_of_a_delta_table(tmp_path: Path) -> None:
    rows = pl.concat([_ticks(G1, range(3)), _ticks(G2, range(2))])
    assert delta_write.append_absent(tmp_path, "ticks", rows) == 5
    assert (tmp_path / "ticks" / "_delta_log" / f"{0:020d}.json").is_file()
    files = delta_read.snapshot_files(tmp_path, "ticks")
    assert sorted({(p.parent.name, d) for p, d in files}) == [
        ("date=2025-12-07", date(2025, 12, 7)), ("date=2025-12-08", date(2025, 12, 8))]
    assert delta.open_table(tmp_path, "ticks").metadata().partition_columns == ["date"]


def test_data_files_are_zstd_3_without_dictionary_or_statistics_on_free_text(
    tmp_path: Path,
) -> None:
    raw = pl.DataFrame({
        "frame_id": ["0" * 32], "recv_ts": [T0], "recv_mono_ns": [1], "session_id": ["s"],
        "seq": [1], "event": ["e"], "game_id": [G1], "args_json": ['[{"a":1}]'],
        "source": ["live"]})
    delta_write.append_absent(tmp_path, "raw_events", raw)
    [(path, _)] = delta_read.snapshot_files(tmp_path, "raw_events")
    group = pq.read_metadata(path).row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert {c.compression for c in columns.values()} == {"ZSTD"}
    assert not columns["args_json"].is_stats_set
    assert not columns["args_json"].has_dictionary_page
    assert columns["frame_id"].is_stats_set
    assert "ZSTD(3)" in str(delta.writer_properties("raw_events"))


# ---- append tables ------------------------------------------------------------------------


def test_reappending_the_same_rows_inserts_nothing_and_commits_nothing(tmp_path: Path) -> None:
    assert delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(10))) == 10
    version = _version(tmp_path, "ticks")
    assert delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(10))) == 0
    assert _version(tmp_path, "ticks") == version
    assert delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(5, 15))) == 5
    ticks = delta_read.read_rows(tmp_path, "ticks")["tick"].sort().to_list()
    assert ticks == list(range(15))


def test_the_first_written_row_of_a_key_stays(tmp_path: Path) -> None:
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, [1, 1], price=2.0))
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, [1], price=3.0))
    assert delta_read.read_rows(tmp_path, "ticks")["price_x"].to_list() == [2.0]


def test_a_null_key_is_refused_before_any_commit(tmp_path: Path) -> None:
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(2)))
    bad = _ticks(G1, range(2)).with_columns(pl.Series("tick", [5, None], dtype=pl.Int32))
    with pytest.raises(SchemaViolation, match=r"null key column\(s\) \['tick'\]") as err:
        delta_write.append_absent(tmp_path, "ticks", bad)
    assert err.value.failure_cases == ["tick"]
    assert _version(tmp_path, "ticks") == 1


def test_raw_events_of_two_kinds_of_frame_id_are_deduplicated(tmp_path: Path) -> None:
    n = 4
    raw = pl.DataFrame({
        "frame_id": [f"{i:032x}" for i in range(n)],
        "recv_ts": [T0, T0 + timedelta(seconds=1), None, T0],
        "recv_mono_ns": [1, 2, 3, 4], "session_id": ["s1", "s1", None, None],
        "seq": [1, 2, None, None], "event": ["e"] * n, "game_id": [G1, G1, None, None],
        "args_json": ["[]"] * n, "source": ["live"] * n,
    })
    assert delta_write.append_absent(tmp_path, "raw_events", raw) == 4
    assert delta_write.append_absent(tmp_path, "raw_events", raw) == 0
    assert delta_read.read_rows(tmp_path, "raw_events").height == 4


# ---- merge and replace tables -----------------------------------------------------------


def test_upsert_keeps_the_first_non_null_seed_and_a_reingest_commits_nothing(
    tmp_path: Path,
) -> None:
    combine = _merge("seeds")
    assert delta_write.upsert(tmp_path, "seeds", _seed(G1, None), combine) == (1, 0)
    assert delta_write.upsert(tmp_path, "seeds", _seed(G1, "s3cret", None), combine) == (0, 1)
    assert delta_write.upsert(tmp_path, "seeds", _seed(G1, "other"), combine) == (0, 0)
    version = _version(tmp_path, "seeds")
    assert delta_write.upsert(tmp_path, "seeds", _seed(G1, "s3cret"), combine) == (0, 0)
    assert _version(tmp_path, "seeds") == version
    row = delta_read.read_rows(tmp_path, "seeds").row(0, named=True)
    assert (row["server_seed_hash"], row["server_seed"]) == (HASH, "s3cret")


def test_upsert_applies_the_games_rules_min_rug_tick_and_any_rugged(tmp_path: Path) -> None:
    combine = _merge("games")
    delta_write.upsert(tmp_path, "games", _game(G1, rug_tick=12, rugged=None, peak_x=2.0),
                       combine)
    delta_write.upsert(tmp_path, "games", _game(G1, rug_tick=10, rugged=True, peak_x=1.5),
                       combine)
    assert delta_write.upsert(tmp_path, "games", _game(G1, rug_tick=15, rugged=False),
                              combine) == (0, 0)
    delta_write.upsert(tmp_path, "games", _game(G2, rug_tick=3), combine)
    games = delta_read.read_rows(tmp_path, "games").sort("game_id")
    assert games.select("game_id", "rug_tick", "rugged", "peak_x").rows() == [
        (G1, 10, True, 2.0), (G2, 3, None, None)]


def test_upsert_of_side_bets_matches_on_the_three_column_key(tmp_path: Path) -> None:
    row = {c: None for c in TABLES["side_bets"].columns}
    row.update(game_id=G1, player_id="p1", start_tick=3, end_tick=43, bet_amount_sol=0.1,
               practice=False, resolved=False)
    bets = pl.DataFrame([row, {**row, "start_tick": 50, "end_tick": 90}],
                        schema=TABLES["side_bets"].polars_schema)
    combine = _merge("side_bets")
    assert delta_write.upsert(tmp_path, "side_bets", bets, combine) == (2, 0)
    resolved = bets.head(1).with_columns(resolved=pl.lit(True), won=pl.lit(True))
    assert delta_write.upsert(tmp_path, "side_bets", resolved, combine) == (0, 1)
    assert delta_write.upsert(tmp_path, "side_bets", bets, combine) == (0, 0)
    got = delta_read.read_rows(tmp_path, "side_bets").sort("start_tick")
    assert got.select("start_tick", "resolved", "won").rows() == [(3, True, True),
                                                                  (50, False, None)]


def test_replace_rows_replaces_only_the_scope_games(tmp_path: Path) -> None:
    delta_write.replace_rows(tmp_path, "gaps", _gaps([(G1, 1, 2), (G1, 5, 6), (G2, 0, 0)]),
                             [G1, G2])
    got = delta_write.replace_rows(tmp_path, "gaps", _gaps([(G1, 1, 3), (G1, 9, 9)]), [G1])
    assert got == (1, 1, 1)
    version = _version(tmp_path, "gaps")
    assert delta_write.replace_rows(tmp_path, "gaps", _gaps([(G1, 9, 9), (G1, 1, 3)]),
                                    [G1]) == (0, 0, 0)
    assert _version(tmp_path, "gaps") == version
    rows = delta_read.read_rows(tmp_path, "gaps").sort("game_id", "tick_from")
    assert rows.select("game_id", "tick_from", "tick_to").rows() == [
        (G1, 1, 3), (G1, 9, 9), (G2, 0, 0)]
    assert delta_write.replace_rows(tmp_path, "gaps", _gaps([]), [G1]) == (0, 0, 2)
    assert delta_read.read_rows(tmp_path, "gaps")["game_id"].to_list() == [G2]
    # the deletes ride in the merge's source, marked by a column that never reaches the table
    from deltalake import DeltaTable

    names = DeltaTable(str(tmp_path / "gaps")).schema().to_arrow().names
    assert delta_write._GONE not in names and "game_id" in names


def test_replace_rows_refuses_rows_outside_the_scope(tmp_path: Path) -> None:
    with pytest.raises(SchemaViolation, match="outside scope_game_ids"):
        delta_write.replace_rows(tmp_path, "gaps", _gaps([(G2, 1, 1)]), [G1])


# ---- reads and time travel --------------------------------------------------------------


def test_read_rows_is_typed_and_empty_with_the_schema_without_a_table(tmp_path: Path) -> None:
    empty = delta_read.read_rows(tmp_path, "ticks")
    assert (empty.height, empty.schema) == (0, pl.Schema(TABLES["ticks"].polars_schema))
    delta_write.append_absent(tmp_path, "ticks",
                              pl.concat([_ticks(G1, range(4)), _ticks(G2, range(2))]))
    rows = delta_read.read_rows(tmp_path, "ticks")
    assert rows.schema == pl.Schema(TABLES["ticks"].polars_schema)
    some = delta_read.read_rows(tmp_path, "ticks", columns=["tick", "date"],
                           where=pl.col("tick") >= 1, days=["2025-12-07"])
    assert some.schema == pl.Schema({"tick": pl.Int32, "date": pl.Date})
    assert some.sort("tick").rows() == [(t, date(2025, 12, 7)) for t in (1, 2, 3)]


def test_as_of_reads_the_first_step_at_the_first_steps_time(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    time.sleep(0.02)
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(3)))
    time.sleep(0.02)
    between = datetime.now(UTC)
    time.sleep(0.02)
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(3, 6)))
    ticks = delta_read.read_rows(tmp_path, "ticks", as_of=between)["tick"].sort().to_list()
    assert ticks == [0, 1, 2]
    naive = between.replace(tzinfo=None)  # naive means UTC
    assert delta_read.read_rows(tmp_path, "ticks", as_of=naive).height == 3
    assert delta_read.read_rows(tmp_path, "ticks").height == 6
    # before the table's creation the table did not exist: it reads as empty
    assert delta.open_table(tmp_path, "ticks", as_of=before) is None
    assert delta_read.read_rows(tmp_path, "ticks", as_of=before).height == 0
    assert len(delta_read.snapshot_files(tmp_path, "ticks", version=1)) == 1


def test_as_of_before_the_retained_log_names_the_earliest_time(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    time.sleep(0.02)
    for i in range(3):
        delta_write.append_absent(tmp_path, "ticks", _ticks(G1, [i]))
    delta.open_table(tmp_path, "ticks").create_checkpoint()
    log = tmp_path / "ticks" / "_delta_log"
    for v in (0, 1):  # what the log retention does to old commits
        (log / f"{v:020d}.json").unlink()
    with pytest.raises(LakeError, match=r"its log starts at version 2 \(20") as err:
        delta_read.read_rows(tmp_path, "ticks", as_of=before)
    assert err.value.path == tmp_path / "ticks"
    assert delta_read.read_rows(tmp_path, "ticks").height == 3


def test_a_missing_version_names_the_table_and_the_fix(tmp_path: Path) -> None:
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(2)))
    with pytest.raises(LakeError, match=r"has no version 99: .*; pass a version the table has"):
        delta_read.read_rows(tmp_path, "ticks", version=99)


def test_a_lake_snapshot_lists_existing_tables_with_versions_and_commit_times(
    tmp_path: Path,
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(2)))
    delta_write.upsert(tmp_path, "seeds", _seed(G1, None), _merge("seeds"))
    tables = lake_snapshot(tmp_path).tables
    assert sorted(tables) == ["seeds", "ticks"]
    assert [tables[t].version for t in ("seeds", "ticks")] == [1, 1]
    assert all(start <= s.committed_at <= datetime.now(UTC) for s in tables.values())


# ---- bad folders ------------------------------------------------------------------------


def test_an_old_layout_folder_names_the_path_and_the_migration(tmp_path: Path) -> None:
    part = tmp_path / "ticks" / "date=2025-12-07"
    part.mkdir(parents=True)
    _ticks(G1, range(2)).write_parquet(part / "data.parquet")
    with pytest.raises(LakeError, match=r"old lake layout.*rugslab lake migrate --lake") as err:
        delta_read.read_rows(tmp_path, "ticks")
    assert str(tmp_path / "ticks") in str(err.value)
    with pytest.raises(LakeError, match="old lake layout"):
        delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(2)))


def test_a_log_folder_made_between_the_checks_is_a_table_being_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's `ensure_table` makes `_delta_log` just after this one looked for it
    (CI stop 26: 'neither a Delta table ... it holds _delta_log'). The folder is a table being
    created, not a foreign folder."""
    folder = tmp_path / "ticks"
    folder.mkdir()
    real_is_dir = Path.is_dir

    def late_log(self: Path) -> bool:
        if self == folder / delta.LOG_DIR and not real_is_dir(self):
            self.mkdir()  # the other writer's mkdir lands right after this check
            return False
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", late_log)
    assert delta.open_table(tmp_path, "ticks") is None  # no commit yet: no table, no error
    monkeypatch.undo()
    assert delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(3))) == 3
    (tmp_path / "trades").mkdir()
    (tmp_path / "trades" / "notes.txt").write_text("x")
    with pytest.raises(LakeError, match="neither a Delta table"):
        delta_read.read_rows(tmp_path, "trades")


def test_a_corrupt_log_names_the_path_and_the_fix_without_a_backtrace(tmp_path: Path) -> None:
    delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(2)))
    (tmp_path / "ticks" / "_delta_log" / f"{1:020d}.json").write_text("{garbage")
    with pytest.raises(LakeError, match="corrupt") as err:
        delta_read.read_rows(tmp_path, "ticks")
    msg = str(err.value)
    assert str(tmp_path / "ticks" / "_delta_log") in msg
    assert "restore the table's _delta_log" in msg
    assert "\n" not in msg  # delta-rs appends a Rust backtrace; the message keeps line 1


def _nobody_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="rugslab-nobody-"))
    d.chmod(0o755)
    return d


def _python_for_nobody(env: dict[str, str]) -> str:
    """A python of this version that user nobody may run and that imports rugslab and
    deltalake with `env` (the venv's interpreter lives under /root; a clone or venv in a
    private folder cannot be read by nobody at all: then the test is skipped, saying so)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    exe = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if exe is None:
        pytest.skip(f"no system {version} that user nobody can run")
    probe = subprocess.run([exe, "-c", "import rugslab.lake.delta"], env=env,
                           capture_output=True, timeout=120, check=False,
                           preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
    if probe.returncode != 0:
        pytest.skip("user nobody cannot import rugslab here (the repository or its venv is in "
                    "a folder only root may enter)")
    return exe


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a reader as user nobody")
def test_an_unreadable_table_folder_gives_a_lake_error_as_another_user() -> None:
    site = sysconfig.get_paths()["purelib"]
    lake = _nobody_dir()
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{site}", "HOME": str(lake)}
    python = _python_for_nobody(env)
    try:
        delta_write.append_absent(lake, "ticks", _ticks(G1, range(2)))
        (lake / "ticks").chmod(0o700)
        code = ("import sys\nfrom rugslab.errors import LakeError\n"
                "from rugslab.lake import delta_read\n"
                "try:\n    delta_read.read_rows(sys.argv[1], 'ticks')\n"
                "except LakeError as e:\n    print(e)\n    sys.exit(3)\n")
        proc = subprocess.run(
            [python, "-c", code, str(lake)], capture_output=True,
            env=env, text=True, timeout=120,
            preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
        assert proc.returncode == 3, proc.stderr
        assert f"cannot read lake table folder {lake / 'ticks'}" in proc.stdout
        assert "give this user read access" in proc.stdout
    finally:
        shutil.rmtree(lake)


def test_a_read_only_lake_gives_a_lake_error_naming_the_path(tmp_path: Path) -> None:
    src, ro = tmp_path / "lake", tmp_path / "ro"
    delta_write.append_absent(src, "ticks", _ticks(G1, range(2)))
    ro.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here (needs root): {mounted.stderr.strip()!r}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)],
                                 capture_output=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()!r}")
        with pytest.raises(LakeError, match="writable") as err:
            delta_write.append_absent(ro, "ticks", _ticks(G1, range(2, 4)))
        assert str(ro / "ticks") in str(err.value)
        with pytest.raises(LakeError, match="writable"):
            delta_write.append_absent(ro, "trades", _trade("t1"))
        assert delta_read.read_rows(ro, "ticks").height == 2
    finally:
        subprocess.run(["umount", str(ro)], check=False)


# ---- concurrency, kills, exit status ------------------------------------------------------

_WRITER = """
import sys, time
import polars as pl
from datetime import datetime, UTC
from rugslab.lake import delta_write
lake, start, me = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
G = "20251207-e8186dbf38e046d1"
while time.time() < start:
    time.sleep(0.001)
inserted = 0
for b in range(8):
    ticks = list(range(b * 20, b * 20 + 30 + me * 5))  # overlaps the other writers' batches
    n = len(ticks)
    frame = pl.DataFrame({"game_id": [G] * n, "tick": ticks, "price_x": [1.0] * n,
                          "recv_ts": [datetime(2025, 12, 7, tzinfo=UTC)] * n,
                          "source": ["live"] * n, "is_rug": [False] * n})
    inserted += delta_write.append_absent(lake, "ticks", frame)
    raw = pl.DataFrame({"frame_id": [f"{t:032x}" for t in ticks],
                        "recv_ts": [datetime(2025, 12, 7, tzinfo=UTC)] * n,
                        "recv_mono_ns": ticks, "session_id": ["s"] * n, "seq": ticks,
                        "event": ["e"] * n, "game_id": [G] * n, "args_json": ["[]"] * n,
                        "source": ["live"] * n})
    inserted += delta_write.append_absent(lake, "raw_events", raw)
print(inserted)
"""


def _concurrent_appends(lake: Path, writers: int) -> None:
    start = time.time() + 2.0  # every interpreter is up and spinning by then
    procs = [_spawn(_WRITER, str(lake), str(start), str(me)) for me in range(writers)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, [e for _, e in outs]
    expected = set(range(7 * 20 + 30 + (writers - 1) * 5))
    ticks = delta_read.read_rows(lake, "ticks")["tick"].to_list()
    assert len(ticks) == len(set(ticks)) == len(expected)
    assert set(ticks) == expected
    raw = delta_read.read_rows(lake, "raw_events")["seq"].to_list()
    assert sorted(raw) == sorted(expected)
    # each row was inserted by exactly one writer
    assert sum(int(out.strip()) for out, _ in outs) == 2 * len(expected)


@pytest.mark.slow
def test_two_processes_appending_overlapping_keys_at_once_store_each_key_once(
    tmp_path: Path,
) -> None:
    _concurrent_appends(tmp_path, 2)


@pytest.mark.slow
def test_three_processes_appending_overlapping_keys_at_once_store_each_key_once(
    tmp_path: Path,
) -> None:
    _concurrent_appends(tmp_path, 3)


_UPSERTER = """
import sys, time
import polars as pl
from rugslab.lake import delta_write
from rugslab.lake.merge import merge_rows
from rugslab.tables.schemas import TABLES
lake, start, me = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
for r in range(6):
    rows = []
    for g in range(4):
        row = {c: None for c in TABLES["games"].columns}
        row.update(game_id=f"20251207-{g:016x}", seen_live=(me == 0 and r == 5),
                   revealed=False, rug_tick=100 - 10 * me - r, peak_x=float(me * 10 + r))
        rows.append(row)
    frame = pl.DataFrame(rows, schema=TABLES["games"].polars_schema)
    delta_write.upsert(lake, "games", frame,
                       lambda old, new: merge_rows(pl.concat([old, new]), "games"))
"""


@pytest.mark.slow
def test_concurrent_upserts_apply_every_writers_values(tmp_path: Path) -> None:
    start = time.time() + 2.0
    procs = [_spawn(_UPSERTER, str(tmp_path), str(start), str(me)) for me in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    games = delta_read.read_rows(tmp_path, "games").sort("game_id")
    assert games.height == 4
    # min rug tick over every write (100 - 20 - 5), max peak (25.0), any seen_live
    assert set(games.select("rug_tick", "peak_x", "seen_live").rows()) == {(75, 25.0, True)}


@pytest.mark.slow
def test_processes_racing_to_create_a_table_make_one_creation_commit(tmp_path: Path) -> None:
    code = """
    import sys, time
    from rugslab.lake import delta
    lake, start = sys.argv[1], float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.0005)
    print(delta.ensure_table(lake, "ticks").version())
    """
    for round_ in range(6):  # plain DeltaTable.create made two creation commits in 4 of 11
        lake = tmp_path / str(round_)
        start = time.time() + 1.5
        procs = [_spawn(code, str(lake), str(start)) for _ in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
        log = lake / "ticks" / "_delta_log"
        assert sorted(p.name for p in log.iterdir()) == [f"{0:020d}.json"]
        assert [o.strip() for o, _ in outs] == ["0", "0", "0"]
        assert not [p for p in (lake / "ticks").iterdir() if p.name.startswith("_create")]


_KILLED_WRITER = """
import sys
import polars as pl
from datetime import datetime, UTC
from rugslab.lake import delta_maintain, delta_read, delta_write
lake = sys.argv[1]
G = "20251207-e8186dbf38e046d1"
done = delta_read.read_rows(lake, "ticks")["tick"].max()
b = 0 if done is None else (done - 9) // 10
while True:
    ticks = list(range(b * 10, b * 10 + 20))  # overlaps the previous batch by 10
    frame = pl.DataFrame({"game_id": [G] * 20, "tick": ticks, "price_x": [1.0] * 20,
                          "recv_ts": [datetime(2025, 12, 7, tzinfo=UTC)] * 20,
                          "source": ["live"] * 20, "is_rug": [False] * 20})
    delta_write.append_absent(lake, "ticks", frame)
    print(b, flush=True)
    delta_maintain.maintain(lake, "ticks", days=["2025-12-07"], commits_between_compactions=4,
                            checkpoint_every=5)
    if b % 7 == 6:
        delta_maintain.compact_table(lake, "ticks", retention=__import__("datetime").timedelta(0))
    b += 1
"""


def _check_ticks_whole(lake: Path) -> list[int]:
    ticks = delta_read.read_rows(lake, "ticks")["tick"].to_list()
    assert len(ticks) == len(set(ticks)), "duplicated rows"
    assert sorted(ticks) == list(range(len(ticks))), "a batch was half-written"
    return ticks


@pytest.mark.slow
def test_kill_9_of_a_writer_at_any_moment_leaves_the_table_whole(tmp_path: Path) -> None:
    delays = [0.9, 1.7, 2.3, 1.1, 3.1, 2.7, 1.9, 2.2]
    for delay in delays:
        proc = _spawn(_KILLED_WRITER, str(tmp_path))
        time.sleep(delay + 1.5)  # interpreter start-up, then some commits and maintenance
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        _check_ticks_whole(tmp_path)
    ticks = _check_ticks_whole(tmp_path)
    assert len(ticks) >= 40, "the writer never committed: the kills tested nothing"
    delta_maintain.compact_table(tmp_path, "ticks", retention=timedelta(0))
    assert sorted(delta_read.read_rows(tmp_path, "ticks")["tick"].to_list()) == sorted(ticks)


_CYCLE = """
import sys
from datetime import datetime, UTC, timedelta
import duckdb
import polars as pl
from rugslab.lake import delta_maintain, delta_read, delta_write
from rugslab.lake.merge import merge_rows
from rugslab.lake.snapshot import lake_snapshot
from rugslab.tables.schemas import TABLES
lake = sys.argv[1]
G = "20251207-e8186dbf38e046d1"
t = datetime(2025, 12, 7, tzinfo=UTC)
for b in range(3):
    ticks = list(range(b * 10, b * 10 + 15))
    n = len(ticks)
    delta_write.append_absent(lake, "ticks", pl.DataFrame({
        "game_id": [G] * n, "tick": ticks, "price_x": [1.0] * n, "recv_ts": [t] * n,
        "source": ["live"] * n, "is_rug": [False] * n}))
    row = {c: None for c in TABLES["games"].columns}
    row.update(game_id=G, seen_live=True, revealed=False, rug_tick=50 - b)
    delta_write.upsert(lake, "games", pl.DataFrame([row], schema=TABLES["games"].polars_schema),
                       lambda old, new: merge_rows(pl.concat([old, new]), "games"))
gaps = pl.DataFrame({"game_id": [G], "tick_from": [40], "tick_to": [45], "n_ticks": [6],
                     "reason": ["not_received"]}, schema=TABLES["gaps"].polars_schema)
delta_write.replace_rows(lake, "gaps", gaps, [G])
assert delta_read.read_rows(lake, "ticks").height == 35
files = [str(p) for p, _ in delta_read.snapshot_files(lake, "ticks")]
con = duckdb.connect()
assert con.execute(f"SELECT count(*) FROM read_parquet({files}, hive_partitioning = true)"
                   ).fetchone()[0] == 35
con.close()
assert pl.scan_delta(f"{lake}/ticks").collect().height == 35
delta_maintain.maintain(lake, "ticks", commits_between_compactions=2)
for name in ("ticks", "games", "gaps"):
    delta_maintain.compact_table(lake, name, retention=timedelta(0))
assert delta_read.read_rows(lake, "ticks").height == 35
print(sorted(lake_snapshot(lake).versions()))
"""


@pytest.mark.slow
def test_twenty_write_read_maintain_cycles_each_exit_0(tmp_path: Path) -> None:
    for run in range(20):
        lake = tmp_path / str(run)
        proc = subprocess.run([sys.executable, "-c", _CYCLE, str(lake)], env=_env(),
                              capture_output=True, text=True, timeout=300)
        assert (run, proc.returncode) == (run, 0), proc.stderr[-2000:]
        assert "terminate called" not in proc.stderr
        assert proc.stdout.strip() == "['games', 'gaps', 'ticks']"


# ---- maintenance ------------------------------------------------------------------------


def _on_disk(lake: Path, table: str) -> set[str]:
    return {p.name for p in (lake / table).glob("date=*/*.parquet")}


def test_maintain_compacts_a_partition_and_keeps_the_rows(tmp_path: Path) -> None:
    for b in range(6):
        delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(b * 5, b * 5 + 5)))
    before = delta_read.read_rows(tmp_path, "ticks").sort("tick")
    assert len(delta_read.snapshot_files(tmp_path, "ticks")) == 6
    rep = delta_maintain.maintain(tmp_path, "ticks", days=["2025-12-07"],
                                  commits_between_compactions=7)
    assert rep.compacted == [] and len(delta_read.snapshot_files(tmp_path, "ticks")) == 6
    rep = delta_maintain.maintain(tmp_path, "ticks", days=["2025-12-07"],
                                  commits_between_compactions=5)
    assert (rep.compacted, rep.files_removed, rep.files_added) == ([date(2025, 12, 7)], 6, 1)
    assert len(delta_read.snapshot_files(tmp_path, "ticks")) == 1
    assert delta_read.read_rows(tmp_path, "ticks").sort("tick").equals(before)


def test_maintain_checkpoints_after_the_interval(tmp_path: Path) -> None:
    for b in range(4):
        delta_write.append_absent(tmp_path, "ticks", _ticks(G1, [b]))
    path = tmp_path / "ticks"
    assert delta_maintain.last_checkpoint(path) is None
    delta_maintain.maintain(tmp_path, "ticks", checkpoint_every=3)
    version = _version(tmp_path, "ticks")
    assert version - delta_maintain.last_checkpoint(path) < 3
    config = delta.open_table(tmp_path, "ticks").metadata().configuration
    assert config["delta.checkpointInterval"] == "3"  # the post-commit hook's interval
    for b in range(4, 7):
        delta_write.append_absent(tmp_path, "ticks", _ticks(G1, [b]))
    assert _version(tmp_path, "ticks") - delta_maintain.last_checkpoint(path) < 3
    assert delta_read.read_rows(tmp_path, "ticks")["tick"].sort().to_list() == list(range(7))


def test_vacuum_removes_unreferenced_files_only_after_the_retention(tmp_path: Path) -> None:
    for b in range(3):
        delta_write.append_absent(tmp_path, "ticks", _ticks(G1, range(b * 5, b * 5 + 5)))
    old_version = _version(tmp_path, "ticks")
    first_files = _on_disk(tmp_path, "ticks")
    delta_maintain.maintain(tmp_path, "ticks", commits_between_compactions=2)
    live = {p.name for p, _ in delta_read.snapshot_files(tmp_path, "ticks")}
    folder = tmp_path / "ticks" / "date=2025-12-07"
    young, aged = folder / "part-killed-young.parquet", folder / "part-killed-aged.parquet"
    for orphan in (young, aged):  # data files of writers killed before their commit
        shutil.copy(folder / sorted(live)[0], orphan)
    three_hours_ago = time.time() - 3 * 3600
    os.utime(aged, (three_hours_ago, three_hours_ago))

    rep = delta_maintain.compact_table(tmp_path, "ticks", retention=timedelta(hours=1))
    assert rep.vacuumed == 1
    assert _on_disk(tmp_path, "ticks") == first_files | live | {young.name}
    # the replaced files are still there: the old version still reads
    assert delta_read.read_rows(tmp_path, "ticks", version=old_version).height == 15

    rep = delta_maintain.compact_table(tmp_path, "ticks", retention=timedelta(0))
    assert rep.vacuumed == len(first_files) + 1
    assert _on_disk(tmp_path, "ticks") == live
    assert delta_read.read_rows(tmp_path, "ticks")["tick"].sort().to_list() == list(range(15))


def test_rust_panic_reports_are_dropped_and_other_stderr_kept() -> None:
    from rugslab.lake.native import drop_panic_reports

    text = (b"before\n\n"
            b"thread 'tokio-rt-worker' (19976) panicked at /x/object_store-0.13.2/src/"
            b"buffered.rs:369:41:\nAlready shut down\nstack backtrace:\n"
            b"   0: rust_begin_unwind\n             at /rustc/x/panicking.rs:665:5\n"
            b"note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose "
            b"backtrace.\nafter\n")
    assert drop_panic_reports(text) == b"before\nafter\n"
    assert drop_panic_reports(b"a line\n") == b"a line\n"


@pytest.mark.parametrize("command", [["sql", "SELECT count(*) FROM ticks"], ["status"],
                                     ["ingest", "--no-progress"]])
def test_a_table_folder_of_neither_layout_is_one_line_naming_it_and_the_fix(
    tmp_path: Path, command: list[str], captures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rugslab.cli import main

    lake = tmp_path / "lake"
    (lake / "ticks").mkdir(parents=True)
    (lake / "ticks" / "notes.txt").write_text("my analysis")
    args = [*command, "--lake", str(lake)]
    if command[0] == "ingest":
        args.append(str(captures_dir / "2026-02-06_phase-samples.json"))
    code = main([args[0], *args[1:]])
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert len(err.strip().splitlines()) == 1, err
    assert f"{lake / 'ticks'} is neither a Delta table" in err
    assert "holds notes.txt" in err and "Move it out of the lake folder" in err
    assert (lake / "ticks" / "notes.txt").read_text() == "my analysis"  # left as it was
