"""Every error class of spse, in one place.

Feed errors name the feed, the URL or file, and the row. The other errors were defined next
to their raiser and are still importable from there (``spse.pipeline.locking.LockTimeout``,
``spse.pipeline.warehouse.expert.Refused``, ``spse.pipeline.warehouse.models.WarehouseError``,
``spse.core.secrets.MissingSecret``, ``spse.pipeline.daily.MissingObservations``, the mail and
notification errors from ``spse.pipeline.mailer``, ``spse.pipeline.subscriptions`` and ``spse.pipeline.notify``).
"""

from __future__ import annotations

from spse.core.redaction import redact_url


class FeedError(Exception):
    """A feed could not be fetched or read.

    The message always names the feed, and the URL or file, and the row when there is one.
    URL, file and problem are kept with their credentials removed (:func:`spse.core.redaction.redact_url`):
    they reach logs, the quality log and alerts.
    """

    def __init__(self, feed: str, problem: str, *, url: str | None = None,
                 file: str | None = None, row: int | None = None) -> None:
        url, file, problem = redact_url(url), redact_url(file), redact_url(problem)
        self.feed, self.problem, self.url, self.file, self.row = feed, problem, url, file, row
        where = [f"feed {feed}"]
        if url:
            where.append(f"url {url}")
        if file:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {problem}")


class FetchError(FeedError):
    """The bytes could not be obtained (HTTP error, deadline, size cap, missing file)."""

    def __init__(self, feed: str, problem: str, *, url: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(feed, problem, url=url)


class SchemaError(FeedError):
    """The file is not in the shape the parser knows (header changed, HTML instead of CSV)."""


class RefusedInput(FeedError):
    """The data-quality gate refused an input (``spse.pipeline.gate``): the last good partition is kept."""


class LockTimeout(TimeoutError):
    """The writer lock was not acquired in time; the message names who holds it."""


class Refused(Exception):
    """An expert query was refused or stopped; the message says why, in one line."""


class WarehouseError(Exception):
    """The warehouse could not be built or published; the message names the model or file."""


class MissingSecret(LookupError):
    """No value configured for a secret a source needs."""


class MissingObservations(RuntimeError):
    """The day's air observations (``air_hourly``) could not be obtained: the run stops.

    The message names the feed and its URL or file (from the underlying
    :class:`spse.core.errors.FeedError`, also recorded as ``failed`` in the quality log).
    """


class DeliveryFailure(Exception):
    """A message was not delivered; ``str()`` is the reason, without secret."""


class PermanentFailure(DeliveryFailure):
    """The server refused this recipient or this message (5xx): trying again will not help."""


class TemporaryFailure(DeliveryFailure):
    """Still a temporary failure (4xx, connection) after every retry: a later run may succeed."""


class ServerFailure(TemporaryFailure):
    """The server cannot be used (unreachable after the retries, sender or login refused).

    ``retry`` is false when trying again within the run will not help (a 5xx, a refused login).
    """

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


class SubscriptionError(ValueError):
    """The subscriptions file cannot be read at all (not YAML, no ``subscribers`` list)."""


class NotificationError(RuntimeError):
    """The SMTP server of the alert e-mails could not be used; what was sent is in the ledger."""
