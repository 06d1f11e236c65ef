"""An SMTP exchange (``smtplib``) → the delivery error tree, one rule for mail channels.

RFC 5321 says it in the reply code's first digit: 4yz is a transient failure ("try
again later": 421 closing, 450 mailbox busy, 451 local error, 452 storage), 5yz a
permanent one (550 no such mailbox, 553 bad address, 535 credentials refused). So:

=================================  =========================================
what happened                      the delivery
=================================  =========================================
a reply 4yz                        ``TransientError``
a reply 5yz                        ``PermanentError`` with the server's words
every recipient refused            transient if any refusal is 4yz, else permanent
no connection, dropped, timed out  ``TransientError``
the server lacks what we need      ``PermanentError`` (STARTTLS, AUTH: fix the
                                   configuration)
=================================  =========================================

Some recipients refused and others accepted is not an error: ``sendmail`` answers the
refused ones, and the channel decides (record them in its reference, or retry them).
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.errors import DeliveryError, PermanentError, TransientError


@contextmanager
def smtp_errors(what: str) -> Iterator[None]:
    """Around the SMTP conversation; ``what`` names the server in messages."""
    try:
        yield
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        words = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
        error = TransientError if any(400 <= c < 500 for c in codes) else PermanentError
        raise error(f"{what} refused every recipient: {words}") from exc
    except smtplib.SMTPResponseException as exc:
        raise reply_error(exc.smtp_code, _text(exc.smtp_error), what) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientError(f"{what} closed the connection: {exc}") from exc
    except smtplib.SMTPException as exc:  # no STARTTLS, no usable AUTH method …
        raise PermanentError(f"{what} does not support what the options ask for: {exc}") from exc
    except OSError as exc:  # refused, reset, timed out, name not found
        raise TransientError(f"{what} unreachable: {exc}") from exc


def reply_error(code: int, message: str, what: str) -> DeliveryError:
    """The error for one negative reply."""
    text = f"{what} answered {code} {message}"
    if 400 <= code < 500:
        return TransientError(text)
    if code == 535:
        return PermanentError(f"{text} (check the credentials: their environment variable or file)")
    return PermanentError(text)


def _text(message: bytes | str) -> str:
    return (message.decode("utf-8", "replace") if isinstance(message, bytes) else message)[:500]
