"""archive packages and their members

Revision ID: 0003_archive
Revises: 0002_wechat
"""

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0003_archive"
down_revision = "0002_wechat"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "archive_packages",
        sa.Column("package_id", sa.String(length=200), nullable=False),
        sa.Column("receiver", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=200), nullable=False),
        sa.Column("period_start", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("frozen_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("retraction_count", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("built_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("confirmed_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("package_id"),
    )
    with op.batch_alter_table("archive_packages", schema=None) as batch_op:
        batch_op.create_index("ix_archive_packages_receiver_end", ["receiver", "period_end"], unique=False)

    op.create_table(
        "archive_members",
        sa.Column("delivery_id", Id, nullable=False),
        sa.Column("package_id", sa.String(length=200), nullable=False),
        sa.Column("index_no", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("revision_pk", Id, nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"]),
        sa.ForeignKeyConstraint(["package_id"], ["archive_packages.package_id"]),
        sa.ForeignKeyConstraint(["revision_pk"], ["revisions.pk"]),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    with op.batch_alter_table("archive_members", schema=None) as batch_op:
        batch_op.create_index("ix_archive_members_package", ["package_id", "index_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("archive_members", schema=None) as batch_op:
        batch_op.drop_index("ix_archive_members_package")
    op.drop_table("archive_members")
    with op.batch_alter_table("archive_packages", schema=None) as batch_op:
        batch_op.drop_index("ix_archive_packages_receiver_end")
    op.drop_table("archive_packages")
