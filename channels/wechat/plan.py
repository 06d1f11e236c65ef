"""The coming mass send as an operator sees it, and the rule that orders its articles.

**The order of a send's articles**: first accepted first — by the time govpub accepted
the item's revision, then by delivery number. The first article is the headline (头条).
:func:`order_key` is that rule; the send itself (:mod:`.broadcast`) and this view both
use it, so what an operator previews is what goes out.

:func:`coming_send` reads the database only (no WeChat call): today's window and its
times, the send if it is gathered already (its articles, previews, ``msg_id``), else
what would go if it were gathered now, what is over the 8 articles, what was accepted
after the cut-off and what still waits for its website page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import false, select

from channels.wechat import schedule
from pipeline import db, states
from pipeline.channel import ChannelEnv
from pipeline.model import Published

D, R = db.deliveries, db.revisions
OPEN_STATES = ("pending", "queued", "sending", "retrying", "waiting")


def order_key(accepted_at: datetime, delivery_id: int) -> tuple[datetime, int]:
    """First accepted first; the first is the headline (头条)."""
    return (accepted_at, delivery_id)


def _title(document: dict[str, Any]) -> str:
    from channels.wechat.content import wechat_title

    return wechat_title(Published.model_validate(document))


def _page_missing(deps: list[str]) -> Any:
    """SQL: the delivery's revision still waits for a dependency (its website page)."""
    dep = D.alias("dep")
    return (
        select(dep.c.id)
        .where(
            dep.c.revision_pk == D.c.revision_pk,
            dep.c.channel.in_(deps),
            dep.c.action == "publish",
            dep.c.state.in_(states.ACTIVE_STATES),
        )
        .exists()
    )


def ready_and_due(env: ChannelEnv, name: str, now: datetime) -> list[int]:
    """The channel's deliveries a batch starting now would take: due, with their page."""
    due = env.due(name, now)
    deps = env.depends_on(name)
    if not due or not deps:
        return list(due)
    with env.engine.connect() as conn:
        return list(conn.execute(select(D.c.id).where(D.c.id.in_(due), ~_page_missing(deps))).scalars())


def _ours(channel: Any, progress: dict[str, Any], agency_code: str | None) -> bool:
    """Whether a delivery is the account's: the one its first attempt recorded, else the
    one serving its agency now."""
    code = getattr(channel, "code", "")
    if "account" in progress:
        return bool(progress["account"] == code)
    resolved = channel.env.options_for(channel.name, agency_code or "")
    return resolved is not None and resolved.account == code


def _waiting(channel: Any) -> list[dict[str, Any]]:
    """Publications of the account not yet in a send, oldest first, each with whether
    its website page (the channel's dependencies) is there."""
    env, name = channel.env, channel.name
    deps = env.depends_on(name)
    missing = _page_missing(deps) if deps else false()
    with env.engine.connect() as conn:
        rows = conn.execute(
            select(
                D.c.id,
                D.c.progress,
                D.c.agency_code,
                R.c.accepted_at,
                R.c.document,
                missing.label("page_missing"),
            )
            .join(R, R.c.pk == D.c.revision_pk)
            .where(D.c.channel == name, D.c.action == "publish", D.c.state.in_(OPEN_STATES))
        ).all()
    found = []
    for row in rows:
        progress = row.progress or {}
        if progress.get("via") == "publish" or not _ours(channel, progress, row.agency_code):
            continue
        if channel.records.job_of(row.id) is not None:
            continue
        found.append(
            {
                "delivery_id": row.id,
                "title": _title(row.document),
                "accepted_at": row.accepted_at,
                "ready": not row.page_missing,
            }
        )
    return sorted(found, key=lambda r: order_key(r["accepted_at"], r["delivery_id"]))


def _articles_of(channel: Any, job: Any) -> list[dict[str, Any]]:
    with channel.env.engine.connect() as conn:
        titles = {
            d: _title(doc)
            for d, doc in conn.execute(
                select(D.c.id, R.c.document)
                .join(R, R.c.pk == D.c.revision_pk)
                .where(D.c.id.in_([m[1] for m in channel.records.members(job)]))
            ).all()
        }
    return [
        {"index": idx, "delivery_id": d, "title": titles.get(d, "")}
        for idx, d, _ in channel.records.members(job)
    ]


def coming_send(channel: Any, now: datetime) -> dict[str, Any]:
    """What an operator needs to judge today's mass send (see the module's docstring)."""
    broadcaster, tz = channel.broadcaster, channel.env.settings.timezone
    window = broadcaster.window(now)
    view: dict[str, Any] = {
        "channel": channel.name,
        "account": getattr(channel, "code", ""),
        "account_path": getattr(channel, "path", ""),
        "account_label": getattr(channel, "label", channel.name),
        "window": window.name,
        "cutoff": schedule.hhmm(window.cutoff, tz),
        "preview_at": schedule.hhmm(window.preview_at, tz) if window.preview_at else None,
        "send_at": schedule.hhmm(window.send_at, tz),
        "send_now_ordered": schedule.hhmm(window.early, tz) if window.early else None,
        "preview_to": list(channel.opts.preview_to),
        "max_articles": channel.opts.max_articles,
        "overflow": channel.opts.overflow,
    }
    job = channel.records.window_job(window.name)
    waiting = _waiting(channel)
    if job is not None:
        view.update(
            state="sent" if job.sent_at else "gathered",
            msg_id=job.job_id,
            clientmsgid=job.clientmsgid,
            articles=_articles_of(channel, job),
            previews=[
                {"recipient": p["recipient"], "at": schedule.hhmm(p["at"], tz), "error": p["error"]}
                for p in channel.records.previews(job)
            ],
            next_window=waiting,
        )
        return view
    closed = broadcaster.closed(now)
    if closed is not None:
        nxt, why = closed
        view.update(state="closed", why=why, next_cutoff=schedule.hhmm(nxt.cutoff, tz), next_window=waiting)
        return view
    ready = [w for w in waiting if w["ready"] and w["accepted_at"] < window.cutoff]
    limit = channel.opts.max_articles
    view.update(
        state="gathering" if now < window.cutoff else "due",
        articles=[{"index": i, **w} for i, w in enumerate(ready[:limit], start=1)],
        over_limit=ready[limit:],
        after_cutoff=[w for w in waiting if w["accepted_at"] >= window.cutoff],
        waiting_for_page=[w for w in waiting if not w["ready"] and w["accepted_at"] < window.cutoff],
    )
    return view
