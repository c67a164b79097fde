"""``sio run``'s two shortcuts through Prefect's internals hold only on the release they were
tested on: plain parameters sent as they are, and the fast exit after draining Prefect's queues."""

from __future__ import annotations

from datetime import datetime

import prefect
import pytest
from prefect import flow
from prefect.flows import Flow

from sio_cli import prefect_environment
from sio_cli.prefect_environment import plain_parameters


@flow(name="shortcut-probe")
def probe(round_ref: str, as_of: object = None, kommune: str | None = None) -> None:
    """A flow whose parameters are serialised, never run."""


@pytest.fixture
def original_serialiser(monkeypatch: pytest.MonkeyPatch):
    """Prefect's own ``Flow.serialize_parameters``, put back after the test."""
    original = Flow.serialize_parameters
    while getattr(original, "plain_first", False):  # a shortcut left by an earlier run
        original = original.__closure__[0].cell_contents  # type: ignore[union-attr]
    monkeypatch.setattr(Flow, "serialize_parameters", original)
    return original


def test_the_pinned_prefect_release_is_the_tested_one():
    tested = prefect_environment.tested_prefect
    assert tested(), f"Prefect {prefect.__version__}: test the shortcuts, then update"
    assert tested("3.8.8") and not tested("3.9.0") and not tested("4.0")


def test_plain_parameters_are_sent_as_prefects_own_encoder_would_send_them(original_serialiser):
    plain = {"round_ref": "sio-2016", "as_of": "2016-01-21T09:00", "kommune": None}
    expected = original_serialiser(probe, plain)
    plain_parameters()
    assert Flow.serialize_parameters is not original_serialiser
    assert probe.serialize_parameters(plain) == expected == plain
    # A value that is not plain JSON still goes through Prefect's serialisation.
    dated = {"round_ref": "sio-2016", "as_of": datetime(2016, 1, 21, 9), "kommune": None}
    assert probe.serialize_parameters(dated) == original_serialiser(probe, dated)
    assert probe.serialize_parameters(dated)["as_of"] == "2016-01-21T09:00:00"


def test_an_untested_prefect_release_keeps_prefects_own_ways(original_serialiser, monkeypatch):
    monkeypatch.setattr(prefect, "__version__", "3.9.0")
    plain_parameters()
    assert Flow.serialize_parameters is original_serialiser
    exits: list[int] = []
    monkeypatch.setattr(prefect_environment.os, "_exit", exits.append)
    prefect_environment.drain_and_exit(0)  # returns: the normal shut-down follows
    assert exits == []
