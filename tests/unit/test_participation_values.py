"""Per-participation values apply to the number and dates they name (round 2019, seed 001/002)."""

from __future__ import annotations

from sio_domain.payees import Participation, payee_schedules
from sio_domain.payout_periods import Month
from tasks.intake.round_files import load_round
from tasks.records.application_store import participation_dates
from tests.support.trial_states import shipped_registry as registry

R2019 = load_round("sio-2019")


def round_2019_participations() -> list[Participation]:
    known = registry()
    result = []
    for number in R2019.invited:
        start, end, abf = participation_dates(R2019, number, "A", known)
        result.append(Participation(R2019.id, number, "A", start, end, abf))
    return result


def test_hobol_is_paid_as_an_abf_participant_from_may_2019():
    participations = {p.kommunenummer: p for p in round_2019_participations()}
    assert participations["0138"].abf_start.isoformat() == "2019-05-01"
    schedules, _ = payee_schedules(R2019, list(participations.values()), registry())
    hobol = schedules["0138"]
    assert {m.label: mode for m, mode in hobol.months.items()} == {
        f"2019-{month:02d}": "abf" for month in range(5, 13)
    }


def test_indre_ostfolds_postponed_abf_starts_with_indre_ostfold():
    schedules, _ = payee_schedules(R2019, round_2019_participations(), registry())
    indre = schedules["3014"].months
    assert indre[Month.parse("2020-12")] == "frame"
    assert indre[Month.parse("2021-01")] == "abf"
    assert min(indre) == Month.parse("2020-01")  # before 2020 Indre Østfold did not exist
