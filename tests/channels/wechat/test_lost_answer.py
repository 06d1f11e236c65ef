"""Issue 16 item 7: a lost ``freepublish/submit`` answer on an account that may not call
``freepublish/batchget``. The true state is "submitted, answer lost: check the account's
publish list" (``in_doubt``), an operator settles it from the CLI or the console, and
nothing is ever submitted twice by itself. Real workers, a real ``govpub serve``."""

from __future__ import annotations

from typing import Any

import httpx

from channels.wechat.sandbox import SandboxServer
from pipeline.console.queries import DeliveryFilter, list_deliveries
from pipeline.tenancy import Reach
from tests.channels.wechat.cluster import all_delivered, all_in, govpub_cli, live_articles, outcomes, submit
from tests.channels.wechat.conftest import control, record
from tests.helpers import wait_until
from tests.pipeline.console_support import add_user, login

LOST_ANSWER = "submitted, answer lost: check the account's publish list"


def lost_answer_in_doubt(cluster_for: Any, sandbox: SandboxServer) -> tuple[Any, Any]:
    cluster = cluster_for(timeout_seconds=0.5)
    control(sandbox, "config", denied_apis=["freepublish/batchget"])
    control(sandbox, "faults", path="freepublish/submit", delay=1.5, after=True)  # accepted, answer lost
    cluster.worker(",".join(f"govpub.{n}" for n in cluster.settings.channels), concurrency=1)
    cluster.beat()
    submit(cluster, 1)
    [row] = wait_until(lambda: all_in(cluster, 1, "in_doubt"), 90, f"in doubt\n{cluster.logs()}")
    assert row.last_error.startswith(LOST_ANSWER), row.last_error
    assert "48001" in row.last_error and "certif" not in row.last_error  # not "certify the account"
    assert f"govpub wechat confirm {row.id}" in row.last_error
    failing, _ = list_deliveries(
        cluster.services.engine, DeliveryFilter(state="failing"), "Asia/Shanghai", Reach.PLATFORM
    )
    assert [d["id"] for d in failing] == [row.id]
    return cluster, row


def test_an_operator_confirms_the_article_found_in_the_publish_list(
    cluster_for: Any, sandbox: SandboxServer, truth: Any
) -> None:
    cluster, row = lost_answer_in_doubt(cluster_for, sandbox)
    [(article_id, idx, _)] = live_articles(sandbox)  # WeChat did publish it
    url = f"{sandbox.base_url}/s/{article_id}?idx={idx}"

    done = govpub_cli(
        cluster, "wechat", "confirm", str(row.id), "--article-url", url, "--article-id", article_id
    )
    assert done.returncode == 0, done.stderr

    [row] = wait_until(lambda: all_delivered(cluster, 1), 30, "the confirmation")
    assert (row.external_ref["article_id"], row.external_ref["article_url"]) == (article_id, url)
    assert (row.last_error, row.last_error_class) == (None, None)
    assert outcomes(cluster, row)[-2:] == ["in_doubt", "operator_confirm"]
    assert len(record(sandbox)["submits"]) == 1 and len(live_articles(sandbox)) == 1
    truth([row], "answer lost, no batchget, operator confirms")

    again = govpub_cli(cluster, "wechat", "confirm", str(row.id), "--article-url", url)
    assert again.returncode != 0 and "not in_doubt" in again.stderr


def test_an_operator_resubmits_what_is_not_in_the_publish_list_from_the_console(
    cluster_for: Any, sandbox: SandboxServer, truth: Any
) -> None:
    control(sandbox, "review", status=4, fail_idx=[1])  # the lost submission also failed review
    cluster, row = lost_answer_in_doubt(cluster_for, sandbox)
    assert live_articles(sandbox) == [] and len(record(sandbox)["submits"]) == 1

    add_user(cluster.services, "ops", "operator")
    _, url = cluster.serve()
    with httpx.Client(base_url=url) as console:
        csrf = login(console, "ops")  # type: ignore[arg-type]
        page = console.get(f"/console/items/{row.item_pk}").text
        assert f"/console/deliveries/{row.id}/resubmit" in page and "确认已发布" in page
        answer = console.post(
            f"/console/deliveries/{row.id}/resubmit",
            data={"csrf": csrf, "note": "发表记录中没有这篇", "back": "/console/"},
            follow_redirects=False,
        )
        assert answer.status_code == 303

    [row] = wait_until(lambda: all_delivered(cluster, 1), 90, f"the resubmission\n{cluster.logs()}")
    [(article_id, idx, _)] = live_articles(sandbox)
    assert (row.external_ref["article_id"], row.external_ref["index"]) == (article_id, idx)
    assert len(record(sandbox)["submits"]) == 2
    assert "operator_resubmit" in outcomes(cluster, row)
    truth([row], "answer lost, review failed, operator resubmits")
