"""Delivering the outbox: SMTP when `SIO_SMTP_HOST` is set, `.eml` files in the outbox otherwise.

Why claim, talk, record — and never one transaction around the talking (design decision (D),
"nothing lost, nothing stale"): messages are first *claimed* in a short transaction (state
``claimed``, with this run's ``host:pid:token``), up to `CLAIM_BATCH` at a time; then each
message's SMTP conversation happens with no database transaction open (a slow or hanging server
holds no lock, so imports and other runs go on), and the server's answer is *recorded* in a short
transaction of its own as soon as the server has answered, before the next message is sent.

What a crash costs, exactly:

- The process dies (``kill -9``, an exception, a lost container): every recorded answer is in
  the database. The one message whose answer had not been recorded yet stays ``claimed``; the
  next run sees the claimant is gone (same host, process dead) or its claim too old, and offers
  it again with the same Message-ID, to the recipients that had not yet accepted it. The rest of
  the claimed batch was never sent; it is offered once, as if never claimed.
- The machine dies (power, kernel): answers are recorded at once but forced to disk only every
  `DURABLE_EVERY` messages and at the end of each batch (SQLite ``synchronous=NORMAL`` in WAL
  mode between the forced commits; PostgreSQL ``synchronous_commit=off``). At most those
  ``DURABLE_EVERY`` messages are offered again (same Message-ID), never a message less. Forcing
  each answer to disk alone cost more than the SMTP conversation itself.
- ``.eml`` mode: a file is "sent" only once it is on disk, so the files are written (temporary
  name, renamed into place) and the answers for a group of them (a claimed batch) are recorded
  together, in one transaction forced to disk, after one flush of the outbox's file system
  (`FileOutbox.durability`), not an fsync per file. The flush runs in the background while the
  next group is claimed and written; that group's end commits the earlier group. A killed run
  leaves the files of at most two groups unrecorded; the next run writes them again under the
  same names: replaced, not doubled (and removes the killed run's temporary files). Those
  commits are forced to disk every `DURABLE_GROUPS` groups and at the end of the run, so a
  machine crash may also lose the answers of up to that many groups before: their files, on
  disk already, are likewise written again. A message is never recorded ``sent`` before its
  file is on disk.

Per recipient: 250/251 is ``sent``; 5xx is ``failed`` at once (the others still get it); 4xx and
lost connections are retried a few times within the run (``attempts_per_run``, backoff
``backoff_seconds``), then across runs (``next_attempt_at``, ``retry_after`` doubling), and after
``max_attempts`` the message is ``dead``. A failed or dead message is a staff task
(`tasks.mail.outbox.undelivered`) and never makes a run fail. `MailDeliveryFailed` is raised only
when the server itself is unusable for this run (unreachable, login refused, sender refused, no
TLS for credentials, the outbox folder not writable): then the unsent messages go back to
``queued``, unharmed, for the next run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import secrets
import smtplib
import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy import BindParameter, Connection, Table, bindparam, insert, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeEngine
from sqlmodel import col

from deployments.settings import Settings
from sio_domain.text_fields import FIRST_YEAR, LAST_YEAR
from tasks.mail.outbox import (
    CLAIMED,
    DEAD,
    FAILED,
    QUEUED,
    SENT,
    SKIPPED,
    Attachment,
    encode_replies,
    installation_id,
    parse_replies,
    skip_superseded,
)
from tasks.mail.wire_format import MAIL_POLICY as MAIL_POLICY
from tasks.mail.wire_format import SENDER_NAME as SENDER_NAME
from tasks.mail.wire_format import WireRenderer
from tasks.mail.wire_format import compose_message as compose_message
from tasks.mail.wire_format import eml_filename as eml_filename
from tasks.mail.wire_format import message_id as message_id
from tasks.storage.audit import record_audit
from tasks.storage.database import engine_for, session_for
from tasks.storage.tables import AuditEntry, OutgoingAttachment, OutgoingMail

SMTP_TIMEOUT_SECONDS = 20  # below SQLite's 30 s busy timeout: a hung server must not stall writers
MAX_ATTEMPTS = 12
RETRY_AFTER = timedelta(minutes=15)
CLAIM_LEASE = timedelta(minutes=15)  # wall clock: renewed while a batch is being sent
CLAIM_BATCH: Final = 100  # messages claimed in one short transaction
DURABLE_EVERY: Final = 50  # answers recorded per commit forced to disk (machine crash: resent)
DURABLE_GROUPS: Final = 5  # .eml groups per forced commit (machine crash: files rewritten)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST = socket.gethostname()
_log = logging.getLogger(__name__)
_MAILS: Table = OutgoingMail.__table__  # type: ignore[attr-defined]
_ATTACHMENTS: Table = OutgoingAttachment.__table__  # type: ignore[attr-defined]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[attr-defined]
_RECORD = update(_MAILS).where(
    _MAILS.c.id == bindparam("b_id"), _MAILS.c.claimed_by == bindparam("b_claimant")
)

_AUDIT_ENTRY = insert(_AUDIT)
_DETAIL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)  # as record_audit
# The claim's statements, built once: a batch's ids go in as one expanding parameter.
_IDS: BindParameter[int] = bindparam("b_ids", expanding=True)
_TAKING = update(_MAILS).values(
    state=CLAIMED,
    attempts=_MAILS.c.attempts + 1,
    claimed_by=bindparam("b_claimant", type_=_MAILS.c.claimed_by.type),
    claimed_at=bindparam("b_wall", type_=_MAILS.c.claimed_at.type),
)
_TAKE_QUEUED = _TAKING.where(
    _MAILS.c.id.in_(_IDS),
    _MAILS.c.state == QUEUED,
    _MAILS.c.due_at <= bindparam("b_now"),
    or_(_MAILS.c.next_attempt_at.is_(None), _MAILS.c.next_attempt_at <= bindparam("b_now")),
)
_TAKE_STALE = _TAKING.where(  # NULL-safe: a claim without a claimant is stale too
    _MAILS.c.id == bindparam("b_id"),
    _MAILS.c.state == CLAIMED,
    _MAILS.c.claimed_by.is_not_distinct_from(bindparam("b_held_by")),
)
_CLAIMED = select(_MAILS).where(
    _MAILS.c.id.in_(_IDS), _MAILS.c.claimed_by == bindparam("b_claimant")
)
_ATTACHED = select(_ATTACHMENTS).where(_ATTACHMENTS.c.mail_id.in_(_IDS)).order_by(_ATTACHMENTS.c.id)

Recheck = Callable[[OutgoingMail, datetime], "str | None"]


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

    #: True when a 250 means "on disk only after `durability`'s call" (the outbox folder).
    needs_flush: bool

    def send(self, raw: bytes, *, key: str, sender: str, to: list[str]) -> Replies:
        """Hand the message's bytes over to ``to``; the server's reply for each recipient."""
        ...

    def durability(self) -> Callable[[], None] | None:
        """Take everything handed over so far: a call that makes it survive a machine crash.

        The call may run on another thread, while more is handed over; it raises
        `DeliveryError` if it cannot. None: nothing to do.
        """
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
            for row in session.scalars(superseded):
                detail = {"key": row.key, "kind": row.kind, "attempts": row.attempts}
                record_audit(
                    session,
                    at=now,
                    actor=actor,
                    what="mail_skipped",
                    round_id=row.round_id,
                    kommunenummer=row.kommunenummer,
                    detail=detail | {"reason": row.skipped} if row.skipped else detail,
                )
        installation = installation_id(session)
        session.commit()

    transport = _transport_for(settings)
    sweep = _Sweep(
        transport=transport,
        renderer=WireRenderer(mail_from=settings.mail_from, date=now, installation=installation),
        sender=parseaddr(settings.mail_from)[1],
        now=now,
        actor=actor,
        attempts_per_run=attempts_per_run,
        backoff_seconds=backoff_seconds,
        max_attempts=max_attempts,
        retry_after=retry_after,
        recheck=recheck,
        outcome=_Outcome(skipped=list(skipped)),
    )
    try:
        with engine_for(database_url).connect() as connection:
            sweep.run(connection, round_id=round_id)
    finally:
        transport.close()
    return sweep.outcome.report()


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

    def tally(self, key: str, state: str, reason: str) -> None:
        if state == SENT:
            self.sent.append(key)
            return
        {FAILED: self.failed, DEAD: self.dead, QUEUED: self.deferred}[state].append(key)
        self.problems.append(FailedMail(key, reason))
        _log.warning("mail %s %s: %s", key, state, reason)


def needs_recheck(mail: OutgoingMail) -> bool:
    """Reminders and invitations say something about the future: asked again before sending."""
    return _says_something_about_the_future(mail.obligation, mail.kind)


def _says_something_about_the_future(obligation: str | None, kind: str) -> bool:
    return obligation is not None or kind.endswith(("_reminder", "_invitation"))


@dataclass
class _InFlight:
    """One claimed message: its row as claimed (kept current as answers come) and its files."""

    row: dict[str, Any]
    attachments: list[Attachment]
    replies: dict[str, tuple[str, str]]  # recipient -> (sent/failed/pending, last reply)

    @property
    def key(self) -> str:
        return str(self.row["key"])

    @property
    def waiting(self) -> list[str]:
        """The recipients that have not got it yet."""
        return [address for address, (state, _) in self.replies.items() if state == "pending"]


@dataclass(frozen=True)
class _Change:
    """What to write for one message: its new column values and, maybe, its audit entry."""

    mail_id: int
    values: dict[str, Any]
    audit: dict[str, Any] | None


class _ClaimLost(Exception):
    """A group's answers matched fewer claims than it holds: another run took one over."""


class _ServerUnusable(Exception):
    def __init__(self, error: DeliveryError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Sweep:
    """One delivery run over one database connection: claim a batch, send, record, repeat."""

    transport: Transport
    renderer: WireRenderer
    sender: str
    now: datetime
    actor: str
    attempts_per_run: int
    backoff_seconds: float
    max_attempts: int
    retry_after: timedelta
    recheck: Recheck | None
    outcome: _Outcome
    claimant: str = field(default_factory=lambda: f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}")

    def run(self, connection: Connection, *, round_id: str | None) -> None:
        with _RecordBook(connection, self.transport) as book:
            due = _due(connection, now=self.now, round_id=round_id)
            for start in range(0, len(due), CLAIM_BATCH):
                claimed, claimed_at = self._claim(connection, due[start : start + CLAIM_BATCH])
                for position, flight in enumerate(claimed):
                    if datetime.now(UTC) - claimed_at > CLAIM_LEASE / 2:
                        claimed_at = self._renew(connection, claimed[position:])
                    try:
                        self._deliver(book, flight, closing=position == len(claimed) - 1)
                    except _ServerUnusable as unusable:
                        unsent = [f.row["id"] for f in claimed[position + 1 :]]
                        self._give_back(book, flight.row["id"], unsent, reason=str(unusable))
                        failure = FailedMail("*", str(unusable))
                        raise MailDeliveryFailed(self.outcome.report(), [failure]) from None
                    except Exception:
                        unsent = [f.row["id"] for f in claimed[position + 1 :]]
                        self._give_back_if_possible(book, flight.row["id"], unsent)
                        raise
            try:
                book.flush()  # the last group
            except _ServerUnusable as unusable:
                self._give_back(book, None, [], reason=None)
                failure = FailedMail("*", str(unusable))
                raise MailDeliveryFailed(self.outcome.report(), [failure]) from None

    def _claim(
        self, connection: Connection, candidates: list[Any]
    ) -> tuple[list[_InFlight], datetime]:
        """Take a batch for this run in one short transaction; what is not ours is left out."""
        wall = datetime.now(UTC)
        queued = [row.id for row in candidates if row.state == QUEUED]
        stale = [
            row
            for row in candidates
            if row.state == CLAIMED and _claim_is_stale(row.claimed_by, row.claimed_at, wall)
        ]
        if not queued and not stale:
            return [], wall
        ids = [row.id for row in candidates]
        mine = {"b_claimant": self.claimant, "b_wall": wall}
        with connection.begin():
            if queued:  # the write first: SQLite takes its lock before it reads
                connection.execute(_TAKE_QUEUED, {"b_ids": queued, "b_now": self.now, **mine})
            for row in stale:
                connection.execute(
                    _TAKE_STALE, {"b_id": row.id, "b_held_by": row.claimed_by, **mine}
                )
            rows = connection.execute(_CLAIMED, {"b_ids": ids, "b_claimant": self.claimant})
            names = list(rows.keys())
            by_id = {row.id: dict(zip(names, row, strict=True)) for row in rows}
            files: dict[int, list[Attachment]] = {}
            if by_id:
                for item in connection.execute(_ATTACHED, {"b_ids": list(by_id)}):
                    files.setdefault(item.mail_id, []).append(
                        Attachment(item.filename, item.mimetype, item.content)
                    )
        claimed = [
            _InFlight(
                row=by_id[mail_id],
                attachments=files.get(mail_id, []),
                replies=parse_replies(by_id[mail_id]["recipients"], by_id[mail_id]["replies"]),
            )
            for mail_id in ids
            if mail_id in by_id
        ]
        return claimed, wall

    def _renew(self, connection: Connection, remaining: list[_InFlight]) -> datetime:
        """A long batch (a slow server) renews its claim, so nobody takes it as abandoned."""
        wall = datetime.now(UTC)
        with connection.begin():
            connection.execute(
                update(_MAILS)
                .where(
                    _MAILS.c.id.in_([flight.row["id"] for flight in remaining]),
                    _MAILS.c.claimed_by == self.claimant,
                )
                .values(claimed_at=wall)
            )
        return wall

    def _deliver(self, book: _RecordBook, flight: _InFlight, *, closing: bool) -> None:
        """(Re)check, send and record one claimed message; server-level trouble is raised."""
        row = flight.row
        try:
            if self.recheck is not None and _says_something_about_the_future(
                row["obligation"], row["kind"]
            ):
                no_longer_true = self.recheck(OutgoingMail(**row), self.now)
                if no_longer_true:
                    book.record(self._skipped(flight, no_longer_true), closing=closing)
                    self.outcome.skipped.append(flight.key)
                    return
            raw = self.renderer.render(
                key=flight.key,
                recipients=row["recipients"].split(","),
                subject=row["subject"],
                body=row["body"],
                attachments=flight.attachments,
                language=row["language"],
            )
        except Exception as error:  # noqa: BLE001 - one bad message must not stop the others
            _log.exception("mail %s could not be prepared", flight.key)
            problem = f"sio could not prepare it: {type(error).__name__}: {error}"
            change, state, reason = self._answered(
                flight, dict.fromkeys(flight.waiting, (0, problem)), retry_now=False
            )
            book.record(change, closing=closing)
            self.outcome.tally(flight.key, state, reason)
            return
        for attempt in range(1, self.attempts_per_run + 1):
            to = flight.waiting
            try:
                replies = self.transport.send(raw, key=flight.key, sender=self.sender, to=to)
            except DeliveryError as error:
                if error.server:
                    raise _ServerUnusable(error) from None
                replies = {address: (451 if error.temporary else 554, str(error)) for address in to}
            retry_now = attempt < self.attempts_per_run
            change, state, reason = self._answered(flight, replies, retry_now=retry_now)
            book.record(change, closing=closing and state != CLAIMED)
            if state != CLAIMED:
                break
            _log.warning("mail %s: temporary failure, trying again: %s", flight.key, reason)
            time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        self.outcome.tally(flight.key, state, reason)

    def _answered(
        self, flight: _InFlight, replies: Replies, *, retry_now: bool
    ) -> tuple[_Change, str, str]:
        """The server's answer merged into the message: what to write, its state, the reason."""
        row, now = flight.row, self.now
        merged = dict(flight.replies)
        for address, (code, text) in replies.items():
            reply = f"{code} {text}".strip() if code else text
            if 200 <= code < 300:
                merged[address] = (SENT, reply)
            elif 500 <= code < 600:
                merged[address] = (FAILED, reply)
            else:
                merged[address] = ("pending", reply)
        flight.replies = merged
        waiting = flight.waiting
        reason = ""
        if any(recipient_state != SENT for recipient_state, _ in merged.values()):
            by_reply: dict[str, list[str]] = {}
            for address, (recipient_state, reply) in merged.items():
                if recipient_state != SENT:
                    by_reply.setdefault(reply, []).append(address)
            reason = "; ".join(f"{', '.join(a)}: {reply}" for reply, a in by_reply.items())
        values: dict[str, Any] = {"replies": encode_replies(merged)}
        if reason:  # kept after a later success: the last trouble, for the record
            values["last_error"] = f"attempt {row['attempts']} at {now.isoformat()}: {reason}"
        if waiting and row["attempts"] >= self.max_attempts:
            state = DEAD
        elif waiting and retry_now:
            state = CLAIMED
            values["attempts"] = row["attempts"] + 1
            values["claimed_at"] = datetime.now(UTC)
        elif waiting:
            state = QUEUED
            values["next_attempt_at"] = now + self.retry_after * 2 ** min(row["attempts"] - 1, 6)
        elif any(state == FAILED for state, _ in merged.values()):
            state = FAILED
        else:
            state = SENT
            values["sent_at"] = now
        values["state"] = state
        if state != CLAIMED:
            values["claimed_by"] = values["claimed_at"] = None
        row.update(values)
        what = {SENT: "mail_sent", FAILED: "mail_failed", DEAD: "mail_dead"}.get(state)
        audit = self._audit(row, what, reason or None) if what else None
        return _Change(row["id"], self._keyed(row, values), audit), state, reason

    def _skipped(self, flight: _InFlight, reason: str) -> _Change:
        """A claimed message that is no longer true: ``skipped`` with the reason, and audited."""
        row = flight.row
        values = {
            "state": SKIPPED,
            "skipped": f"{reason} (checked at {self.now.isoformat()})",
            "claimed_by": None,
            "claimed_at": None,
            "attempts": row["attempts"] - 1,  # nothing was sent
        }
        row.update(values)
        audit = self._audit(row, "mail_skipped", values["skipped"])
        return _Change(row["id"], self._keyed(row, values), audit)

    def _keyed(self, row: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """The changed columns and the row they are for (while this run's claim holds)."""
        return values | {"b_id": row["id"], "b_claimant": self.claimant}

    def _audit(self, row: dict[str, Any], what: str, reason: str | None) -> dict[str, Any]:
        detail: dict[str, object] = {"key": row["key"], "kind": row["kind"]}
        detail["attempts"] = row["attempts"]
        if reason:
            detail["reason"] = reason
        return {
            "at": self.now,
            "actor": self.actor,
            "what": what,
            "round_id": row["round_id"],
            "kommunenummer": row["kommunenummer"],
            "detail": _DETAIL_JSON.encode(detail),
        }

    def _give_back(
        self, book: _RecordBook, current: int | None, unsent: list[int], *, reason: str | None
    ) -> None:
        """The server failed, not the messages: what was not sent goes back unharmed.

        Answers held for the outbox folder are written first if their files can be made durable;
        if not, they go back too (their files are rewritten by the next run).
        """
        try:
            book.flush()
        except _ServerUnusable:
            pass
        given_back = (
            [*book.unwritten, *unsent] if current is None else [*book.unwritten, current, *unsent]
        )
        with book.transaction(durable=True):
            if reason is not None and current is not None:
                book.connection.execute(
                    update(_MAILS)
                    .where(_MAILS.c.id == current, _MAILS.c.claimed_by == self.claimant)
                    .values(last_error=reason)
                )
            book.connection.execute(
                update(_MAILS)
                .where(_MAILS.c.id.in_(given_back), _MAILS.c.claimed_by == self.claimant)
                .values(
                    state=QUEUED,
                    claimed_by=None,
                    claimed_at=None,
                    attempts=_MAILS.c.attempts - 1,
                )
            )

    def _give_back_if_possible(self, book: _RecordBook, current: int, unsent: list[int]) -> None:
        """After an unexpected error (the database itself, most likely): try, never mask it."""
        try:
            if book.connection.in_transaction():
                book.connection.rollback()
            self._give_back(book, current, unsent, reason=None)
        except Exception:  # noqa: BLE001 - the original error is the one to see
            _log.exception("claimed mail could not be given back; the claims run out in time")


class _RecordBook:
    """Writes the answers: each in its own short transaction, forced to disk in groups.

    When the transport's 250 means "on disk only once made durable" (the outbox folder),
    answers are held for their group. A group's files are made durable in the background while
    the next group is claimed and written; when that next group closes, the earlier group's
    answers are committed together (forced to disk) — never before its files are durable.
    """

    def __init__(self, connection: Connection, transport: Transport) -> None:
        self.connection = connection
        self.transport = transport
        self.unforced = 0  # answers committed since the last commit forced to disk
        self.held: list[_Change] = []  # written, not yet being made durable
        self.syncing: tuple[Future[None], list[_Change]] | None = None  # being made durable
        self.unwritten: list[int] = []  # held answers whose files could not be made durable
        self.dialect = connection.dialect.name
        self._sqlite_levels: tuple[int, int] | None = None  # (forced, unforced) synchronous
        self._prepared: dict[tuple[UpdateBase, tuple[str, ...]], _DriverStatement] = {}
        self._background: ThreadPoolExecutor | None = None
        self.unforced_groups = 0  # groups of .eml answers committed since the last forced commit
        self.closing = False  # the run is ending: commits are forced from here on

    def __enter__(self) -> _RecordBook:
        if self.dialect == "sqlite":
            journal = self.connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            level = int(self.connection.exec_driver_sql("PRAGMA synchronous").scalar() or 0)
            self.connection.commit()
            if str(journal).lower() == "wal" and level >= 2:  # FULL or EXTRA: NORMAL between
                self._sqlite_levels = (level, 1)
                self._synchronous(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._background is not None:
            self._background.shutdown(wait=True)  # a flush in progress ends before the run does
        if self._sqlite_levels is not None:
            if self.connection.in_transaction():
                self.connection.rollback()
            self._synchronous(self._sqlite_levels[0])  # the pooled connection as it was

    def record(self, change: _Change, *, closing: bool) -> None:
        """Write one answer (or hold it for its group); ``closing``: the batch ends here."""
        if self.transport.needs_flush:
            self.held.append(change)
            if closing or len(self.held) >= CLAIM_BATCH:
                self._hand_over()
            return
        durable = closing or self.unforced + 1 >= DURABLE_EVERY
        with self.transaction(durable=durable):
            self._write(change)
        self.unforced = 0 if durable else self.unforced + 1

    def flush(self) -> None:
        """Write every held answer now, once its file is durable (`_ServerUnusable` if not).

        The commits from here on are forced to disk, and with them every earlier one.
        """
        self.closing = True
        self._hand_over()
        self._settle()

    def _hand_over(self) -> None:
        """Settle the group being made durable, then start on the held one."""
        try:
            self._settle()
        except _ServerUnusable:
            self.unwritten += [change.mail_id for change in self.held]
            self.held = []
            raise
        if not self.held:
            return
        held, self.held = self.held, []
        durability = self.transport.durability()
        if durability is None:  # nothing to wait for (a throwaway outbox)
            self._commit(held)
            return
        if self._background is None:
            self._background = ThreadPoolExecutor(1, thread_name_prefix="sio-outbox-flush")
        self.syncing = (self._background.submit(durability), held)

    def _settle(self) -> None:
        """Wait for the group being made durable and commit its answers."""
        if self.syncing is None:
            return
        (done, held), self.syncing = self.syncing, None
        try:
            done.result()
        except DeliveryError as error:
            self.unwritten += [change.mail_id for change in held]
            raise _ServerUnusable(error) from None
        self._commit(held)

    def _commit(self, held: list[_Change]) -> None:
        """A group's answers in one transaction, forced to disk every `DURABLE_GROUPS` groups.

        A group's answer lost with the machine only makes the next run write its files again,
        under the same names; forcing every group cost a disk flush each.
        """
        durable = self.closing or self.unforced_groups + 1 >= DURABLE_GROUPS
        try:
            with self.transaction(durable=durable):
                self._write_group(held)
        except _ClaimLost:  # rolled back: one at a time, leaving out the claims taken over
            with self.transaction(durable=durable):
                for change in held:
                    self._write(change)
        self.unforced_groups = 0 if durable else self.unforced_groups + 1

    def _write_group(self, changes: list[_Change]) -> None:
        """A group's answers as one UPDATE and one INSERT executed many times (`_ClaimLost`).

        Rolled back and written one at a time when any claim of the group was taken over: then
        the driver's total row count no longer says which, and a lost claim's audit row must
        not be written.
        """
        if not self.connection.dialect.supports_sane_multi_rowcount:
            for change in changes:
                self._write(change)
            return
        alike: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the columns they change
        for change in changes:
            alike.setdefault(tuple(change.values), []).append(change.values)
        if sum(self._run(_RECORD, rows) for rows in alike.values()) != len(changes):
            raise _ClaimLost
        audits = [change.audit for change in changes if change.audit is not None]
        if audits:
            self._run(_AUDIT_ENTRY, audits)

    def _write(self, change: _Change) -> None:
        if self._run(_RECORD, [change.values]) != 1:  # our claim was taken over: theirs now
            _log.warning("mail %s: claim lost before its answer was recorded", change.mail_id)
            return
        if change.audit is not None:
            self._run(_AUDIT_ENTRY, [change.audit])

    def _run(self, statement: UpdateBase, rows: list[dict[str, Any]]) -> int:
        """``statement`` for each of ``rows`` (same keys), straight on the driver; rows changed."""
        keys = tuple(rows[0])
        prepared = self._prepared.get((statement, keys))
        if prepared is None:
            prepared = _DriverStatement(statement, self.connection.dialect, keys)
            self._prepared[(statement, keys)] = prepared
        return prepared.run(self.connection, rows)

    @contextmanager
    def transaction(self, *, durable: bool) -> Iterator[None]:
        """A short transaction; ``durable=False``: a machine crash may lose it, never tear it."""
        forced = durable and self._sqlite_levels is not None
        if forced:
            assert self._sqlite_levels is not None
            self._synchronous(self._sqlite_levels[0])
        try:
            with self.connection.begin():
                if not durable and self.dialect == "postgresql":
                    self.connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield
        finally:
            if forced:
                assert self._sqlite_levels is not None
                self._synchronous(self._sqlite_levels[1])
        if durable:
            self.unforced = 0

    def _synchronous(self, level: int) -> None:
        self.connection.exec_driver_sql(f"PRAGMA synchronous = {level}")
        self.connection.commit()


class _DriverStatement:
    """An INSERT or UPDATE compiled once for one database and run on the driver's executemany.

    Why: through SQLAlchemy's execution machinery each row's values are processed anew on every
    execution, which for a group of answers cost several times the database's own work. The
    statement is compiled by SQLAlchemy once; each value goes through its column type's own bind
    processor (`tasks.storage.tables.base.UtcDateTime` included), so the rows stored are those
    the ORM would store.
    """

    def __init__(self, statement: UpdateBase, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
        self.sql = compiled.string
        self.positional = compiled.positiontup is not None
        names = list(compiled.positiontup or compiled.binds)
        escaped = compiled.escaped_bind_names
        self.steps = [
            (escaped.get(name, name), name, _bind_processor(compiled.binds[name].type, dialect))
            for name in names
        ]

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> int:
        """Execute for every row; the number of rows changed (the driver's total)."""
        steps = self.steps
        if self.positional:
            parameters: list[Any] = [
                tuple(v(row[name]) if v else row[name] for _, name, v in steps) for row in rows
            ]
        else:
            parameters = [
                {key: v(row[name]) if v else row[name] for key, name, v in steps} for row in rows
            ]
        result = connection.exec_driver_sql(
            self.sql, parameters if len(parameters) > 1 else parameters[0]
        )
        return int(result.rowcount)


def _bind_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The conversion SQLAlchemy applies to a value of ``column_type`` for ``dialect``'s driver.

    The type's implementation for that dialect, not the generic one: SQLite's DATETIME writes
    ``YYYY-MM-DD HH:MM:SS.ffffff`` text, the form every other statement stores and compares.
    """
    processor: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(
        dialect
    )
    return processor


def _due(connection: Connection, *, now: datetime, round_id: str | None) -> list[Any]:
    """Messages this run may take, oldest due first (as `tasks.mail.outbox.pending`)."""
    query = select(_MAILS.c.id, _MAILS.c.state, _MAILS.c.claimed_by, _MAILS.c.claimed_at).where(
        _MAILS.c.state.in_((QUEUED, CLAIMED)),
        _MAILS.c.due_at <= now,
        or_(_MAILS.c.next_attempt_at.is_(None), _MAILS.c.next_attempt_at <= now),
    )
    if round_id is not None:
        query = query.where(_MAILS.c.round_id == round_id)
    with connection.begin():
        return list(connection.execute(query.order_by(_MAILS.c.due_at, _MAILS.c.id)))


def _claim_is_stale(claimed_by: str | None, claimed_at: datetime | None, wall: datetime) -> bool:
    """A claim whose run is gone: same host and the process is dead, or older than the lease."""
    if claimed_by is None or claimed_at is None:
        return True
    if wall - claimed_at > CLAIM_LEASE:
        return True
    host, _, rest = claimed_by.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != _HOST or not pid_text.isdigit():
        return False
    return not _process_alive(int(pid_text))  # our own process: another thread's claim


def _transport_for(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FileOutbox(settings.outbox_dir, durable=settings.outbox_fsync)


class FileOutbox:
    """Writes each message as ``<key>--<hash>.eml`` into the outbox folder (no SMTP configured).

    Written to a hidden temporary file (``.<name>.<pid>.tmp``) and renamed into place, so a
    reader never sees half a message; the name depends only on the key, so offering a message
    again replaces its file. A killed run's temporary files are removed by the next run on this
    host. Files are made durable a group at a time (`durability`: one flush of the file system
    on Linux, ``syncfs``; an fsync per file and one of the folder elsewhere), and the delivery
    run records them as sent only after that; ``durable=False`` skips the flush for a throwaway
    outbox (a simulation's). A folder that cannot be written (disk full, read-only) is a
    server-level failure.
    """

    needs_flush = True

    def __init__(self, folder: Path, *, durable: bool = True) -> None:
        self.folder = folder
        self.durable = durable
        self._ready = False
        self._unflushed: list[str] = []
        self._prefix = f"{folder}{os.sep}"
        self._suffix = f".{os.getpid()}.tmp"

    def send(self, raw: bytes, *, key: str, sender: str, to: list[str]) -> Replies:
        name = eml_filename(key)
        target = self._prefix + name
        temporary = f"{self._prefix}.{name}{self._suffix}"
        try:
            if not self._ready:
                self.folder.mkdir(parents=True, exist_ok=True)
                _remove_leftovers(self.folder)
                self._ready = True
            _write_new(temporary, raw)
            os.replace(temporary, target)
        except OSError as error:
            with suppress(OSError):
                os.unlink(temporary)
            raise DeliveryError(
                f"cannot write {target}: {error.strerror or error}", temporary=True, server=True
            ) from None
        self._unflushed.append(target)
        return dict.fromkeys(to, (250, f"written to {name}"))

    def durability(self) -> Callable[[], None] | None:
        written, self._unflushed = self._unflushed, []
        if not written or not self.durable:
            return None
        folder = self.folder

        def make_durable() -> None:
            try:
                if _SYNCFS is not None:
                    descriptor = os.open(folder, os.O_RDONLY)
                    try:
                        if _SYNCFS(descriptor) != 0:
                            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                    finally:
                        os.close(descriptor)
                    return
                for path in [*written, str(folder)]:
                    descriptor = os.open(path, os.O_RDONLY)
                    try:
                        os.fsync(descriptor)
                    finally:
                        os.close(descriptor)
            except OSError as error:
                raise DeliveryError(
                    f"cannot make {folder} durable: {error.strerror or error}",
                    temporary=True,
                    server=True,
                ) from None

        return make_durable

    def close(self) -> None:
        return None


def _remove_leftovers(folder: Path) -> None:
    """Remove the temporary files of runs killed while writing (their process is gone).

    Such a file may hold a whole message under a hidden name; its message was never recorded
    as sent, so the run that offers it again writes it under its own name.
    """
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            pid_text = name[: -len(".tmp")].rpartition(".")[2]
            if pid_text.isdigit() and not _process_alive(int(pid_text)):
                with suppress(OSError):
                    os.unlink(entry.path)


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process on this host (one we may not signal counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_new(path: str, raw: bytes) -> None:
    """``raw`` into a file at ``path`` (made or emptied), without Python's buffered file layer."""
    descriptor = os.open(path, _NEW_FILE, 0o666)
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


_NEW_FILE: Final = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def _syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(2)``: every dirty page of one file system to disk, in one call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None
    function = getattr(libc, "syncfs", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_SYNCFS = _syncfs()


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

    needs_flush = False

    def send(self, raw: bytes, *, key: str, sender: str, to: list[str]) -> Replies:
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
                code, data_reply = client.data(raw)
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

    def durability(self) -> Callable[[], None] | None:
        return None  # the server's 250 is its promise to keep the message

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
