"""Send e-mails through an SMTP server, with retries on temporary failures.

Settings from :func:`spse.core.config.smtp_settings` (host, port, sender, ``starttls`` / ``ssl`` /
``none``); the login and password, when the server asks for them, are the secrets
``<connection>``/``login`` and ``password`` (:mod:`spse.core.secrets`: ``$SPSE_SMTP_LOGIN``,
``$SPSE_SMTP_PASSWORD`` or the Airflow connection, ``smtp`` by default, ``smtp_default`` in
production). One connection serves every message of a run.

A reply 4xx, a dropped or refused connection, a timeout is temporary: the message is tried again
after ``backoff_s``, then twice that... (``retries`` new attempts, and no more than
``max_wait_s`` of waiting in the whole run). A reply 5xx refusing the
recipient or the message is permanent for that message: :class:`PermanentFailure`, and the
others still go. A failure of the server itself (unreachable after the retries, sender or
login refused) is :class:`ServerFailure`: the following messages are not tried in that run.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage

from spse.core import secrets
from spse.core.config import SmtpSettings
from spse.core.errors import DeliveryFailure, PermanentFailure, ServerFailure, TemporaryFailure

log = logging.getLogger(__name__)


class Mailer:
    """An SMTP client for one run: :meth:`send` each message, then :meth:`close` (or use ``with``).

    ``sleep`` waits between attempts (seconds); tests pass a recorder.
    """

    def __init__(self, smtp: SmtpSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.smtp = smtp
        self._sleep = sleep
        self._client: smtplib.SMTP | None = None
        self._down: ServerFailure | None = None
        self._waited = 0.0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: EmailMessage) -> int:
        """Send ``message`` to its ``To``; return the number of attempts it took.

        Raises :class:`PermanentFailure`, :class:`TemporaryFailure` or :class:`ServerFailure`.
        """
        if self._down is not None:
            raise ServerFailure(f"not tried: {self._down}")
        attempts = self.smtp.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                self._connection().send_message(message)
                return attempt
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                error: DeliveryFailure = _by_code(code, f"recipient refused: {code} {_text(reply)}")
            except (smtplib.SMTPDataError, smtplib.SMTPNotSupportedError) as exc:
                code = getattr(exc, "smtp_code", 554)
                error = _by_code(code, f"message refused: {code} {_text(getattr(exc, 'smtp_error', exc))}")
            except smtplib.SMTPAuthenticationError as exc:
                error = ServerFailure(f"login refused by {self.smtp.host}: {exc.smtp_code}", retry=False)
            except smtplib.SMTPSenderRefused as exc:
                error = _by_code(exc.smtp_code, f"sender {self.smtp.sender} refused: {exc.smtp_code} "
                                                f"{_text(exc.smtp_error)}", server=True)
            except smtplib.SMTPResponseException as exc:
                error = _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}", server=True)
            except (smtplib.SMTPException, OSError) as exc:
                error = ServerFailure(f"SMTP server {self.smtp.host}:{self.smtp.port} unavailable: "
                                      f"{type(exc).__name__}: {exc}")
            self._drop()
            if isinstance(error, PermanentFailure) or (isinstance(error, ServerFailure) and not error.retry):
                break
            wait = self.smtp.backoff_s * 2 ** (attempt - 1)
            if attempt < attempts and self._waited + wait > self.smtp.max_wait_s:
                log.warning("SMTP to %s: %s; no new attempt in this run (waits of the run would pass %.0f s)",
                            message["To"], error, self.smtp.max_wait_s)
                break
            if attempt < attempts:
                self._waited += wait
                log.warning("SMTP attempt %d/%d to %s failed (%s); next in %.0f s", attempt, attempts,
                            message["To"], error, wait)
                self._sleep(wait)
        if isinstance(error, ServerFailure):
            self._down = error
        raise error

    def close(self) -> None:
        """Say QUIT to the server, if connected."""
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self._client = None

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
        self._client = None

    def _connection(self) -> smtplib.SMTP:
        if self._client is not None:
            return self._client
        smtp = self.smtp
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
        login = _secret(smtp.connection, "login")
        if login:
            client.login(login, _secret(smtp.connection, "password") or "")
        self._client = client
        return client


def _by_code(code: int, reason: str, *, server: bool = False) -> DeliveryFailure:
    temporary = 400 <= code < 500
    if server:
        return ServerFailure(reason, retry=temporary)
    return TemporaryFailure(reason) if temporary else PermanentFailure(reason)


def _text(reply: object) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _secret(connection: str, field: str) -> str | None:
    try:
        return secrets.get(connection, field).reveal()
    except secrets.MissingSecret:
        return None
