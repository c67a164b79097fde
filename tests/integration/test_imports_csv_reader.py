"""The shared CSV reader: header checks, line numbers and cell parsers, one-line refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tasks.intake.csv_rows import CsvRow, ImportRefused, read_rows

REQUIRED = ("kommunenummer", "name")
OPTIONAL = ("note",)


def rows(tmp_path: Path, text: str | bytes) -> list[CsvRow]:
    path = tmp_path / "f.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return list(read_rows(path, required=REQUIRED, optional=OPTIONAL, origin="f.csv"))


def refusal(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(ImportRefused) as caught:
        rows(tmp_path, text)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def cell(value: str, column: str = "name") -> CsvRow:
    return CsvRow("f.csv", 9, {column: value})


def test_rows_carry_their_file_line_and_cells_by_column(tmp_path):
    read = rows(tmp_path, 'name,kommunenummer\n Os,1243\n\n"Fusa,\nBjørnafjorden",1241\nX,0001\n')
    assert [(row.line, row["kommunenummer"], row["name"]) for row in read] == [
        (2, "1243", "Os"),
        (4, "1241", "Fusa,\nBjørnafjorden"),
        (6, "0001", "X"),
    ]
    assert read[0]["note"] == ""  # an optional column left out of the header reads as empty


def test_a_byte_order_mark_is_tolerated_and_text_is_composed(tmp_path):
    (row,) = rows(tmp_path, "\ufeffkommunenummer,name,note\n1714,Stjørdal,ra\u030admann\n")
    assert row["note"] == "rådmann"


def test_an_unknown_column_is_refused_naming_it(tmp_path):
    assert refusal(tmp_path, "kommunenummer,navn\n") == (
        "f.csv: line 1, column 2: 'navn' is not a column of this file (kommunenummer,name[,note])"
    )


def test_a_missing_or_repeated_column_is_refused(tmp_path):
    assert refusal(tmp_path, "kommunenummer\n") == (
        "f.csv: line 1, column name: is missing from the header (kommunenummer,name[,note])"
    )
    assert refusal(tmp_path, "kommunenummer,name,name\n") == (
        "f.csv: line 1, column 3: 'name' appears twice in the header"
    )


def test_an_empty_file_a_semicolon_file_and_a_short_row_are_refused(tmp_path):
    assert refusal(tmp_path, "") == (
        "f.csv: line 1: the file is empty; expected the header kommunenummer,name[,note]"
    )
    assert refusal(tmp_path, "kommunenummer;name\n").startswith(
        "f.csv: line 1: 'kommunenummer;name' is separated by semicolons"
    )
    assert refusal(tmp_path, "kommunenummer,name\n1714,Stjørdal\n0138\n") == (
        "f.csv: line 3: expected 2 fields (kommunenummer,name), got 1"
    )


def test_text_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    message = refusal(tmp_path, "kommunenummer,name\n1714,Stj\xf8rdal\n".encode("latin-1"))
    assert message.startswith("f.csv: line 2: is not UTF-8 text (byte 9 of the line")


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv: no such file"):
        list(read_rows(tmp_path / "nope.csv", required=REQUIRED))


def test_dates_must_be_iso_and_real():
    assert cell("2016-02-29").iso_date("name") == date(2016, 2, 29)
    assert cell("").optional_iso_date("name") is None
    for value, problem in [
        ("2015-02-29", "is not a real date (YYYY-MM-DD)"),
        ("01.12.2015", "is not a date (YYYY-MM-DD)"),
        ("", "is empty; a date (YYYY-MM-DD) is required"),
    ]:
        with pytest.raises(ImportRefused) as caught:
            cell(value).iso_date("name")
        assert str(caught.value) == f"f.csv: line 9, column name: {value!r} {problem}"


def test_datetimes_without_an_offset_are_oslo_time():
    assert cell("2015-12-01T23:59").iso_datetime("name") == datetime(
        2015, 12, 1, 22, 59, tzinfo=UTC
    )
    assert cell("2016-06-01 10:00").iso_datetime("name") == datetime(2016, 6, 1, 8, 0, tzinfo=UTC)
    assert cell("2015-12-01").iso_datetime("name") == datetime(2015, 11, 30, 23, 0, tzinfo=UTC)
    assert cell("2015-12-01T10:00Z").iso_datetime("name") == datetime(
        2015, 12, 1, 10, 0, tzinfo=UTC
    )
    assert cell("2015-12-01T10:00+02:00").iso_datetime("name") == datetime(
        2015, 12, 1, 8, 0, tzinfo=UTC
    )


def test_impossible_datetimes_are_refused():
    for value, problem in [
        ("2015-11-31T10:00", "is not a real date and time"),
        ("2015-12-01T24:30", "is not a real date and time"),
        ("1/12/2015 10:00", "is not a date and time (YYYY-MM-DDTHH:MM[:SS][+01:00])"),
        ("2016-03-27T02:30", "does not exist in Europe/Oslo (clocks skip that hour)"),
    ]:
        with pytest.raises(ImportRefused) as caught:
            cell(value).iso_datetime("name")
        assert str(caught.value) == f"f.csv: line 9, column name: {value!r} {problem}"


@pytest.mark.parametrize(
    "address",
    [
        "kari.nordmann@stjordal.kommune.no",
        "postmottak@helsedir.no",
        "o'brien+sio@example.com",
        "kari@bø.kommune.no",
        "kari@xn--b-eka.no",
    ],
)
def test_valid_email_addresses_are_accepted(address):
    assert cell(address, "email").email("email").lower() == address.lower()


@pytest.mark.parametrize(
    "address",
    [
        "",
        "kari",
        "kari@",
        "@stjordal.no",
        "kari@stjordal",
        "kari@@stjordal.no",
        "kari nordmann@stjordal.no",
        "kari..nordmann@stjordal.no",
        ".kari@stjordal.no",
        "kari@stjordal..no",
        "kari@-stjordal.no",
        "kari@stjordal.n0",
        "kåri@stjordal.no",
        "kari@stjordal.no,ola@stjordal.no",
        "x" * 65 + "@stjordal.no",
    ],
)
def test_invalid_email_addresses_are_refused(address):
    with pytest.raises(ImportRefused, match="column email: .*e-mail address"):
        cell(address, "email").email("email")


def test_the_email_domain_is_stored_in_lower_case():
    assert cell("Kari@Stjordal.NO", "email").email("email") == "Kari@stjordal.no"


def test_phone_numbers():
    assert cell("+47 810 20 050", "phone").phone() == "+47 810 20 050"
    assert cell("", "phone").phone() is None
    for value in ("ring meg", "12", "+47 810 20 050 12345 678"):
        with pytest.raises(ImportRefused, match="is not a telephone number"):
            cell(value, "phone").phone()


def test_choices_are_matched_without_regard_to_case():
    assert cell("Rådmann").choice("name", ("rådmann", "delegate")) == "rådmann"
    assert cell("").choice("name", ("rådmann",), allow_empty=True) == ""
    with pytest.raises(ImportRefused, match="'' is not one of rådmann"):
        cell("").choice("name", ("rådmann",))


def test_windows_line_endings_are_read_like_any_other(tmp_path):
    read = rows(
        tmp_path,
        b"\xef\xbb\xbfkommunenummer,name\r\n1714,Stj\xc3\xb8rdal\r\n\r\n0138,Hob\xc3\xb8l\r\n",
    )
    assert [(row.line, row["name"]) for row in read] == [(2, "Stjørdal"), (4, "Hobøl")]
