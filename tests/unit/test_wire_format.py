"""The quick renderer writes exactly the bytes the standard library's message would.

Why exact: the header-policy machinery (`compose_message`) is the reference every other test of
the mail's format is written against (strict parsing, folding, Content-Language); the renderer
used by delivery runs must not drift from it in any header, fold or encoded line.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tasks.mail.mail_templates import KINDS, render_mail
from tasks.mail.wire_format import MAIL_POLICY, WireRenderer, compose_message
from tests.unit.test_mail_templates import CONTEXTS

WHEN = datetime(2016, 3, 1, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))
SENDERS = ["sio@helsedir.no", "Helsedirektoratet <sio@helsedir.no>", "Øyvind Å <post@hdir.no>"]
ADDRESSES = st.one_of(
    st.emails(),
    st.sampled_from(["postmottak@bø.kommune.no", "økonomi@os.kommune.no", "a@b"]),
)
TEXT = st.characters(blacklist_categories=("Cs",))


def both(
    *,
    key: str,
    recipients: list[str],
    subject: str,
    body: str,
    language: str = "nb",
    mail_from: str = "sio@helsedir.no",
    installation: str = "a1b2c3d4e5f60718",
) -> tuple[bytes, bytes]:
    """(the reference bytes, the renderer's bytes) for one message."""
    reference = compose_message(
        key=key,
        recipients=recipients,
        subject=subject,
        body=body,
        attachments=[],
        mail_from=mail_from,
        date=WHEN,
        installation=installation,
        language=language,
    ).as_bytes(policy=MAIL_POLICY)
    renderer = WireRenderer(mail_from=mail_from, date=WHEN, installation=installation)
    rendered = renderer.render(
        key=key, recipients=recipients, subject=subject, body=body, language=language
    )
    return reference, rendered


@pytest.mark.parametrize("standard", ["bokmål", "nynorsk"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_letter_renders_as_the_standard_library_writes_it(kind: str, standard: str) -> None:
    letter = render_mail(kind, standard, **CONTEXTS[kind])  # type: ignore[arg-type]
    reference, rendered = both(
        key=f"sio-2016/1243/{kind}",
        recipients=["postmottak@os.kommune.no", "okonomi@os.kommune.no"],
        subject=letter.subject,
        body=letter.body,
        language={"bokmål": "nb", "nynorsk": "nn"}[standard],
    )
    assert rendered == reference


@settings(max_examples=300, deadline=None)
@given(
    key=st.text(TEXT, min_size=1, max_size=120),
    recipients=st.lists(ADDRESSES, min_size=1, max_size=6),
    subject=st.text(TEXT, max_size=160),
    body=st.text(TEXT, max_size=600),
    language=st.sampled_from(["nb", "nn"]),
    mail_from=st.sampled_from(SENDERS),
)
@example(  # a key just at the fold, a subject of 70–77 characters
    key="k" * 67,
    recipients=["postmottak@stjordal.kommune.no"],
    subject="Påminnelse: søknadsfrist for deltakelse i forsøket 1. desember 2015 kl",
    body="Til Stjørdal kommune\n\nFristen er 1. desember.\n",
    language="nb",
    mail_from=SENDERS[0],
)
@example(  # plain recipients that just overflow one To line: folded at a comma
    key="sio-2016/1714/payout_statement/2017Q2",
    recipients=["okonomi1@stjordal.kommune.no", "okonomi2@stjordal.kommune.no", "posts@os.kom.no"],
    subject="Utbetaling 2. kvartal 2017",
    body="Vedlagt er utbetalingsoversikten.",
    language="nb",
    mail_from=SENDERS[1],
)
@example(  # a key that looks like an encoded word, trailing blanks, a long line
    key="=?utf-8?q?x?=",
    recipients=["a@b.no"] * 6,
    subject="  x  ",
    body="linje med mellomrom   \r\nFrom here\n." + "æ" * 200,
    language="nn",
    mail_from=SENDERS[2],
)
def test_any_message_renders_byte_for_byte_as_the_reference(
    key: str, recipients: list[str], subject: str, body: str, language: str, mail_from: str
) -> None:
    arguments = {
        "key": key,
        "recipients": recipients,
        "subject": subject,
        "body": body,
        "language": language,
        "mail_from": mail_from,
    }
    renderer = WireRenderer(mail_from=mail_from, date=WHEN, installation="a1b2c3d4e5f60718")
    try:
        reference = both(**arguments)[0]
    except ValueError as refused:  # e.g. a line break in a header: refused by both the same way
        with pytest.raises(type(refused)):
            renderer.render(
                key=key, recipients=recipients, subject=subject, body=body, language=language
            )
        return
    assert both(**arguments)[1] == reference
