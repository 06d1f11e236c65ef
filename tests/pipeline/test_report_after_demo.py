"""``govpub report`` after ``govpub demo`` gives the figures ``GET /v1/reports/{year}``
gives, on the same database: the archive receivers' deliveries count as
向档案馆、图书馆报送 (each row keeps its kind from intake), not as 其他渠道."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from pipeline.app import create_app
from pipeline.config import Settings
from pipeline.services import build_services
from tests.helpers import free_port


def test_report_after_the_demo_matches_the_api(tmp_path: Path) -> None:
    env = {"PATH": "", "HOME": str(tmp_path)}
    demo = [sys.executable, "-m", "pipeline.cli", "demo", "--no-serve", "--port", str(free_port())]
    done = subprocess.run(demo, cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    report = [sys.executable, "-m", "pipeline.cli", "report", "--year", str(year), "--format", "json"]
    by_cli = subprocess.run(report, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert by_cli.returncode == 0, by_cli.stderr[-3000:]
    counts = json.loads(by_cli.stdout)["counts"]

    url = f"sqlite:///{tmp_path / 'var' / 'govpub.db'}"
    settings = Settings(database_url=url, data_dir=tmp_path / "var", channels={})
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        answer = client.get(f"/v1/reports/{year}")
    assert answer.status_code == 200, answer.text
    by_api = answer.json()["counts"]
    for key in ("totals", "channels", "categories", "documents"):
        assert counts[key] == by_api[key], key
    assert counts["totals"]["portal"] > 0 and counts["totals"]["deposit"] > 0
    assert {c["role"] for c in counts["channels"]} == {"portal", "other", "deposit"}
    services.engine.dispose()
