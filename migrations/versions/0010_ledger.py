"""ledger: every quantity bounded at rules.MAX_QUANTITY (10^9 units) by CHECK constraints; the
stock rollups, sums of many lots, widened to 64 bits

Revision ID: 0010_ledger
Revises: 0009_load_paths
Create Date: 2026-12-04 17:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_ledger"
down_revision = "0009_load_paths"
branch_labels = None
depends_on = None

MAX = 1000000000  # reserve.rules.MAX_QUANTITY, written out: a migration never changes with the code
OUT_OF_BOUND = {
    "stock_lot": f"on_hand > {MAX}",
    "movement": f"on_hand_delta NOT BETWEEN -{MAX} AND {MAX} OR reserved_delta NOT BETWEEN -{MAX} AND {MAX}",
    "demand": f"quantity NOT BETWEEN 1 AND {MAX}",
}


def _refuse_rows_out_of_bound():
    """The constraints cannot be added over rows that break them (e.g. a lot received twice
    with 2^62 units, which SQLite turned into a float). Name them instead of failing obscurely:
    an operator counts such a lot down (or cancels the demand) with the previous version first."""
    conn = op.get_bind()
    found = []
    for table, condition in OUT_OF_BOUND.items():
        # table and condition are the constants above, never input
        query = sa.text(f"SELECT id FROM {table} WHERE {condition} LIMIT 20")  # nosec B608
        ids = [row[0] for row in conn.execute(query)]
        if ids:
            found.append(f"{table} ids {ids}")
    if found:
        raise RuntimeError(
            f"quantities above {MAX} units (the bound, docs/registry.md): " + "; ".join(found)
        )


def upgrade():
    _refuse_rows_out_of_bound()
    with op.batch_alter_table("stock_lot", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_stock_lot_on_hand_within_bound"), f"on_hand <= {MAX}"
        )
    with op.batch_alter_table("movement", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_movement_on_hand_delta_within_bound"),
            f"on_hand_delta BETWEEN -{MAX} AND {MAX}",
        )
        batch_op.create_check_constraint(
            op.f("ck_movement_reserved_delta_within_bound"),
            f"reserved_delta BETWEEN -{MAX} AND {MAX}",
        )
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_demand_quantity_within_bound"), f"quantity BETWEEN 1 AND {MAX}"
        )
    for table in ("stock_rollup_city", "stock_rollup_agency"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ("on_hand", "reserved"):
                batch_op.alter_column(
                    column,
                    existing_type=sa.Integer(),
                    type_=sa.BigInteger(),
                    existing_nullable=False,
                )


def downgrade():
    for table in ("stock_rollup_agency", "stock_rollup_city"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ("reserved", "on_hand"):
                batch_op.alter_column(
                    column,
                    existing_type=sa.BigInteger(),
                    type_=sa.Integer(),
                    existing_nullable=False,
                )
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_demand_quantity_within_bound"), type_="check")
    with op.batch_alter_table("movement", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_movement_reserved_delta_within_bound"), type_="check")
        batch_op.drop_constraint(op.f("ck_movement_on_hand_delta_within_bound"), type_="check")
    with op.batch_alter_table("stock_lot", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_stock_lot_on_hand_within_bound"), type_="check")
