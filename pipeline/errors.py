"""One error tree for govpub.

    GovpubError
    ├── ConfigError                  bad configuration: key, value, what is valid
    ├── IntakeError                  refused input, answered as a 4xx
    │   ├── ValidationFailed         422: the item is incomplete or invalid
    │   ├── Unauthorized             401: no or wrong token
    │   ├── Forbidden                403: another source's item
    │   ├── Conflict                 409: same revision, different body
    │   │   └── IndexNoTaken         409: an explicit 索引号 another item holds
    │   ├── StaleRevision            409: lower revision than the stored one
    │   └── NotFound                 404
    └── DeliveryError                raised by channels, classified once here
        ├── TransientError           retry with backoff and jitter
        │   ├── RateLimited          the channel asked us to slow down
        │   ├── NotDue               wait for a window (broadcast time, quota reset):
        │   │                        state ``waiting``, not a failed attempt
        │   └── AwaitingConfirmation accepted by the channel, result not known yet:
        │       │                    state ``waiting``, polled later, not a failed attempt
        │       └── Unconfirmed      the channel took it irrevocably (a mass send went
        │                            out): state ``unconfirmed``, counted as reached,
        │                            confirmed later, never dead for want of an answer
        ├── InDoubt                  the channel may hold it and cannot tell: state
        │                            ``in_doubt`` until an operator confirms or resubmits
        └── PermanentError           dead at once, with a message an operator can act on

Channels translate SDK and HTTP errors at their boundary with ``raise … from exc``;
the delivery runner only ever sees this tree (anything else counts as transient).
Rendering an item's content into a channel's format is wrapped in
:func:`content_errors`: content that cannot be written (a control character in XML)
fails the same way on every attempt, so it is permanent, and the message says which
item and what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any


class GovpubError(Exception):
    """Root of every error govpub raises on purpose."""


class ConfigError(GovpubError):
    """A configuration value that cannot work; stops start-up."""

    def __init__(self, key: str, value: object, valid: str) -> None:
        super().__init__(f"invalid setting {key}={value!r}: {valid}")
        self.key, self.value, self.valid = key, value, valid


class IntakeError(GovpubError):
    """Input refused at the intake; ``status`` is the HTTP answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class ValidationFailed(IntakeError):
    status, code = 422, "invalid_item"


class Unauthorized(IntakeError):
    status, code = 401, "unauthorized"


class Forbidden(IntakeError):
    status, code = 403, "forbidden"


class Conflict(IntakeError):
    status, code = 409, "conflict"


class IndexNoTaken(Conflict):
    code = "index_no_taken"


class StaleRevision(IntakeError):
    status, code = 409, "stale_revision"


class NotFound(IntakeError):
    status, code = 404, "not_found"


class DeliveryError(GovpubError):
    """A channel operation failed; subclasses say whether to retry."""


class TransientError(DeliveryError):
    """Worth retrying: network trouble, 5xx, busy or rate-limited services."""

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class RateLimited(TransientError):
    """The channel's own quota or rate limit; ``retry_at`` when it is known."""


class NotDue(TransientError):
    """The delivery must wait for a window (a broadcast time, a quota reset)."""


class AwaitingConfirmation(TransientError):
    """The channel accepted the work and confirms it asynchronously; poll later."""


class Unconfirmed(AwaitingConfirmation):
    """The work left for good (``ref`` says what went out) and its result is still to be
    confirmed. The delivery counts as reached from now on; a later failure to get the
    answer keeps it ``unconfirmed``, it never makes it dead."""

    def __init__(self, message: str, ref: dict[str, Any], retry_at: datetime | None = None) -> None:
        super().__init__(message, retry_at=retry_at)
        self.ref = ref


class InDoubt(DeliveryError):
    """The channel may hold the item but cannot find out (an answer was lost and no API
    can look it up). Retrying could publish it twice, so nothing happens until an
    operator looks and either confirms it with its reference or resubmits it."""


class PermanentError(DeliveryError):
    """Retrying cannot help; the message says what an operator must do."""


CONTENT_ERRORS = (ValueError, TypeError, UnicodeError)  # what renderers raise on what they are given


@contextmanager
def content_errors(what: str) -> Iterator[None]:
    """Around the rendering of one item's content (``what`` names it): an error of the
    content itself becomes a PermanentError an operator can act on, never a retry."""
    try:
        yield
    except DeliveryError:
        raise
    except CONTENT_ERRORS as exc:
        raise PermanentError(
            f"{what} cannot be written from the item's content ({type(exc).__name__}: {exc}); "
            "retrying cannot help: have the source submit a corrected revision, or skip this delivery"
        ) from exc
