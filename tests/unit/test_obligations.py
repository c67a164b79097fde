"""Which reminder is due for which open obligation (pure rules, no database)."""

from datetime import date, datetime, time

from hypothesis import given
from hypothesis import strategies as st

from sio_domain.norwegian_calendar import OSLO, is_working_day, working_days_before
from sio_domain.obligations import Obligation, due_reminders, obligations
from tasks.intake.round_files import load_round
from tests.support.trial_states import contact, trial_state

R2016 = load_round("sio-2016")
AGREEMENT = Obligation(
    "agreement", "agreement", "1714", "Frist", date(2016, 2, 1), date(2016, 2, 1)
)


def at(day: date, clock: time = time(9)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


def due(obligation: Obligation, when: datetime):
    return due_reminders([obligation], offsets=(14, 7, 1), send_at=time(9), now=when)


def test_the_reminder_is_due_from_nine_on_its_working_day():
    day = working_days_before(date(2016, 2, 1), 14)
    assert due(AGREEMENT, at(day, time(8, 59))) == []
    [reminder] = due(AGREEMENT, at(day))
    assert reminder.offset == 14 and reminder.due_at == at(day)


def test_a_missed_reminder_is_superseded_by_the_later_one_not_sent_as_well():
    [reminder] = due(AGREEMENT, at(working_days_before(date(2016, 2, 1), 1)))
    assert reminder.offset == 1


def test_no_reminder_for_a_fulfilled_obligation_nor_after_the_deadline_nor_on_a_weekend():
    done = Obligation(
        "agreement",
        "agreement",
        "1714",
        "Frist",
        date(2016, 2, 1),
        date(2016, 2, 1),
        fulfilled_on=date(2016, 1, 20),
    )
    assert due(done, at(date(2016, 1, 29))) == []
    assert due(AGREEMENT, at(date(2016, 2, 2))) == []
    assert due(AGREEMENT, at(date(2016, 1, 30))) == []  # a Saturday


@given(st.dates(min_value=date(2016, 1, 1), max_value=date(2016, 2, 1)))
def test_a_reminder_is_only_ever_due_on_a_working_day_before_or_on_the_deadline(day):
    for reminder in due(AGREEMENT, at(day, time(12))):
        assert is_working_day(day) and reminder.due_at.date() <= day <= date(2016, 2, 1)


def test_only_invited_municipalities_that_have_not_applied_owe_an_application():
    state = trial_state(
        "sio-2016",
        at(date(2015, 11, 20)),
        contacts=[contact("1714"), contact("1243"), contact("0926")],
        applied={"1714": at(date(2015, 11, 19))},
    )
    owed = [o for o in obligations(state) if o.kind == "application" and o.is_open()]
    assert sorted(o.kommunenummer for o in owed) == ["0926", "1243"]


def test_a_late_agreement_is_flagged_late_when_received_after_the_effective_deadline():
    late = Obligation(
        "agreement",
        "agreement",
        "1243",
        "Frist",
        date(2016, 2, 1),
        date(2016, 2, 1),
        fulfilled_on=date(2016, 2, 2),
    )
    assert late.is_late(date(2016, 3, 1)) and not AGREEMENT.is_late(date(2016, 2, 1))
