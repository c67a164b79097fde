"""The trial's lifecycle per round and municipality: apply, select, reply, sign, take part.

Each table has a natural unique key (round, municipality[, what]) so that every stage can be
re-run: a second run finds the row and does nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from tasks.storage.tables.base import UtcDateTime


class ApplicationRecord(SQLModel, table=True):
    """An application (søknad) to take part in a round, with the criteria check's findings."""

    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    submitted_at: datetime = Field(sa_type=UtcDateTime)
    signed_by_title: str
    council_resolution_date: date | None = None
    epj_system: str | None = None
    attachment: str | None = None
    late: bool = False
    findings: str = ""  # criteria not met, one per line; empty when complete
    imported_at: datetime = Field(sa_type=UtcDateTime)


class SelectionDecisionRecord(SQLModel, table=True):
    """The decision on one application: selected (with the model) or rejected."""

    __tablename__ = "selection_decision"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    decision: str  # selected | rejected
    model: str | None = None  # A | B when selected
    decided_by: str  # ministry | directorate | parliament
    decided_on: date
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    recorded_via: str  # "prefect-ui", "file:<name>"
    reason: str | None = None  # why an application was rejected, when staff gave one


class ReplyRecord(SQLModel, table=True):
    """The municipality's reply to an offer, in rounds with a reply deadline (seed 002)."""

    __tablename__ = "reply"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    accepted: bool
    replied_on: date
    late: bool = False
    recorded_at: datetime = Field(sa_type=UtcDateTime)


class SignatureRecord(SQLModel, table=True):
    """One party's signature on the cooperation agreement (samarbeidsavtale, 2 copies, seed 000).

    ``received_on`` is when the directorate received the municipality's signed copy: the agreement
    deadline is a return date .
    """

    __tablename__ = "signature"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer", "party"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    party: str  # municipality | directorate
    signed_on: date
    place: str
    signatory: str
    received_on: date
    late: bool = False
    recorded_at: datetime = Field(sa_type=UtcDateTime)


class ParticipationRecord(SQLModel, table=True):
    """A municipality's participation in a round: model and dated values (design decision D)."""

    __tablename__ = "participation"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    model: str
    start: date
    end: date
    abf_start: date | None = None
    live_since: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ActivityStatus(SQLModel, table=True):
    """A Bilag 1 activity reported done by a municipality (go-live readiness)."""

    __tablename__ = "activity_status"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer", "activity_key"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    activity_key: str
    done_on: date
    note: str | None = None
    recorded_at: datetime = Field(sa_type=UtcDateTime)


class MeetingRecord(SQLModel, table=True):
    """A status meeting or gathering as held with one municipality: agreed time and minutes."""

    __tablename__ = "meeting"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer", "event_key"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    event_key: str
    kind: str
    start: datetime = Field(sa_type=UtcDateTime)
    end: datetime = Field(sa_type=UtcDateTime)
    agreed: bool = False
    agreed_on: date | None = None  # when the time was agreed: runs before it use the proposal
    minutes: str | None = None


class AttendanceRecord(SQLModel, table=True):
    """Who from a municipality attended a gathering or meeting."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("round_id", "event_key", "kommunenummer", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    event_key: str
    kommunenummer: str = Field(max_length=4)
    email: str
    attended: bool
    recorded_at: datetime = Field(sa_type=UtcDateTime)


class StageMark(SQLModel, table=True):
    """A stage step done once per round (or municipality): e.g. the application window closed.

    The mark is the idempotency guard for steps that have no row of their own.
    """

    __tablename__ = "stage_mark"
    __table_args__ = (UniqueConstraint("round_id", "stage", "mark"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    stage: str
    mark: str
    done_at: datetime = Field(sa_type=UtcDateTime)
    detail: str = ""


class AnnouncementRecord(SQLModel, table=True):
    """An invitation or cancellation sent for one event to one municipality (its calendar entry).

    ``sequence`` is the iCalendar SEQUENCE sent; the next change of the event goes with a higher
    one and the same UID. Written in the same transaction as the letter it belongs to.
    """

    __tablename__ = "announcement"
    __table_args__ = (UniqueConstraint("round_id", "kommunenummer", "event_key", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    event_key: str
    sequence: int
    start: datetime = Field(sa_type=UtcDateTime)
    end: datetime = Field(sa_type=UtcDateTime)
    method: str  # REQUEST | CANCEL
    mail_key: str
    announced_at: datetime = Field(sa_type=UtcDateTime)


class ReplanDecisionRecord(SQLModel, table=True):
    """A replanning decision (omplanlegging): what changed, from when, why and who decided."""

    __tablename__ = "replan_decision"

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kind: str  # move_milestone | end | move_event | cancel_event
    target: str | None = None
    kommunenummer: str | None = Field(default=None, max_length=4)
    to_date: date | None = None
    to_start: datetime | None = Field(default=None, sa_type=UtcDateTime)
    decided_on: date
    decided_by: str
    reason: str
    recorded_at: datetime = Field(sa_type=UtcDateTime)
