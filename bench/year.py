"""Benchmark: a year of simulated games in the lake, then every named query and the report on it.

    .venv/bin/python bench/year.py [--games 525600] [--games-per-day 1440] [--lake DIR]
                                   [--keep] [--seed 0] [--resamples 1000] [--json FILE]
    .venv/bin/python bench/year.py --reuse DIR [--resamples 1000] [--json FILE]

Steps, each in its own process (`python -m rugslab ...`), timed from outside (wall time) and
measured with `os.wait4` (peak RSS of that process alone, `ru_maxrss`):

    build      `rugslab sim lake --games N --games-per-day K` into a fresh lake (default: a
               temporary folder, removed at the end unless --keep); its summary's rows and
               games/s, and the lake's size on disk (every file under it, bytes)
    query X    `rugslab sql "SELECT count(*) FROM X"` for each named query X of `queries/`:
               DuckDB evaluates the whole view over the lake and returns one row (the rows are
               counted, not sent to Python)
    report     `rugslab report --origin sim --format json` (its defaults: 1,000 resamples,
               a seeded sample of 20,000 games when the lake holds more)
    backtest   `rugslab backtest sidebet-fixed --source lake --all-origins --paths 1000
               --games 500`: every game of the lake is read into the lake source (its ticks
               streamed, 16 bytes a tick kept); no time goal, peak RSS <= 4 GB

`--reuse DIR` skips the build and times the queries and the report on a lake an earlier run
kept (`--keep --lake DIR`), e.g. the build under load, the queries later on a quiet machine.

Each step's time includes starting Python and importing rugslab (the first line of the output
gives that floor: `rugslab --version`). Goals (issue 21, a year = 525,600 games, this 2-core
24 GB machine): every named query <= 30 s, the report <= 120 s, peak RSS <= 4 GB. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOALS = {"query": 30.0, "report": 120.0}
RSS_GOAL_MIB = 4096


def run(args: list[str]) -> dict[str, Any]:
    """`python -m rugslab *args` in a fresh process: wall s, peak RSS MiB, exit code, output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "rugslab", *args], stdout=out,
                                stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"wall_s": wall, "rss_mib": usage.ru_maxrss / 1024, "code": proc.returncode,
                "out": out.read().decode(), "err": err.read().decode()}


def size_on_disk(folder: Path) -> int:
    """Bytes of every file under `folder` (data files and transaction logs)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _check(step: str, r: dict[str, Any]) -> None:
    if r["code"] != 0:
        sys.exit(f"bench/year.py: {step} exited {r['code']}:\n{r['err'][-2000:]}")


def _build(lake: Path, a: argparse.Namespace, results: dict[str, Any]) -> None:
    """The build step: `rugslab sim lake` into `lake`; its numbers into `results`."""
    build = run(["sim", "lake", "--lake", str(lake), "--games", str(a.games),
                 "--games-per-day", str(a.games_per_day), "--seed", str(a.seed),
                 "--no-progress"])
    _check("build", build)
    rate = re.search(r"([\d,]+) games/s", build["out"])
    size = size_on_disk(lake)
    results["build"] = {"wall_s": build["wall_s"], "rss_mib": build["rss_mib"],
                        "games_per_s_summary": rate and int(rate[1].replace(",", "")),
                        "games_per_s_wall": a.games / build["wall_s"],
                        "lake_bytes": size}
    print(build["out"].rstrip())
    print(f"build: {build['wall_s']:.1f} s wall ({a.games / build['wall_s']:,.0f} games/s "
          f"with the process start), peak RSS {build['rss_mib']:.0f} MiB; lake on disk "
          f"{size / 2**20:,.1f} MiB ({size / a.games / 1024:.1f} KiB a game)")


def main() -> None:
    from rugslab.lake.catalog import QUERIES_DIR, named_queries

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--games", type=int, default=525_600, help="games (default: a year)")
    ap.add_argument("--games-per-day", type=int, default=1440)
    ap.add_argument("--lake", type=Path, default=None, help="lake folder (must not exist)")
    ap.add_argument("--keep", action="store_true", help="keep the lake")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resamples", type=int, default=1000, help="report's --resamples")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="time the queries and the report on this kept lake (no build)")
    a = ap.parse_args()
    if a.reuse is not None:
        if not (a.reuse / "games").is_dir():
            sys.exit(f"bench/year.py: --reuse {a.reuse} holds no lake (no games table); "
                     "build one with --lake DIR --keep.")
        a.lake, a.keep = a.reuse, True
    elif a.lake is not None and a.lake.exists():
        sys.exit(f"bench/year.py: --lake {a.lake} exists; give a new folder (or --reuse it).")
    tmp = None if a.lake is not None else Path(tempfile.mkdtemp(prefix="rugslab-year-"))
    lake = a.lake if a.lake is not None else tmp / "lake"  # type: ignore[operator]
    results: dict[str, Any] = {"games": a.games, "games_per_day": a.games_per_day,
                               "cpus": os.cpu_count(), "lake": str(lake)}
    try:
        floor = run(["--version"])
        results["python_start_s"] = floor["wall_s"]
        print(f"python + rugslab start: {floor['wall_s']:.2f} s, {floor['rss_mib']:.0f} MiB")
        if a.reuse is None:
            _build(lake, a, results)
        else:
            r = run(["sql", "--lake", str(lake), "--format", "csv",
                     "SELECT count(*) AS n FROM games"])
            _check("count games", r)
            results["games"] = int(r["out"].split()[-1])
            results["lake_bytes"] = size_on_disk(lake)
            print(f"reused lake {lake}: {results['games']:,} games, "
                  f"{results['lake_bytes'] / 2**20:,.1f} MiB on disk (build not timed)")
        print(f"\n{'step':<36}{'rows':>14}{'wall s':>10}{'peak RSS MiB':>14}{'goal':>8}")
        steps: dict[str, Any] = {}
        for name in sorted(named_queries(QUERIES_DIR)):
            r = run(["sql", "--lake", str(lake), "--format", "csv",
                     f"SELECT count(*) AS n FROM {name}"])
            _check(f"query {name}", r)
            rows = int(r["out"].split()[-1])
            steps[f"query {name}"] = {"rows": rows, "wall_s": r["wall_s"],
                                      "rss_mib": r["rss_mib"]}
            ok = "ok" if r["wall_s"] <= GOALS["query"] and r["rss_mib"] <= RSS_GOAL_MIB else "MISS"
            print(f"{'query ' + name:<36}{rows:>14,}{r['wall_s']:>10.2f}{r['rss_mib']:>14.0f}"
                  f"{ok:>8}")
        r = run(["report", "--lake", str(lake), "--origin", "sim", "--format", "json",
                 "--resamples", str(a.resamples)])
        _check("report", r)
        rep = json.loads(r["out"])
        steps["report --origin sim"] = {"rows": rep["games"], "wall_s": r["wall_s"],
                                        "rss_mib": r["rss_mib"], "notes": rep.get("notes")}
        ok = "ok" if r["wall_s"] <= GOALS["report"] and r["rss_mib"] <= RSS_GOAL_MIB else "MISS"
        print(f"{'report --origin sim (games)':<36}{rep['games']:>14,}{r['wall_s']:>10.2f}"
              f"{r['rss_mib']:>14.0f}{ok:>8}")
        for note in rep.get("notes") or []:
            print(f"  report note: {note}")
        r = run(["backtest", "sidebet-fixed", "--source", "lake", "--all-origins", "--lake",
                 str(lake), "--paths", "1000", "--games", "500", "--format", "json",
                 "--no-progress"])
        _check("backtest", r)
        used = json.loads(r["out"])["source"]["used"]
        steps["backtest --source lake"] = {"rows": used, "wall_s": r["wall_s"],
                                           "rss_mib": r["rss_mib"]}
        ok = "ok" if r["rss_mib"] <= RSS_GOAL_MIB else "MISS"
        print(f"{'backtest --source lake (games)':<36}{used:>14,}{r['wall_s']:>10.2f}"
              f"{r['rss_mib']:>14.0f}{ok:>8}")
        results["steps"] = steps
    finally:
        if tmp is not None and not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if a.json is not None:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
