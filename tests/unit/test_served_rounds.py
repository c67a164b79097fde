"""The rounds ``sio up`` serves: the shipped ones, then the round files in ``$SIO_HOME/rounds``."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.served_rounds import rounds_folder, served_rounds
from sio_domain.round_parsing import RoundFileError
from tasks.intake.round_files import round_file_path, shipped_round_ids

SHIPPED_2016 = round_file_path("sio-2016").read_text(encoding="utf-8")


def test_without_a_rounds_folder_the_shipped_rounds_are_served(tmp_path: Path) -> None:
    served = served_rounds(tmp_path)
    assert [s.ref for s in served] == shipped_round_ids()
    assert [s.round_def.id for s in served] == shipped_round_ids()


def test_a_round_file_in_the_folder_is_served_by_its_path_after_the_shipped(
    tmp_path: Path,
) -> None:
    folder = rounds_folder(tmp_path)
    folder.mkdir()
    path = folder / "ahead.toml"
    path.write_text(SHIPPED_2016.replace('id = "sio-2016"', 'id = "sio-ahead"'), encoding="utf-8")
    (folder / "notes.txt").write_text("not a round", encoding="utf-8")
    served = served_rounds(tmp_path)
    assert [s.round_def.id for s in served] == [*shipped_round_ids(), "sio-ahead"]
    assert served[-1].ref == str(path)


def test_a_round_file_repeating_a_served_id_stops_with_one_line(tmp_path: Path) -> None:
    folder = rounds_folder(tmp_path)
    folder.mkdir()
    (folder / "copy.toml").write_text(SHIPPED_2016, encoding="utf-8")
    with pytest.raises(RoundFileError) as refused:
        served_rounds(tmp_path)
    assert str(refused.value) == (
        f"{folder / 'copy.toml'}: id: 'sio-2016' is already served (by sio-2016)"
    )


def test_a_broken_round_file_in_the_folder_is_named(tmp_path: Path) -> None:
    folder = rounds_folder(tmp_path)
    folder.mkdir()
    (folder / "broken.toml").write_text("id = ", encoding="utf-8")
    with pytest.raises(RoundFileError) as refused:
        served_rounds(tmp_path)
    assert "broken.toml" in str(refused.value) and "\n" not in str(refused.value)
