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
from datetime import datetime

from sqlalchemy import select as columns
from sqlmodel import Session, col, select

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
    # Columns, not ORM objects: a state is loaded at every run and every calendar step, and
    # building an object per row was most of the load (the rows and the result are the same).
    replans = tuple(
        ReplanDecision(
            kind,
            decided_on,
            reason,
            decided_by,
            target,
            kommunenummer,
            to_date,
            to_start,
        )
        for (
            kind,
            decided_on,
            reason,
            decided_by,
            target,
            kommunenummer,
            to_date,
            to_start,
        ) in session.execute(
            columns(
                col(ReplanDecisionRecord.kind),
                col(ReplanDecisionRecord.decided_on),
                col(ReplanDecisionRecord.reason),
                col(ReplanDecisionRecord.decided_by),
                col(ReplanDecisionRecord.target),
                col(ReplanDecisionRecord.kommunenummer),
                col(ReplanDecisionRecord.to_date),
                col(ReplanDecisionRecord.to_start),
            )
            .where(col(ReplanDecisionRecord.round_id) == rid)
            .order_by(col(ReplanDecisionRecord.id))
        )
        if decided_on <= day
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
        for kommunenummer, role, email, name in session.execute(
            columns(
                col(ContactRecord.kommunenummer),
                col(ContactRecord.role),
                col(ContactRecord.email),
                col(ContactRecord.name),
            ).order_by(col(ContactRecord.id))
        )
    )
    applications = {
        canon(knr): ApplicationFact(
            canon(knr),
            submitted_at,
            late,
            tuple(line for line in findings.splitlines() if line),
        )
        for knr, submitted_at, late, findings in session.execute(
            columns(
                col(ApplicationRecord.kommunenummer),
                col(ApplicationRecord.submitted_at),
                col(ApplicationRecord.late),
                col(ApplicationRecord.findings),
            ).where(col(ApplicationRecord.round_id) == rid)
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
        for knr, decision, model, decided_by, decided_on, reason in session.execute(
            columns(
                col(SelectionDecisionRecord.kommunenummer),
                col(SelectionDecisionRecord.decision),
                col(SelectionDecisionRecord.model),
                col(SelectionDecisionRecord.decided_by),
                col(SelectionDecisionRecord.decided_on),
                col(SelectionDecisionRecord.reason),
            ).where(col(SelectionDecisionRecord.round_id) == rid)
        )
        if decided_on <= day
    }
    replies = {
        canon(knr): (accepted, replied_on)
        for knr, accepted, replied_on in session.execute(
            columns(
                col(ReplyRecord.kommunenummer),
                col(ReplyRecord.accepted),
                col(ReplyRecord.replied_on),
            ).where(col(ReplyRecord.round_id) == rid)
        )
        if replied_on <= day
    }
    signatures = {}
    for knr, party, signed_on, received_on, late in session.execute(
        columns(
            col(SignatureRecord.kommunenummer),
            col(SignatureRecord.party),
            col(SignatureRecord.signed_on),
            col(SignatureRecord.received_on),
            col(SignatureRecord.late),
        ).where(col(SignatureRecord.round_id) == rid)
    ):
        known = received_on if party == "municipality" else signed_on
        if known <= day:
            number = canon(knr)
            signatures[(number, party)] = SignatureFact(number, party, signed_on, received_on, late)
    done = {
        (canon(knr), activity_key): done_on
        for knr, activity_key, done_on in session.execute(
            columns(
                col(ActivityStatus.kommunenummer),
                col(ActivityStatus.activity_key),
                col(ActivityStatus.done_on),
            ).where(col(ActivityStatus.round_id) == rid)
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
        for knr, model, start, end, abf_start, live_since in session.execute(
            columns(
                col(ParticipationRecord.kommunenummer),
                col(ParticipationRecord.model),
                col(ParticipationRecord.start),
                col(ParticipationRecord.end),
                col(ParticipationRecord.abf_start),
                col(ParticipationRecord.live_since),
            ).where(col(ParticipationRecord.round_id) == rid)
        )
        if canon(knr) in decisions
    }
    meeting_times = {
        (canon(knr), event_key): (start, end)
        for knr, event_key, start, end, agreed, agreed_on in session.execute(
            columns(
                col(MeetingRecord.kommunenummer),
                col(MeetingRecord.event_key),
                col(MeetingRecord.start),
                col(MeetingRecord.end),
                col(MeetingRecord.agreed),
                col(MeetingRecord.agreed_on),
            ).where(col(MeetingRecord.round_id) == rid)
        )
        if agreed and (agreed_on is None or agreed_on <= day)
    }
    announced: dict[tuple[str, str], list[Announcement]] = defaultdict(list)
    announced_at = {}
    for knr, event_key, sequence, start, end, method, mail_key, at in session.execute(
        columns(
            col(AnnouncementRecord.kommunenummer),
            col(AnnouncementRecord.event_key),
            col(AnnouncementRecord.sequence),
            col(AnnouncementRecord.start),
            col(AnnouncementRecord.end),
            col(AnnouncementRecord.method),
            col(AnnouncementRecord.mail_key),
            col(AnnouncementRecord.announced_at),
        )
        .where(col(AnnouncementRecord.round_id) == rid)
        .order_by(col(AnnouncementRecord.sequence))
    ):
        if at <= as_of:
            number = canon(knr)
            announced[(number, event_key)].append(
                Announcement(number, event_key, sequence, start, end, method, mail_key)
            )
            announced_at[mail_key] = at
    sent_keys = frozenset(
        session.exec(select(OutgoingMail.key).where(col(OutgoingMail.round_id) == rid)).all()
    )
    marks = frozenset(
        session.exec(select(StageMark.mark).where(col(StageMark.round_id) == rid)).all()
    )
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
