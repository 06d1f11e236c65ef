"""Reading and writing the Weibo channel's tables (:mod:`.tables`) for one instance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from channels.weibo.tables import posts, tokens


@dataclass(frozen=True)
class Post:
    post_id: str
    uid: str
    account: str
    revision: int
    text: str
    adopted: bool
    posted_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class Token:
    base: str
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    obtained_at: datetime


def _post(row: Any) -> Post:
    return Post(
        row.post_id, row.uid, row.account, row.revision, row.text, row.adopted, row.posted_at, row.deleted_at
    )


class Records:
    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine, self.channel = engine, channel

    # -- posts --------------------------------------------------------------------
    def post_of(self, delivery_id: int) -> Post | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(posts).where(posts.c.channel == self.channel, posts.c.delivery_id == delivery_id)
            ).first()
        return _post(row) if row else None

    def add_post(
        self, delivery_id: int, account: str, source: str, item_id: str, revision: int, made: dict[str, Any]
    ) -> Post:
        """Record the post a delivery made; a second writer for the delivery keeps the first."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(posts).values(
                        channel=self.channel,
                        account=account,
                        delivery_id=delivery_id,
                        source=source,
                        item_id=item_id,
                        revision=revision,
                        **made,
                    )
                )
        except IntegrityError:
            pass
        found = self.post_of(delivery_id)
        assert found is not None
        return found

    def live_posts(self, account: str, source: str, item_id: str) -> list[Post]:
        """The item's posts on the account not destroyed yet, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(posts)
                .where(
                    posts.c.channel == self.channel,
                    posts.c.account == account,
                    posts.c.source == source,
                    posts.c.item_id == item_id,
                    posts.c.deleted_at.is_(None),
                )
                .order_by(posts.c.pk)
            ).all()
        return [_post(r) for r in rows]

    def deleted(self, account: str, post_id: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(posts)
                .where(
                    posts.c.channel == self.channel,
                    posts.c.account == account,
                    posts.c.post_id == post_id,
                    posts.c.deleted_at.is_(None),
                )
                .values(deleted_at=now)
            )

    def posted_since(self, account: str, since: datetime) -> tuple[int, datetime | None]:
        """How many posts the account made since ``since`` (adopted ones were counted
        when made), and the oldest of them."""
        with self.engine.connect() as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(posts.c.posted_at)).where(
                    posts.c.channel == self.channel,
                    posts.c.account == account,
                    posts.c.posted_at >= since,
                    posts.c.adopted.is_(False),
                )
            ).one()
        return int(count), oldest

    def last_post(self, account: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(posts.c.posted_at)).where(
                    posts.c.channel == self.channel, posts.c.account == account
                )
            ).scalar()
        return value if isinstance(value, datetime) else None

    # -- tokens -------------------------------------------------------------------
    def token(self, account: str) -> Token | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tokens).where(tokens.c.channel == self.channel, tokens.c.account == account)
            ).first()
        if row is None:
            return None
        return Token(row.base, row.access_token, row.refresh_token, row.expires_at, row.obtained_at)

    @contextmanager
    def renewing(self, account: str) -> Iterator[tuple[Token | None, Callable[[Token], None]]]:
        """The account's token row, locked (an UPDATE first: a row lock on PostgreSQL, the
        write lock on SQLite) until the block ends, and a way to save the renewed token in
        the same transaction: one worker renews at a time, the others then find its token."""
        with self.engine.begin() as conn:
            where = (tokens.c.channel == self.channel, tokens.c.account == account)
            conn.execute(update(tokens).where(*where).values(base=tokens.c.base))
            row = conn.execute(select(tokens).where(*where)).first()
            found = (
                None
                if row is None
                else Token(row.base, row.access_token, row.refresh_token, row.expires_at, row.obtained_at)
            )

            def save(token: Token) -> None:
                values = {
                    "base": token.base,
                    "access_token": token.access_token,
                    "refresh_token": token.refresh_token,
                    "expires_at": token.expires_at,
                    "obtained_at": token.obtained_at,
                }
                if found is None:
                    conn.execute(insert(tokens).values(channel=self.channel, account=account, **values))
                else:
                    conn.execute(update(tokens).where(*where).values(**values))

            yield found, save

    def save_token(self, account: str, token: Token) -> None:
        values = {
            "base": token.base,
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at,
            "obtained_at": token.obtained_at,
        }
        with self.engine.begin() as conn:
            done = conn.execute(
                update(tokens)
                .where(tokens.c.channel == self.channel, tokens.c.account == account)
                .values(**values)
            )
            if done.rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(tokens).values(channel=self.channel, account=account, **values))
                except IntegrityError:
                    conn.execute(
                        update(tokens)
                        .where(tokens.c.channel == self.channel, tokens.c.account == account)
                        .values(**values)
                    )


def hour_ago(now: datetime) -> datetime:
    return now - timedelta(hours=1)
