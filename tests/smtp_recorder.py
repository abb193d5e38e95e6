"""A local SMTP peer for the tests: an aiosmtpd handler that records what it accepts."""

from __future__ import annotations

import email
import email.policy
import socket


class Recorder:
    """An SMTP handler that keeps what it accepts; refuses (550) or defers (451, once) chosen recipients."""

    def __init__(self):
        self.messages = []
        self.rcpt = []
        self.refuse = set()
        self.defer_once = set()
        self.defer_always = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt.append(address)
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        if address in self.defer_always:
            return "451 4.7.1 Greylisted"
        if address in self.defer_once:
            self.defer_once.discard(address)
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos[0], message))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
