"""What waits for the directorate: the staff task list and when a task is escalated."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sio_domain.staff_tasks import (
    FailedMail,
    HeldPayout,
    StaffTask,
    due_escalations,
    staff_tasks,
)
from sio_domain.trial_state import SignatureFact
from tests.support.trial_states import at, trial_state

STJORDAL, OS, HOBOL = "1714", "1243", "0138"


def _kinds(tasks: list[StaffTask]) -> dict[str, StaffTask]:
    return {task.key: task for task in tasks}


def test_a_selection_waits_from_the_day_after_the_application_deadline():
    applied = {STJORDAL: at(date(2015, 11, 19)), OS: at(date(2015, 11, 20))}
    before = trial_state("sio-2016", at(date(2015, 12, 1)), applied=applied)
    after = trial_state("sio-2016", at(date(2015, 12, 2)), applied=applied)
    assert "selection:sio-2016" not in _kinds(staff_tasks(before))
    task = _kinds(staff_tasks(after))["selection:sio-2016"]
    assert task.action == "selection/sio-2016"
    assert "2 søknader" in task.what


def test_a_decided_round_has_no_selection_waiting():
    state = trial_state(
        "sio-2016",
        at(date(2016, 1, 20)),
        applied={STJORDAL: at(date(2015, 11, 19))},
        selected={STJORDAL: "A"},
        decided_on=date(2016, 1, 14),
    )
    assert "selection:sio-2016" not in _kinds(staff_tasks(state))


def test_the_directorates_missing_signature_is_a_task_until_it_signs():
    state = trial_state(
        "sio-2016",
        at(date(2016, 1, 28)),
        applied={STJORDAL: at(date(2015, 11, 19))},
        selected={STJORDAL: "A"},
        decided_on=date(2016, 1, 14),
        signed={STJORDAL: date(2016, 1, 25)},
    )
    task = _kinds(staff_tasks(state))[f"signature:{STJORDAL}"]
    assert task.since == date(2016, 1, 25)
    assert task.action == "registrer-signatur/skjema"
    theirs = SignatureFact(STJORDAL, "directorate", date(2016, 1, 27), date(2016, 1, 27), False)
    signed = replace(state, signatures={**state.signatures, (STJORDAL, "directorate"): theirs})
    assert f"signature:{STJORDAL}" not in _kinds(staff_tasks(signed))


def test_a_late_agreement_is_a_task_from_the_day_after_its_deadline():
    common = {
        "applied": {STJORDAL: at(date(2015, 11, 19))},
        "selected": {STJORDAL: "A"},
        "decided_on": date(2016, 1, 14),
    }
    on_deadline = trial_state("sio-2016", at(date(2016, 2, 1)), **common)
    after = trial_state("sio-2016", at(date(2016, 2, 2)), **common)
    assert f"late:{STJORDAL}:agreement" not in _kinds(staff_tasks(on_deadline))
    assert _kinds(staff_tasks(after))[f"late:{STJORDAL}:agreement"].since == date(2016, 2, 2)


def test_readiness_gaps_show_from_ten_working_days_before_go_live():
    common = {
        "applied": {STJORDAL: at(date(2015, 11, 19))},
        "selected": {STJORDAL: "A"},
        "decided_on": date(2016, 1, 14),
        "signed": {STJORDAL: date(2016, 1, 25)},
    }
    early = trial_state("sio-2016", at(date(2016, 4, 1)), **common)
    near = trial_state("sio-2016", at(date(2016, 4, 25)), **common)
    assert not any(t.key.startswith("readiness:") for t in staff_tasks(early))
    assert any(t.key.startswith(f"readiness:{STJORDAL}") for t in staff_tasks(near))


def test_held_payouts_unaddressed_and_failed_letters_are_tasks_oldest_first():
    state = trial_state("sio-2016", at(date(2016, 8, 1)))
    state = replace(state, marks=frozenset({f"unaddressed:agreement:sio-2016:{HOBOL}"}))
    tasks = staff_tasks(
        state,
        held=[HeldPayout(HOBOL, "2016Q3", ("mangler kontonummer",), date(2016, 7, 7))],
        failed_mail=[FailedMail("k1", OS, "Avtale", "550 no such user", date(2016, 7, 1))],
        unaddressed_since={f"unaddressed:agreement:sio-2016:{HOBOL}": date(2016, 7, 20)},
    )
    assert [t.key for t in tasks] == [
        "failed:k1",
        f"held:2016Q3:{HOBOL}",
        f"unaddressed:agreement:sio-2016:{HOBOL}",
    ]
    assert tasks[2].kommunenummer == HOBOL
    assert "mangler kontonummer" in tasks[1].what


def test_a_task_is_escalated_after_the_rounds_working_days_not_before():
    task = StaffTask("k", "x", None, date(2016, 1, 29), "", "")  # a Friday
    # Mon 1, Tue 2, Wed 3, Thu 4, Fri 5 Feb: the fifth working day after it arose
    assert due_escalations([task], date(2016, 2, 4), 5) == []
    assert due_escalations([task], date(2016, 2, 5), 5) == [task]
    assert due_escalations([task], date(2016, 2, 7), 5) == [task]


def test_the_escalation_limit_is_read_from_the_round_file_with_a_default():
    state = trial_state("sio-2016", at(date(2016, 1, 1)))
    assert state.round_def.staff.escalate_after_working_days == 5
