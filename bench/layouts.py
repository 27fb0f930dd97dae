"""Benchmark: the lake against the original design's layout (one JSON file per game).

    .venv/bin/python bench/layouts.py [--days 30] [--games-per-day 1440] [--seed 0] [--keep DIR]

Builds `--days` days of simulated games with `rugslab.sim.lake.build_sim_lake` (default: a
month at one a minute, 43,200 games), then writes the same games in the original design's
layout: one JSON file per game holding its `games` row, its seed, its ticks, trades and side
bets (every column; timestamps as ISO 8601 text), read back from the lake day by day.

Then the named analyses that the JSON holds the inputs of (`games_per_day`, `seed_status`,
`sidebet_results_by_start_tick`, `tick_intervals`; `paper_runs` and `rejects_by_reason` have
no JSON counterpart) on both, each producing its full result rows:

    lake   DuckDB over the lake (`rugslab.lake.catalog.connect`, the named query's view),
           its rows fetched as a polars frame (as `rugslab.notebook.Lab.sql` gives them)
    json   every game file read and parsed (`json.load`), the same rows computed in Python
           (the way the original design's scripts did it)

Each pair must give the same number of rows (checked: a mismatch stops the bench). Prints
sizes on disk, each analysis's times and the ratio json / lake. Goals (issue 21): the lake
>= 50x faster on each analysis, its size <= 10% of the JSON's. Not a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rugslab.lake.catalog import connect  # noqa: E402
from rugslab.lake.delta_read import read_rows  # noqa: E402
from rugslab.sim.lake import TABLES_WRITTEN, build_sim_lake  # noqa: E402

START = date(2026, 1, 1)
PER_GAME = ("ticks", "trades", "side_bets")


def size_on_disk(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def write_json_layout(lake: Path, out: Path, days: int) -> int:
    """One `<game_id>.json` per game under `out/<YYYY-MM-DD>/`, from the lake, a day at a
    time. Returns the number of files."""
    files = 0
    for i in range(days):
        day = (START + timedelta(days=i)).isoformat()
        rows = {t: read_rows(lake, t, days=[day]) for t in TABLES_WRITTEN}
        if rows["games"].height == 0:
            continue
        by_game = {t: rows[t].partition_by("game_id", as_dict=True) for t in (*PER_GAME, "seeds")}
        folder = out / day
        folder.mkdir(parents=True)
        for game in rows["games"].drop("date", strict=False).iter_rows(named=True):
            key = (game["game_id"],)
            doc: dict[str, Any] = {"game": game}
            seed = by_game["seeds"].get(key)
            doc["seed"] = None if seed is None else seed.drop("date", strict=False).row(
                0, named=True)
            for t in PER_GAME:
                part = by_game[t].get(key)
                doc[t] = [] if part is None else part.drop("date", strict=False).to_dicts()
            (folder / f"{game['game_id']}.json").write_text(json.dumps(doc, default=str))
            files += 1
    return files


def _games(folder: Path) -> Iterator[dict[str, Any]]:
    for p in sorted(folder.rglob("*.json")):
        with open(p, encoding="utf-8") as f:
            yield json.load(f)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def json_games_per_day(folder: Path) -> list[tuple[Any, ...]]:
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in _games(folder):
        per[doc["game"]["game_id"][:8]].append(doc["game"])
    out = []
    for day, gs in sorted(per.items()):
        rugs = [g["rug_tick"] for g in gs if g["rug_tick"] is not None]
        out.append((day, len(gs), sum(bool(g["seen_live"]) for g in gs),
                    sum(bool(g["rugged"]) or g["rug_tick"] is not None for g in gs), len(rugs),
                    sum(bool(g["revealed"]) for g in gs),
                    sum(g["completeness"] == "complete" for g in gs),
                    sum(rugs) / len(rugs) if rugs else None,
                    statistics.median(g["peak_x"] for g in gs if g["peak_x"] is not None)))
    return out


def json_seed_status(folder: Path) -> list[tuple[Any, ...]]:
    out = []
    for doc in _games(folder):
        g, s = doc["game"], doc["seed"] or {}
        out.append((g["game_id"], g["game_id"][:8], s.get("version") or g["version"],
                    s.get("server_seed_hash") or g["server_seed_hash"],
                    s.get("server_seed") is not None, s.get("hash_ok"), g["rug_tick"],
                    g["peak_x"]))
    return sorted(out)


def json_sidebet_results(folder: Path) -> list[tuple[Any, ...]]:
    acc: dict[tuple[int, bool], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0])
    for doc in _games(folder):
        for b in doc["side_bets"]:
            if not b["resolved"]:
                continue
            a = acc[(b["start_tick"], b["practice"])]
            a[0] += 1
            a[1] += bool(b["won"])
            a[2] += b["bet_amount_sol"] or 0.0
            a[3] += b["payout_sol"] or 0.0
            a[4] += b["profit_sol"] or 0.0
    return [(k[0], k[1], a[0], a[1], a[1] / a[0], a[2], a[3], a[4], a[3] / a[2] if a[2] else None)
            for k, a in sorted(acc.items())]


def json_tick_intervals(folder: Path) -> list[tuple[Any, ...]]:
    out = []
    for doc in _games(folder):
        rug = doc["game"]["rug_tick"]
        ticks = sorted((t["tick"], _ts(t["recv_ts"])) for t in doc["ticks"]
                       if t["source"] == "live" and t["recv_ts"] is not None
                       and (rug is None or t["tick"] <= rug))
        gid = doc["game"]["game_id"]
        for (pt, pts), (tk, ts) in itertools.pairwise(ticks):
            out.append((gid, tk, pt, tk - pt, (ts - pts) / timedelta(milliseconds=1)))
    return out


JSON_SIDE: dict[str, Callable[[Path], list[tuple[Any, ...]]]] = {
    "games_per_day": json_games_per_day,
    "seed_status": json_seed_status,
    "sidebet_results_by_start_tick": json_sidebet_results,
    "tick_intervals": json_tick_intervals,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--games-per-day", type=int, default=1440)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="build here (must not exist) and "
                    "keep it; default: a temporary folder, removed at the end")
    a = ap.parse_args()
    if a.keep is not None and a.keep.exists():
        sys.exit(f"bench/layouts.py: --keep {a.keep} exists; give a new folder.")
    root = a.keep if a.keep is not None else Path(tempfile.mkdtemp(prefix="rugslab-layouts-"))
    lake, js = root / "lake", root / "json"
    try:
        games = a.days * a.games_per_day
        s = build_sim_lake(lake, games=games, start=START, seed=a.seed,
                           games_per_day=a.games_per_day)
        t0 = time.perf_counter()
        files = write_json_layout(lake, js, a.days)
        t_json = time.perf_counter() - t0
        lake_b, json_b = size_on_disk(lake), size_on_disk(js)
        # the JSON holds these tables only; the lake also keeps tables derived from them
        same_b = sum(size_on_disk(lake / t) for t in TABLES_WRITTEN if (lake / t).is_dir())
        print(f"{games:,} games over {a.days} days, {s.rows['ticks']:,} ticks, "
              f"{s.rows['trades']:,} trades, {s.rows['side_bets']:,} side bets")
        print(f"lake: {lake_b / 2**20:,.1f} MiB (built in {s.seconds:.1f} s); json: "
              f"{json_b / 2**20:,.1f} MiB in {files:,} files (written in {t_json:.1f} s); "
              f"lake / json size {lake_b / json_b:.1%} (goal <= 10%)")
        print(f"the lake's tables the JSON holds ({', '.join(TABLES_WRITTEN)}): "
              f"{same_b / 2**20:,.1f} MiB, {same_b / json_b:.1%} of the JSON; the derived "
              f"tables (gaps, player tables) {(lake_b - same_b) / 2**20:,.1f} MiB")
        print(f"\n{'analysis':<32}{'rows':>12}{'lake s':>10}{'json s':>10}{'json/lake':>11}")
        for name, fn in JSON_SIDE.items():
            t0 = time.perf_counter()
            with connect(lake) as con:
                lake_rows = con.sql(f"SELECT * FROM {name}").pl()
            t_lake = time.perf_counter() - t0
            t0 = time.perf_counter()
            json_rows = fn(js)
            t_js = time.perf_counter() - t0
            if lake_rows.height != len(json_rows):
                sys.exit(f"bench/layouts.py: {name}: {lake_rows.height} rows from the lake, "
                         f"{len(json_rows)} from the JSON files")
            print(f"{name:<32}{lake_rows.height:>12,}{t_lake:>10.2f}{t_js:>10.2f}"
                  f"{t_js / t_lake:>10.1f}x")
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
