"""Every command and command group answers `--help` with a description of what it does."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from rugslab.cli import app, main


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    if hasattr(cmd, "commands"):  # a group
        for name, sub in sorted(cmd.commands.items()):
            out += _commands(sub, (*path, name))
    return out


ALL = _commands(typer.main.get_command(app))


def test_the_cli_has_the_commands_the_readme_promises() -> None:
    names = {" ".join(p) for p in ALL}
    assert {"ingest", "sql", "report", "collect", "status", "nightly", "demo", "verify",
            "fair replay", "backtest", "paper", "players", "serve replay", "serve sim",
            "serve live", "sim lake"} <= names


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(p) or "rugslab")
def test_every_command_has_help_text(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    usage = next(i for i, line in enumerate(lines) if line.startswith("Usage: "))
    description = lines[usage + 1]
    assert description[0].isalpha() and len(description) > 20, f"no description: {out}"
