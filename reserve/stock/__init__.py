"""Stock: the one door through which lots' balances change.

`ledger` writes every change, one movement or a batch (a report's counts, a submission's
reversal), always with a guarded update of the lots' cached balances; `rollup` keeps the
per-agency and per-city sums those writes move; `bulk` inserts many rows at once (COPY on
PostgreSQL). Nothing outside this package updates `StockLot` balances or inserts `Movement`
rows (tests/test_stock_door.py checks it).
"""
