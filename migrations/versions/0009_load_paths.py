"""load paths: the warning list's order as an index, agreement and capacity lots indexed

Revision ID: 0009_load_paths
Revises: 0008_dispatch
Create Date: 2026-11-21 17:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_load_paths"
down_revision = "0008_dispatch"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status <> 'resolved'")
NOT_PHYSICAL = sa.text("reserve_type <> 'physical'")


def upgrade():
    with op.batch_alter_table("warning", schema=None) as batch_op:
        batch_op.add_column(sa.Column("urgency", sa.Integer(), nullable=True))
    # rules.URGENCY: red 3, orange 2, yellow 1, blue 0
    op.execute(
        "UPDATE warning SET urgency = CASE severity WHEN 'red' THEN 3 WHEN 'orange' THEN 2 "
        "WHEN 'yellow' THEN 1 WHEN 'blue' THEN 0 ELSE -1 END"
    )
    with op.batch_alter_table("warning", schema=None) as batch_op:
        batch_op.alter_column("urgency", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(
            "ix_warning_active_order",
            ["urgency", "opened_at", "id"],
            unique=False,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )
    with op.batch_alter_table("stock_lot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stock_lot_reserve_terms",
            ["material_id"],
            unique=False,
            postgresql_where=NOT_PHYSICAL,
            sqlite_where=NOT_PHYSICAL,
            postgresql_include=[
                "on_hand",
                "reserved",
                "reserve_type",
                "lead_time_h",
                "units_per_day",
                "contract_valid_to",
                "classification",
                "owner_agency_id",
            ],
        )


def downgrade():
    with op.batch_alter_table("stock_lot", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_lot_reserve_terms")
    with op.batch_alter_table("warning", schema=None) as batch_op:
        batch_op.drop_index("ix_warning_active_order")
        batch_op.drop_column("urgency")
