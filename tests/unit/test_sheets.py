"""Spreadsheets the service writes open as data: text that looks like a formula stays text."""

import csv
import io

import openpyxl
import pytest

from service.reports.exports import csv_bytes, xlsx_bytes
from service.sheets import csv_text, csv_unmarked

HOSTILE = ["=1+1", "+84 912", "-5", "@SUM(A1)", "\t=cmd", "\r=cmd", '=HYPERLINK("http://x","y")']
PLAIN = ["Tổ công nghệ số Kim Long", "0912 345 678", "a=b", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_that_would_run_is_marked_as_text_and_read_back_as_typed(value) -> None:
    assert csv_text(value) == "'" + value
    assert csv_unmarked(csv_text(value)) == value


@pytest.mark.parametrize("value", [*PLAIN, 5, -5, 2.5, None])
def test_other_values_are_written_as_they_are(value) -> None:
    assert csv_text(value) == value
    if isinstance(value, str):
        assert csv_unmarked(value) == value


def test_an_apostrophe_a_trader_typed_is_kept() -> None:
    assert csv_unmarked("'quán Bà Tư'") == "'quán Bà Tư'"


def test_report_csv_marks_text_and_keeps_numbers() -> None:
    data = csv_bytes(["Tên", "Số"], [[name, -3] for name in HOSTILE])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == ["'" + name for name in HOSTILE]
    assert {row[1] for row in rows[1:]} == {"-3"}


async def test_report_xlsx_writes_text_as_text_and_numbers_as_numbers() -> None:
    data = await xlsx_bytes(["Tên", "Số"], [[name, 7] for name in HOSTILE], sheet="Bảng")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    names = [row[0] for row in sheet.iter_rows(min_row=2)]
    # XML reads a carriage return back as a line feed; everything else is as typed.
    assert [cell.value for cell in names] == [name.replace("\r", "\n") for name in HOSTILE]
    assert {cell.data_type for cell in names} == {"s"}
    assert {(row[1].value, row[1].data_type) for row in sheet.iter_rows(min_row=2)} == {(7, "n")}
