"""Delivering the outbox: SMTP when `SIO_SMTP_HOST` is set, `.eml` files in the outbox otherwise.

Why claim, talk, record — three steps and never one transaction (design decision (D), "nothing
lost, nothing stale"): a message is first *claimed* in a short transaction (state ``claimed``,
with this run's ``host:pid:token``), then the SMTP conversation happens with no database
transaction open (a slow or hanging server holds no lock, so imports and other runs go on), and
the server's answer is *recorded* in a second short transaction as soon as it has answered,
before the next message. A run killed in flight leaves that one message ``claimed``; the next run
sees the claimant is gone (same host, process dead) or its claim too old, and offers it again with
the same Message-ID, to the recipients that had not yet accepted it.

Per recipient: 250/251 is ``sent``; 5xx is ``failed`` at once (the others still get it); 4xx and
lost connections are retried a few times within the run (``attempts_per_run``, backoff
``backoff_seconds``), then across runs (``next_attempt_at``, ``retry_after`` doubling), and after
``max_attempts`` the message is ``dead``. A failed or dead message is a staff task
(`tasks.mail.outbox.undelivered`) and never makes a run fail. `MailDeliveryFailed` is raised only
when
the server itself is unusable for this run (unreachable, login refused, sender refused, no TLS for
credentials): then the messages stay ``queued`` and unharmed for the next run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import smtplib
import socket
import ssl
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Protocol

from sqlmodel import Session, col, select, update

from deployments.settings import Settings
from sio_domain.norwegian_calendar import OSLO
from sio_domain.text_fields import FIRST_YEAR, LAST_YEAR
from tasks.mail.outbox import (
    CLAIMED,
    DEAD,
    FAILED,
    QUEUED,
    SENT,
    SKIPPED,
    Attachment,
    attachments_of,
    encode_replies,
    installation_id,
    pending,
    recipient_replies,
    skip_superseded,
)
from tasks.storage.audit import record_audit
from tasks.storage.database import session_for
from tasks.storage.tables import OutgoingMail

SENDER_NAME = "Helsedirektoratet"
SMTP_TIMEOUT_SECONDS = 20  # below SQLite's 30 s busy timeout: a hung server must not stall writers
MAX_ATTEMPTS = 12
RETRY_AFTER = timedelta(minutes=15)
CLAIM_LEASE = timedelta(minutes=15)  # wall clock: longer than any one SMTP conversation
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_CLAIMANT = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
_log = logging.getLogger(__name__)

Recheck = Callable[[OutgoingMail, datetime], "str | None"]


class MailPolicy(EmailPolicy):
    """The SMTP policy (CRLF, 78-column folding), minus a fold straight after ``Subject:``.

    The standard library moves a whole ASCII header value of 70–77 characters to a continuation
    line, leaving ``Subject:`` alone on the first; some mail programs then show an empty subject
    or a leading space. Such a value is folded at spaces instead.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        folded = super().fold_binary(name, value)
        linesep = self.linesep.encode("ascii")
        if folded.startswith(f"{name}:".encode("ascii") + linesep) and str(value).isascii():
            lines = textwrap.wrap(
                " ".join(str(value).split()),
                width=self.max_line_length or 78,
                initial_indent=f"{name}: ",
                subsequent_indent=" ",
                break_long_words=False,
                break_on_hyphens=False,
            )
            folded = self.linesep.join(lines).encode("ascii") + linesep
        return folded


MAIL_POLICY = MailPolicy(linesep="\r\n")


@dataclass(frozen=True)
class FailedMail:
    """A message not (fully) delivered by this run, and why."""

    key: str
    error: str


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did, by outbox key.

    ``sent``: every recipient has it now. ``skipped``: superseded or no longer true.
    ``failed``: a recipient refused permanently (5xx) — a staff task. ``dead``: temporary
    failures until the attempt limit — a staff task. ``deferred``: a temporary failure, tried
    again from ``next_attempt_at``. ``problems``: the reason for each key in the last three.
    """

    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()
    problems: tuple[FailedMail, ...] = field(default=())


class MailDeliveryFailed(RuntimeError):
    """The mail server was unusable for this run; every unsent message stays for the next run.

    Not raised for a single message's failure (those are in the report and the staff list).
    """

    def __init__(self, report: DeliveryReport, failures: Sequence[FailedMail]) -> None:
        self.report = report
        self.failures = tuple(failures)
        reason = self.failures[0].error if self.failures else "unknown"
        super().__init__(
            f"mail server unusable: {reason} — {len(report.sent)} sent before, the rest stays "
            "queued for the next run; check SIO_SMTP_HOST/SIO_SMTP_PORT and the server"
        )


class DeliveryError(Exception):
    """An attempt failed as a whole. ``temporary``: worth retrying; ``server``: all would fail."""

    def __init__(self, reason: str, *, temporary: bool, server: bool = False) -> None:
        super().__init__(reason)
        self.temporary = temporary
        self.server = server


Replies = dict[str, tuple[int, str]]  # recipient -> (SMTP code, reply text)


class Transport(Protocol):
    """Where accepted messages go: an SMTP server or the outbox folder."""

    def send(self, message: EmailMessage, *, key: str, sender: str, to: list[str]) -> Replies:
        """Hand the message over to ``to``; the server's reply for each recipient."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Claimed:
    """What a run needs to send one claimed message, read in the claim's transaction."""

    mail: OutgoingMail
    attachments: list[Attachment]
    installation: str
    to: list[str]  # the recipients that have not got it yet


def deliver_pending(
    database_url: str,
    settings: Settings,
    *,
    now: datetime,
    round_id: str | None = None,
    actor: str = "mail-delivery",
    attempts_per_run: int = 3,
    backoff_seconds: float = 2.0,
    max_attempts: int = MAX_ATTEMPTS,
    retry_after: timedelta = RETRY_AFTER,
    recheck: Recheck | None = None,
) -> DeliveryReport:
    """Send every message due at ``now``; returns what happened, message by message.

    Stale reminders are skipped first (`tasks.mail.outbox.skip_superseded`). ``recheck`` is asked
    about every reminder- or invitation-like message (``obligation`` set, or a kind ending in
    ``_reminder``/``_invitation``) right before it is sent: a returned reason skips it, recorded
    with that reason. ``actor`` names the run in the audit log.

    Raises `MailDeliveryFailed` only when the server is unusable for the whole run.
    """
    if attempts_per_run < 1:
        raise ValueError(f"attempts_per_run must be at least 1, not {attempts_per_run}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"as-of {now.isoformat()} must carry a time zone")
    if not FIRST_YEAR <= now.year <= LAST_YEAR:
        raise ValueError(f"as-of {now.isoformat()} is not in the years {FIRST_YEAR}–{LAST_YEAR}")
    with session_for(database_url) as session:
        skipped = skip_superseded(session, now=now, round_id=round_id)
        if skipped:  # audited in the same transaction as the skip
            superseded = select(OutgoingMail).where(col(OutgoingMail.key).in_(skipped))
            for row in session.exec(superseded):
                _audit(session, row, now=now, actor=actor, what="mail_skipped", reason=row.skipped)
        session.commit()
        due = [mail.id for mail in pending(session, now=now, round_id=round_id)]

    transport = _transport_for(settings)
    outcome = _Outcome(skipped=list(skipped))
    try:
        for mail_id in due:
            assert mail_id is not None
            try:
                _deliver_one(
                    database_url,
                    transport,
                    settings,
                    mail_id=mail_id,
                    now=now,
                    actor=actor,
                    attempts_per_run=attempts_per_run,
                    backoff_seconds=backoff_seconds,
                    max_attempts=max_attempts,
                    retry_after=retry_after,
                    recheck=recheck,
                    outcome=outcome,
                )
            except DeliveryError as error:  # only server-level errors come this far
                raise MailDeliveryFailed(outcome.report(), [FailedMail("*", str(error))]) from None
    finally:
        transport.close()
    return outcome.report()


@dataclass
class _Outcome:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    problems: list[FailedMail] = field(default_factory=list)

    def report(self) -> DeliveryReport:
        return DeliveryReport(
            sent=tuple(self.sent),
            skipped=tuple(self.skipped),
            failed=tuple(self.failed),
            dead=tuple(self.dead),
            deferred=tuple(self.deferred),
            problems=tuple(self.problems),
        )


def needs_recheck(mail: OutgoingMail) -> bool:
    """Reminders and invitations say something about the future: asked again before sending."""
    return mail.obligation is not None or mail.kind.endswith(("_reminder", "_invitation"))


def _deliver_one(
    database_url: str,
    transport: Transport,
    settings: Settings,
    *,
    mail_id: int,
    now: datetime,
    actor: str,
    attempts_per_run: int,
    backoff_seconds: float,
    max_attempts: int,
    retry_after: timedelta,
    recheck: Recheck | None,
    outcome: _Outcome,
) -> None:
    """Claim, (re)check, send and record one message; server-level trouble is raised."""
    claimed = _claim(database_url, mail_id, now=now)
    if claimed is None:
        return  # another run has it, or it is no longer due
    mail = claimed.mail
    try:
        if recheck is not None and needs_recheck(mail):
            no_longer_true = recheck(mail, now)
            if no_longer_true:
                _record_skip(database_url, mail_id, reason=no_longer_true, now=now, actor=actor)
                outcome.skipped.append(mail.key)
                return
        message = compose_message(
            key=mail.key,
            recipients=mail.recipients.split(","),
            subject=mail.subject,
            body=mail.body,
            attachments=claimed.attachments,
            mail_from=settings.mail_from,
            date=now,
            installation=claimed.installation,
            language=mail.language,
        )
    except Exception as error:  # noqa: BLE001 - one bad message must not stop the others
        _log.exception("mail %s could not be prepared", mail.key)
        problem = f"sio could not prepare it: {type(error).__name__}: {error}"
        state, _, reason = _record(
            database_url,
            mail_id,
            dict.fromkeys(claimed.to, (0, problem)),
            now=now,
            actor=actor,
            retry_now=False,
            max_attempts=max_attempts,
            retry_after=retry_after,
        )
        _tally(outcome, mail.key, state, reason)
        return
    sender = parseaddr(settings.mail_from)[1]
    to = claimed.to
    for attempt in range(1, attempts_per_run + 1):
        try:
            replies = transport.send(message, key=mail.key, sender=sender, to=to)
        except DeliveryError as error:
            if error.server:
                _release(database_url, mail_id, reason=str(error))
                raise
            replies = {address: (451 if error.temporary else 554, str(error)) for address in to}
        retry_now = attempt < attempts_per_run
        state, to, reason = _record(
            database_url,
            mail_id,
            replies,
            now=now,
            actor=actor,
            retry_now=retry_now,
            max_attempts=max_attempts,
            retry_after=retry_after,
        )
        if state != CLAIMED:
            break
        _log.warning("mail %s: temporary failure, trying again: %s", mail.key, reason)
        time.sleep(backoff_seconds * 2 ** (attempt - 1))
    _tally(outcome, mail.key, state, reason)


def _tally(outcome: _Outcome, key: str, state: str, reason: str) -> None:
    if state == SENT:
        outcome.sent.append(key)
        return
    {FAILED: outcome.failed, DEAD: outcome.dead, QUEUED: outcome.deferred}[state].append(key)
    outcome.problems.append(FailedMail(key, reason))
    _log.warning("mail %s %s: %s", key, state, reason)


def _claim(database_url: str, mail_id: int, *, now: datetime) -> _Claimed | None:
    """Take the row for this run in one short transaction; None if it is not ours to send."""
    wall = datetime.now(UTC)
    with session_for(database_url) as session:
        row = session.get(OutgoingMail, mail_id)
        if row is None:
            return None
        condition = [col(OutgoingMail.id) == mail_id]
        if row.state == QUEUED:
            if row.due_at > now or (row.next_attempt_at is not None and row.next_attempt_at > now):
                return None
            condition.append(col(OutgoingMail.state) == QUEUED)
        elif row.state == CLAIMED and _claim_is_stale(row.claimed_by, row.claimed_at, wall):
            condition += [
                col(OutgoingMail.state) == CLAIMED,
                col(OutgoingMail.claimed_by) == row.claimed_by,
            ]
        else:
            return None
        session.rollback()  # end the read before the write
        claimed = session.exec(
            update(OutgoingMail)
            .where(*condition)
            .values(
                state=CLAIMED,
                claimed_by=_CLAIMANT,
                claimed_at=wall,
                attempts=col(OutgoingMail.attempts) + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:
            session.rollback()
            return None
        mail = session.get(OutgoingMail, mail_id, populate_existing=True)
        assert mail is not None
        attachments = attachments_of(session, mail)
        installation = installation_id(session)
        session.commit()
        session.refresh(mail)
        session.expunge(mail)
    to = [address for address, (state, _) in recipient_replies(mail).items() if state == "pending"]
    return _Claimed(mail=mail, attachments=attachments, installation=installation, to=to)


def _claim_is_stale(claimed_by: str | None, claimed_at: datetime | None, wall: datetime) -> bool:
    """A claim whose run is gone: same host and the process is dead, or older than the lease."""
    if claimed_by is None or claimed_at is None:
        return True
    if wall - claimed_at > CLAIM_LEASE:
        return True
    host, _, rest = claimed_by.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # our own process: another thread's claim, still in flight
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _record(
    database_url: str,
    mail_id: int,
    replies: Replies,
    *,
    now: datetime,
    actor: str,
    retry_now: bool,
    max_attempts: int,
    retry_after: timedelta,
) -> tuple[str, list[str], str]:
    """Commit the server's answer; the new state, recipients still to try, and the reason."""
    with session_for(database_url) as session:
        mail = session.get(OutgoingMail, mail_id, populate_existing=True)
        assert mail is not None
        merged = recipient_replies(mail)
        for address, (code, text) in replies.items():
            reply = f"{code} {text}".strip() if code else text
            if 200 <= code < 300:
                merged[address] = (SENT, reply)
            elif 500 <= code < 600:
                merged[address] = (FAILED, reply)
            else:
                merged[address] = ("pending", reply)
        waiting = [address for address, (state, _) in merged.items() if state == "pending"]
        by_reply: dict[str, list[str]] = {}
        for address, (recipient_state, reply) in merged.items():
            if recipient_state != SENT:
                by_reply.setdefault(reply, []).append(address)
        reason = "; ".join(f"{', '.join(a)}: {reply}" for reply, a in by_reply.items())
        mail.replies = encode_replies(merged)
        if reason:  # kept after a later success: the last trouble, for the record
            mail.last_error = f"attempt {mail.attempts} at {now.isoformat()}: {reason}"
        if waiting and mail.attempts >= max_attempts:
            state = DEAD
        elif waiting and retry_now:
            state = CLAIMED
            mail.attempts += 1
            mail.claimed_at = datetime.now(UTC)
        elif waiting:
            state = QUEUED
            mail.next_attempt_at = now + retry_after * 2 ** min(mail.attempts - 1, 6)
        elif any(state == FAILED for state, _ in merged.values()):
            state = FAILED
        else:
            state = SENT
            mail.sent_at = now
        mail.state = state
        if state != CLAIMED:
            mail.claimed_by = mail.claimed_at = None
        session.add(mail)
        what = {SENT: "mail_sent", FAILED: "mail_failed", DEAD: "mail_dead"}.get(state)
        if what:
            _audit(session, mail, now=now, actor=actor, what=what, reason=reason or None)
        session.commit()
    return state, waiting, reason


def _record_skip(
    database_url: str, mail_id: int, *, reason: str, now: datetime, actor: str
) -> None:
    """A claimed message that is no longer true: ``skipped`` with the reason, and audited."""
    with session_for(database_url) as session:
        mail = session.get(OutgoingMail, mail_id, populate_existing=True)
        assert mail is not None
        mail.state = SKIPPED
        mail.skipped = f"{reason} (checked at {now.isoformat()})"
        mail.claimed_by = mail.claimed_at = None
        mail.attempts -= 1  # nothing was sent
        session.add(mail)
        _audit(session, mail, now=now, actor=actor, what="mail_skipped", reason=mail.skipped)
        session.commit()


def _release(database_url: str, mail_id: int, *, reason: str) -> None:
    """Give a claimed message back unharmed: the server failed, not the message."""
    with session_for(database_url) as session:
        session.exec(
            update(OutgoingMail)
            .where(col(OutgoingMail.id) == mail_id, col(OutgoingMail.claimed_by) == _CLAIMANT)
            .values(
                state=QUEUED,
                claimed_by=None,
                claimed_at=None,
                attempts=col(OutgoingMail.attempts) - 1,
                last_error=reason,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()


def compose_message(
    *,
    key: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment],
    mail_from: str,
    date: datetime,
    installation: str = "",
    language: str = "nb",
) -> EmailMessage:
    """An RFC 5322 message in UTF-8, 7-bit clean (quoted-printable text, base64 files).

    The Message-ID is derived from ``key`` and the ``installation``: a message offered twice
    (after a crash between the server's acceptance and our commit) carries the same ID and can be
    recognised as one; another installation's message with the same key gets another ID.
    ``language`` (``nb`` or ``nn``) is the Content-Language (RFC 3282).
    """
    name, address = parseaddr(mail_from)
    message = EmailMessage()
    message["From"] = Address(display_name=name or SENDER_NAME, addr_spec=address)
    message["To"] = ", ".join(recipients)
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(date.astimezone(OSLO))
    message["Message-ID"] = message_id(key, mail_from, installation)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    message["X-SIO-Key"] = key
    message.set_content(body, cte="quoted-printable")
    for attachment in attachments:
        _attach(message, attachment)
    message["Content-Language"] = language  # after the parts: set_content drops Content-* headers
    return message


def message_id(key: str, mail_from: str, installation: str = "") -> str:
    """``<sio.<hash of installation and key>@<sender's domain>>``: the same for every copy."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "sio.helsedir.no"
    return f"<sio.{_digest(f'{installation}/{key}' if installation else key)}@{domain}>"


def eml_filename(key: str) -> str:
    """A file name for the outbox folder: readable from the key, unique by its hash."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:80] or "mail"
    return f"{readable}--{_digest(key)[:12]}.eml"


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
    return FileOutbox(settings.outbox_dir, durable=settings.outbox_fsync)


class FileOutbox:
    """Writes each message as ``<key>--<hash>.eml`` into the outbox folder (no SMTP configured).

    Written to a hidden temporary file and renamed into place, so a reader never sees half a
    message; the name depends only on the key, so offering a message again replaces its file.
    A folder that cannot be written (disk full, read-only) is a server-level failure. ``durable``
    flushes each file to disk before it counts as sent (off for a throwaway outbox).
    """

    def __init__(self, folder: Path, *, durable: bool = True) -> None:
        self.folder = folder
        self.durable = durable

    def send(self, message: EmailMessage, *, key: str, sender: str, to: list[str]) -> Replies:
        target = self.folder / eml_filename(key)
        temporary = self.folder / f".{target.name}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as file:
                file.write(message.as_bytes(policy=MAIL_POLICY))
                if self.durable:
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(temporary, target)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise DeliveryError(
                f"cannot write {target}: {error.strerror or error}", temporary=True, server=True
            ) from None
        return dict.fromkeys(to, (250, f"written to {target.name}"))

    def close(self) -> None:
        return None


class SmtpTransport:
    """One SMTP connection per delivery run, opened on first use and reopened after a failure.

    The conversation is spoken step by step (MAIL, RCPT per recipient, DATA) so every recipient
    gets its own reply: a 550 for one address does not stop the others, a 451 for one is retried
    for that one only.
    """

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.settings = settings
        self.host = settings.smtp_host
        self.port = settings.smtp_port or (
            465 if settings.smtp_tls else 587 if settings.smtp_starttls else 25
        )
        self.timeout = settings.smtp_timeout_seconds
        self._client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, *, key: str, sender: str, to: list[str]) -> Replies:
        client = self._connected()
        where = f"SMTP server {self.host}:{self.port}"
        replies: Replies = {}
        try:
            code, reply = client.mail(sender)
            if code != 250:
                client.rset()
                raise DeliveryError(
                    f"{where} refused the sender {sender}: {code} {_text(reply)}",
                    temporary=400 <= code < 500,
                    server=True,
                )
            for address in to:
                code, reply = client.rcpt(address)
                replies[address] = (code, _text(reply))
            accepted = [address for address in to if replies[address][0] in (250, 251)]
            if not accepted:
                client.rset()
                return replies
            data_reply: bytes | str
            try:
                code, data_reply = client.data(message.as_bytes(policy=MAIL_POLICY))
            except smtplib.SMTPDataError as error:
                client.rset()
                code, data_reply = error.smtp_code, error.smtp_error
            for address in accepted:
                replies[address] = (code, _text(data_reply))
            return replies
        except DeliveryError:
            raise
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise DeliveryError(
                f"{where}: connection lost: {_os_reason(error)}", temporary=True
            ) from None

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
        settings = self.settings
        if (
            settings.smtp_user
            and not (settings.smtp_starttls or settings.smtp_tls)
            and self.host not in LOCAL_HOSTS
        ):
            raise DeliveryError(
                f"{where}: refusing to send the SMTP login without TLS; set SIO_SMTP_STARTTLS=true "
                "or SIO_SMTP_TLS=true",
                temporary=False,
                server=True,
            )
        try:
            client: smtplib.SMTP
            if settings.smtp_tls:
                client = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                client.ehlo_or_helo_if_needed()
                if settings.smtp_starttls:
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if settings.smtp_user:
                    password = settings.smtp_password
                    client.login(
                        settings.smtp_user, password.get_secret_value() if password else ""
                    )
            except BaseException:
                client.close()
                raise
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                f"{where}: {error.smtp_code} {_text(error.smtp_error)}",
                temporary=400 <= error.smtp_code < 500,
                server=True,
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"{where} unreachable: {_os_reason(error)}",
                temporary=True,
                server=True,
            ) from None
        self._client = client
        return client


def _os_reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())
