"""Vietnam's calendar: UTC+7 all year, no daylight saving. "Today", a week and a month are Vietnam's,
whichever area asks (onboarding's stage rules, payments' weekly check-ins, storefronts' daily reach).

No clock here: callers pass the moment.
"""

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7))


def local_date(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def iso_week(day: date) -> str:
    """The ISO week a day belongs to, as "2026-W49" (weeks start on Monday)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_number(day: date) -> int:
    """The week a day belongs to, counted from Monday 1 January of year 1: consecutive weeks
    differ by one (across years too), so SQL can tell "the week before" with plain arithmetic."""
    return (day.toordinal() - 1) // 7


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month(day: date) -> str:
    """The month of a day as "2026-12": the report counters' monthly key."""
    return f"{day.year:04d}-{day.month:02d}"
