"""One secrets policy (channels.kit.secrets): from a variable or a file named in the
options, never from the options; refusals name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict

from channels.kit.secrets import check_secrets, parse_options, read_secret, secret_names
from pipeline.errors import ConfigError


class Upload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["upload"]
    password_env: str | None = None
    password_file: Path | None = None


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    token_env: str = "GOVPUB_TEST_BOARD_TOKEN"
    token_file: Path | None = None
    upload: Upload | None = None


def test_secrets_are_the_options_with_an_env_variable() -> None:
    assert secret_names(Options) == ["token"] and secret_names(Upload) == ["password"]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"url": "u", "token": "literal"}, "channels.board.options.token"),
        (
            {"url": "u", "upload": {"kind": "upload", "password": "p"}},
            "channels.board.options.upload.password",
        ),
    ],
)
def test_a_literal_secret_is_refused_naming_the_key_never_the_value(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_options(Options, "board", raw)
    assert refused.value.key == key and "never put a secret" in str(refused.value)
    assert "literal" not in str(refused.value) and "'p'" not in str(refused.value)


def test_from_the_variable_or_a_file_which_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOVPUB_TEST_BOARD_TOKEN", " from-env\n")
    options = parse_options(Options, "board", {"url": "u"})
    assert read_secret(options, "token") == "from-env"
    (tmp_path / "token").write_text("from-file\n")
    options = parse_options(Options, "board", {"url": "u", "token_file": str(tmp_path / "token")})
    assert read_secret(options, "token") == "from-file"


def test_a_missing_secret_stops_the_check_naming_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GOVPUB_TEST_BOARD_TOKEN", raising=False)
    options = parse_options(Options, "board", {"url": "u"})
    with pytest.raises(ConfigError) as missing:
        check_secrets(options, "board")
    assert missing.value.key == "channels.board.options.token_env" and "GOVPUB_TEST_BOARD_TOKEN" in str(
        missing.value
    )
    monkeypatch.setenv("GOVPUB_TEST_BOARD_TOKEN", "t")
    nested = parse_options(
        Options, "board", {"url": "u", "upload": {"kind": "upload", "password_file": str(tmp_path / "none")}}
    )
    with pytest.raises(ConfigError) as unreadable:
        check_secrets(nested, "board")
    assert unreadable.value.key == "channels.board.options.upload.password_file"


def test_an_optional_secret_may_be_absent() -> None:
    upload = Upload(kind="upload")
    assert read_secret(upload, "password") is None
