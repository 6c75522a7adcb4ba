"""The weekly check-in's rules: weeks in Vietnam's calendar, what "stopped using" means."""

from datetime import UTC, date, datetime

from service.payments.checkins import ANSWERS, BUTTONS, paid, stopped_using, week_label, weeks_of
from service.payments.models import PaymentCheckin
from service.vietnam import iso_week, local_date, month, week_monday, week_number


def test_the_four_answers_and_which_say_customers_paid() -> None:
    assert list(ANSWERS) == list(BUTTONS) == ["0", "1-5", "6-20", "20+"]
    assert [paid(a) for a in ANSWERS] == [False, True, True, True]


def test_weeks_are_isos_in_vietnams_calendar() -> None:
    sunday_night_utc = datetime(2026, 3, 8, 17, 30, tzinfo=UTC)  # already Monday 00:30 in Vietnam
    assert iso_week(local_date(sunday_night_utc)) == "2026-W11"
    assert iso_week(date(2026, 3, 8)) == "2026-W10"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"  # a Friday: the last ISO week of 2026
    assert week_label("2026-W09") == "9/2026"
    assert month(date(2026, 3, 8)) == "2026-03"


def test_week_numbers_of_consecutive_weeks_differ_by_one_across_years() -> None:
    assert week_number(date(2026, 12, 31)) + 1 == week_number(date(2027, 1, 4))  # W53 → 2027-W01
    assert week_number(date(2026, 3, 2)) == week_number(date(2026, 3, 8))  # Monday to Sunday
    assert week_number(date(2026, 3, 9)) == week_number(date(2026, 3, 8)) + 1
    assert week_monday(date(2026, 3, 8)) == date(2026, 3, 2)


def test_stopped_using_needs_the_two_latest_weeks_running_without_a_paying_answer() -> None:
    assert not stopped_using({})
    assert not stopped_using({10: False})  # one week is not two
    assert stopped_using({9: False, 10: False})
    assert not stopped_using({8: False, 10: False})  # a gap: not running
    assert not stopped_using({9: False, 10: True})
    assert not stopped_using({9: True, 10: False})
    assert stopped_using({5: True, 9: False, 10: False})  # an old paying week does not help
    assert not stopped_using({9: False, 10: False, 11: True})  # paying again


def test_a_week_paid_when_either_the_trader_or_the_team_says_so() -> None:
    rows = [
        PaymentCheckin(week=9, answer="0", source="trader"),
        PaymentCheckin(week=10, answer="0", source="trader"),
        PaymentCheckin(week=10, answer="1-5", source="volunteer"),
    ]
    assert weeks_of(rows) == {9: False, 10: True}
    assert not stopped_using(weeks_of(rows))
    assert stopped_using(weeks_of(rows[:2]))
