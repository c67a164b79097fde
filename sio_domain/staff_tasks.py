"""What waits for the directorate (oppgaver for Helsedirektoratet): the staff's own task list.

Operations staff run the trial; some steps are theirs alone. From one as-of state this lists every
task waiting for them, oldest first, each with what to do and the form (deployment) that does it:

- a selection waiting: applications without a decision after the application deadline (seed 000:
  the directorate selects among the applicants);
- the directorate's own signature on an agreement the municipality has returned (seed 000:
  «utferdiget i 2 ... eksemplarer», one signed by each party);
- readiness gaps before go-live: Bilag 1 activities due before the start not done, from the warning
  day on (seed 000 §1.4);
- payouts held back by the latest payout run, with the reason;
- a letter with no recipient (no contact in the roles it is addressed to);
- a letter the mail server refused;
- municipalities' duties that are late (to follow up).

A task that has waited ``staff.escalate_after_working_days`` working days (round file, design
decision D) is escalated once by mail to the staff address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sio_domain.agendas.go_live import READINESS_WARNING_DAYS
from sio_domain.norwegian_calendar import OSLO, is_working_day, working_days_before
from sio_domain.obligations import obligation_key, obligations
from sio_domain.trial_state import TrialState


@dataclass(frozen=True)
class HeldPayout:
    """A payee the latest payout run held back, and why (from the run's result)."""

    kommunenummer: str
    run: str
    reasons: tuple[str, ...]
    held_on: date


@dataclass(frozen=True)
class FailedMail:
    """A letter the mail server refused: its outbox key, municipality, subject and last error."""

    key: str
    kommunenummer: str | None
    subject: str
    error: str
    failed_on: date


@dataclass(frozen=True)
class StaffTask:
    """One thing waiting for the directorate: since when, what to do and where to do it."""

    key: str
    kind: str
    kommunenummer: str | None
    since: date
    what: str
    action: str
    """The deployment (``flow/deployment``) or artifact key that does it."""

    def waited(self, today: date) -> int:
        """Working days the task has waited (the day it arose not counted)."""
        count, day = 0, self.since
        while day < today:
            day += timedelta(days=1)
            count += is_working_day(day)
        return count


def staff_tasks(
    state: TrialState,
    *,
    held: Sequence[HeldPayout] = (),
    failed_mail: Sequence[FailedMail] = (),
    unaddressed_since: dict[str, date] | None = None,
) -> list[StaffTask]:
    """Every task waiting for the directorate at the state's instant, oldest first."""
    found = [
        *_selection_waiting(state),
        *_own_signatures(state),
        *_readiness_gaps(state),
        *(
            StaffTask(
                f"held:{h.run}:{h.kommunenummer}",
                "utbetaling holdt tilbake",
                h.kommunenummer,
                h.held_on,
                f"Utbetaling {h.run} holdt tilbake: {'; '.join(h.reasons) or 'ukjent grunn'}. "
                "Rett grunnlaget eller registrer en justering.",
                "registrer-justering/skjema",
            )
            for h in held
        ),
        *_unaddressed(state, unaddressed_since or {}),
        *(
            StaffTask(
                f"failed:{m.key}",
                "brev ikke levert",
                m.kommunenummer,
                m.failed_on,
                f"«{m.subject}» ble avvist av e-postserveren ({m.error}). Rett adressen og "
                "kjør utsendingen på nytt.",
                "importer-kontakter/skjema",
            )
            for m in failed_mail
        ),
        *_late_duties(state),
    ]
    return sorted(found, key=lambda task: (task.since, task.kommunenummer or "", task.key))


def due_escalations(
    tasks: Iterable[StaffTask], today: date, after_working_days: int
) -> list[StaffTask]:
    """The tasks that have waited at least ``after_working_days`` working days by ``today``."""
    return [task for task in tasks if task.waited(today) >= after_working_days]


def escalation_key(round_id: str, task: StaffTask) -> str:
    """The outbox key that makes each task's escalation go once."""
    return f"escalation:{round_id}:{task.key}"


def _selection_waiting(state: TrialState) -> list[StaffTask]:
    deadline = next((e for e in state.round_plan() if e.kind == "application_deadline"), None)
    if deadline is None or state.today <= deadline.day:
        return []
    waiting = sorted(set(state.applications) - set(state.decisions))
    if not waiting:
        return []
    return [
        StaffTask(
            f"selection:{state.round_def.id}",
            "utvelgelse venter",
            None,
            deadline.day,
            f"{len(waiting)} søknader uten vedtak ({', '.join(waiting)}). Gjør utvelgelsen.",
            f"selection/{state.round_def.id}",
        )
    ]


def _own_signatures(state: TrialState) -> list[StaffTask]:
    result = []
    for (knr, party), signature in sorted(state.signatures.items()):
        if party != "municipality" or (knr, "directorate") in state.signatures:
            continue
        result.append(
            StaffTask(
                f"signature:{knr}",
                "vår signatur mangler",
                knr,
                signature.received_on,
                f"{state.name(knr)} har returnert signert avtale "
                f"{signature.received_on:%d.%m.%Y}; Helsedirektoratet har ikke signert.",
                "registrer-signatur/skjema",
            )
        )
    return result


def _readiness_gaps(state: TrialState) -> list[StaffTask]:
    result = []
    for knr, participation in sorted(state.participations.items()):
        warn_from = working_days_before(participation.start, READINESS_WARNING_DAYS)
        if not warn_from <= state.today <= participation.start:
            continue
        missing = [
            e.title
            for e in state.plan_for(knr)
            if e.kind == "activity"
            and e.before_go_live
            and (knr, obligation_key(e) or "") not in state.done
        ]
        if missing:
            result.append(
                StaffTask(
                    f"readiness:{knr}:{participation.start.isoformat()}",
                    "ikke klar til oppstart",
                    knr,
                    warn_from,
                    f"Oppstart {participation.start:%d.%m.%Y}, ikke gjort: {'; '.join(missing)}. "
                    "Følg opp kommunen, eller registrer aktiviteten som gjort.",
                    "registrer-aktivitet/skjema",
                )
            )
    return result


def _unaddressed(state: TrialState, since: dict[str, date]) -> list[StaffTask]:
    result = []
    for mark in sorted(state.marks):
        if not mark.startswith("unaddressed:"):
            continue
        letter_key = mark.removeprefix("unaddressed:")
        if letter_key in state.sent_keys:
            continue
        knr = next((part for part in letter_key.split(":") if _is_number(part)), None)
        result.append(
            StaffTask(
                mark,
                "brev uten mottaker",
                knr,
                since.get(mark, state.today),
                f"Brevet «{letter_key}» har ingen mottaker. Registrer kontakter "
                "for kommunen; neste kjøring sender det.",
                "importer-kontakter/skjema",
            )
        )
    return result


def _late_duties(state: TrialState) -> list[StaffTask]:
    today = state.today
    result = []
    for item in obligations(state):
        if item.kind == "application" or not item.is_open() or not item.is_late(today):
            continue
        form = "registrer-signatur" if item.kind == "agreement" else "registrer-aktivitet"
        if item.kind == "reply":
            form = "registrer-svar"
        result.append(
            StaffTask(
                f"late:{item.kommunenummer}:{item.key}",
                "kommunen er for sent ute",
                item.kommunenummer,
                item.deadline + timedelta(days=1),
                f"{state.name(item.kommunenummer)}: {item.title} (frist "
                f"{item.deadline:%d.%m.%Y}) er ikke mottatt. Purr, eller registrer det mottatte.",
                f"{form}/skjema",
            )
        )
    return result


def _is_number(part: str) -> bool:
    return len(part) == 4 and part.isdigit()


def local_day(instant: datetime) -> date:
    """The Europe/Oslo calendar day of an instant (when a held run or failed mail happened)."""
    return instant.astimezone(OSLO).date()
