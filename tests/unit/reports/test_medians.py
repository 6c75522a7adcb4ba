from service.reports.summaries import _median, months_back


def test_median_of_a_histogram_odd_and_even_counts() -> None:
    assert _median([("00003", 1), ("00010", 1), ("00040", 1)]) == 10
    assert _median([("00003", 2), ("00010", 2)]) == 6.5  # between the 2nd and 3rd of four
    assert _median([("00005", 4)]) == 5
    assert _median([]) is None


def test_the_trend_covers_twelve_months_ending_this_month() -> None:
    from datetime import date

    months = months_back(date(2026, 2, 14))
    assert months[0] == "2025-03" and months[-1] == "2026-02" and len(months) == 12
