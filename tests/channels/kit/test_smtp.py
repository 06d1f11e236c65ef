"""SMTP replies map to the error tree by their first digit (channels.kit.smtp), against
a scripted SMTP server on loopback."""

from __future__ import annotations

import smtplib
import socketserver
import threading
from collections.abc import Iterator

import pytest

from channels.kit.smtp import smtp_errors
from pipeline.errors import DeliveryError, PermanentError, TransientError


class Scripted(socketserver.StreamRequestHandler):
    """Answers 250 to everything but the verbs in ``server.replies`` (verb → reply)."""

    def handle(self) -> None:
        replies: dict[str, str] = self.server.replies  # type: ignore[attr-defined]
        self.wfile.write(b"220 stub ready\r\n")
        while line := self.rfile.readline():
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].strip().upper().decode()
            if verb == "DATA" and "DATA" not in replies:
                self.wfile.write(b"354 go on\r\n")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
            reply = replies.get(verb, "221 bye" if verb == "QUIT" else "250 ok")
            self.wfile.write(reply.encode() + b"\r\n")
            if verb == "QUIT" or reply.startswith("421"):
                return


@pytest.fixture
def smtp_server() -> Iterator[socketserver.TCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def send(server: socketserver.TCPServer, replies: dict[str, str]) -> type[DeliveryError] | None:
    server.replies = replies  # type: ignore[attr-defined]
    try:
        with smtp_errors("mail relay"), smtplib.SMTP(*server.server_address, timeout=5) as relay:
            relay.sendmail("govpub@example.gov.cn", ["desk@paper.example"], b"Subject: t\r\n\r\nbody")
    except DeliveryError as exc:
        return type(exc)
    return None


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ({}, None),
        ({"MAIL": "451 local error, try later"}, TransientError),
        ({"MAIL": "553 sender address rejected"}, PermanentError),
        ({"RCPT": "450 mailbox busy"}, TransientError),
        ({"RCPT": "550 no such mailbox"}, PermanentError),
        ({"DATA": "452 insufficient storage"}, TransientError),
        ({"DATA": "554 message refused"}, PermanentError),
        ({"EHLO": "421 closing", "HELO": "421 closing"}, TransientError),
    ],
)
def test_the_first_digit_decides(
    smtp_server: socketserver.TCPServer, replies: dict[str, str], expected: type[DeliveryError] | None
) -> None:
    assert send(smtp_server, replies) is expected


def test_no_server_is_transient() -> None:
    free = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    port = free.server_address[1]
    free.server_close()
    with pytest.raises(TransientError, match="unreachable"), smtp_errors("mail relay"):
        smtplib.SMTP("127.0.0.1", port, timeout=5)


def test_a_server_without_what_the_options_need_is_permanent(smtp_server: socketserver.TCPServer) -> None:
    smtp_server.replies = {}  # type: ignore[attr-defined]
    refused = pytest.raises(PermanentError, match="does not support")
    with refused, smtp_errors("mail relay"), smtplib.SMTP(*smtp_server.server_address, timeout=5) as relay:
        relay.starttls()  # the stub offers no STARTTLS
