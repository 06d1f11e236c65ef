"""Options of one archive receiver (``[channels.NAME.options]``), checked at start-up.

Each receiver (the district archives, the public library) is one channel instance
of kind ``archive``; its transport is a sub-table chosen by ``kind``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from channels.archive.periods import Schedule
from channels.kit import secrets


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DirectoryDrop(_Options):
    """Write the package into a folder (often a network mount the receiver reads)."""

    kind: Literal["directory"]
    path: Path


class HttpUpload(_Options):
    """PUT the package to ``{url}/packages/{package_id}``; the answer carries the receipt."""

    kind: Literal["http"]
    url: Annotated[str, Field(pattern=r"^https?://")]
    # a bearer token, if the receiver wants one: from this variable or file (channels.kit.secrets)
    token_env: str | None = None
    token_file: Path | None = None
    timeout_seconds: float = Field(default=300.0, gt=0)


class SftpUpload(_Options):
    """Upload to ``path`` on an SFTP server; host keys are always checked."""

    kind: Literal["sftp"]
    host: str
    port: int = Field(default=22, ge=1, le=65535)
    username: str
    key_file: Path | None = None
    # a password, if the server wants one: from this variable or file (channels.kit.secrets)
    password_env: str | None = None
    password_file: Path | None = None
    known_hosts: Path | None = None
    path: str = "."
    timeout_seconds: float = Field(default=60.0, gt=0)


Transport = Annotated[DirectoryDrop | HttpUpload | SftpUpload, Field(discriminator="kind")]


class ArchiveOptions(_Options):
    schedule: Schedule = "monthly"
    source_organization: str = Field(min_length=1)
    organization_code: str | None = None
    transport: Transport
    packing: Literal["tar", "zip"] = "tar"
    # Wait this long after a period closes, so items accepted in its last second are in.
    settle_seconds: float = Field(default=300.0, ge=0)
    work_dir: Path | None = None


def parse_options(name: str, options: dict[str, Any]) -> ArchiveOptions:
    """Validate, or stop start-up naming the key, the value and what would be valid
    (a secret written in the options among them: :mod:`channels.kit.secrets`)."""
    return secrets.parse_options(ArchiveOptions, name, options)


def check_options(name: str, options: dict[str, Any]) -> None:
    """:func:`parse_options`, and the transport's token or password can be read."""
    secrets.check_secrets(parse_options(name, options), name)
