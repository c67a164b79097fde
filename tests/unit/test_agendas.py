"""What is due, per stage, as pure rules: who gets which letter, on which day, in which standard."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sio_domain.agendas.application_window import application_window_agenda
from sio_domain.agendas.decision_letters import decision_letters_agenda
from sio_domain.agendas.go_live import go_live_agenda
from sio_domain.agendas.invitations import gatherings_agenda, status_meetings_agenda
from sio_domain.agendas.reminders import reminder_still_due, reminders_agenda
from sio_domain.agendas.signing import signing_agenda
from sio_domain.norwegian_calendar import OSLO, is_working_day, working_days_before
from sio_domain.trial_state import Announcement
from tasks.mail.mail_templates import render_mail
from tests.support.trial_states import at, contact, trial_state

STJORDAL, OS, HOBOL, SPYDEBERG, FUSA = "1714", "1243", "0138", "0123", "1241"
JUNE_MEETING = f"sio-2016:status_meeting:A:-:{STJORDAL}:2016-06"


def test_a_rejection_gets_a_letter_with_a_reason_and_no_model():
    state = trial_state(
        "sio-2016",
        at(date(2016, 1, 15)),
        applied={STJORDAL: at(date(2015, 11, 19)), OS: at(date(2015, 12, 3))},
        late=[OS],
        selected={STJORDAL: "A"},
        rejected=[OS],
        decided_on=date(2016, 1, 14),
    )
    letters = {letter.kommunenummer: letter for letter in decision_letters_agenda(state).letters}
    assert letters[STJORDAL].kind == "decision_offer"
    assert letters[OS].kind == "decision_rejection"
    assert "model" not in letters[OS].context
    assert letters[OS].context["reason"] == "Søknaden kom inn etter søknadsfristen."
    for letter in letters.values():  # every letter can be written, in both standards
        for standard in ("bokmål", "nynorsk"):
            render_mail(letter.kind, standard, **letter.context)


def test_a_rejection_reason_falls_back_from_late_to_criteria_to_capacity():
    state = trial_state(
        "sio-2016",
        at(date(2016, 1, 15)),
        applied={OS: at(date(2015, 11, 19)), FUSA: at(date(2015, 11, 19))},
        findings={OS: ("attachment_missing: no form",)},
        rejected=[OS, FUSA],
    )
    reasons = {
        letter.kommunenummer: letter.context["reason"]
        for letter in decision_letters_agenda(state).letters
    }
    assert "kriteria" in reasons[OS]  # Os writes nynorsk
    assert "plassar" in reasons[FUSA]


def test_a_decision_is_not_known_before_the_day_it_was_taken():
    state = trial_state(
        "sio-2016", at(date(2016, 1, 13)), selected={STJORDAL: "A"}, decided_on=date(2016, 1, 14)
    )
    # the loader filters by decision date; a letter dated before it never states it
    assert state.end_known_on(date(2016, 1, 13)) == date(2019, 4, 30)


def test_a_letter_before_the_early_end_was_decided_states_the_agreed_end():
    before = trial_state("sio-2021", at(date(2021, 10, 11)), selected={"0906": "A"})
    after = trial_state("sio-2021", at(date(2021, 10, 12)), selected={"0906": "A"})
    [letter_before] = decision_letters_agenda(before).letters
    [letter_after] = decision_letters_agenda(after).letters
    assert letter_before.context["end"] == date(2022, 12, 31)
    assert letter_after.context["end"] == date(2021, 12, 31)


def test_hobol_and_spydeberg_never_receive_each_others_letters():
    people = [contact(HOBOL), contact(SPYDEBERG), contact("3014", email="io@indre.no")]
    state = trial_state("sio-2016", at(date(2016, 1, 15)), contacts=people)
    assert [r.email for r in state.recipients(HOBOL, ["contact_person"])] == [
        "contact_person@0138.kommune.no"
    ]
    assert [r.email for r in state.recipients(SPYDEBERG, ["contact_person"])] == [
        "contact_person@0123.kommune.no"
    ]
    # after the merger a letter to Hobøl goes to Indre Østfold's own contact
    assert [r.email for r in state.recipients(HOBOL, ["contact_person"], date(2020, 3, 1))] == [
        "io@indre.no"
    ]


def test_a_successor_without_contacts_of_its_own_uses_its_predecessors():
    state = trial_state(
        "sio-2019", at(date(2020, 3, 1)), contacts=[contact(HOBOL), contact("0926")]
    )
    found = state.recipients("3014", ["contact_person"])
    assert [r.kommunenummer for r in found] == [HOBOL]


def test_fusas_2015_reminders_go_to_fusa_or_to_nobody_never_to_os():
    os_and_later = [contact(OS), contact("4624", email="post@bjornafjorden.no")]
    state = trial_state("sio-2016", at(date(2015, 11, 20)), contacts=os_and_later)
    assert FUSA not in state.candidates()  # a contact registered after the merger does not count
    assert state.recipients(FUSA, ["contact_person"]) == []
    letters = reminders_agenda(state).letters
    assert {letter.kommunenummer for letter in letters} == {OS}
    with_fusa = trial_state(
        "sio-2016", at(date(2015, 11, 20)), contacts=[*os_and_later, contact(FUSA)]
    )
    [fusa] = [r for r in reminders_agenda(with_fusa).letters if r.kommunenummer == FUSA]
    assert [r.email for r in with_fusa.recipients(FUSA, fusa.roles)] == [
        "contact_person@1241.kommune.no"
    ]
    assert with_fusa.written_standard(FUSA) == "nynorsk"


def test_receipts_follow_submission_and_the_window_closes_at_the_end_of_the_deadline_day():
    applied = {STJORDAL: at(date(2015, 12, 1), time(23, 59)), OS: at(date(2015, 12, 2), time(0))}
    open_state = trial_state("sio-2016", at(date(2015, 12, 1), time(23, 59)), applied=applied)
    assert not application_window_agenda(open_state).facts
    closed = trial_state("sio-2016", at(date(2015, 12, 2), time(0)), applied=applied)
    [fact] = application_window_agenda(closed).facts
    assert fact.at == at(date(2015, 12, 2), time(0))


def meeting_state(as_of: datetime, **extra: object):
    return trial_state(
        "sio-2016",
        as_of,
        contacts=[contact(STJORDAL), contact(STJORDAL, "project_leader")],
        selected={STJORDAL: "A"},
        decided_on=date(2016, 1, 14),
        **extra,  # type: ignore[arg-type]
    )


def june_letters(state):
    return [
        letter
        for letter in status_meetings_agenda(state).letters
        if letter.calendar and letter.calendar.event.key == JUNE_MEETING
    ]


def test_a_status_meeting_invitation_is_due_exactly_ten_working_days_ahead_from_nine():
    invite_day = working_days_before(date(2016, 6, 14), 10)
    assert june_letters(meeting_state(at(invite_day, time(8, 59)))) == []
    [letter] = june_letters(meeting_state(at(invite_day, time(9))))
    assert letter.kind == "meeting_invitation" and letter.calendar.sequence == 0
    assert letter.due_at == at(invite_day)


def announced(sequence: int, start: datetime, key: str = JUNE_MEETING) -> Announcement:
    return Announcement(
        STJORDAL, key, sequence, start, start + timedelta(minutes=90), "REQUEST", f"k{sequence}"
    )


def test_the_meeting_reminder_is_due_exactly_two_working_days_ahead():
    start = datetime(2016, 6, 14, 10, tzinfo=OSLO)
    remind_day = working_days_before(date(2016, 6, 14), 2)
    sent_before = {"k0": at(date(2016, 5, 31))}
    state = meeting_state(
        at(remind_day, time(8, 59)), announcements=[announced(0, start)], announced_at=sent_before
    )
    assert june_letters(state) == []
    state = meeting_state(
        at(remind_day), announcements=[announced(0, start)], announced_at=sent_before
    )
    [letter] = june_letters(state)
    assert letter.kind == "meeting_reminder" and letter.due_at == at(remind_day)


def test_a_meeting_moved_twice_is_announced_with_sequence_one_then_two():
    first = datetime(2016, 6, 14, 10, tzinfo=OSLO)
    moved = (datetime(2016, 6, 15, 13, tzinfo=OSLO), datetime(2016, 6, 15, 14, 30, tzinfo=OSLO))
    once = meeting_state(
        at(date(2016, 6, 1)),
        announcements=[announced(0, first)],
        meeting_times={(STJORDAL, JUNE_MEETING): moved},
    )
    [update] = june_letters(once)
    assert update.calendar.sequence == 1 and update.context["moved"] is True
    again = (datetime(2016, 6, 16, 9, tzinfo=OSLO), datetime(2016, 6, 16, 10, 30, tzinfo=OSLO))
    twice = meeting_state(
        at(date(2016, 6, 2)),
        announcements=[announced(0, first), announced(1, moved[0])],
        meeting_times={(STJORDAL, JUNE_MEETING): again},
    )
    [second] = june_letters(twice)
    assert second.calendar.sequence == 2


def test_a_meeting_moved_before_anyone_was_invited_is_invited_plainly():
    moved = (datetime(2016, 6, 15, 13, tzinfo=OSLO), datetime(2016, 6, 15, 14, 30, tzinfo=OSLO))
    state = meeting_state(
        at(working_days_before(date(2016, 6, 15), 10)),
        meeting_times={(STJORDAL, JUNE_MEETING): moved},
    )
    [letter] = june_letters(state)
    assert letter.calendar.sequence == 0 and letter.context["moved"] is False


@settings(max_examples=40, deadline=None)
@given(st.dates(min_value=date(2016, 5, 1), max_value=date(2016, 12, 31)))
def test_meeting_letters_go_only_on_working_days_and_never_after_the_meeting(day):
    for letter in status_meetings_agenda(meeting_state(at(day))).letters:
        event_day = letter.calendar.event.day
        sent_on = letter.due_at.astimezone(OSLO).date()
        assert is_working_day(sent_on) and sent_on <= day <= event_day


def test_gathering_invitations_go_to_the_audience_roles_of_the_models_participants():
    state = trial_state(
        "sio-2016",
        at(working_days_before(date(2016, 3, 8), 10)),
        contacts=[contact(STJORDAL), contact(OS)],
        selected={STJORDAL: "A", OS: "B"},
        decided_on=date(2016, 1, 14),
    )
    letters = [
        letter
        for letter in gatherings_agenda(state).letters
        if letter.calendar.event.key.endswith(":gathering_1:-")
    ]
    assert [letter.kommunenummer for letter in letters] == [STJORDAL]  # model A only
    assert letters[0].roles == (
        "contact_person",
        "project_leader",
        "allocation_officer",
        "finance_officer",
        "service_manager",
    )


def test_the_agreement_is_sent_to_each_selected_municipality_with_its_model():
    state = trial_state("sio-2016", at(date(2016, 1, 15)), selected={STJORDAL: "A", OS: "B"})
    letters = {letter.kommunenummer: letter for letter in signing_agenda(state).letters}
    assert letters[STJORDAL].agreement_model == "A" and letters[OS].agreement_model == "B"


def test_reminders_stop_when_the_agreement_is_received_and_say_why_at_send_time():
    day = working_days_before(date(2016, 2, 1), 7)
    state = trial_state("sio-2016", at(day), contacts=[contact(STJORDAL)], selected={STJORDAL: "A"})
    [letter] = [r for r in reminders_agenda(state).letters if r.obligation == "agreement"]
    assert reminder_still_due(state, letter.key) is None
    signed = trial_state(
        "sio-2016",
        at(day, time(12)),
        contacts=[contact(STJORDAL)],
        selected={STJORDAL: "A"},
        signed={STJORDAL: day},
    )
    assert "fulfilled" in reminder_still_due(signed, letter.key)
    later = trial_state(
        "sio-2016",
        at(working_days_before(date(2016, 2, 1), 1)),
        contacts=[contact(STJORDAL)],
        selected={STJORDAL: "A"},
    )
    assert reminder_still_due(later, letter.key) == "a later reminder is due instead"


def test_staff_are_alerted_before_go_live_about_what_is_not_done():
    state = trial_state("sio-2016", at(date(2016, 4, 20)), selected={STJORDAL: "A"})
    [alert] = go_live_agenda(state).letters
    assert alert.to_staff and alert.kind == "readiness_alert"
    titles = [item["title"] for item in alert.context["missing"]]
    assert len(titles) == 3  # project leader, ICT adaptation, changes reported (seed 000 rows 2–4)
    live = trial_state("sio-2016", at(date(2016, 5, 1), time(0)), selected={STJORDAL: "A"})
    [fact] = go_live_agenda(live).facts
    assert fact.kommunenummer == STJORDAL and fact.on == date(2016, 5, 1)


@pytest.mark.parametrize("knr", [HOBOL, "3014"])
def test_hobol_continues_in_2019_with_abf_from_may_and_indre_ostfold_from_2021(knr):
    from sio_domain.plan import build_plan
    from tests.support.trial_states import shipped_registry as registry

    round_def = trial_state("sio-2019", at(date(2019, 1, 31))).round_def
    plan = build_plan(round_def, municipality=knr, held_numbers=registry().lineage(knr), model="A")
    starts = {e.kind: e.day for e in plan if e.kind in ("participation_start", "go_live")}
    abf = [e.day for e in plan if e.kind == "abf_start"]
    assert min(starts.values()) == date(2019, 5, 1)  # Hobøl continued from 01.05.2019 (seed 001)
    assert abf == [date(2019, 5, 1) if knr == HOBOL else date(2021, 1, 1)]


def test_a_queued_meeting_reminder_is_skipped_once_the_meeting_has_moved():
    from sio_domain.agendas.send_time import still_true

    start = datetime(2016, 6, 14, 10, tzinfo=OSLO)
    remind_day = working_days_before(date(2016, 6, 14), 2)
    state = meeting_state(
        at(remind_day),
        announcements=[announced(0, start)],
        announced_at={"k0": at(date(2016, 5, 31))},
    )
    [reminder] = june_letters(state)
    assert still_true(state, reminder.key) is None
    moved = (datetime(2016, 6, 16, 13, tzinfo=OSLO), datetime(2016, 6, 16, 14, 30, tzinfo=OSLO))
    later = meeting_state(
        at(remind_day, time(12)),
        announcements=[announced(0, start)],
        meeting_times={(STJORDAL, JUNE_MEETING): moved},
    )
    assert "moved" in still_true(later, reminder.key)
    after = meeting_state(at(date(2016, 6, 14), time(10, 30)), announcements=[announced(0, start)])
    assert "began" in still_true(after, reminder.key)


def test_a_second_sweep_the_same_day_sends_no_reminder_again():
    day = working_days_before(date(2016, 2, 1), 7)
    morning = trial_state(
        "sio-2016", at(day), contacts=[contact(STJORDAL)], selected={STJORDAL: "A"}
    )
    [first] = [r for r in reminders_agenda(morning).letters if r.obligation == "agreement"]
    later = trial_state(
        "sio-2016",
        at(day, time(10, 30)),
        contacts=[contact(STJORDAL)],
        selected={STJORDAL: "A"},
        sent_keys=[first.key],
    )
    assert [r for r in reminders_agenda(later).letters if r.obligation == "agreement"] == []
