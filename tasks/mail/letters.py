"""Turning a due letter into a message: recipients on its date, text in their written standard,
and the files it carries (a calendar invitation, the cooperation agreement).

The *decision* of who gets which letter is made in ``sio_domain.agendas``; here it is only written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sio_domain.agendas import Letter
from sio_domain.recipients import Recipient
from sio_domain.trial_state import TrialState
from tasks.documents.calendar_files import plan_calendar
from tasks.mail.mail_templates import render_mail
from tasks.mail.outbox import Attachment, calendar_attachment


@dataclass(frozen=True)
class ComposedLetter:
    """A letter ready for the outbox."""

    recipients: tuple[Recipient, ...]
    standard: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...]


def letter_recipients(
    letter: Letter, state: TrialState, *, staff_address: str
) -> tuple[Recipient, ...]:
    """Staff for staff letters; otherwise the municipality's contacts on the letter's date."""
    if letter.to_staff:
        return (Recipient(staff_address, "", "staff"),)
    assert letter.kommunenummer is not None
    return tuple(state.recipients(letter.kommunenummer, letter.roles))


def compose_letter(
    letter: Letter,
    state: TrialState,
    recipients: tuple[Recipient, ...],
    *,
    mail_from: str,
) -> ComposedLetter:
    """Write ``letter`` for ``recipients`` in the municipality's written standard."""
    standard = (
        "bokmål"
        if letter.to_staff or letter.kommunenummer is None
        else state.written_standard(letter.kommunenummer)
    )
    context: dict[str, Any] = {
        "round_def": state.round_def,
        "round_id": state.round_def.id,
        "letter_date": state.today,
        **letter.context,
    }
    attachments: list[Attachment] = []
    if letter.agreement_model is not None and letter.kommunenummer is not None:
        from tasks.documents.agreement_text import agreement_attachment

        agreement = agreement_attachment(
            letter.agreement_model,
            municipality=state.name(letter.kommunenummer),
            kommunenummer=letter.kommunenummer,
            round_def=state.round_def,
        )
        attachments.append(agreement)
        context["filename"] = agreement.filename
    if letter.calendar is not None:
        entry = letter.calendar
        context.setdefault("title_nn", entry.event.title_nn)
        attachments.append(
            calendar_attachment(
                plan_calendar(
                    [entry.event],
                    name=entry.event.title,
                    stamp=state.as_of,
                    method=entry.method,
                    organizer=mail_from,
                    attendees=[r.email for r in recipients],
                    sequence=entry.sequence,
                    standard=standard,  # type: ignore[arg-type]
                )
            )
        )
    rendered = render_mail(letter.kind, standard, **context)  # type: ignore[arg-type]
    attachments[:0] = list(getattr(rendered, "attachments", ()))
    return ComposedLetter(recipients, standard, rendered.subject, rendered.body, tuple(attachments))
