"""archive packages carry their agency: one package per (receiver, agency, period)

A package made before platform mode held its receiver's items of the period, all of one
agency (an installation served one): its agency is its members' (any one of them), read
from ``deliveries.agency_code`` when the core's 0011 already made it. (Depending on
0011 would make it the core's head's dependant; a package left without an agency counts
as every agency's package of its period, which is what it was.)

Revision ID: 0014_archive_agency
Revises: 0003_archive
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_archive_agency"
down_revision = "0003_archive"
branch_labels = None
depends_on = None

packages = sa.table("archive_packages", sa.column("package_id"), sa.column("agency_code"))
members = sa.table("archive_members", sa.column("package_id"), sa.column("delivery_id"))
deliveries = sa.table("deliveries", sa.column("id"), sa.column("agency_code"))


def upgrade() -> None:
    with op.batch_alter_table("archive_packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency_code", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_archive_packages_receiver_agency_period", ["receiver", "agency_code", "period"], unique=False
        )
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("deliveries")}
    if "agency_code" not in columns:
        return
    agency = (
        sa.select(sa.func.min(deliveries.c.agency_code))
        .select_from(members.join(deliveries, deliveries.c.id == members.c.delivery_id))
        .where(members.c.package_id == packages.c.package_id)
        .scalar_subquery()
    )
    op.execute(packages.update().where(packages.c.agency_code.is_(None)).values(agency_code=agency))


def downgrade() -> None:
    with op.batch_alter_table("archive_packages", schema=None) as batch_op:
        batch_op.drop_index("ix_archive_packages_receiver_agency_period")
        batch_op.drop_column("agency_code")
