"""One SMTP conversation with the relay: STARTTLS or SMTPS, AUTH, then each message to
its one recipient. Replies are classified by ``channels.kit.smtp``: a server-wide 4yz
or a lost connection is transient, a 5yz permanent; a recipient refused alone is that
recipient's outcome (the caller marks a 5yz as a bounce), not the whole delivery's."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage

from channels.kit import secrets
from channels.kit.smtp import smtp_errors

from .options import EmailOptions


@dataclass(frozen=True)
class Refusal:
    code: int
    text: str

    @property
    def permanent(self) -> bool:
        return self.code >= 500


def tls_context(options: EmailOptions) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(options.tls_ca_file) if options.tls_ca_file else None)
    return context


@contextmanager
def connected(options: EmailOptions, what: str = "mail relay") -> Iterator[smtplib.SMTP]:
    """A logged-in connection; errors raised inside are classified too."""
    with smtp_errors(what):
        client: smtplib.SMTP
        if options.security == "ssl":
            client = smtplib.SMTP_SSL(
                options.smtp_host,
                options.smtp_port,
                timeout=options.timeout_seconds,
                context=tls_context(options),
            )
        else:
            client = smtplib.SMTP(options.smtp_host, options.smtp_port, timeout=options.timeout_seconds)
        try:
            client.ehlo()
            if options.security == "starttls":
                client.starttls(context=tls_context(options))
                client.ehlo()
            if options.username is not None:
                password = secrets.read_secret(options, "password", label="the SMTP password") or ""
                client.login(options.username, password)
            yield client
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def send(
    client: smtplib.SMTP, message: EmailMessage, sender: str, recipient: str, what: str = "mail relay"
) -> Refusal | None:
    """Send to one recipient: None when accepted, the refusal when the relay refused this
    recipient (or this message) with a reply code; server-wide trouble raises."""
    with smtp_errors(what):
        try:
            client.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients[recipient]
            return Refusal(code, _text(text))
        except smtplib.SMTPDataError as exc:  # this message refused after DATA
            _reset(client)
            return Refusal(exc.smtp_code, _text(exc.smtp_error))
    return None


def _reset(client: smtplib.SMTP) -> None:
    with suppress(smtplib.SMTPException, OSError):
        client.rset()


def _text(text: bytes | str) -> str:
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else text)[:300]
