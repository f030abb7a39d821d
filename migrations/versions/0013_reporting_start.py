"""h-todos: the reporting calendar's start date

Revision ID: 0013_reporting_start
Revises: 0012_jobs
Create Date: 2026-12-04 17:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_reporting_start"
down_revision = "0012_jobs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_cadence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("report_cadence", schema=None) as batch_op:
        batch_op.drop_column("starts_on")
