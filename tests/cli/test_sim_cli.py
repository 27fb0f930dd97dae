"""`rugslab sim lake`: simulated games straight into a lake, marked, valid and deterministic."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import polars as pl
import pytest

from rugslab.cli import main
from rugslab.feed.rules import SIM_GAME_ID_MARKER, is_sim_game_id
from rugslab.lake.delta_read import read_rows
from rugslab.notebook import game_origins
from rugslab.sim.lake import TABLES_WRITTEN
from rugslab.tables.schemas import TABLES

#: 14 games at 4 a day: 4 days, the last one partial.
ARGS = ["--games", "14", "--games-per-day", "4", "--start", "2026-03-30", "--seed", "5",
        "--no-progress"]


def _tables(lake: Path) -> dict[str, pl.DataFrame]:
    return {t: read_rows(lake, t).sort(TABLES[t].key) for t in TABLES_WRITTEN}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    lake = tmp_path_factory.mktemp("sim") / "lake"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["sim", "lake", "--lake", str(lake), *ARGS]) == 0
    return lake, out.getvalue()


def test_the_summary_counts_the_games_days_and_rows_written(built: tuple[Path, str]) -> None:
    lake, out = built
    assert "14 simulated games over 4 days (2026-03-30 .. 2026-04-02)" in out
    assert "rejected: 0 rows" in out
    tables = _tables(lake)
    for t in TABLES_WRITTEN:
        n = tables[t].height
        assert f"{t:<10} {n:>12,} rows, {n:>12,} new" in out, t
    assert tables["games"].height == 14 and tables["ticks"].height > 14 * 2


def test_every_game_id_carries_the_marker_and_is_labelled_sim(built: tuple[Path, str]) -> None:
    tables = _tables(built[0])
    for t in TABLES_WRITTEN:
        ids = tables[t]["game_id"].unique().to_list()
        assert ids and all(is_sim_game_id(i) and SIM_GAME_ID_MARKER in i for i in ids), t
    games = tables["games"]
    assert sorted({i[:8] for i in games["game_id"]}) == ["20260330", "20260331", "20260401",
                                                         "20260402"]
    assert game_origins(built[0])["origin"].unique().to_list() == ["sim"]
    assert read_rows(built[0], "rejects").height == 0


def test_rows_pass_the_tables_pandera_schemas(built: tuple[Path, str]) -> None:
    for t, frame in _tables(built[0]).items():
        TABLES[t].model.validate(frame.drop("date", strict=False), lazy=True)


def test_the_same_seed_gives_equal_tables_and_a_rerun_adds_nothing(
    built: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = tmp_path / "again"
    assert main(["sim", "lake", "--lake", str(again), *ARGS]) == 0
    first, second = _tables(built[0]), _tables(again)
    for t in TABLES_WRITTEN:
        assert first[t].equals(second[t]), t
    capsys.readouterr()
    assert main(["sim", "lake", "--lake", str(again), *ARGS]) == 0
    out = capsys.readouterr().out
    assert all(f"{t:<10} {first[t].height:>12,} rows, {0:>12,} new" in out
               for t in TABLES_WRITTEN), out
    other = tmp_path / "other"
    assert main(["sim", "lake", "--lake", str(other), *ARGS[:-3], "--seed", "6"]) == 0
    assert set(_tables(other)["games"]["game_id"]).isdisjoint(first["games"]["game_id"])


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--games", "0", "Invalid --games 0: expected at least 1"),
    ("--games-per-day", "2000", "Invalid --games-per-day 2000: expected 1 to 1440"),
    ("--start", "2026-02-30", "Invalid --start '2026-02-30': expected a date YYYY-MM-DD"),
    ("--seed", "-1", "Invalid --seed -1: expected a whole number ≥ 0"),
    ("--players", "0", "Invalid --players 0: expected at least 1"),
])
def test_bad_values_exit_2_naming_the_flag_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, says: str
) -> None:
    args = ["sim", "lake", "--lake", str(tmp_path / "lake"), "--games", "3", flag, value]
    assert main(args) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "lake" / "games").exists()
