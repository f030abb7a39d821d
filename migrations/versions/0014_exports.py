"""h-exports: files of large exports written by the background worker

Revision ID: 0014_exports
Revises: 0013_reporting_start
Create Date: 2026-12-05 07:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_exports"
down_revision = "0013_reporting_start"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "export_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["background_job.id"],
            name=op.f("fk_export_file_job_id_background_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_export_file_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_file")),
        sa.UniqueConstraint("job_id", name=op.f("uq_export_file_job_id")),
    )
    with op.batch_alter_table("export_file", schema=None) as batch_op:
        batch_op.create_index("ix_export_file_expires_at", ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_file_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("export_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_file_user_id"))
        batch_op.drop_index("ix_export_file_expires_at")
    op.drop_table("export_file")
