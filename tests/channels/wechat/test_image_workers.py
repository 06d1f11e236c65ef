"""Body images through real processes: ``govpub serve``, a Celery worker and beat, the
WeChat sandbox. Images that cannot be fetched (404, nothing listening, refused by the
outbound policy) become alt text and the article goes out; the source's
``GET /v1/items/…`` says only that they could not be fetched."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.localcluster import free_port
from tests.listener import Listener
from tests.wechat_cluster import WeChatCluster

REASONS = re.compile(r"refused|disconnect|HTTP \d|resolve|timeout|not a public|Errno", re.I)


def test_images_that_cannot_be_fetched_become_alt_text_through_real_workers(
    tmp_path: Path, pg_url: str, wechat_redis: str
) -> None:
    with Listener() as images, Listener() as internal:
        body = (
            "<p>正文</p>"
            f'<p><img src="http://localhost:{images.port}/image.png" alt="可取的图片"></p>'
            f'<p><img src="http://localhost:{images.port}/missing.png" alt="已删除的图片"></p>'
            f'<p><img src="http://localhost:{free_port()}/a.png" alt="无人监听"></p>'
            f'<p><img src="{internal.url()}" alt="内网服务"></p>'
        )
        with WeChatCluster(tmp_path / "govpub", pg_url, wechat_redis, allow=["localhost"]) as gp:
            gp.submit(1, body_html=body)
            row = gp.finished(1)
            seen = gp.status(1)["deliveries"]
            drafts = gp.record()["drafts"]
    assert internal.connections == 0 and images.requests[0][0] == "/image.png"
    assert row["state"] == "delivered", row["last_error"]
    [draft] = drafts
    content = draft["received"][0]["content"]
    assert len(re.findall(r"<img ", content)) == 1
    assert all(f"[图片：{alt}]" in content for alt in ("已删除的图片", "无人监听", "内网服务"))
    notes = row["notes"]  # the source reads the channel's notes, never its receipt
    assert notes == [f"image {n} could not be fetched: shown as its alt text" for n in (2, 3, 4)]
    assert not REASONS.search(str(seen)) and str(internal.port) not in str(seen)
