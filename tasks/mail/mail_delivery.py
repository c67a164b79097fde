"""Delivering the outbox: SMTP when `SIO_SMTP_HOST` is set, `.eml` files in the outbox otherwise.

Why row by row, each in its own short transaction: ``sent_at`` must mean "the server accepted
it", so it is written only after the SMTP server's 250, and committed at once, before the next
message. A crash loses at most the knowledge of one message, which is then offered again with
the same Message-ID (derived from the outbox key) so the recipient's mail system can recognise
the copy. While a message is being handed over, its row is locked by the UPDATE that counts the
attempt (PostgreSQL: the row; SQLite: the database for that moment), so two runs delivering at
once never both send it; the second finds it sent and moves on.

A temporary failure (4xx, connection trouble) is retried a few times with backoff; a message
that still fails keeps ``attempts``/``last_error``, the others go on, and the run ends with
`MailDeliveryFailed` so the Prefect run shows Failed and the next run sends it (issue 3, item 3).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Protocol

from sqlmodel import Session, col, select, update

from deployments.settings import Settings
from sio_domain.norwegian_calendar import OSLO
from tasks.mail.outbox import Attachment, attachments_of, pending, skip_superseded
from tasks.storage.audit import record_audit
from tasks.storage.database import session_for
from tasks.storage.tables import OutgoingMail

SENDER_NAME = "Helsedirektoratet"
SMTP_TIMEOUT_SECONDS = 20  # below SQLite's 30 s busy timeout: a hung server must not stall writers
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    """The outbox keys a delivery run sent, skipped as superseded, and could not deliver."""

    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailedMail:
    """A message that is still unsent after this run's attempts, and why."""

    key: str
    error: str


class MailDeliveryFailed(RuntimeError):
    """Some messages could not be delivered; they stay in the outbox for the next run."""

    def __init__(self, report: DeliveryReport, failures: Sequence[FailedMail]) -> None:
        self.report = report
        self.failures = tuple(failures)
        listed = "; ".join(f"{failure.key}: {failure.error}" for failure in self.failures)
        super().__init__(
            f"{len(self.failures)} message(s) not delivered, left for the next run "
            f"({len(report.sent)} sent): {listed}"
        )


class DeliveryError(Exception):
    """One attempt failed. ``temporary``: worth retrying; ``server``: every message would fail."""

    def __init__(self, reason: str, *, temporary: bool, server: bool = False) -> None:
        super().__init__(reason)
        self.temporary = temporary
        self.server = server


class Transport(Protocol):
    """Where accepted messages go: an SMTP server or the outbox folder."""

    def send(self, message: EmailMessage, *, key: str, sender: str, to: list[str]) -> str | None:
        """Hand the message over; returns a note (e.g. refused recipients) or None."""
        ...

    def close(self) -> None: ...


def deliver_pending(
    database_url: str,
    settings: Settings,
    *,
    now: datetime,
    round_id: str | None = None,
    actor: str = "mail-delivery",
    attempts_per_run: int = 3,
    backoff_seconds: float = 2.0,
) -> DeliveryReport:
    """Send every message due at ``now``; raises `MailDeliveryFailed` if any is left unsent.

    Stale reminders are skipped first (`tasks.mail.outbox.skip_superseded`). ``actor`` names the run
    in the audit log. ``backoff_seconds`` doubles after each temporary failure.
    """
    if attempts_per_run < 1:
        raise ValueError(f"attempts_per_run must be at least 1, not {attempts_per_run}")
    with session_for(database_url) as session:
        skipped = skip_superseded(session, now=now, round_id=round_id)
        if skipped:  # audited in the same transaction as the skip
            superseded = select(OutgoingMail).where(col(OutgoingMail.key).in_(skipped))
            for row in session.exec(superseded):
                _audit(session, row, now=now, actor=actor, what="mail_skipped", reason=row.skipped)
        session.commit()
        due = [(mail.id, mail.key) for mail in pending(session, now=now, round_id=round_id)]

    transport = _transport_for(settings)
    sent: list[str] = []
    failures: list[FailedMail] = []
    try:
        for position, (mail_id, key) in enumerate(due):
            assert mail_id is not None
            try:
                if _deliver_one(
                    database_url,
                    transport,
                    settings,
                    mail_id=mail_id,
                    now=now,
                    actor=actor,
                    attempts=attempts_per_run,
                    backoff_seconds=backoff_seconds,
                ):
                    sent.append(key)
            except DeliveryError as error:
                failures.append(FailedMail(key, str(error)))
                if error.server:  # the rest would fail the same way: leave them for next run
                    rest = due[position + 1 :]
                    failures.extend(FailedMail(k, f"not attempted: {error}") for _, k in rest)
                    break
    finally:
        transport.close()

    report = DeliveryReport(
        sent=tuple(sent), skipped=tuple(skipped), failed=tuple(f.key for f in failures)
    )
    if failures:
        raise MailDeliveryFailed(report, failures)
    return report


def compose_message(
    *,
    key: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment],
    mail_from: str,
    date: datetime,
) -> EmailMessage:
    """An RFC 5322 message in UTF-8, 7-bit clean (quoted-printable text, base64 files).

    The Message-ID is derived from ``key``: a message offered twice (after a crash between the
    server's acceptance and our commit) carries the same ID and can be recognised as one.
    """
    name, address = parseaddr(mail_from)
    message = EmailMessage()
    message["From"] = Address(display_name=name or SENDER_NAME, addr_spec=address)
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(date.astimezone(OSLO))
    message["Message-ID"] = message_id(key, mail_from)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    message["X-SIO-Key"] = key
    message.set_content(body, cte="quoted-printable")
    for attachment in attachments:
        _attach(message, attachment)
    return message


def message_id(key: str, mail_from: str) -> str:
    """``<sio.<hash of key>@<sender's domain>>``: the same for every copy of one outbox row."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "sio.helsedir.no"
    return f"<sio.{_digest(key)}@{domain}>"


def eml_filename(key: str) -> str:
    """A file name for the outbox folder: readable from the key, unique by its hash."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:80] or "mail"
    return f"{readable}--{_digest(key)[:12]}.eml"


def _deliver_one(
    database_url: str,
    transport: Transport,
    settings: Settings,
    *,
    mail_id: int,
    now: datetime,
    actor: str,
    attempts: int,
    backoff_seconds: float,
) -> bool:
    """Deliver one row; True if this call sent it, False if another run already had."""
    for attempt in range(1, attempts + 1):
        with session_for(database_url) as session:
            mail = _claim(session, mail_id)
            if mail is None:
                return False
            recipients = mail.recipients.split(",")
            message = compose_message(
                key=mail.key,
                recipients=recipients,
                subject=mail.subject,
                body=mail.body,
                attachments=attachments_of(session, mail),
                mail_from=settings.mail_from,
                date=now,
            )
            try:
                note = transport.send(
                    message, key=mail.key, sender=parseaddr(settings.mail_from)[1], to=recipients
                )
            except DeliveryError as error:
                mail.last_error = f"attempt {mail.attempts} at {now.isoformat()}: {error}"
                session.add(mail)
                final = not error.temporary or attempt == attempts
                if final:
                    _audit(
                        session, mail, now=now, actor=actor, what="mail_failed", reason=f"{error}"
                    )
                session.commit()
                _log.warning("mail %s not delivered (attempt %d): %s", mail.key, attempt, error)
                if final:
                    raise
                time.sleep(backoff_seconds * 2 ** (attempt - 1))
                continue
            mail.sent_at = now
            if note:
                mail.last_error = note
            session.add(mail)
            _audit(session, mail, now=now, actor=actor, what="mail_sent", reason=note)
            session.commit()
            return True
    raise AssertionError("unreachable: the last attempt returns or raises")


def _claim(session: Session, mail_id: int) -> OutgoingMail | None:
    """Count an attempt on an unsent row, which locks it until commit; None if sent or skipped."""
    claimed = session.exec(
        update(OutgoingMail)
        .where(
            col(OutgoingMail.id) == mail_id,
            col(OutgoingMail.sent_at).is_(None),
            col(OutgoingMail.skipped).is_(None),
        )
        .values(attempts=col(OutgoingMail.attempts) + 1)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        session.rollback()
        return None
    return session.get(OutgoingMail, mail_id, populate_existing=True)


def _audit(
    session: Session,
    mail: OutgoingMail,
    *,
    now: datetime,
    actor: str,
    what: str,
    reason: str | None,
) -> None:
    detail: dict[str, object] = {"key": mail.key, "kind": mail.kind, "attempts": mail.attempts}
    if reason:
        detail["reason"] = reason
    record_audit(
        session,
        at=now,
        actor=actor,
        what=what,
        round_id=mail.round_id,
        kommunenummer=mail.kommunenummer,
        detail=detail,
    )


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    """Add a file with its Content-Type parameters (e.g. ``method=REQUEST`` for invitations)."""
    header = Message()
    header["Content-Type"] = attachment.mimetype
    maintype, subtype = header.get_content_maintype(), header.get_content_subtype()
    listed = header.get_params() or []
    params = {name: value for name, value in listed[1:] if isinstance(value, str)}
    if maintype == "text":
        charset = params.pop("charset", "utf-8")
        message.add_attachment(
            attachment.content.decode(charset),
            subtype=subtype,
            charset="utf-8",
            cte="quoted-printable",
            filename=attachment.filename,
            params=params,
        )
    else:
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _transport_for(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FileOutbox(settings.outbox_dir)


class FileOutbox:
    """Writes each message as ``<key>--<hash>.eml`` into the outbox folder (no SMTP configured).

    Written to a hidden temporary file and renamed into place, so a reader never sees half a
    message; the name depends only on the key, so offering a message again replaces its file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, *, key: str, sender: str, to: list[str]) -> str | None:
        target = self.folder / eml_filename(key)
        temporary = self.folder / f".{target.name}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as file:
                file.write(message.as_bytes(policy=SMTP_POLICY))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise DeliveryError(
                f"cannot write {target}: {error}", temporary=True, server=True
            ) from None
        return None

    def close(self) -> None:
        return None


class SmtpTransport:
    """One SMTP connection per delivery run, opened on first use and reopened after a failure."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.settings = settings
        self.host = settings.smtp_host
        self.port = settings.smtp_port or (587 if settings.smtp_starttls else 25)
        self._client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, *, key: str, sender: str, to: list[str]) -> str | None:
        client = self._connected()
        try:
            refused = client.send_message(message, from_addr=sender, to_addrs=to)
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            codes = [code for code, _ in error.recipients.values()]
            temporary = any(400 <= code < 500 for code in codes)
            raise DeliveryError(
                f"all recipients refused: {error.recipients}", temporary=temporary
            ) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            raise DeliveryError(
                _describe(error),
                temporary=400 <= error.smtp_code < 500,
                server=isinstance(error, smtplib.SMTPSenderRefused),  # refused for every message
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise DeliveryError(f"connection lost: {error!r}", temporary=True) from None
        if refused:
            return f"accepted, but these recipients were refused: {refused}"
        return None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def _connected(self) -> smtplib.SMTP:
        if self._client is not None:
            return self._client
        where = f"SMTP server {self.host}:{self.port}"
        try:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
            try:
                if self.settings.smtp_starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.settings.smtp_user:
                    password = self.settings.smtp_password
                    client.login(
                        self.settings.smtp_user, password.get_secret_value() if password else ""
                    )
            except BaseException:
                client.close()
                raise
        except smtplib.SMTPResponseException as error:
            temporary = 400 <= error.smtp_code < 500
            raise DeliveryError(
                f"{where}: {_describe(error)}", temporary=temporary, server=True
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"{where} unreachable: {error!r}", temporary=True, server=True
            ) from None
        self._client = client
        return client


def _describe(error: smtplib.SMTPResponseException) -> str:
    reply = error.smtp_error
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{error.smtp_code} {text}"
