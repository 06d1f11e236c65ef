"""``govpub sandbox notice`` as an operator runs it: the boards served read-only, and the
fake ``lp`` it writes talking to its print server the way CUPS's lp answers (a job id;
"scheduler not responding" when offline; "not accepting jobs" when rejecting; an
unknown queue does not exist)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from pipeline.localcluster import free_port, stop_process, wait_http
from tests.helpers import govpub, wait_until


def lp(root: Path, port: int, queue: str, file: Path) -> subprocess.CompletedProcess[str]:
    command = [str(root / ".bin" / "lp"), "-h", f"127.0.0.1:{port}", "-d", queue, "-t", "公告 1", str(file)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_sandbox_command_serves_boards_and_a_print_server(tmp_path: Path) -> None:
    root, port = tmp_path / "boards", free_port()
    (root / "hall").mkdir(parents=True)
    notice = root / "hall" / "a-2026-00001.pdf"
    notice.write_bytes(b"%PDF-1.4 notice")
    args = ("sandbox", "notice", "--port", str(port), "--root", str(root), "--printer", "hall")
    proc = govpub(*args, env={}, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/")
        assert "hall" in httpx.get(f"{url}/").text
        assert httpx.get(f"{url}/boards/hall/a-2026-00001.pdf").content == notice.read_bytes()
        assert httpx.put(f"{url}/boards/hall/a-2026-00001.pdf", content=b"x").status_code == 405
        assert httpx.get(f"{url}/boards/hall/.notices").status_code == 404
        wait_until(lambda: (root / ".bin" / "lp").exists(), 10, "the fake lp")

        done = lp(root, port, "hall", notice)
        assert done.returncode == 0 and done.stdout.strip() == "request id is hall-1 (1 file(s))"
        [job] = httpx.get(f"{url}/printers/hall/jobs").json()
        assert job["title"] == "公告 1" and job["size"] == notice.stat().st_size and job["pdf"]

        httpx.post(f"{url}/sandbox/printers/hall", json={"state": "offline"})
        done = lp(root, port, "hall", notice)
        assert done.returncode != 0 and "scheduler not responding" in done.stderr
        httpx.post(f"{url}/sandbox/printers/hall", json={"state": "reject"})
        done = lp(root, port, "hall", notice)
        assert done.returncode != 0 and 'Destination "hall" is not accepting jobs.' in done.stderr
        done = lp(root, port, "attic", notice)
        assert done.returncode != 0 and "does not exist" in done.stderr
        assert len(httpx.get(f"{url}/printers/hall/jobs").json()) == 1
    finally:
        stop_process(proc)
