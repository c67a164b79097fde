"""A real SMTP server on localhost that keeps what it receives, for the mail tests.

It accepts any AUTH LOGIN/PLAIN credentials without TLS (and records them), so code that logs in
can be tested too; it does not offer STARTTLS. Faults can be chosen: a 451 for the next messages
(`reject_next`), a chosen reply for one recipient (`refuse_recipient`: 451 or 550 per address),
and a server that hangs before answering DATA (`hang_for`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.free_port import free_tcp_port

TEMPORARY_FAILURE = "451 4.3.0 Temporary local problem, try again later"


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class RecordingSmtpServer:
    """Runs in a background thread; `.messages` fills in as mail arrives."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_tcp_port(host)
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, str]] = []
        self._rejections_left = 0
        self._recipient_replies: dict[str, list[str]] = {}
        self._hang_seconds = 0.0
        self.refuse_logins = False
        self._lock = threading.Lock()
        self._controller = Controller(
            self,
            hostname=host,
            port=self.port,
            enable_SMTPUTF8=True,
            authenticator=self._accept_any_login,
            auth_require_tls=False,
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def clear(self) -> None:
        """Forgets received mail and logins, and cancels pending rejections."""
        with self._lock:
            self.messages.clear()
            self.logins.clear()
            self._rejections_left = 0
            self._recipient_replies.clear()
            self._hang_seconds = 0.0
            self.refuse_logins = False

    def messages_for(self, address: str) -> list[EmailMessage]:
        """The parsed messages that went to ``address``."""
        with self._lock:
            return [m.message for m in self.messages if address in m.rcpt_tos]

    def reject_next(self, count: int = 1) -> None:
        """Answers the next `count` messages' DATA with a 451 temporary failure (for retries)."""
        with self._lock:
            self._rejections_left = count

    def refuse_recipient(self, address: str, reply: str, times: int = 1_000_000) -> None:
        """Answers RCPT TO ``address`` with ``reply`` (e.g. "550 5.1.1 No such user") ``times``."""
        with self._lock:
            self._recipient_replies[address.lower()] = [reply] * times

    def hang_for(self, seconds: float) -> None:
        """Waits ``seconds`` before answering each message's DATA (a hung server); 0 to stop."""
        with self._lock:
            self._hang_seconds = seconds

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self._lock:
            planned = self._recipient_replies.get(address.lower())
            if planned:
                return planned.pop()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            hang = self._hang_seconds
        if hang:
            await asyncio.sleep(hang)
            return TEMPORARY_FAILURE  # the client has given up by now; keep nothing
        with self._lock:
            if self._rejections_left > 0:
                self._rejections_left -= 1
                return TEMPORARY_FAILURE
            raw = cast(bytes, envelope.original_content or envelope.content)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            self.messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message,
                    raw=raw,
                )
            )
        return "250 Message accepted for delivery"

    def _accept_any_login(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            with self._lock:
                self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        if self.refuse_logins:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True)
