"""The package is laid out by pipeline stage: data flows one way, so no module imports from a
stage below it (a later stage), and imports sit at the top of files (the CLI's commands and
`rugslab.Lake` load lazily, so `--help` stays fast)."""

from __future__ import annotations

import ast
from pathlib import Path

import rugslab

PACKAGE = Path(rugslab.__file__).resolve().parent
#: Stage of each top-level module or subpackage: a module may import from its own stage and
#: the stages before it.
STAGES = {
    "errors": 0, "config": 0, "backoff": 0,
    "feed": 1,
    "tables": 2, "players": 2,
    "assembly": 3,
    "readers": 4,
    "fair": 5,
    "lake": 6,
    "ingest": 7, "ingest_summary": 7,
    "collector": 8, "sim": 8,
    "analysis": 9, "strategy": 9, "plots": 9,
    "api": 10, "paper": 10, "live": 10,
    "notebook": 11, "demo": 11, "testing": 11, "report": 11,
    "cli": 12, "__init__": 13, "__main__": 13,
}
LAZY = {"rugslab.cli", "rugslab.__init__"}


def _stage(module: str) -> int:
    parts = module.split(".")
    return STAGES[parts[1] if len(parts) > 1 else "__init__"]


def _imports() -> list[tuple[str, str, bool]]:
    """(importing module, imported rugslab module, at top level) for every import."""
    out = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(("rugslab", *path.relative_to(PACKAGE).with_suffix("").parts))
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rugslab"):
                names = ([node.module] if node.module != "rugslab"
                         else [f"rugslab.{a.name}" for a in node.names
                               if (PACKAGE / a.name).exists()
                               or (PACKAGE / f"{a.name}.py").exists()])
                out += [(module, name, id(node) in top) for name in names]
    return out


def test_every_module_has_a_stage() -> None:
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert tops <= set(STAGES), sorted(tops - set(STAGES))


def test_no_module_imports_from_a_later_stage() -> None:
    upward = [(a, b) for a, b, _ in _imports()
              if b != "rugslab" and _stage(b) > _stage(a)]
    assert upward == []


def test_imports_are_at_the_top_of_files_outside_the_lazy_entry_points() -> None:
    inner = [(a, b) for a, b, top in _imports()
             if not top and not any(a == m or a.startswith(m + ".") for m in LAZY)]
    assert inner == []
