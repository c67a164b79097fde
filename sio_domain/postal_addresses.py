"""Postal addresses of the municipalities the directorate wrote to (mottakaradresse), as data.

Why: a letter carries the recipient's address block. Seed 001 lists the ten municipalities it was
sent to with their addresses («Mottaker … Adresse Post»); a municipality not listed is addressed
by name only until staff give its address (``address`` in a letter's context).
"""

from __future__ import annotations

ADDRESSES: dict[str, tuple[str, ...]] = {
    "0124": ("Skolegata 12", "1831 Askim"),
    "0125": ("Ordfører Voldens vei 1", "1850 Mysen"),
    "1241": ("Leiro 31", "5640 Eikelandsosen"),
    "0138": ("Elvestadveien 1000", "1827 Hobøl"),
    "0926": ("Postboks 23", "4791 Lillesand"),
    "1243": ("Torggata 7", "5200 Os"),
    "1664": ("Gjelbakken 15", "7580 Selbu"),
    "5032": ("Gjelbakken 15", "7580 Selbu"),
    "0123": ("Stasjonsgata 35", "1820 Spydeberg"),
    "1714": ("Postboks 133", "7501 Stjørdal"),
    "5035": ("Postboks 133", "7501 Stjørdal"),
    "0122": ("Kirkeveien 17", "1860 Trøgstad"),
}
"""kommunenummer → street or box line and postcode line (seed 001, recipient list)."""


def postal_address(kommunenummer: str | None) -> tuple[str, ...]:
    """The address lines under the municipality's name, or none when not known."""
    return ADDRESSES.get(kommunenummer or "", ())
