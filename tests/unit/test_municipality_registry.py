"""The municipality registry: one identity with dated numbers, and files refused row by row."""

from __future__ import annotations

import importlib.resources
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sio_domain.municipality_registry import (
    MunicipalityFileError,
    MunicipalityNotInForce,
    MunicipalityRegistry,
    MunicipalityRegistryError,
    MunicipalityVersion,
    UnknownMunicipality,
    parse_municipalities_csv,
)

SHIPPED_TEXT = (
    importlib.resources.files("sio_domain") / "registry" / "municipalities.csv"
).read_text(encoding="utf-8")
SHIPPED = parse_municipalities_csv(SHIPPED_TEXT, "municipalities.csv")
REGISTRY = MunicipalityRegistry(SHIPPED)
HEADER = "kommunenummer,name,valid_from,valid_to,successor,written_standard"
INDRE_OSTFOLD_PREDECESSORS = ["0122", "0123", "0124", "0125", "0138"]


def _in_force(kommunenummer: str, on: str) -> str:
    return REGISTRY.in_force(kommunenummer, date.fromisoformat(on)).kommunenummer


# --- the shipped table ---------------------------------------------------------------------


def test_the_shipped_table_has_the_exact_import_header_and_is_sorted():
    assert SHIPPED_TEXT.splitlines()[0] == HEADER
    numbers = [version.kommunenummer for version in SHIPPED]
    assert numbers == sorted(numbers)
    assert [version.kommunenummer for version in REGISTRY.all()] == numbers


def test_the_trial_municipalities_are_all_there():
    for number in ["1714", "1243", "0926", "0138", "0906", "1247", "0229", "0919", "1032", "1851"]:
        assert number in REGISTRY


def test_stjordal_keeps_its_old_number_before_2018_and_its_new_one_after():
    assert REGISTRY.in_force("1714", date(2016, 6, 1)).label == "1714 Stjørdal"
    assert _in_force("1714", "2019-06-01") == "5035"
    assert _in_force("1714", "2017-12-31") == "1714"
    assert _in_force("1714", "2018-01-01") == "5035"


def test_a_new_number_resolves_back_through_a_single_predecessor():
    assert _in_force("5035", "2016-06-01") == "1714"
    assert _in_force("3220", "2016-06-01") == "0229"
    assert _in_force("3220", "2021-06-01") == "3028"


def test_hobol_follows_indre_ostfold_through_both_renumberings():
    assert _in_force("0138", "2016-06-01") == "0138"
    assert _in_force("0138", "2020-06-01") == "3014"
    assert _in_force("0138", "2024-06-01") == "3118"
    assert _in_force("3014", "2024-01-01") == "3118"


def test_before_a_merger_the_merged_municipality_has_no_single_number():
    with pytest.raises(MunicipalityNotInForce) as caught:
        REGISTRY.in_force("3014", date(2016, 6, 1))
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith("3014 Indre Østfold did not exist on 2016-06-01")
    assert "formed on 2020-01-01" in message
    for number, name in zip(
        INDRE_OSTFOLD_PREDECESSORS,
        ["Trøgstad", "Spydeberg", "Askim", "Eidsberg", "Hobøl"],
        strict=True,
    ):
        assert f"{number} {name}" in message
    assert list(caught.value.candidates) == INDRE_OSTFOLD_PREDECESSORS


def test_going_back_from_3118_stops_at_the_merger_and_says_where_it_came_from():
    with pytest.raises(MunicipalityNotInForce) as caught:
        REGISTRY.in_force("3118", date(2019, 6, 1))
    assert "3014 Indre Østfold did not exist on 2019-06-01" in str(caught.value)
    assert "reached from 3118" in str(caught.value)


def test_the_two_municipalities_called_os_stay_apart():
    hordaland = REGISTRY.in_force("1243", date(2020, 6, 1))
    hedmark = REGISTRY.in_force("0441", date(2020, 6, 1))
    assert hordaland.kommunenummer == "4624"
    assert hedmark.kommunenummer == "3430"
    assert hordaland.name == "Bjørnafjorden"
    assert hordaland.written_standard == "nynorsk"
    assert hedmark.written_standard == "bokmål"
    assert REGISTRY.get("1243").written_standard == "nynorsk"
    assert REGISTRY.get("1241").written_standard == "nynorsk"


def test_written_standard_is_bokmal_unless_nynorsk_was_chosen():
    nynorsk = {v.kommunenummer for v in REGISTRY.all() if v.written_standard == "nynorsk"}
    assert nynorsk == {"1241", "1243", "4624"}


def test_a_municipality_that_never_changed_is_in_force_on_any_date():
    assert _in_force("1851", "1990-01-01") == "1851"
    assert _in_force("1851", "2030-01-01") == "1851"


def test_a_new_number_with_several_predecessors_names_them_all():
    with pytest.raises(MunicipalityNotInForce) as caught:
        REGISTRY.in_force("4225", date(2016, 6, 1))
    assert "1027 Audnedal" in str(caught.value)
    assert "1032 Lyngdal" in str(caught.value)


def test_predecessors_are_direct_only_and_sorted():
    assert [v.kommunenummer for v in REGISTRY.predecessors("3014")] == INDRE_OSTFOLD_PREDECESSORS
    assert [v.kommunenummer for v in REGISTRY.predecessors("3118")] == ["3014"]
    assert REGISTRY.predecessors("0138") == []


def test_lineage_runs_oldest_first_through_every_number():
    assert REGISTRY.lineage("0138") == ["0138", "3014", "3118"]
    assert REGISTRY.lineage("3014") == [*INDRE_OSTFOLD_PREDECESSORS, "3014", "3118"]
    assert REGISTRY.lineage("3118") == [*INDRE_OSTFOLD_PREDECESSORS, "3014", "3118"]
    assert REGISTRY.lineage("5035") == ["1714", "5035"]
    assert REGISTRY.lineage("1851") == ["1851"]


def test_an_unknown_number_gives_a_clear_error():
    with pytest.raises(UnknownMunicipality) as caught:
        REGISTRY.get("9999")
    assert str(caught.value) == (
        "unknown kommunenummer '9999': not in the municipality registry"
        " (import a municipalities file that adds it)"
    )
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(UnknownMunicipality):
        REGISTRY.in_force("9999", date(2020, 1, 1))
    with pytest.raises(UnknownMunicipality):
        REGISTRY.lineage("9999")
    with pytest.raises(UnknownMunicipality):
        REGISTRY.predecessors("9999")


# --- building a registry -------------------------------------------------------------------


def _version(kommunenummer: str, name: str, **fields: object) -> MunicipalityVersion:
    return MunicipalityVersion.model_validate(
        {"kommunenummer": kommunenummer, "name": name, **fields}
    )


def test_a_later_version_replaces_an_earlier_one():
    correction = _version("1851", "Lødingen", written_standard="nynorsk")
    registry = MunicipalityRegistry([*SHIPPED, correction])
    assert registry.get("1851").written_standard == "nynorsk"
    assert len(registry) == len(REGISTRY)


def test_an_imported_file_can_correct_the_shipped_table():
    imported = parse_municipalities_csv(
        f"{HEADER}\n1851,Lødingen,,2023-12-31,9001,\n9001,Lødingen ny,2024-01-01,,,\n",
        "import.csv",
    )
    registry = MunicipalityRegistry([*SHIPPED, *imported])
    assert registry.in_force("1851", date(2024, 6, 1)).name == "Lødingen ny"


def test_a_missing_successor_is_refused_naming_the_row():
    with pytest.raises(MunicipalityRegistryError) as caught:
        MunicipalityRegistry(
            [_version("1714", "Stjørdal", valid_to="2017-12-31", successor="5035")]
        )
    assert str(caught.value) == "1714 Stjørdal: successor 5035 is not in the municipality registry"
    assert caught.value.kommunenummer == "1714"


def test_a_gap_between_a_number_and_its_successor_is_refused():
    with pytest.raises(MunicipalityRegistryError, match="1714 Stjørdal: valid_to 2017-12-31"):
        MunicipalityRegistry(
            [
                _version("1714", "Stjørdal", valid_to="2017-12-31", successor="5035"),
                _version("5035", "Stjørdal", valid_from="2018-02-01"),
            ]
        )


def test_successors_that_go_round_in_a_circle_are_refused():
    with pytest.raises(MunicipalityRegistryError, match="lead back to"):
        MunicipalityRegistry(
            [
                _version("1111", "A", valid_to="2020-12-31", successor="2222"),
                _version("2222", "B", valid_to="2021-12-31", successor="1111"),
            ]
        )


def test_a_number_that_ceased_without_successor_is_not_in_force_afterwards():
    registry = MunicipalityRegistry([_version("1111", "A", valid_to="2020-12-31")])
    with pytest.raises(MunicipalityNotInForce, match="1111 A ceased on 2020-12-31"):
        registry.in_force("1111", date(2021, 1, 1))


def test_a_number_without_predecessor_did_not_exist_before_it_was_formed():
    with pytest.raises(MunicipalityNotInForce, match="no predecessor"):
        MunicipalityRegistry([_version("1111", "A", valid_from="2020-01-01")]).in_force(
            "1111", date(2019, 1, 1)
        )


# --- refusing bad files --------------------------------------------------------------------

GOOD_ROWS = [
    "0138,Hobøl,,2019-12-31,3014,bokmål",
    "3014,Indre Østfold,2020-01-01,2023-12-31,3118,bokmål",
]


def _refusal(bad_row: str, header: str = HEADER) -> MunicipalityFileError:
    text = "\n".join([header, *GOOD_ROWS, bad_row, "3118,Indre Østfold,2024-01-01,,,"]) + "\n"
    with pytest.raises(MunicipalityFileError) as caught:
        parse_municipalities_csv(text, "municipalities.csv")
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("bad_row", "column", "value", "problem"),
    [
        ("123,X,,,,", "kommunenummer", "123", "is not a kommunenummer (4 digits, e.g. 0301)"),
        ("12a4,X,,,,", "kommunenummer", "12a4", "is not a kommunenummer (4 digits, e.g. 0301)"),
        ("4625,,,,,", "name", "", "is not a name (every municipality needs one)"),
        ("4625,X,2019-02-30,,,", "valid_from", "2019-02-30", "is not a real date (YYYY-MM-DD)"),
        ("4625,X,,2019-02-30,,", "valid_to", "2019-02-30", "is not a real date (YYYY-MM-DD)"),
        ("4625,X,,31.12.2019,,", "valid_to", "31.12.2019", "is not a date (YYYY-MM-DD)"),
        ("4625,X,,20191231,,", "valid_to", "20191231", "is not a date (YYYY-MM-DD)"),
        (
            "4625,X,2020-01-01,2019-12-31,,",
            "valid_to",
            "2019-12-31",
            "is before valid_from 2020-01-01",
        ),
        (
            "4625,X,,2019-12-31,46,",
            "successor",
            "46",
            "is not a kommunenummer (4 digits, e.g. 0301)",
        ),
        ("4625,X,,2019-12-31,4625,", "successor", "4625", "is the municipality's own number"),
        (
            "4625,X,,,3014,",
            "valid_to",
            "",
            "is empty, but successor 3014 is given: a successor takes over the day after valid_to",
        ),
        (
            "4625,X,,,,nynorks",
            "written_standard",
            "nynorks",
            "is not a written standard (bokmål or nynorsk)",
        ),
        ("0138,Hobøl igjen,,,,", "kommunenummer", "0138", "is already on line 2"),
    ],
)
def test_a_bad_row_is_refused_with_line_column_and_value(bad_row, column, value, problem):
    error = _refusal(bad_row)
    assert (error.origin, error.line, error.column, error.value) == (
        "municipalities.csv",
        4,
        column,
        value,
    )
    assert str(error) == f"municipalities.csv: line 4, column {column}: {value!r} {problem}"


def test_the_message_reads_as_documented():
    error = _refusal("0122,Trøgstad,,2019-02-30,3014,bokmål")
    assert str(error) == (
        "municipalities.csv: line 4, column valid_to: '2019-02-30' is not a real date (YYYY-MM-DD)"
    )


def test_the_first_bad_row_wins():
    text = f"{HEADER}\n123,X,,,,\n4625,X,,2019-02-30,,\n"
    with pytest.raises(MunicipalityFileError) as caught:
        parse_municipalities_csv(text, "f.csv")
    assert caught.value.line == 2


def test_blank_lines_are_skipped_but_still_counted():
    text = f"{HEADER}\n\n0138,Hobøl,,,,\n\n123,X,,,,\n"
    with pytest.raises(MunicipalityFileError) as caught:
        parse_municipalities_csv(text, "f.csv")
    assert caught.value.line == 5


def test_a_row_with_the_wrong_number_of_fields_is_refused():
    error = _refusal("4625,X,,")
    assert error.line == 4
    assert error.column is None
    assert "expected 6 fields" in str(error)
    assert "got 4" in str(error)


def test_a_missing_required_column_is_refused_on_line_one():
    with pytest.raises(MunicipalityFileError) as caught:
        parse_municipalities_csv("kommunenummer,name,valid_from,successor\n", "f.csv")
    assert (caught.value.line, caught.value.column) == (1, "valid_to")
    assert str(caught.value).startswith("f.csv: line 1, column valid_to: missing from the header")


def test_an_unknown_column_is_refused_rather_than_ignored():
    with pytest.raises(MunicipalityFileError) as caught:
        parse_municipalities_csv(HEADER.replace("written_standard", "writen_standard"), "f.csv")
    assert caught.value.line == 1
    assert caught.value.value == "writen_standard"


def test_an_empty_file_is_refused():
    with pytest.raises(MunicipalityFileError, match="f.csv: line 1: the file is empty"):
        parse_municipalities_csv("", "f.csv")


def test_written_standard_is_optional_and_defaults_to_bokmal():
    versions = parse_municipalities_csv(
        "\ufeffsuccessor,valid_to,valid_from,name,kommunenummer\n,,,Lødingen,1851\n", "f.csv"
    )
    assert versions == [_version("1851", "Lødingen")]
    assert versions[0].written_standard == "bokmål"


def test_a_decomposed_bokmal_from_a_mac_is_accepted():
    versions = parse_municipalities_csv(f"{HEADER}\n1851,Lødingen,,,,Bokma\u030al\n", "f.csv")
    assert versions[0].written_standard == "bokmål"


def test_quoted_fields_and_crlf_line_endings_are_read():
    text = f'{HEADER}\r\n1243,"Os (Hordaland)",,2019-12-31,4624,nynorsk\r\n'
    assert parse_municipalities_csv(text, "f.csv")[0].name == "Os (Hordaland)"


def test_the_model_itself_refuses_what_the_file_refuses():
    with pytest.raises(ValueError):
        _version("123", "X")
    with pytest.raises(ValueError):
        _version("1111", "X", valid_from="2020-01-01", valid_to="2019-01-01")
    with pytest.raises(ValueError):
        _version("1111", "X", valid_to="2019-01-01", successor="1111")
    with pytest.raises(ValueError):
        _version("1111", "X", successor="2222")
    with pytest.raises(ValueError):
        _version("1111", " ")


# --- properties ----------------------------------------------------------------------------

SHIPPED_NUMBERS = st.sampled_from([version.kommunenummer for version in SHIPPED])
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))


@given(kommunenummer=SHIPPED_NUMBERS, on=DATES)
def test_any_date_resolves_to_a_version_valid_on_that_date(kommunenummer, on):
    try:
        version = REGISTRY.in_force(kommunenummer, on)
    except MunicipalityNotInForce as error:
        assert error.kommunenummer == kommunenummer
        return
    assert version.valid_on(on)
    assert version.kommunenummer in REGISTRY.lineage(kommunenummer)
    assert REGISTRY.in_force(version.kommunenummer, on) == version


@given(kommunenummer=SHIPPED_NUMBERS, on=DATES)
def test_the_numbers_of_one_lineage_never_disagree_on_a_date(kommunenummer, on):
    """A municipality is one identity: any of its numbers that resolves on a date names the same
    version; a number formed by a merger may refuse a date before the merger, never contradict."""
    lineage = REGISTRY.lineage(kommunenummer)
    answers = set()
    for number in lineage[lineage.index(kommunenummer) :]:
        try:
            answers.add(REGISTRY.in_force(number, on))
        except MunicipalityNotInForce:
            continue
    assert len(answers) <= 1
    if answers:
        assert next(iter(answers)).valid_on(on)


def _cell(value: object) -> str:
    return "" if value is None else str(value)


@given(st.lists(st.sampled_from(SHIPPED), unique_by=lambda v: v.kommunenummer))
def test_writing_versions_as_a_file_and_reading_them_back_gives_the_same_versions(versions):
    lines = [HEADER] + [
        ",".join(
            _cell(getattr(version, column))
            for column in ["kommunenummer", "name", "valid_from", "valid_to", "successor"]
        )
        + f",{version.written_standard}"
        for version in versions
    ]
    assert parse_municipalities_csv("\n".join(lines) + "\n", "f.csv") == versions
