"""The Alembic revisions of this channel's tables: a version location of its own,
branch label ``wechat``."""
