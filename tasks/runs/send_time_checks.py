"""The check made right before a queued reminder or invitation is sent: is it still true?

The rule is ``sio_domain.agendas.send_time.still_true``; this module gives the mail delivery a
callable that loads the round's state once per sending instant and asks it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sio_domain.agendas.send_time import still_true
from sio_domain.round_definition import RoundDefinition
from sio_domain.trial_state import TrialState
from tasks.storage.unit_of_work import unit_of_work


class QueuedMail(Protocol):
    """What the check needs of an outbox row."""

    key: str
    round_id: str


def send_time_check(
    database_url: str, round_def: RoundDefinition
) -> Callable[[QueuedMail, datetime], str | None]:
    """A check for the delivery of ``round_def``'s mail: the reason to skip a letter, or None."""
    states: dict[datetime, TrialState] = {}

    def check(mail: QueuedMail, now: datetime) -> str | None:
        if mail.round_id != round_def.id:
            return None
        state = states.get(now)
        if state is None:
            with unit_of_work(database_url) as uow:
                state = states[now] = uow.state(round_def, now)
        return still_true(state, mail.key)

    return check
