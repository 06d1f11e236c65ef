"""``govpub demo``'s columns carry no empty sub-category page (空白栏目): the sub-category
pages are exactly those of the sub-categories with an item on the site, each lists its
items, and every link of the site to a listing finds its page."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from pipeline.urls import segment
from tests.helpers import free_port

PUBLISHED = """
select a.path, r.category, r.subcategory from deliveries d
join revisions r on r.pk = d.revision_pk join agencies a on a.code = d.agency_code
join items i on i.pk = d.item_pk
where d.kind = 'website' and d.action = 'publish' and d.state = 'delivered'
and i.retracted_at is null and r.subcategory is not null
and d.revision = (select max(o.revision) from deliveries o where o.item_pk = d.item_pk
                  and o.kind = 'website' and o.action = 'publish' and o.state = 'delivered')
"""


def test_no_empty_sub_category_page_in_the_demo(tmp_path: Path) -> None:
    env = {"PATH": "", "HOME": str(tmp_path)}
    demo = [sys.executable, "-m", "pipeline.cli", "demo", "--no-serve", "--port", str(free_port())]
    done = subprocess.run(demo, cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    site = tmp_path / "var" / "site"
    with sqlite3.connect(tmp_path / "var" / "govpub.db") as db:
        published = {f"{path}/category/{segment(c)}/{segment(s)}" for path, c, s in db.execute(PUBLISHED)}
    assert published, "the demo puts items in some sub-categories"

    pages = {str(p.parent.relative_to(site)) for p in site.glob("*/category/*/*/index.html")}
    assert pages == published  # the demo's taxonomy has 28 sub-categories per column
    for page in site.glob("*/category/*/*/*.html"):
        assert "暂无信息" not in page.read_text("utf-8"), page
    for page in site.rglob("*.html"):
        for target in re.findall(r'href="([^":#?]+)"', page.read_text("utf-8")):
            if "category/" in target and target.endswith(".html"):
                linked = (page.parent / unquote(target)).resolve()
                assert linked.is_file(), f"{page.relative_to(site)} links {target}, which is not there"
