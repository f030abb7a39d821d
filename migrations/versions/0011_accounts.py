"""accounts: a forced password change after an issued password, the time of the last change,
and every role (agency_admin is new) present in a fresh database

Revision ID: 0011_accounts
Revises: 0010_ledger
Create Date: 2026-12-04 17:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_accounts"
down_revision = "0010_ledger"
branch_labels = None
depends_on = None

# core.auth.ROLES as of this revision (a migration never imports the app's code).
ROLES = {
    "admin": "系统管理员",
    "agency_operator": "节点单位填报员",
    "commander": "应急指挥人员",
    "viewer": "领导/查看",
    "supplier": "供应企业",
    "agency_admin": "单位管理员",
}


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    role = sa.table(
        "role",
        sa.column("name", sa.String),
        sa.column("description", sa.String),
        sa.column("update_datetime", sa.DateTime),
    )
    existing = {row[0] for row in op.get_bind().execute(sa.select(role.c.name))}
    missing = [
        {"name": name, "description": label, "update_datetime": sa.func.current_timestamp()}
        for name, label in ROLES.items()
        if name not in existing
    ]
    for row in missing:
        op.execute(role.insert().values(**row))


def downgrade():
    op.execute(sa.text("DELETE FROM role WHERE name = 'agency_admin'"))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")
