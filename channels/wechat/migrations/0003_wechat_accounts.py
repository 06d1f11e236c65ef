"""WeChat records per official account (platform mode: one channel, many accounts)

``account`` on jobs, outcomes, windows and media (``""``: the instance's own account,
which every existing row belongs to), and in the keys a ``publish_id``, ``msg_id``, a
window or an uploaded image is unique by: those are unique only within one account.

Revision ID: wechat_0003_accounts
Revises: 0009_wechat_broadcast
"""

import sqlalchemy as sa
from alembic import op

revision = "wechat_0003_accounts"
down_revision = "0009_wechat_broadcast"
branch_labels = None
depends_on = None

KEYED = {
    "wechat_outcomes": ["channel", "kind", "job_id"],
    "wechat_windows": ["channel", "window"],
    "wechat_media": ["channel", "kind", "sha256"],
}


def _account(key: bool = False) -> sa.Column:
    return sa.Column("account", sa.String(length=32), nullable=False, server_default="", primary_key=key)


def upgrade() -> None:
    with op.batch_alter_table("wechat_jobs", schema=None) as batch_op:
        batch_op.add_column(_account())
        batch_op.drop_constraint("uq_wechat_jobs_job", type_="unique")
        batch_op.create_unique_constraint(
            "uq_wechat_jobs_account_job", ["channel", "account", "kind", "job_id"]
        )
    for table, key in KEYED.items():
        _rekey(table, [*key[:1], "account", *key[1:]], add=True)


def downgrade() -> None:
    for table, key in KEYED.items():
        _rekey(table, key, add=False)
    with op.batch_alter_table("wechat_jobs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_wechat_jobs_account_job", type_="unique")
        batch_op.create_unique_constraint("uq_wechat_jobs_job", ["channel", "kind", "job_id"])
        batch_op.drop_column("account")


def _rekey(table: str, key: list[str], add: bool) -> None:
    """The table's primary key becomes ``key`` (with the account column added, or dropped
        after). PostgreSQL named it ``{table}_pkey``; SQLite copies the table (the account
    last in its key)."""
    if op.get_bind().dialect.name == "postgresql":
        if add:
            op.add_column(table, _account())
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, key)
        if not add:
            op.drop_column(table, "account")
        return
    with op.batch_alter_table(table, recreate="always") as batch_op:
        if add:  # the copy's key takes the new column
            batch_op.add_column(_account(key=True))
        batch_op.create_primary_key(f"{table}_pkey", key)
        if not add:
            batch_op.drop_column("account")
