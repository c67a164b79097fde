"""The service codes activity is reported and priced under (Financing).

Why a fixed catalogue: activity files, unit-price lists and ledger lines must agree on the same
codes, and a typo in any of them would silently pay nothing. Prices are data (round file); the
codes themselves change only with a release.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Unit = Literal["hour", "day", "month"]


class Service(NamedTuple):
    """A priced service: code, Norwegian name and the unit activity is counted in."""

    code: str
    norwegian: str
    unit: Unit


SERVICE_CATALOGUE: dict[str, Service] = {
    service.code: service
    for service in (
        Service("home_nursing", "hjemmesykepleie", "hour"),
        Service("practical_assistance", "praktisk bistand", "hour"),
        Service("personal_assistance", "brukerstyrt personlig assistanse (BPA)", "hour"),
        Service("short_term_stay", "korttidsopphold i institusjon", "day"),
        Service("long_term_stay", "langtidsopphold i institusjon", "day"),
        Service("respite_stay", "avlastning i institusjon", "day"),
        Service("day_care", "dagtilbud", "day"),
        Service("safety_alarm", "trygghetsalarm", "month"),
    )
}
