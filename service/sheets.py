"""Writing CSV and XLSX files that a spreadsheet program opens as data, never as formulas.

A trader's name, a note or an imported value can begin with `=`, `+`, `-` or `@` (or a tab or a
carriage return, which some programs skip before reading one of those): opened in a spreadsheet,
such a cell would run as a formula (`=HYPERLINK(...)`, `=cmd|...`). Text stays text:
- XLSX: every string cell is written with the string type, whatever it begins with;
- CSV: a string that begins with one of those characters gets a leading apostrophe, the
  spreadsheet programs' own mark for "this is text" (shown as the value, without it).
Numbers, dates and booleans are written as they are.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvRows:
    """CSV rows written to text, to be taken out chunk by chunk (`take`)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        self._writer.writerows([csv_text(value) for value in row] for row in rows)

    def take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def xlsx_cells(sheet: WriteOnlyWorksheet, row: Sequence[Any], *, bold: bool = False) -> list[Any]:
    """A row for `sheet.append`: strings as string cells (never formulas), the rest as they are."""
    font = Font(bold=True) if bold else None
    cells: list[Any] = []
    for value in row:
        if isinstance(value, str) or font is not None:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if font is not None:
                cell.font = font
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def csv_unmarked(text: str) -> str:
    """A cell as it was before `csv_text` marked it (an export read back by the importer)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
