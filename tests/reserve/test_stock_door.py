"""Stock's one door: outside reserve/stock, no code writes a lot's balances or appends a movement.

Read from the source, so a new module that writes `StockLot.on_hand`, builds a `Movement`, or
inserts/updates the two tables in bulk or in SQL fails here, before its numbers disagree with the
ledger's."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "reserve", "dispatch", "public_site")
DOOR = ROOT / "reserve" / "stock"
MODELS = {"StockLot", "Movement"}
LEDGER_MODELS = MODELS | {"StockRollupCity", "StockRollupAgency"}
BALANCES = {"on_hand", "reserved"}
WRITING_CALLS = re.compile(r"insert|update|bulk|copy|merge|upsert", re.I)
RAW_SQL = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+\"?(movement|stock_lot)\b", re.I
)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _callee(call: ast.Call) -> str:
    func = call.func
    return (
        func.attr
        if isinstance(func, ast.Attribute)
        else func.id
        if isinstance(func, ast.Name)
        else ""
    )


def findings(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            callee = _callee(node)
            if callee == "Movement":
                found.append(f"{line} builds a Movement")
            elif WRITING_CALLS.search(callee) and any(MODELS & _names(arg) for arg in node.args):
                found.append(f"{line} {callee}() on {', '.join(sorted(MODELS & _names(node)))}")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in BALANCES
                    and not (isinstance(target.value, ast.Name) and target.value.id == "self")
                ):
                    found.append(f"{line} assigns .{target.attr}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and RAW_SQL.search(node.value)
        ):
            found.append(f"{line} writes the table in SQL")
    return found


def test_nothing_outside_reserve_stock_writes_balances_or_movements():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if DOOR in path.parents or path.name == "models.py":
                continue
            found += findings(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


def test_the_check_sees_each_way_of_writing():
    """The scan is not blind: each pattern it guards against is found in a sample."""
    sample = """
lot.on_hand += 5
lot.reserved = 0
db.session.add(Movement(lot_id=1, kind="receipt"))
db.session.execute(update(StockLot).values(on_hand=3))
db.session.execute(insert(Movement.__table__), rows)
bulk.insert_rows(StockLot.__table__, rows)
db.session.execute(text("UPDATE stock_lot SET on_hand = 0"))
db.session.execute(text("insert into movement (lot_id) values (1)"))
self.on_hand += 1
total.add(lot.on_hand)
"""
    lines = [int(f.split(":")[1].split()[0]) for f in findings(sample, "sample")]
    assert sorted(lines) == [2, 3, 4, 5, 6, 7, 8, 9]


def test_nothing_outside_reserve_stock_imports_a_ledger_model():
    """Reads go through reserve.stock.queries (dispatch's through availability), writes through the
    ledger: no module outside reserve/stock imports the lot, movement or rollup models, from their
    home (reserve/stock/models.py, an import contract in pyproject.toml too) or from a re-export."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if DOOR in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and LEDGER_MODELS & {
                    alias.name for alias in node.names
                }:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
