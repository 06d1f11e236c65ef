"""Archive transports against real receivers: a folder, the archive receiver sandbox
over HTTP (receipts and rejections), an OpenSSH server on loopback over SFTP."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.archive.bag import file_sha256
from channels.archive.options import DirectoryDrop, HttpUpload, SftpUpload
from channels.archive.sandbox import create_app
from channels.archive.transports import DirectoryTransport, HttpTransport, SftpTransport, Shipment
from channels.archive.verify import verify
from pipeline.errors import PermanentError, TransientError
from pipeline.runner import run_batch
from tests.channels.archive_support import APRIL_2, MARCH_10, accept, archive_services, deliveries
from tests.conftest import unavailable
from tests.helpers import LiveServer, free_port, govpub, kill, wait_until

__all__ = ["archive_services"]
SSHD = Path("/usr/sbin/sshd")


@pytest.fixture
def package(archive_services: Any, tmp_path: Path) -> Shipment:
    """A real March package of two items, built by the channel into a drop folder."""
    services = archive_services()
    accept(services, 1, MARCH_10)
    accept(services, 2, MARCH_10, attachments=2)
    services.clock.now = APRIL_2
    run_batch(services, "district")
    path = tmp_path / "drop" / "district-113703030000000000-2017-03.tar"
    return Shipment(path, "district-113703030000000000-2017-03", file_sha256(path), path.stat().st_size)


def test_directory_drop_renames_a_complete_file_into_place(package: Shipment, tmp_path: Path) -> None:
    inbox = tmp_path / "mounted" / "inbox"
    transport = DirectoryTransport(DirectoryDrop(kind="directory", path=inbox))
    receipt = transport.send(package)
    assert receipt == f"directory:{inbox / package.name}"
    assert [p.name for p in inbox.iterdir()] == [package.name], "no temporary file is left behind"
    assert file_sha256(inbox / package.name) == package.sha256
    assert transport.send(package) == receipt, "sending again is harmless"
    assert transport.health().ok


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "receiver"
    with LiveServer(create_app(folder, token="s3cret")) as server:
        yield server.url, folder


def http(url: str, token: str | None = "s3cret", **options: Any) -> HttpTransport:
    """A transport whose token (if any) is in a variable of its own, as the policy wants."""
    env = None
    if token is not None:
        env = f"GOVPUB_TEST_ARCHIVE_TOKEN_{token.upper()}"
        os.environ[env] = token
    return HttpTransport(HttpUpload(kind="http", url=url, token_env=env, **options))


def test_http_upload_gets_a_receipt_once_the_receiver_checked_the_package(
    package: Shipment, sandbox: tuple[str, Path]
) -> None:
    url, folder = sandbox
    transport = http(url)
    receipt = transport.send(package)
    assert receipt.startswith("RCPT-")
    assert transport.send(package) == receipt, "the same package gets the same receipt"
    records = httpx.get(f"{url}/packages").json()
    assert [(r["status"], r["duplicate"], r["items"]) for r in records] == [
        ("accepted", False, 2),
        ("accepted", True, 2),
    ]
    assert {r["sha256"] for r in records} == {package.sha256}
    assert verify(folder / "accepted" / package.name).ok
    assert transport.health().ok


def test_http_rejection_names_the_damaged_file_and_is_retried(
    package: Shipment, sandbox: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = sandbox
    damaged = tmp_path / package.name
    data = bytearray(package.path.read_bytes())
    marker = data.find(b"%PDF-1.4 item 2")
    data[marker] ^= 0x20
    damaged.write_bytes(bytes(data))
    shipment = Shipment(damaged, package.package_id, file_sha256(damaged), len(data))
    with pytest.raises(
        TransientError, match=r"rejected the package: .*attachments/0\d-附件\d_招生计划_\.pdf"
    ):
        http(url).send(shipment)
    (record,) = httpx.get(f"{url}/packages").json()
    assert record["status"] == "rejected"
    assert any("sm3 checksum does not match" in p for p in record["problems"])

    honest_sender_wrong_bytes = Shipment(damaged, package.package_id, package.sha256, len(data))
    with pytest.raises(TransientError, match="transfer checksum"):
        http(url).send(honest_sender_wrong_bytes)


def test_a_receiver_that_fails_or_answers_late_is_retried_and_keeps_one_package(
    package: Shipment, sandbox: tuple[str, Path]
) -> None:
    url, folder = sandbox
    httpx.post(f"{url}/control", json={"fail": 1, "slow": 1, "slow_seconds": 2.0}).raise_for_status()
    transport = http(url, timeout_seconds=0.5)
    with pytest.raises(TransientError, match="503"):
        transport.send(package)
    assert httpx.get(f"{url}/packages").json() == [], "a 503 keeps nothing"
    with pytest.raises(TransientError):
        transport.send(package)  # kept, but the answer comes after the sender gave up
    receipt = transport.send(package)
    records = httpx.get(f"{url}/packages").json()
    assert [(r["status"], r["duplicate"]) for r in records] == [("accepted", False), ("accepted", True)]
    assert {r["receipt"] for r in records} == {receipt}
    assert [f.name for f in (folder / "accepted").iterdir()] == [package.name]
    plan_left = httpx.get(f"{url}/control").json()
    assert plan_left == {"fail": 0, "fail_status": 503, "slow": 0, "slow_seconds": 2.0}


def test_http_wrong_token_is_permanent_and_a_dead_receiver_transient(
    package: Shipment, sandbox: tuple[str, Path]
) -> None:
    url, _ = sandbox
    with pytest.raises(PermanentError, match=r"401.*check the credentials"):
        http(url, token="wrong").send(package)
    with pytest.raises(TransientError, match="upload to"):
        http(f"http://127.0.0.1:{free_port()}").send(package)


def test_deliveries_through_http_are_delivered_only_after_the_receipt(
    archive_services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("GOVPUB_TEST_ARCHIVE_TOKEN", "s3cret")
    receiver = {"kind": "http", "url": f"http://127.0.0.1:{port}", "token_env": "GOVPUB_TEST_ARCHIVE_TOKEN"}
    services = archive_services(transport=receiver)
    accept(services, 1, MARCH_10)
    services.clock.now = APRIL_2
    run_batch(services, "district")  # nobody listens yet
    (row,) = deliveries(services)
    assert (row.state, row.external_ref, row.last_error_class) == ("retrying", None, "TransientError")

    with LiveServer(create_app(tmp_path / "receiver", token="s3cret"), port=port) as server:
        services.clock.now = row.next_attempt_at
        run_batch(services, "district")
        receipts = [r["receipt"] for r in httpx.get(f"{server.url}/packages").json()]
    (row,) = deliveries(services)
    assert row.state == "delivered" and [row.external_ref["receipt"]] == receipts


def test_govpub_sandbox_archive_serves_as_a_command(package: Shipment, tmp_path: Path) -> None:
    port = free_port()
    proc = govpub(
        "sandbox", "archive", "--port", str(port), "--dir", str(tmp_path / "sb"), env={}, cwd=tmp_path
    )
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health").is_success, 20, "sandbox start")
        assert http(f"http://127.0.0.1:{port}", token=None).send(package).startswith("RCPT-")
        assert (tmp_path / "sb" / "records.jsonl").read_text("utf-8").count('"accepted"') == 1
    finally:
        kill(proc, signal.SIGTERM)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real OpenSSH server on loopback, as the current user, with its own keys."""
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        unavailable("OpenSSH server", FileNotFoundError(SSHD))
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    keys = tmp_path / "ssh"
    keys.mkdir()
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    shutil.copyfile(keys / "client_key.pub", keys / "authorized_keys")
    port = free_port()
    (keys / "known_hosts").write_text(f"[127.0.0.1]:{port} {(keys / 'host_key.pub').read_text()}")
    config = keys / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {keys / 'host_key'}",
                f"AuthorizedKeysFile {keys / 'authorized_keys'}",
                f"PidFile {keys / 'sshd.pid'}",
                "UsePAM no",
                "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    try:
        wait_until(lambda: _listening(port) or proc.poll() is not None, 15, "sshd start")
        if proc.poll() is not None:
            unavailable("sshd", RuntimeError(proc.stderr.read().decode() if proc.stderr else "exited"))
        yield {"port": port, "keys": keys}
    finally:
        proc.terminate()
        proc.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def sftp(sshd: dict[str, Any], inbox: Path, known_hosts: Path | None = None) -> SftpTransport:
    keys = sshd["keys"]
    return SftpTransport(
        SftpUpload(
            kind="sftp",
            host="127.0.0.1",
            port=sshd["port"],
            username=getpass.getuser(),
            key_file=keys / "client_key",
            known_hosts=known_hosts or keys / "known_hosts",
            path=str(inbox),
        )
    )


def test_sftp_upload_to_a_real_openssh_server(
    package: Shipment, sshd: dict[str, Any], tmp_path: Path
) -> None:
    inbox = tmp_path / "sftp-inbox"
    inbox.mkdir()
    transport = sftp(sshd, inbox)
    receipt = transport.send(package)
    assert receipt == f"sftp://{getpass.getuser()}@127.0.0.1:{sshd['port']}{inbox / package.name}"
    assert [p.name for p in inbox.iterdir()] == [package.name]
    assert file_sha256(inbox / package.name) == package.sha256
    assert transport.send(package) == receipt
    assert transport.health().ok

    stranger = tmp_path / "other_known_hosts"
    stranger.write_text("")
    with pytest.raises(PermanentError, match="known_hosts"):
        sftp(sshd, inbox, known_hosts=stranger).send(package)
