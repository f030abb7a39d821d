"""Stock: the one door through which lots' balances change, and through which they are read.

`ledger` writes every change, one movement or a batch (a report's counts, a submission's
reversal), always with a guarded update of the lots' cached balances; `rollup` keeps the
per-agency and per-city sums those writes move; `bulk` inserts many rows at once (COPY on
PostgreSQL); `availability` is what dispatch may draw on; `queries` are every other read.
`models` holds the ledger's tables: only this package imports it (import contract in
pyproject.toml), and nothing outside it updates `StockLot` balances or inserts `Movement` rows
(tests/reserve/test_stock_door.py checks it). `MovementKind` names the kinds of movement callers record.
"""

from .models import MovementKind

__all__ = ["MovementKind"]
