"""Every kind of message, in both written standards, is a strictly valid RFC 5322 message.

Parsed back with the standard library's strict policy (any defect raises), so a header that a
strict receiving system would reject or repair is caught here, not by a municipality's mail
filter. Also: Content-Language follows the letter's written standard, the subject is clean (no
fold straight after "Subject:", no double spaces) and Message-IDs differ between installations.
"""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tasks.documents.agreement_text import agreement_attachment
from tasks.mail.mail_delivery import MAIL_POLICY, compose_message, message_id
from tasks.mail.mail_templates import KINDS, render_mail
from tasks.mail.outbox import Attachment, calendar_attachment
from tests.unit.test_mail_templates import CONTEXTS

STRICT = email.policy.default.clone(raise_on_defect=True)
WHEN = datetime(2016, 3, 1, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sio//\r\nMETHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\nUID:x@sio\r\nDTSTAMP:20160301T080000Z\r\nDTSTART:20160614T080000Z\r\n"
    b"SUMMARY:Statusm\xc3\xb8te\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachments_for(kind: str) -> list[Attachment]:
    if kind.endswith("_invitation"):
        return [calendar_attachment(ICS)]
    if kind == "agreement":
        return [agreement_attachment("A", municipality="Os (Hordaland)", kommunenummer="1243")]
    if kind == "payout_statement":
        return [Attachment("utbetaling-Øystre Slidre-2017Q2.xlsx", XLSX, bytes(range(256)))]
    return []


def strictly_parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(policy=MAIL_POLICY), policy=STRICT)
    assert isinstance(parsed, EmailMessage)
    for part in parsed.walk():  # header values are parsed lazily: touch every one
        for name in part.keys():
            part[name]
    return parsed


def compose(subject: str, body: str, kind: str, language: str) -> EmailMessage:
    return compose_message(
        key=f"sio-2016/1243/{kind}",
        recipients=["postmottak@os.kommune.no", "okonomi@os.kommune.no"],
        subject=subject,
        body=body,
        attachments=attachments_for(kind),
        mail_from="Helsedirektoratet <sio@helsedir.no>",
        date=WHEN,
        installation="a1b2c3d4e5f60718",
        language=language,
    )


@pytest.mark.parametrize("standard", ["bokmål", "nynorsk"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_message_parses_under_the_strict_policy(kind: str, standard: str) -> None:
    letter = render_mail(kind, standard, **CONTEXTS[kind])  # type: ignore[arg-type]
    language = {"bokmål": "nb", "nynorsk": "nn"}[standard]

    parsed = strictly_parsed(compose(letter.subject, letter.body, kind, language))

    assert parsed["Content-Language"] == language
    assert parsed["Subject"] == letter.subject
    body = parsed.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").strip() == letter.body.strip()
    assert len(list(parsed.iter_attachments())) == len(attachments_for(kind))


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")
        ),
        min_size=1,
        max_size=200,
    ).filter(str.strip)
)
@example("Samarbeidsavtale, modell A: signeres og returneres innen 1. februar 2016")  # 72 chars
@example("Påminnelse:  frist   for  avtalen")
def test_any_one_line_subject_is_clean_and_strictly_valid(subject: str) -> None:
    message = compose(subject, "Hei.", "decision_offer", "nb")

    raw = message.as_bytes(policy=MAIL_POLICY).decode("ascii")
    header = raw[raw.index("\r\nSubject:") + 2 :].split("\r\n")
    assert header[0] != "Subject:" and not header[0].startswith("Subject:\r")
    assert strictly_parsed(message)["Subject"] == " ".join(subject.split())
    assert "  " not in str(message["Subject"])


def test_message_ids_are_the_same_for_a_copy_and_differ_between_installations() -> None:
    key, sender = "sio-2016/1243/decision_offer", "sio@helsedir.no"

    assert message_id(key, sender, "aaaa") == message_id(key, sender, "aaaa")
    assert message_id(key, sender, "aaaa") != message_id(key, sender, "bbbb")
    assert message_id(key, sender, "aaaa") != message_id(f"{key}/2", sender, "aaaa")
    assert message_id(key, sender, "aaaa").endswith("@helsedir.no>")
