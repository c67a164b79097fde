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
    replans = tuple(
        ReplanDecision(
            r.kind,  # type: ignore[arg-type]
            r.decided_on,
            r.reason,
            r.decided_by,
            r.target,
            r.kommunenummer,
            r.to_date,
            r.to_start,
        )
        for r in session.exec(
            select(ReplanDecisionRecord)
            .where(ReplanDecisionRecord.round_id == rid)
            .order_by(col(ReplanDecisionRecord.id))
        )
        if r.decided_on <= day
    )
    original_round = round_def
    round_def = round_in_force(round_def, replans, day)
    empty = TrialState(round_def, registry, as_of)
    canon = empty.canonical

    contacts = tuple(
        ContactPerson(c.kommunenummer, c.role, c.email, c.name)
        for c in session.exec(select(ContactRecord).order_by(col(ContactRecord.id)))
    )
    applications = {
        canon(a.kommunenummer): ApplicationFact(
            canon(a.kommunenummer),
            a.submitted_at,
            a.late,
            tuple(line for line in a.findings.splitlines() if line),
        )
        for a in session.exec(select(ApplicationRecord).where(ApplicationRecord.round_id == rid))
        if a.submitted_at <= as_of
    }
    decisions = {
        canon(d.kommunenummer): DecisionFact(
            canon(d.kommunenummer),
            d.decision,
            d.model,  # type: ignore[arg-type]
            d.decided_by,
            d.decided_on,
            d.reason,
        )
        for d in session.exec(
            select(SelectionDecisionRecord).where(SelectionDecisionRecord.round_id == rid)
        )
        if d.decided_on <= day
    }
    replies = {
        canon(r.kommunenummer): (r.accepted, r.replied_on)
        for r in session.exec(select(ReplyRecord).where(ReplyRecord.round_id == rid))
        if r.replied_on <= day
    }
    signatures = {}
    for s in session.exec(select(SignatureRecord).where(SignatureRecord.round_id == rid)):
        known = s.received_on if s.party == "municipality" else s.signed_on
        if known <= day:
            number = canon(s.kommunenummer)
            signatures[(number, s.party)] = SignatureFact(
                number, s.party, s.signed_on, s.received_on, s.late
            )
    done = {
        (canon(a.kommunenummer), a.activity_key): a.done_on
        for a in session.exec(select(ActivityStatus).where(ActivityStatus.round_id == rid))
        if a.done_on <= day
    }
    participations = {
        canon(p.kommunenummer): ParticipationFact(
            canon(p.kommunenummer),
            p.model,  # type: ignore[arg-type]
            p.start,
            min(
                p.end,
                participation_end(replans, canon(p.kommunenummer), day) or p.end,
                round_def.milestones.effective_end,
            ),
            p.abf_start,
            p.live_since if p.live_since and p.live_since <= as_of else None,
        )
        for p in session.exec(
            select(ParticipationRecord).where(ParticipationRecord.round_id == rid)
        )
        if canon(p.kommunenummer) in decisions
    }
    meeting_times = {
        (canon(m.kommunenummer), m.event_key): (m.start, m.end)
        for m in session.exec(select(MeetingRecord).where(MeetingRecord.round_id == rid))
        if m.agreed and (m.agreed_on is None or m.agreed_on <= day)
    }
    announced: dict[tuple[str, str], list[Announcement]] = defaultdict(list)
    announced_at = {}
    for a in session.exec(
        select(AnnouncementRecord)
        .where(AnnouncementRecord.round_id == rid)
        .order_by(col(AnnouncementRecord.sequence))
    ):
        if a.announced_at <= as_of:
            number = canon(a.kommunenummer)
            announced[(number, a.event_key)].append(
                Announcement(number, a.event_key, a.sequence, a.start, a.end, a.method, a.mail_key)
            )
            announced_at[a.mail_key] = a.announced_at
    sent_keys = frozenset(
        session.exec(select(OutgoingMail.key).where(OutgoingMail.round_id == rid)).all()
    )
    marks = frozenset(session.exec(select(StageMark.mark).where(StageMark.round_id == rid)).all())
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
