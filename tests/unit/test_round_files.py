"""Round files: the shipped ones load; bad ones are refused with file, field and value."""

from pathlib import Path

import pytest

from sio_domain.round_parsing import RoundFileError
from tasks.intake.round_files import load_round, round_file_path, shipped_round_ids

SHIPPED_2016 = round_file_path("sio-2016").read_text(encoding="utf-8")


def test_three_rounds_are_shipped():
    assert shipped_round_ids() == ["sio-2016", "sio-2019", "sio-2021"]


@pytest.mark.parametrize("round_id", ["sio-2016", "sio-2019", "sio-2021"])
def test_every_shipped_round_loads_and_every_date_has_a_source(round_id):
    definition = load_round(round_id)
    for name, fact in definition.milestones:
        if fact is not None:
            assert fact.source.strip(), name


def test_a_round_can_be_given_as_a_path(tmp_path: Path):
    path = tmp_path / "my-round.toml"
    path.write_text(SHIPPED_2016.replace('id = "sio-2016"', 'id = "my-round"'), encoding="utf-8")
    assert load_round(str(path)).id == "my-round"


def _refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RoundFileError) as caught:
        load_round(str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_an_impossible_date_is_refused_naming_the_field_and_value(tmp_path):
    text = SHIPPED_2016.replace("go_live = { date = 2016-05-01", 'go_live = { date = "2016-02-30"')
    message = _refusal(tmp_path, text)
    assert "milestones.go_live.date" in message
    assert "2016-02-30" in message


def test_milestones_out_of_order_are_refused(tmp_path):
    text = SHIPPED_2016.replace(
        "agreement_deadline = { date = 2016-02-01", "agreement_deadline = { date = 2016-06-01"
    )
    message = _refusal(tmp_path, text)
    assert "go_live (2016-05-01) must come after agreement_deadline (2016-06-01)" in message


def test_a_negative_amount_is_refused(tmp_path):
    text = SHIPPED_2016.replace('2017 = "25000000"', '2017 = "-1"')
    message = _refusal(tmp_path, text)
    assert "financing.caps.2017" in message and "'-1'" in message


def test_a_float_amount_is_refused(tmp_path):
    text = SHIPPED_2016.replace('supplement_rate = "0.04"', "supplement_rate = 0.04")
    message = _refusal(tmp_path, text)
    assert "financing.supplement_rate" in message and "quoted decimal" in message


def test_an_unknown_service_code_is_refused(tmp_path):
    text = SHIPPED_2016.replace('home_nursing = "750"', 'home_nurse = "750"')
    message = _refusal(tmp_path, text)
    assert "unknown service code 'home_nurse'" in message


def test_broken_toml_is_refused_with_its_line(tmp_path):
    message = _refusal(tmp_path, SHIPPED_2016.replace("[milestones]", "[milestones"))
    assert "not valid TOML" in message and "line" in message


def test_an_unknown_field_is_refused(tmp_path):
    message = _refusal(
        tmp_path, SHIPPED_2016.replace("[milestones]", "[milestones]\ngolive = 2016-05-01")
    )
    assert "milestones.golive" in message


def test_an_unknown_round_id_names_the_shipped_rounds():
    with pytest.raises(RoundFileError) as caught:
        load_round("sio-2017")
    assert "sio-2016, sio-2019, sio-2021" in str(caught.value)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(RoundFileError, match="no such file"):
        load_round(str(tmp_path / "nope.toml"))
