"""Getting a package file to a receiver, and knowing that it arrived.

Every transport answers a receipt only once the receiver has the whole file under
its final name; anything less raises. Network trouble, timeouts and refusals that
may pass are ``TransientError`` (the delivery retries with backoff); a setting that
cannot work (wrong credentials, unknown host key, a URL that is not an archive
receiver) is ``PermanentError`` with what to fix. Sending the same package again is
harmless: its name and content are the same.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from channels.archive.options import DirectoryDrop, HttpUpload, SftpUpload
from channels.kit import http
from channels.kit.files import copy_into
from channels.kit.secrets import read_secret
from pipeline import outbound
from pipeline.channel import Health
from pipeline.errors import PermanentError, TransientError


@dataclass(frozen=True)
class Shipment:
    """The file to send and what the receiver must end up with."""

    path: Path
    package_id: str
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name


class Transport(Protocol):
    def send(self, shipment: Shipment) -> str:
        """Deliver the file; return the receipt once the receiver has it."""
        ...

    def health(self) -> Health: ...


def make_transport(
    options: DirectoryDrop | HttpUpload | SftpUpload,
    policy: outbound.Policy | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Transport:
    if isinstance(options, DirectoryDrop):
        return DirectoryTransport(options)
    if isinstance(options, HttpUpload):
        return HttpTransport(options, policy, clock)
    return SftpTransport(options)


class DirectoryTransport:
    """Copy into the folder (often a network mount) the one atomic way
    (:func:`channels.kit.files.copy_into`): a reader of the folder sees the whole
    package or nothing, and it is on disk when the receipt is answered."""

    def __init__(self, options: DirectoryDrop) -> None:
        self.folder = options.path.absolute()

    def send(self, shipment: Shipment) -> str:
        final = self.folder / shipment.name
        try:
            if not _holds(final, shipment):
                copy_into(shipment.path, self.folder)
            written = final.stat().st_size
        except OSError as exc:
            raise TransientError(f"directory drop {self.folder}: {exc}") from exc
        if written != shipment.size:
            raise TransientError(f"directory drop {final}: {written} bytes written, {shipment.size} expected")
        return f"directory:{final}"

    def health(self) -> Health:
        ok = self.folder.is_dir() and os.access(self.folder, os.W_OK)
        return Health(ok, "" if ok else f"{self.folder} is not a writable folder")


def _holds(final: Path, shipment: Shipment) -> bool:
    """The folder already has this very package (an earlier attempt's copy)."""
    from channels.archive.bag import file_sha256

    return final.is_file() and final.stat().st_size == shipment.size and file_sha256(final) == shipment.sha256


class HttpTransport:
    """``PUT {url}/packages/{package_id}`` with the file as the body; the receiver
    answers ``{"receipt": …}`` once it has checked the package, or 422 with the
    problems it found. Answers follow :mod:`channels.kit.http`, but for the 422: the
    receiver verified the bytes it got and found them damaged, which another upload of
    the same package can cure, so it is retried, naming the damaged files."""

    def __init__(
        self,
        options: HttpUpload,
        policy: outbound.Policy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = options.url.rstrip("/")
        self.timeout = options.timeout_seconds
        token = read_secret(options, "token")
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.clock = clock
        # the configured receiver through the outbound policy (pipeline.outbound)
        self.client = outbound.endpoint_client(self.url, policy or outbound.Policy())

    def send(self, shipment: Shipment) -> str:
        headers = {
            **self.headers,
            "content-type": "application/zip" if shipment.name.endswith(".zip") else "application/x-tar",
            "content-length": str(shipment.size),
            "x-package-sha256": shipment.sha256,
            "x-package-name": shipment.name,
        }
        target = f"{self.url}/packages/{shipment.package_id}"
        try:
            with http.unanswered(f"upload to {target}"), open(shipment.path, "rb") as body:
                response = self.client.put(
                    target, content=_chunks(body), headers=headers, timeout=self.timeout
                )
        except OSError as exc:
            raise TransientError(f"upload to {target} failed: {exc}") from exc
        return _receipt(target, response, shipment, self.clock())

    def health(self) -> Health:
        try:
            response = self.client.get(f"{self.url}/health", headers=self.headers, timeout=10)
        except httpx.HTTPError as exc:
            return Health(False, f"{self.url}: {exc}")
        return Health(response.is_success, f"{self.url}: HTTP {response.status_code}")


def _chunks(body: Any) -> Any:
    while block := body.read(1 << 20):
        yield block


def _receipt(target: str, response: httpx.Response, shipment: Shipment, now: datetime) -> str:
    http.check(response, what="the archive receiver", now=now, ok={422})
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code == 422:
        found = "; ".join(str(p) for p in answer.get("problems", [])) or response.text[:500]
        raise TransientError(f"{target} rejected the package: {found}")
    receipt = answer.get("receipt") if isinstance(answer, dict) else None
    if not receipt:
        raise TransientError(f"{target} answered HTTP {response.status_code} without a receipt")
    if answer.get("sha256") not in (None, shipment.sha256):
        raise TransientError(f"{target} received different bytes (sha256 {answer['sha256']})")
    return str(receipt)


class SftpTransport:
    """Upload under a temporary name, then rename (posix-rename@openssh.com); the
    server's host key must be known (``known_hosts``, else the user's)."""

    def __init__(self, options: SftpUpload) -> None:
        self.options = options

    def send(self, shipment: Shipment) -> str:
        import paramiko

        opts = self.options
        final = f"{opts.path.rstrip('/')}/{shipment.name}"
        partial = f"{opts.path.rstrip('/')}/.{shipment.name}.{secrets.token_hex(4)}.partial"
        try:
            with self._client() as client, client.open_sftp() as sftp:
                if _remote_size(sftp, final) != shipment.size:
                    sftp.put(str(shipment.path), partial, confirm=True)
                    sftp.posix_rename(partial, final)
                size = _remote_size(sftp, final)
        except paramiko.AuthenticationException as exc:
            raise PermanentError(f"sftp {opts.username}@{opts.host}: authentication failed: {exc}") from exc
        except paramiko.BadHostKeyException as exc:
            raise PermanentError(f"sftp {opts.host}: host key does not match known_hosts: {exc}") from exc
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise PermanentError(f"sftp {opts.host}: unknown host key; add it to known_hosts") from exc
            raise TransientError(f"sftp {opts.host}:{opts.port}: {exc}") from exc
        except (TimeoutError, OSError, EOFError) as exc:
            raise TransientError(f"sftp {opts.host}:{opts.port}: {exc}") from exc
        if size != shipment.size:
            raise TransientError(f"sftp {final}: {size} bytes on the server, {shipment.size} expected")
        return f"sftp://{opts.username}@{opts.host}:{opts.port}{_absolute(final)}"

    def _client(self) -> Any:
        import paramiko

        opts = self.options
        client = paramiko.SSHClient()
        if opts.known_hosts is not None:
            client.load_host_keys(str(opts.known_hosts))
        else:
            client.load_system_host_keys()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            opts.host,
            port=opts.port,
            username=opts.username,
            key_filename=str(opts.key_file) if opts.key_file else None,
            password=read_secret(opts, "password"),
            timeout=opts.timeout_seconds,
            banner_timeout=opts.timeout_seconds,
            auth_timeout=opts.timeout_seconds,
            allow_agent=False,
            look_for_keys=False,
        )
        return client

    def health(self) -> Health:
        try:
            with self._client() as client, client.open_sftp() as sftp:
                sftp.stat(self.options.path)
        except Exception as exc:  # health reports, never raises
            return Health(False, f"sftp {self.options.host}: {exc}")
        return Health(True, f"sftp {self.options.host}:{self.options.path}")


def _remote_size(sftp: Any, path: str) -> int | None:
    try:
        return int(sftp.stat(path).st_size)
    except FileNotFoundError:
        return None


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/~/" + path.removeprefix("./")
