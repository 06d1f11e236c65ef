"""The path redactor: the installation's folders go, URLs and 索引号 stay."""

from __future__ import annotations

from pathlib import Path

from pipeline.redact import PathRedactor


def test_paths_under_the_roots_become_their_last_part(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hide = PathRedactor([data, Path("/"), Path("/tmp")])  # too short to be a root: ignored
    assert hide(f"directory:{data}/library/pkg-1.tar") == "directory:…/pkg-1.tar"
    assert hide(f"[Errno 13] Permission denied: '{data}/site/items/a.html'") == (
        "[Errno 13] Permission denied: '…/a.html'"
    )
    assert hide(f"in {data}") == "in …/data"
    kept = [
        "http://127.0.0.1:8000/site/items/113703030000000000-2017-00001.html",
        "113703030000000000/2017-00001",
        "/console/items/1",
        f"{data}x/other",  # another folder that only starts alike
        "/tmp/elsewhere/file",
    ]
    assert [hide(text) for text in kept] == kept
