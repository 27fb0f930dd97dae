"""rugslab: a research workbench and Delta Lake data lake for the rugs.fun crash game.

Public face: `rugslab.Lake` (`rugslab.api`): `Lake(path).table(name, as_of=None)`, `.sql()`,
`.status()`, `.verify()`, `.ingest(paths)`.

Where things live, by pipeline stage (each imports only from the stages above it):

    feed/       frames, payload access, the phase machine, the game's rules and constants
    tables/     lake table schemas, row batches and their column storage, rejects, derived
                facts (gaps, coverage)
    assembly/   frames → rows: the assembler, tick selection, game facts, gameHistory, trades
                and side bets, raw events
    readers/    capture formats, recordings and archives → frames
    fair/       the provably-fair generator (reference and compiled) and the verdicts
    lake/       Delta tables: writes, maintenance, snapshots, the DuckDB catalog, migration
    ingest      files → lake;  collector/  the live feed → lake;  sim/  simulated feeds
    analysis/   timing, hazard, side bets;  strategy/  backtests on ensembles of bankrolls
    plots/      chart builders by noun (timing, hazard, side bets, strategies, the generator)
                and charts drawn offline (`plots.render`);  notebook  the notebooks' helpers
    report/     the headline numbers and the notebooks' main charts (`rugslab report`)
    cli/        the `rugslab` command
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Lake", "__version__"]


def __getattr__(name: str) -> Any:
    # `rugslab.Lake` loads the library on first use, so `import rugslab` (and the CLI's
    # `--help`) stays light (PEP 562)
    if name == "Lake":
        from rugslab.api import Lake

        return Lake
    raise AttributeError(f"module 'rugslab' has no attribute {name!r}")
