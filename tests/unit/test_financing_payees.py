"""Who is paid for which month: mergers, renumbering, ABF start, gaps, one round per month."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.payees import Participation, payee_schedules
from sio_domain.payout_periods import Month, months_between, months_covered, months_spanned
from tasks.intake.round_files import load_round
from tasks.records.municipality_lookup import shipped_versions

REGISTRY = MunicipalityRegistry(shipped_versions())
ROUND_2016 = load_round("sio-2016")
ROUND_2019 = load_round("sio-2019")
END_2021 = date(2021, 12, 31)


def p2019(number: str, start: date, abf: date) -> Participation:
    return Participation("sio-2019", number, "A", start, END_2021, abf)


INDRE_OSTFOLD = [
    p2019("0138", date(2019, 5, 1), date(2019, 5, 1)),
    *(p2019(n, date(2019, 7, 1), date(2020, 1, 1)) for n in ("0122", "0123", "0124", "0125")),
]


def test_after_the_merger_the_successor_is_paid_once_for_all_its_parts() -> None:
    schedules, flags = payee_schedules(ROUND_2019, INDRE_OSTFOLD, REGISTRY)
    assert flags == []
    assert set(schedules) == {"0122", "0123", "0124", "0125", "0138", "3014"}
    merged = schedules["3014"]
    assert merged.members == ("0122", "0123", "0124", "0125", "0138")
    assert sorted(merged.months) == list(months_between(Month(2020, 1), Month(2021, 12)))
    assert max(schedules["0138"].months) == Month(2019, 12)


def test_a_merged_municipality_starts_abf_at_the_round_files_override() -> None:
    """Indre Østfold postponed ABF to 01.01.2021 (seed 002; the directorate's 2020 report)."""
    schedules, _ = payee_schedules(ROUND_2019, INDRE_OSTFOLD, REGISTRY)
    merged = schedules["3014"]
    assert merged.abf_start == date(2021, 1, 1)
    assert merged.months_in(2020) == merged.months_in(2020, "frame")
    assert merged.months_in(2021) == merged.months_in(2021, "abf")


def test_without_an_override_the_latest_abf_start_of_the_predecessors_counts() -> None:
    """Bjørnafjorden: Os (ABF since 2019-05) and Fusa (ABF from 2020-01) → 2020-01-01."""
    schedules, _ = payee_schedules(
        ROUND_2019,
        [
            p2019("1243", date(2019, 5, 1), date(2019, 5, 1)),
            p2019("1241", date(2019, 7, 1), date(2020, 1, 1)),
        ],
        REGISTRY,
    )
    assert schedules["4624"].abf_start == date(2020, 1, 1)
    assert schedules["1243"].months[Month(2019, 5)] == "abf"
    assert schedules["1241"].months[Month(2019, 7)] == "frame"


def test_a_renumbered_municipality_keeps_its_abf_start() -> None:
    """Stjørdal 1714 → 5035 on 01.01.2018: same municipality, paid under the new number."""
    stjordal = Participation(
        "sio-2016", "1714", "A", date(2016, 5, 1), date(2019, 4, 30), date(2016, 5, 1)
    )
    schedules, _ = payee_schedules(ROUND_2016, [stjordal], REGISTRY)
    assert max(schedules["1714"].months) == Month(2017, 12)
    assert min(schedules["5035"].months) == Month(2018, 1)
    assert set(schedules["5035"].months.values()) == {"abf"}


def test_model_b_is_frame_financed_and_model_a_before_its_abf_start() -> None:
    selbu = Participation("sio-2016", "1664", "B", date(2016, 5, 1), date(2019, 4, 30), None)
    late = Participation(
        "sio-2016", "1714", "A", date(2016, 5, 1), date(2019, 4, 30), date(2016, 9, 1)
    )
    schedules, _ = payee_schedules(ROUND_2016, [selbu, late], REGISTRY)
    assert set(schedules["1664"].months.values()) == {"frame"}
    assert schedules["1714"].months[Month(2016, 8)] == "frame"
    assert schedules["1714"].months[Month(2016, 9)] == "abf"


def test_the_gap_between_rounds_pays_nothing() -> None:
    """Former model B municipalities are outside the trial 01.05.2019–30.06.2019 (000, 001)."""
    in_2016 = Participation("sio-2016", "1664", "B", date(2016, 5, 1), date(2019, 4, 30))
    in_2019 = p2019("5032", date(2019, 7, 1), date(2020, 1, 1))
    first, _ = payee_schedules(ROUND_2016, [in_2016], REGISTRY, other_rounds=[in_2019])
    second, _ = payee_schedules(ROUND_2019, [in_2019], REGISTRY, other_rounds=[in_2016])
    paid = set(first["5032"].months) | set(second["5032"].months)
    assert Month(2019, 5) not in paid and Month(2019, 6) not in paid
    assert Month(2019, 4) in paid and Month(2019, 7) in paid


def test_a_month_is_financed_by_the_round_that_started_first() -> None:
    """One cap per municipality and year across rounds: overlapping months go to one round."""
    old = Participation("sio-2016", "1714", "A", date(2016, 5, 1), date(2019, 6, 30))
    new = p2019("5035", date(2019, 5, 1), date(2019, 5, 1))
    schedules, flags = payee_schedules(ROUND_2019, [new], REGISTRY, other_rounds=[old])
    assert min(schedules["5035"].months) == Month(2019, 7)
    assert [flag.kommunenummer for flag in flags] == ["5035", "5035"]
    assert "round sio-2016" in flags[0].reason


def test_nothing_is_paid_after_parliaments_early_end() -> None:
    """The 2022 state budget ended the trial 31.12.2021 (round file: early_end)."""
    long = Participation("sio-2019", "5035", "A", date(2019, 5, 1), date(2022, 12, 31))
    schedules, _ = payee_schedules(ROUND_2019, [long], REGISTRY)
    assert max(schedules["5035"].months) == Month(2021, 12)


def test_a_participation_the_registry_cannot_place_is_flagged() -> None:
    ghost = Participation("sio-2016", "9999", "A", date(2016, 5, 1), date(2019, 4, 30))
    schedules, flags = payee_schedules(ROUND_2016, [ghost], REGISTRY)
    assert schedules == {}
    assert flags[0].kommunenummer == "9999" and "unknown kommunenummer" in flags[0].reason


@given(
    start=st.dates(min_value=date(2015, 1, 1), max_value=date(2022, 12, 31)),
    days=st.integers(min_value=0, max_value=2000),
)
def test_a_participation_counts_every_month_whose_first_day_it_covers(
    start: date, days: int
) -> None:
    """Worked out once per (start, end) and shared: still exactly the months it covers."""
    end = start + timedelta(days=days)
    expected = [
        month
        for month in months_between(Month.of(start), Month.of(end))
        if start <= month.first_day <= end
    ]
    assert months_spanned(start, end) == tuple(expected)
    assert list(months_covered(start, end)) == expected
