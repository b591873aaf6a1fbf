"""Read the time stamps status feeds write, and return aware UTC datetimes."""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime, timedelta, timezone

UTC = timezone.utc

MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}

# Zone abbreviations status pages print next to local times. Ambiguous ones
# take the reading most status pages mean: CST is US Central, IST is India.
# fmt: off
ZONE_OFFSETS_HOURS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 1, "BST": 1,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "IST": 5.5, "SGT": 8, "HKT": 8, "AWST": 8, "JST": 9, "KST": 9,
    "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
    "BRT": -3, "ART": -3, "AST": -4, "ADT": -3, "EST": -5, "EDT": -4,
    "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10,
}
# fmt: on

_NUMERIC_ZONE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?$", re.I)
_LOOSE_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.I,
)

# Times outside these bounds are typos or attacks, not status updates: they are
# read as unknown, so no date arithmetic can overflow and no year is written
# in a form that cannot be read back.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

# A yearless time may lie this far after the time it is placed before:
# display times can be nudged out of order, and an unknown zone read as UTC
# can be off by up to 14 hours.
YEAR_GUESS_SLACK = timedelta(days=1)


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """Convert feedparser's UTC struct_time to an aware datetime, or None."""
    if value is None:
        return None
    try:
        return plausible(datetime.fromtimestamp(calendar.timegm(value), tz=UTC))
    except (OverflowError, ValueError, OSError):
        return None


def plausible(moment: datetime | None) -> datetime | None:
    """Return the time if it lies between 1990 and 2200, else None."""
    if moment is None or not EARLIEST <= moment < LATEST:
        return None
    return moment


def zone_offset(name: str) -> timedelta:
    """Return the UTC offset of a zone abbreviation such as CEST; UTC if unknown."""
    hours = ZONE_OFFSETS_HOURS.get(name.strip().upper())
    if hours is not None:
        return timedelta(hours=hours)
    numeric = _NUMERIC_ZONE.match(name.strip())
    if numeric is None:
        return timedelta(0)
    sign, hour, minute = numeric.groups()
    offset = timedelta(hours=int(hour), minutes=int(minute or 0))
    return -offset if sign == "-" else offset


def parse_loose_timestamp(text: str) -> datetime | None:
    """Read `2022-01-27 18:58:00 +0000` or an ISO time; zone-less means UTC."""
    found = _LOOSE_TIMESTAMP.match(text.strip())
    if found is None:
        return None
    year, month, day, hour, minute, second, zone = found.groups()
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
        )
    except ValueError:
        return None
    offset = timedelta(0) if zone in (None, "Z", "z") else zone_offset(zone)
    return in_utc(local, offset)


def in_utc(local: datetime, offset: timedelta) -> datetime | None:
    """Return a naive local time of the given offset in UTC, if plausible."""
    try:
        return plausible(local.replace(tzinfo=timezone(offset)).astimezone(UTC))
    except (OverflowError, ValueError):
        return None


def place_in_year(
    month: int, day: int, hour: int, minute: int, offset: timedelta, before: datetime
) -> datetime | None:
    """Give a yearless local time the year that puts it latest, not after `before`.

    Candidates run from the year after `before` (a local date can already be in
    the next year while UTC is not) back over New Year, far enough for 29 Feb.
    """
    if plausible(before) is None:
        return None
    zone = timezone(offset)
    for year in range(before.year + 1, before.year - 5, -1):
        try:
            moment = datetime(year, month, day, hour, minute, tzinfo=zone)
        except ValueError:
            continue
        if moment <= before + YEAR_GUESS_SLACK:
            return plausible(moment.astimezone(UTC))
    return None
