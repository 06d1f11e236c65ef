"""Issue 16 item 1: a worker SIGKILLed at every step of publish mode leaves exactly one
live article, and the delivery log names that very article.

Each case starts a real ``govpub worker`` (PostgreSQL, Redis) with ``GOVPUB_CRASH_AT``
naming the step: the worker kills its own process group right after that step (see
``pipeline/crashpoints.py``). A second worker takes the delivery over once its lease has
run out. The sandbox's record and the delivery row must then agree."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from channels.wechat.sandbox import SandboxServer
from pipeline.crashpoints import ENV
from tests.channels.wechat.cluster import all_delivered, live_articles, outcomes, submit
from tests.channels.wechat.conftest import record
from tests.helpers import wait_until

PUBLISH_STEPS = [
    "wechat.uploadimg",  # a body image uploaded, not yet remembered
    "wechat.add_material",  # the cover uploaded, not yet remembered
    "wechat.draft_add",  # the draft made, its media_id not yet checkpointed
    "wechat.submit",  # freepublish/submit answered, nothing recorded yet
    "wechat.record",  # the submit recorded in wechat_jobs, publish_id not checkpointed
    "wechat.checkpoint",  # publish_id checkpointed, the result not yet fetched
]


def body_with_image() -> str:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), (200, 30, 30)).save(out, "PNG")
    data = base64.b64encode(out.getvalue()).decode()
    return f'<p>正文</p><p><img src="data:image/png;base64,{data}" alt="示意图"></p>'


def run_with_crash(cluster: Any, names: tuple[str, str], step: str, **changes: Any) -> Any:
    """Submit one item; the first WeChat worker dies at ``step``, a second one finishes."""
    site, wechat = names
    cluster.beat()
    cluster.worker(f"govpub.{site}", concurrency=1)
    doomed = cluster.worker(f"govpub.{wechat}", concurrency=1, env={ENV: step})
    submit(cluster, 1, **changes)
    wait_until(lambda: doomed.poll() is not None, 90, f"the worker to die at {step}\n{cluster.logs()}")
    assert f"crash point {step} reached" in cluster.logs(), "it died somewhere else"
    cluster.worker(f"govpub.{wechat}", concurrency=1)
    [row] = wait_until(lambda: all_delivered(cluster, 1), 120, f"recovery after {step}\n{cluster.logs()}")
    return row


@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_a_worker_killed_at_each_step_of_publish_leaves_exactly_one_live_article(
    cluster_for: Any, sandbox: SandboxServer, names: tuple[str, str], step: str, truth: Any
) -> None:
    cluster = cluster_for()
    row = run_with_crash(cluster, names, step, body_html=body_with_image())

    [(article_id, idx, title)] = live_articles(sandbox)
    seen = record(sandbox)
    assert len(seen["submits"]) == 1 and seen["deleted"] == []
    ref = row.external_ref
    assert (ref["article_id"], ref["index"]) == (article_id, idx)
    assert ref["article_url"].endswith(f"/s/{article_id}?idx={idx}") and title == "测试公开信息 1"
    assert "removed_orphans" not in ref
    assert "lost" in outcomes(cluster, row)  # the dead worker's attempt was closed, then taken over
    truth([row], f"SIGKILL after {step}")
