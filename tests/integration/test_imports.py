"""Contacts, applications and the selection come in from CSV files, all or nothing.

Every test runs on SQLite and PostgreSQL. A refused file must leave every table exactly as it
was — the bad row is put last, after good rows, so the test fails if anything was written before
the refusal and not rolled back.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from deployments.settings import Settings
from sio_domain.selection import DecisionEntry, validate_selection
from tasks.intake.csv_rows import ImportRefused
from tasks.intake.imports import (
    decide_selection_from_file,
    import_applications,
    import_for_round,
    load_registry,
)
from tasks.intake.round_files import load_round
from tasks.records.application_store import applications_of, decisions_of, record_selection
from tasks.records.contact_store import contacts_of
from tasks.storage.database import dispose_engine, engine_for, session_for
from tasks.storage.tables import AuditEntry, ContactRecord, ParticipationRecord

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CET = timezone(timedelta(hours=1))
IN_2016 = datetime(2016, 1, 20, 12, 0, tzinfo=CET)  # after round 2016's deadline
IN_2019 = datetime(2019, 2, 1, 12, 0, tzinfo=CET)
ROUND_2016 = load_round("sio-2016")
ROUND_2019 = load_round("sio-2019")

CONTACTS = "kommunenummer,name,role,email,phone\n"
APPLICATIONS = (
    "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
)
SELECTION = "kommunenummer,decision,model,decided_by,decided_on\n"
GOOD_APPLICATIONS_2016 = (
    APPLICATIONS
    + "1714,2015-11-20T14:00,rådmann,2015-10-22,Profil,skjema.docx\n"
    + "0138,2015-12-01T23:59,delegate,2015-12-03,,\n"
    + "1243,2015-12-02T00:00+01:00,,2015-11-30,Gerica,skjema.docx\n"
)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at an empty database: SQLite under SIO_HOME, or a fresh PostgreSQL."""
    if request.param == "sqlite":
        home = request.getfixturevalue("sio_home")
        configured = Settings(home=home)
    else:
        configured = Settings(
            home=tmp_path, database_url=request.getfixturevalue("fresh_postgres_url")
        )
    yield configured
    dispose_engine(configured.resolved_database_url)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def row_counts(settings: Settings) -> dict[str, int]:
    """Rows in every table of the application database."""
    url = settings.resolved_database_url
    with session_for(url):
        pass  # creates the schema on first use
    with engine_for(url).connect() as connection:
        return {
            table.name: connection.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def refused(settings: Settings, run) -> str:
    """Run an import that must be refused; check nothing was stored; return the message."""
    before = row_counts(settings)
    with pytest.raises(ImportRefused) as caught:
        run()
    assert row_counts(settings) == before, "a refused file left rows behind"
    message = str(caught.value)
    assert "\n" not in message
    return message


def audit(settings: Settings, what: str) -> list[AuditEntry]:
    with session_for(settings.resolved_database_url) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.what == what)).all())


def import_contacts(settings: Settings, path: Path, now: datetime = IN_2016) -> int:
    return import_for_round("contacts", path, round_ref=None, settings=settings, now=now)


def import_apps(settings: Settings, path: Path, round_ref: str = "sio-2016", now=IN_2016) -> int:
    return import_for_round("applications", path, round_ref=round_ref, settings=settings, now=now)


def decide(settings: Settings, path: Path, round_ref: str = "sio-2016", now=IN_2016) -> list[str]:
    return decide_selection_from_file(path, round_ref=round_ref, settings=settings, now=now)


# --- contacts ------------------------------------------------------------------------------


def test_contacts_are_stored_under_the_number_the_file_gave(settings, tmp_path):
    path = write(
        tmp_path,
        "kontakter.csv",
        CONTACTS
        + "5035,Kari Nordmann,contact_person,Kari.Nordmann@Stjordal.Kommune.NO,+47 74 84 00 00\n"
        + "0138,Ola Nordmann,chief_executive,ola@hobol.kommune.no,\n",
    )
    assert import_contacts(settings, path) == 2
    with session_for(settings.resolved_database_url) as session:
        ola, kari = contacts_of(session, ["5035", "0138"])  # by role
    # a contact belongs to the number it was registered under (never re-numbered at import)
    assert (kari.kommunenummer, kari.email) == ("5035", "Kari.Nordmann@stjordal.kommune.no")
    assert ola.kommunenummer == "0138"
    assert (ola.role, ola.phone) == ("chief_executive", None)
    assert len(audit(settings, "contact_added")) == 2
    assert len(audit(settings, "contacts_imported")) == 1


def test_reimporting_a_contact_updates_it_instead_of_adding_a_second(settings, tmp_path):
    first = write(
        tmp_path, "a.csv", CONTACTS + "1714,Kari Nordmann,contact_person,kari@x.no,111 11 111\n"
    )
    again = write(
        tmp_path, "b.csv", CONTACTS + "1714,Kari N. Hansen,contact_person,KARI@x.no,222 22 222\n"
    )
    assert import_contacts(settings, first) == 1
    assert import_contacts(settings, first) == 0
    assert import_contacts(settings, again) == 1
    with session_for(settings.resolved_database_url) as session:
        (kari,) = session.exec(select(ContactRecord)).all()
    assert (kari.name, kari.phone) == ("Kari N. Hansen", "222 22 222")
    assert len(audit(settings, "contact_updated")) == 1


def test_a_contact_with_an_unknown_kommunenummer_refuses_the_file(settings, tmp_path):
    path = write(
        tmp_path,
        "kontakter.csv",
        CONTACTS
        + "1714,Kari Nordmann,contact_person,kari@x.no,\n"
        + "9999,Per,contact_person,per@x.no,\n",
    )
    assert refused(settings, lambda: import_contacts(settings, path)) == (
        f"{path}: line 3, column kommunenummer: '9999' is not in the municipality registry"
        " (import a municipalities file that adds it)"
    )


def test_a_contact_with_an_invalid_email_refuses_the_file(settings, tmp_path):
    path = write(
        tmp_path,
        "kontakter.csv",
        CONTACTS
        + "1714,Kari,contact_person,kari@x.no,\n\n"
        + "0138,Ola,project_leader,ola@hobol,\n",
    )
    assert refused(settings, lambda: import_contacts(settings, path)) == (
        f"{path}: line 4, column email: 'ola@hobol' is not an e-mail address (the domain is not"
        " valid)"
    )


def test_a_contact_with_an_unknown_role_or_listed_twice_refuses_the_file(settings, tmp_path):
    role = write(tmp_path, "r.csv", CONTACTS + "1714,Kari,mayor,kari@x.no,\n")
    assert refused(settings, lambda: import_contacts(settings, role)) == (
        f"{role}: line 2, column role: 'mayor' is not one of contact_person, project_leader,"
        " chief_executive, finance_officer, allocation_officer, service_manager"
    )
    twice = write(
        tmp_path,
        "t.csv",
        CONTACTS + "1714,Kari,contact_person,kari@x.no,\n1714,Kari,contact_person,Kari@X.no,\n",
    )
    assert refused(settings, lambda: import_contacts(settings, twice)) == (
        f"{twice}: line 3, column email: 'Kari@X.no' is listed twice as contact_person of"
        " 1714 Stjørdal (also on line 2)"
    )


# --- applications --------------------------------------------------------------------------


def test_applications_are_stored_with_late_flag_and_findings(settings, tmp_path):
    path = write(tmp_path, "soknader.csv", GOOD_APPLICATIONS_2016)
    with session_for(settings.resolved_database_url):
        pass
    imported = import_applications(
        path,
        round_def=ROUND_2016,
        database_url=settings.resolved_database_url,
        now=IN_2016,
        actor="test",
    )
    assert [(a.kommunenummer, a.late) for a in imported] == [
        ("1714", False),
        ("0138", False),  # 23:59 on the deadline day is on time (seed 004: 1 December 2015)
        ("1243", True),  # 00:00 on 2 December is late: accepted and flagged
    ]
    with session_for(settings.resolved_database_url) as session:
        stored = {a.kommunenummer: a for a in applications_of(session, "sio-2016")}
    assert stored["1714"].findings == ""
    assert [line.split(":")[0] for line in stored["0138"].findings.splitlines()] == [
        "council_resolution_after_submission",
        "attachment_missing",  # no EPJ finding: round 2016 does not ask for the EPJ system
    ]
    assert stored["1243"].late and stored["1243"].findings.startswith("signer_not_chief_executive")
    assert stored["1243"].submitted_at == datetime(2015, 12, 1, 23, 0, tzinfo=UTC)
    assert "late" in imported[2].summary() and "complete" in imported[0].summary()
    entries = audit(settings, "application_received")
    assert sorted(e.kommunenummer for e in entries) == ["0138", "1243", "1714"]


def test_an_application_is_stored_under_the_number_in_force_when_submitted(settings, tmp_path):
    path = write(tmp_path, "s.csv", APPLICATIONS + "5035,2015-11-20T14:00,rådmann,2015-10-22,,x\n")
    assert import_apps(settings, path) == 1
    with session_for(settings.resolved_database_url) as session:
        (application,) = applications_of(session, "sio-2016")
    assert application.kommunenummer == "1714"


def test_round_2019_asks_for_the_epj_system(settings, tmp_path):
    path = write(
        tmp_path, "s.csv", APPLICATIONS + "5032,2018-12-20T10:00,kommunedirektør,2018-12-13,,x\n"
    )
    assert import_apps(settings, path, "sio-2019", IN_2019) == 1
    with session_for(settings.resolved_database_url) as session:
        (application,) = applications_of(session, "sio-2019")
    assert application.findings.startswith("epj_system_missing: ")


def test_reimporting_the_same_applications_stores_nothing_new(settings, tmp_path):
    path = write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016)
    assert import_apps(settings, path) == 3
    before = row_counts(settings)
    assert import_apps(settings, path) == 0
    assert row_counts(settings) == before


def test_an_application_with_an_unknown_kommunenummer_refuses_the_file(settings, tmp_path):
    path = write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016 + "0000,2015-11-20T14:00,rådmann,,,\n")
    assert refused(settings, lambda: import_apps(settings, path)) == (
        f"{path}: line 5, column kommunenummer: '0000' is not in the municipality registry"
        " (import a municipalities file that adds it)"
    )


def test_an_application_with_an_impossible_date_refuses_the_file(settings, tmp_path):
    submitted = write(
        tmp_path, "a.csv", GOOD_APPLICATIONS_2016 + "0926,2015-11-31T10:00,rådmann,,,\n"
    )
    assert refused(settings, lambda: import_apps(settings, submitted)) == (
        f"{submitted}: line 5, column submitted_at: '2015-11-31T10:00' is not a real date and time"
    )
    resolved = write(
        tmp_path, "b.csv", GOOD_APPLICATIONS_2016 + "0926,2015-11-30T10:00,rådmann,2015-02-30,,\n"
    )
    assert refused(settings, lambda: import_apps(settings, resolved)) == (
        f"{resolved}: line 5, column council_resolution_date: '2015-02-30' is not a real date"
        " (YYYY-MM-DD)"
    )


def test_a_second_application_in_the_file_refuses_it_naming_both_lines(settings, tmp_path):
    path = write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016 + "5035,2015-11-25T09:00,rådmann,,,\n")
    assert refused(settings, lambda: import_apps(settings, path)) == (
        f"{path}: line 5, column kommunenummer: '5035' is a second application from 1714"
        " Stjørdal (the first is on line 2)"
    )


def test_an_application_already_stored_differently_refuses_the_file(settings, tmp_path):
    assert import_apps(settings, write(tmp_path, "a.csv", GOOD_APPLICATIONS_2016)) == 3
    path = write(
        tmp_path,
        "b.csv",
        APPLICATIONS
        + "0926,2015-11-30T10:00,rådmann,2015-11-01,,x\n"
        + "1714,2015-11-28T10:00,rådmann,,,\n",
    )
    assert refused(settings, lambda: import_apps(settings, path)) == (
        f"{path}: line 3, column kommunenummer: '1714' already has an application in round"
        " sio-2016 (submitted 2015-11-20T14:00+01:00); a second application is refused"
    )


def test_an_application_from_a_municipality_not_invited_refuses_the_file(settings, tmp_path):
    path = write(tmp_path, "s.csv", APPLICATIONS + "0906,2018-12-20T10:00,rådmann,2018-12-13,X,x\n")
    assert refused(settings, lambda: import_apps(settings, path, "sio-2019", IN_2019)) == (
        f"{path}: line 2, column kommunenummer: '0906' (0906 Arendal) was not invited to round"
        " sio-2019"
    )


def test_an_application_signed_by_another_title_or_from_the_future_is_refused(settings, tmp_path):
    title = write(tmp_path, "t.csv", APPLICATIONS + "1714,2015-11-20T14:00,ordfører,,,\n")
    assert refused(settings, lambda: import_apps(settings, title)) == (
        f"{title}: line 2, column signed_by_title: 'ordfører' is not one of rådmann,"
        " kommunedirektør, delegate"
    )
    future = write(tmp_path, "f.csv", APPLICATIONS + "1714,2016-11-20T14:00,rådmann,,,\n")
    assert refused(settings, lambda: import_apps(settings, future)) == (
        f"{future}: line 2, column submitted_at: '2016-11-20T14:00' is in the future"
    )


def test_importing_applications_needs_a_round(settings, tmp_path):
    path = write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016)
    with pytest.raises(ValueError, match="--round: importing applications needs the round"):
        import_for_round("applications", path, round_ref=None, settings=settings)


# --- selection -----------------------------------------------------------------------------


def test_a_selection_records_decisions_and_participations_from_the_plan(settings, tmp_path):
    import_apps(settings, write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016))
    path = write(
        tmp_path,
        "utvalg.csv",
        SELECTION + "5035,selected,A,,2016-01-14\n0138,selected,B,,2016-01-14\n1243,rejected,,,\n",
    )
    assert decide(settings, path) == ["1714", "0138", "1243"]
    with session_for(settings.resolved_database_url) as session:
        decisions = {d.kommunenummer: d for d in decisions_of(session, "sio-2016")}
        participations = {
            p.kommunenummer: p for p in session.exec(select(ParticipationRecord)).all()
        }
    assert decisions["1714"].decided_by == "ministry"
    assert decisions["1714"].recorded_via == "file:utvalg.csv"
    assert decisions["1243"].decided_on == date(2016, 1, 20)  # default: the day it is recorded
    assert set(participations) == {"1714", "0138"}
    stjordal, hobol = participations["1714"], participations["0138"]
    # seed 000: 01.05.2016 – 30.04.2019; model A has ABF from go-live (design decision D), B none
    assert (stjordal.model, stjordal.start, stjordal.end) == (
        "A",
        date(2016, 5, 1),
        date(2019, 4, 30),
    )
    assert stjordal.abf_start == date(2016, 5, 1)
    assert (hobol.model, hobol.abf_start) == ("B", None)
    assert len(audit(settings, "selection_decided")) == 3
    assert len(audit(settings, "participation_created")) == 2


def test_a_joining_municipality_in_2019_starts_with_its_cohort(settings, tmp_path):
    apps = APPLICATIONS + "5032,2018-12-20T10:00,rådmann,2018-12-13,Gerica,x\n"
    import_apps(settings, write(tmp_path, "s.csv", apps), "sio-2019", IN_2019)
    path = write(tmp_path, "u.csv", "kommunenummer,decision,model\n5032,selected,A\n")
    assert decide(settings, path, "sio-2019", IN_2019) == ["5032"]
    with session_for(settings.resolved_database_url) as session:
        (selbu,) = session.exec(select(ParticipationRecord)).all()
        (decision,) = decisions_of(session, "sio-2019")
    # seed 001: from 01.07.2019, ABF from 01.01.2020; the trial ended early on 31.12.2021
    # the end as agreed (seed 001: «ut 2022»); the early end applies from its decision date
    assert (selbu.start, selbu.abf_start, selbu.end) == (
        date(2019, 7, 1),
        date(2020, 1, 1),
        date(2022, 12, 31),
    )
    assert decision.decided_by == "directorate"


def test_deciding_the_same_selection_again_changes_nothing(settings, tmp_path):
    import_apps(settings, write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016))
    path = write(
        tmp_path, "u.csv", SELECTION + "1714,selected,A,,2016-01-14\n1243,rejected,,,2016-01-14\n"
    )
    assert decide(settings, path) == ["1714", "1243"]
    before = row_counts(settings)
    assert decide(settings, path) == []
    assert row_counts(settings) == before


def test_a_different_decision_for_a_decided_municipality_refuses_the_file(settings, tmp_path):
    import_apps(settings, write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016))
    decide(settings, write(tmp_path, "u.csv", SELECTION + "1714,selected,A,,2016-01-14\n"))
    path = write(tmp_path, "v.csv", SELECTION + "0138,selected,B,,\n1714,selected,B,,\n")
    assert refused(settings, lambda: decide(settings, path)) == (
        f"{path}: line 3, column model: 'B' conflicts with the decision already recorded for"
        " 1714 Stjørdal: selected for model A (decided 2016-01-14 by ministry, recorded via"
        " file:u.csv); a recorded decision is not changed by a new one"
    )


def test_a_decision_for_a_municipality_that_did_not_apply_refuses_the_file(settings, tmp_path):
    import_apps(settings, write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016))
    path = write(tmp_path, "u.csv", SELECTION + "1714,selected,A,,\n0926,selected,A,,\n")
    assert refused(settings, lambda: decide(settings, path)) == (
        f"{path}: line 3, column kommunenummer: '0926' did not apply to round sio-2016: only"
        " applicants can be decided on"
    )


def test_a_selection_file_is_also_an_import_kind(settings, tmp_path):
    import_apps(settings, write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016))
    path = write(tmp_path, "u.csv", "kommunenummer,model,decision\n1714,A,selected\n")
    assert (
        import_for_round("selection", path, round_ref="sio-2016", settings=settings, now=IN_2016)
        == 1
    )


def test_round_2021_selection_needs_no_applications(settings, tmp_path):
    path = write(tmp_path, "u.csv", SELECTION + "0906,selected,A,parliament,2020-12-16\n")
    assert decide(settings, path, "sio-2021", datetime(2020, 12, 17, tzinfo=CET)) == ["4203"]
    with session_for(settings.resolved_database_url) as session:
        (arendal,) = session.exec(select(ParticipationRecord)).all()
    # seed 002: participation from 01.01.2021, ABF from 01.07.2021
    assert (arendal.start, arendal.abf_start) == (date(2021, 1, 1), date(2021, 7, 1))


def test_decisions_from_the_staff_form_are_recorded_the_same_way(settings, tmp_path):
    import_apps(settings, write(tmp_path, "s.csv", GOOD_APPLICATIONS_2016))
    url = settings.resolved_database_url
    entries = [DecisionEntry(kommunenummer="1714", decision="selected", model="A")]
    with session_for(url) as session:
        applicants = [a.kommunenummer for a in applications_of(session, "sio-2016")]
        decisions = validate_selection(
            ROUND_2016,
            entries,
            registry=load_registry(url),
            applicants=applicants,
            today=date(2016, 1, 15),
        )
        new = record_selection(
            session,
            ROUND_2016,
            decisions,
            now=IN_2016,
            actor="staff:kari",
            recorded_via="prefect-ui",
        )
        session.commit()
    assert new == ["1714"]
    with session_for(url) as session:
        (decision,) = decisions_of(session, "sio-2016")
    assert (decision.recorded_via, decision.decided_on) == ("prefect-ui", date(2016, 1, 15))


# --- dispatch ------------------------------------------------------------------------------


def test_expenditure_and_activity_files_go_to_the_finance_import(settings, tmp_path, monkeypatch):
    calls = []

    def import_finance_file(kind, path, given_settings, *, now=None):
        calls.append((kind, path, given_settings, now))
        return 7

    finance = types.ModuleType("tasks.intake.finance_imports")
    finance.import_finance_file = import_finance_file  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tasks.intake.finance_imports", finance)
    path = tmp_path / "x.csv"
    assert import_for_round("activity", path, round_ref=None, settings=settings, now=IN_2016) == 7
    assert calls == [("activity", path, settings, IN_2016)]


def test_municipalities_files_go_to_the_municipality_store(settings, tmp_path):
    path = write(
        tmp_path,
        "kommuner.csv",
        "kommunenummer,name,valid_from,valid_to,successor\n0301,Oslo,,,\n",
    )
    assert import_for_round("municipalities", path, round_ref=None, settings=settings) == 1
    contacts = write(
        tmp_path, "k.csv", CONTACTS + "0301,Kari,contact_person,kari@oslo.kommune.no,\n"
    )
    assert import_contacts(settings, contacts) == 1  # the imported number is now known


def test_an_unknown_kind_is_refused(settings, tmp_path):
    with pytest.raises(ValueError, match="cannot import 'signatures' here"):
        import_for_round("signatures", tmp_path / "x.csv", round_ref="sio-2016", settings=settings)
