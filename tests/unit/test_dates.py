"""One date format on every page: 8/12/2026 01:12 in Vietnamese, the English catalog's own pattern."""

from datetime import UTC, date, datetime

from service.i18n import current_locale
from service.web import format_when

MOMENT = datetime(2026, 12, 7, 18, 12, tzinfo=UTC)  # 01:12 on 8 December in Vietnam (UTC+7)


def in_locale(locale: str, value) -> str:
    token = current_locale.set(locale)
    try:
        return format_when(value)
    finally:
        current_locale.reset(token)


def test_vietnamese_days_and_moments_read_day_month_year():
    assert in_locale("vi", MOMENT) == "8/12/2026 01:12"
    assert in_locale("vi", date(2026, 12, 8)) == "8/12/2026"
    assert in_locale("vi", "2026-12-08") == "8/12/2026"  # an ISO day kept as text


def test_english_uses_its_catalogs_pattern():
    assert in_locale("en", MOMENT) == "8 Dec 2026, 01:12"
    assert in_locale("en", date(2026, 12, 8)) == "8 Dec 2026"


def test_nothing_reads_as_nothing():
    assert in_locale("vi", None) == "" and in_locale("vi", "") == ""
