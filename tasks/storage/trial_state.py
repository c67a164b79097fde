"""Loading a round's state from the database as of an instant, into the pure ``TrialState``.

As-of truth (design decision D): a run at instant T sees only what was known at T — an application
from its ``submitted_at``, a decision from its decision date, a reply from its date, the
municipality's signed agreement from the day the directorate received it, the directorate's own
signature from its signing date, an activity from the day it was done, an agreed meeting time from
the day it was agreed. Rows are compared under the number the municipality had on the round's
reference day (``TrialState.canonical``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy import select as columns
from sqlmodel import Session, SQLModel

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.recipients import ContactPerson
from sio_domain.replanning import ReplanDecision, participation_end, round_in_force
from sio_domain.round_definition import RoundDefinition
from sio_domain.trial_state import (
    Announcement,
    ApplicationFact,
    DecisionFact,
    ParticipationFact,
    SignatureFact,
    TrialState,
)
from tasks.storage.tables import (
    ActivityStatus,
    AnnouncementRecord,
    ApplicationRecord,
    ContactRecord,
    MeetingRecord,
    OutgoingMail,
    ParticipationRecord,
    ReplanDecisionRecord,
    ReplyRecord,
    SelectionDecisionRecord,
    SignatureRecord,
    StageMark,
)


def _rows(
    session: Session,
    table: type[SQLModel],
    names: tuple[str, ...],
    *,
    round_id: str | None = None,
    order_by: str | None = None,
) -> Sequence[Row[Any]]:
    """The named columns of ``table``'s rows — of one round, with ``round_id`` — as plain rows.

    Columns, not ORM objects: a state is loaded at every run and every calendar step, and
    building an object per row was most of the load (the rows and the result are the same).
    """
    found = table.__table__.c  # type: ignore[attr-defined]
    query = columns(*(found[name] for name in names))
    if round_id is not None:
        query = query.where(found["round_id"] == round_id)
    if order_by is not None:
        query = query.order_by(found[order_by])
    return session.execute(query).all()


_REPLAN_COLUMNS = tuple(field.name for field in fields(ReplanDecision))


def load_trial_state(
    session: Session,
    round_def: RoundDefinition,
    registry: MunicipalityRegistry,
    as_of: datetime,
) -> TrialState:
    """The round as it stood at ``as_of`` (aware)."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of {as_of.isoformat()} must carry a time zone")
    rid = round_def.id
    day = as_of.astimezone(OSLO).date()
    replans = tuple(
        ReplanDecision(*row)  # the columns in the decision's own field order
        for row in _rows(
            session,
            ReplanDecisionRecord,
            _REPLAN_COLUMNS,
            round_id=rid,
            order_by="id",
        )
        if row.decided_on <= day
    )
    original_round = round_def
    round_def = round_in_force(round_def, replans, day)
    empty = TrialState(round_def, registry, as_of)
    numbers: dict[str, str] = {}

    def canon(kommunenummer: str) -> str:
        found = numbers.get(kommunenummer)
        if found is None:
            found = numbers[kommunenummer] = empty.canonical(kommunenummer)
        return found

    contacts = tuple(
        ContactPerson(kommunenummer, role, email, name)
        for kommunenummer, role, email, name in _rows(
            session, ContactRecord, ("kommunenummer", "role", "email", "name"), order_by="id"
        )
    )
    applications = {
        canon(knr): ApplicationFact(
            canon(knr),
            submitted_at,
            late,
            tuple(line for line in findings.splitlines() if line),
        )
        for knr, submitted_at, late, findings in _rows(
            session,
            ApplicationRecord,
            ("kommunenummer", "submitted_at", "late", "findings"),
            round_id=rid,
        )
        if submitted_at <= as_of
    }
    decisions = {
        canon(knr): DecisionFact(
            canon(knr),
            decision,
            model,
            decided_by,
            decided_on,
            reason,
        )
        for knr, decision, model, decided_by, decided_on, reason in _rows(
            session,
            SelectionDecisionRecord,
            ("kommunenummer", "decision", "model", "decided_by", "decided_on", "reason"),
            round_id=rid,
        )
        if decided_on <= day
    }
    replies = {
        canon(knr): (accepted, replied_on)
        for knr, accepted, replied_on in _rows(
            session, ReplyRecord, ("kommunenummer", "accepted", "replied_on"), round_id=rid
        )
        if replied_on <= day
    }
    signatures = {}
    for knr, party, signed_on, received_on, late in _rows(
        session,
        SignatureRecord,
        ("kommunenummer", "party", "signed_on", "received_on", "late"),
        round_id=rid,
    ):
        known = received_on if party == "municipality" else signed_on
        if known <= day:
            number = canon(knr)
            signatures[(number, party)] = SignatureFact(number, party, signed_on, received_on, late)
    done = {
        (canon(knr), activity_key): done_on
        for knr, activity_key, done_on in _rows(
            session, ActivityStatus, ("kommunenummer", "activity_key", "done_on"), round_id=rid
        )
        if done_on <= day
    }
    participations = {
        canon(knr): ParticipationFact(
            canon(knr),
            model,
            start,
            min(
                end,
                participation_end(replans, canon(knr), day) or end,
                round_def.milestones.effective_end,
            ),
            abf_start,
            live_since if live_since and live_since <= as_of else None,
        )
        for knr, model, start, end, abf_start, live_since in _rows(
            session,
            ParticipationRecord,
            ("kommunenummer", "model", "start", "end", "abf_start", "live_since"),
            round_id=rid,
        )
        if canon(knr) in decisions
    }
    meeting_times = {
        (canon(knr), event_key): (start, end)
        for knr, event_key, start, end, agreed, agreed_on in _rows(
            session,
            MeetingRecord,
            ("kommunenummer", "event_key", "start", "end", "agreed", "agreed_on"),
            round_id=rid,
        )
        if agreed and (agreed_on is None or agreed_on <= day)
    }
    announced: dict[tuple[str, str], list[Announcement]] = defaultdict(list)
    announced_at = {}
    for knr, event_key, sequence, start, end, method, mail_key, at in _rows(
        session,
        AnnouncementRecord,
        (
            "kommunenummer",
            "event_key",
            "sequence",
            "start",
            "end",
            "method",
            "mail_key",
            "announced_at",
        ),
        round_id=rid,
        order_by="sequence",
    ):
        if at <= as_of:
            number = canon(knr)
            announced[(number, event_key)].append(
                Announcement(number, event_key, sequence, start, end, method, mail_key)
            )
            announced_at[mail_key] = at
    sent_keys = frozenset(key for (key,) in _rows(session, OutgoingMail, ("key",), round_id=rid))
    marks = frozenset(mark for (mark,) in _rows(session, StageMark, ("mark",), round_id=rid))
    return TrialState(
        round_def,
        registry,
        as_of,
        contacts=contacts,
        applications=applications,
        decisions=decisions,
        replies=replies,
        signatures=signatures,
        done=done,
        participations=participations,
        meeting_times=meeting_times,
        announcements={key: tuple(items) for key, items in announced.items()},
        sent_keys=sent_keys,
        announced_at=announced_at,
        marks=marks,
        replans=replans,
        original_round=original_round,
    )
