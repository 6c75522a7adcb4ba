"""Reading the merchant lists communes already keep (CSV or XLSX) for bulk import.

This module only turns a file into rows of trimmed NFC strings under canonical field names;
validating each row (phones, codes, consent) is the importer's job, which cites
`SheetRows.row_numbers` in its errors. Problems with the file itself raise
`SpreadsheetError` with a machine code for the web layer to localize.

An XLSX is a zip of XML parts, and a small file can claim a million rows or expand to gigabytes.
Before openpyxl parses anything, every part's uncompressed size and compression ratio are checked
against `service.limits` (zipfile never yields more than a part's declared size, so the check
holds), and the sheet's declared extent against the row limit; while reading, the row numbers are
counted too (a sheet may understate its extent), and empty rows cost next to nothing. openpyxl
parses with defusedxml (a dependency), which refuses entity expansion.

CPU work: callers off the event loop run `read_rows` with `service.offload` (kind "sheets").
"""

import codecs
import contextlib
import csv
import functools
import io
import itertools
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time

import msgspec
import openpyxl

from service import limits
from service.sheets import csv_unmarked
from service.text import fold, nfc

MAX_BYTES = limits.SHEET_MAX_BYTES
MAX_UNCOMPRESSED = limits.XLSX_MAX_UNCOMPRESSED
MAX_ROWS = limits.SHEET_MAX_ROWS
MAX_ROW_NUMBER = limits.SHEET_MAX_ROW_NUMBER
MAX_COLUMNS = limits.SHEET_MAX_COLUMNS
_HEADER_SEARCH = 10  # title rows above the header are common; look this far for it

FIELDS = (
    "kind",
    "business_name",
    "category",
    "owner_name",
    "owner_phone",
    "owner_id_number",
    "tax_code",
    "commune_code",
    "village",
    "market",
    "stall",
    "lat",
    "lon",
    "notes",
    "consent_purposes",
)
# kind and commune_code are often the same for a whole file (one market, one commune); an
# importer that asks for them once per file passes a smaller `required`.
REQUIRED_COLUMNS = frozenset({"business_name", "owner_name", "owner_phone", "commune_code"})

KINDS = ("street_vendor", "market_stall", "household_business", "micro_enterprise", "cooperative")
CATEGORIES = (
    "food_drink",
    "fresh_produce",
    "groceries",
    "clothing_textiles",
    "household_goods",
    "services",
    "crafts_ocop",
    "other",
)
CONSENT_PURPOSES = ("storefront", "contact", "statistics")

# Synonyms are written as fold() keys: lower case, no diacritics, punctuation as spaces.
# The canonical code itself always matches too ("market_stall" folds to "market stall").
_HEADERS = {
    "kind": ["loai hinh", "loai hinh kinh doanh", "loai hinh co so", "type", "business type"],
    "business_name": [
        "ten co so",
        "ten co so kinh doanh",
        "ten ho kinh doanh",
        "ten hkd",
        "ten cua hang",
        "ten doanh nghiep",
        "ten quay",
        "ten sap",
        "shop name",
        "store name",
    ],
    "category": ["nganh hang", "nganh nghe", "nganh nghe kinh doanh", "mat hang", "mat hang kinh doanh"],
    "owner_name": [
        "chu ho",
        "ten chu ho",
        "ho ten chu ho",
        "ho va ten chu ho",
        "chu co so",
        "ho ten",
        "ho va ten",
        "nguoi dai dien",
        "owner",
        "full name",
    ],
    "owner_phone": [
        "so dien thoai",
        "so dien thoai chu ho",
        "dien thoai",
        "dien thoai lien he",
        "dien thoai di dong",
        "so di dong",
        "sdt",
        "so dt",
        "dt",
        "phone",
        "phone number",
        "mobile",
    ],
    "owner_id_number": [
        "so cccd",
        "cccd",
        "so cccd cmnd",
        "cccd cmnd",
        "so dinh danh",
        "so dinh danh ca nhan",
        "can cuoc",
        "so can cuoc",
        "can cuoc cong dan",
        "id number",
        "national id",
    ],
    "tax_code": ["ma so thue", "mst", "tax id"],
    "commune_code": ["ma xa", "ma phuong xa", "ma xa phuong", "ma don vi hanh chinh", "ma dvhc"],
    "village": ["thon", "to dan pho", "thon to", "thon to dan pho", "thon ban", "ap", "ban", "khu pho"],
    "market": ["cho", "ten cho"],
    "stall": ["quay", "sap", "ki ot", "kiot", "ky ot", "so quay", "so sap", "so ki ot"],
    "lat": ["vi do", "latitude"],
    "lon": ["kinh do", "longitude", "lng", "long"],
    "notes": ["ghi chu", "note", "remarks"],
    "consent_purposes": ["dong y", "muc dich dong y", "consent"],
}
_KIND_VALUES = {
    "street_vendor": ["ban rong", "ban hang rong", "hang rong", "nguoi ban rong", "ganh hang rong", "vendor"],
    "market_stall": ["sap cho", "quay cho", "ki ot cho", "kiot cho", "tieu thuong", "tieu thuong cho"],
    "household_business": ["ho kinh doanh", "ho kinh doanh ca the", "ho ca the", "hkd", "household"],
    "micro_enterprise": ["doanh nghiep sieu nho", "doanh nghiep", "dn sieu nho"],
    "cooperative": ["hop tac xa", "htx", "to hop tac", "co op"],
}
_CATEGORY_VALUES = {
    "food_drink": ["an uong", "do an", "do uong", "do an uong", "quan an", "giai khat", "ca phe", "food"],
    "fresh_produce": [
        "thuc pham tuoi song",
        "nong san tuoi song",
        "nong san",
        "tuoi song",
        "rau cu",
        "rau qua",
        "trai cay",
        "hoa qua",
    ],
    "groceries": ["tap hoa", "hang tap hoa", "bach hoa", "grocery"],
    "clothing_textiles": [
        "quan ao",
        "quan ao va vai voc",
        "may mac",
        "thoi trang",
        "vai",
        "det may",
        "clothing",
    ],
    "household_goods": ["do gia dung", "gia dung", "hang gia dung"],
    "services": ["dich vu", "sua chua", "service"],
    "crafts_ocop": [
        "thu cong",
        "thu cong my nghe",
        "thu cong my nghe va ocop",
        "ocop",
        "san pham ocop",
        "lang nghe",
        "crafts",
    ],
    "other": ["khac"],
}
# A bare "yes" ("Có", "x") is deliberately not mapped: consent is given per purpose.
_CONSENT_VALUES = {
    "storefront": ["gian hang", "cua hang", "trang ban hang", "ban hang truc tuyen", "cong khai"],
    "contact": ["lien he", "lien lac", "goi dien"],
    "statistics": ["thong ke", "stats"],
}


class SpreadsheetError(ValueError):
    """A file that cannot be imported as a whole.

    `code` is one of: too_large (the file's bytes), too_many_rows (rows with data), too_far (the
    sheet's last row number, declared or reached), part_too_large (an XLSX part's uncompressed
    size; `part` names it), unpacked_too_large (all parts together), overpacked (a part's
    compression ratio), unsupported_format (legacy .xls, .ods), unreadable (corrupt file), encoding
    (neither UTF-8 nor Vietnamese Windows-1258), empty, missing_columns, duplicate_columns.
    `columns` lists the canonical fields that are missing, or the original headers that collide;
    `limit` is the limit that was exceeded and `value` what the file had.
    """

    def __init__(
        self,
        code: str,
        *,
        columns: list[str] | None = None,
        limit: int | None = None,
        value: int | None = None,
        part: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {', '.join(columns)}" if columns else code)
        self.code = code
        self.columns = columns or []
        self.limit = limit
        self.value = value
        self.part = part


class SheetRows(msgspec.Struct, kw_only=True):
    columns: dict[str, str]  # canonical field -> header as written in the file
    unknown_columns: list[str]
    rows: list[dict[str, str]]  # empty cells are left out: "tax_code" in row means it was given
    row_numbers: list[int]  # the spreadsheet row of each entry in rows (1-based, as Excel shows)
    header_row: int

    def numbered(self) -> Iterator[tuple[int, dict[str, str]]]:
        return zip(self.row_numbers, self.rows, strict=True)


def read_rows(data: bytes, *, filename: str, required: Iterable[str] = REQUIRED_COLUMNS) -> SheetRows:
    """Rows of a CSV (UTF-8, UTF-16 or Windows-1258; `,` `;` or tab) or the first XLSX sheet."""
    if len(data) > MAX_BYTES:
        raise SpreadsheetError("too_large", limit=MAX_BYTES, value=len(data))
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if data.startswith(b"\xd0\xcf\x11\xe0") or extension in ("xls", "ods", "numbers"):
        raise SpreadsheetError("unsupported_format")
    if data.startswith(b"PK\x03\x04"):
        source = _xlsx_rows(data)
    elif extension in ("xlsx", "xlsm"):
        raise SpreadsheetError("unreadable")
    else:
        source = _csv_rows(_decode(data))
    with contextlib.closing(source):  # closes the workbook when mapping stops early
        return _collect(source, set(required))


# --- Reading ---------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]  # Excel's "Unicode Text" export (tab-separated)
    else:
        encodings = ["utf-8", "cp1258"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "cp1258":
            return text
        # Windows-1258 writes most tones as combining marks after the vowel.
        text = unicodedata.normalize("NFC", text)
        if _looks_vietnamese(text):
            return text
    raise SpreadsheetError("encoding")


_VI_LETTERS = set(
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
_VI_PUNCTUATION = set("₫–—‘’“”…•°·×\u00a0")


def _looks_vietnamese(text: str) -> bool:
    """Whether text decoded as Windows-1258 reads as Vietnamese rather than as mojibake.

    Other 8-bit files (Latin-1, Shift-JIS, TCVN3/VNI, broken UTF-8) also decode under
    cp1258, but produce letters Vietnamese does not use (ü, ß, ¡, », uncomposed marks).
    """
    others = Counter(c for c in text if ord(c) > 0x7F)
    vietnamese_only = sum(n for c, n in others.items() if c in _VI_LETTERS and ord(c) > 0xFF)
    foreign = sum(n for c, n in others.items() if c not in _VI_LETTERS and c not in _VI_PUNCTUATION)
    return vietnamese_only > 0 and foreign * 50 <= others.total()


def _csv_rows(text: str) -> Iterator[tuple[int, list[object]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        # One record is one spreadsheet row, even when a quoted cell spans lines.
        for number, cells in enumerate(reader, start=1):
            if number > MAX_ROW_NUMBER:
                raise SpreadsheetError("too_far", limit=MAX_ROW_NUMBER, value=number)
            yield number, list(cells[:MAX_COLUMNS])
    except csv.Error as exc:
        raise SpreadsheetError("unreadable") from exc


def _sniff_delimiter(text: str) -> str:
    """The candidate that splits the first rows into the most consistent number (>1) of cells.

    Excel saves `;` under Vietnamese regional settings (the decimal separator is `,`).
    Not csv.Sniffer: it gives up when a title row sits above the header.
    """
    sample = text[:65536]
    best, best_key = ",", (0.0, 0)
    for delimiter in (",", ";", "\t"):
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            counts = [len(r) for r in itertools.islice(reader, 50) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not counts:
            continue
        width, seen = Counter(counts).most_common(1)[0]
        key = (seen / len(counts), width)
        if width > 1 and key > best_key:
            best, best_key = delimiter, key
    return best


def _part_limit(name: str) -> int:
    if name.startswith("xl/worksheets/"):
        return limits.XLSX_MAX_SHEET_BYTES
    if name == "xl/sharedStrings.xml":
        return limits.XLSX_MAX_STRINGS_BYTES
    return limits.XLSX_MAX_OTHER_PART_BYTES


def check_xlsx_parts(archive: zipfile.ZipFile) -> None:
    """Refuse an XLSX whose parts would expand beyond what a list of traders needs, before parsing."""
    total = 0
    for info in archive.infolist():
        size = info.file_size
        total += size
        if size > (limit := _part_limit(info.filename)):
            raise SpreadsheetError("part_too_large", limit=limit, value=size, part=info.filename)
        ratio = size // max(info.compress_size, 1)
        if size > limits.XLSX_RATIO_FROM_BYTES and ratio > limits.XLSX_MAX_RATIO:
            raise SpreadsheetError("overpacked", limit=limits.XLSX_MAX_RATIO, value=ratio, part=info.filename)
    if total > MAX_UNCOMPRESSED:
        raise SpreadsheetError("unpacked_too_large", limit=MAX_UNCOMPRESSED, value=total)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_xlsx_parts(archive)
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except SpreadsheetError:
        raise
    except Exception as exc:  # openpyxl raises many types for a corrupt upload
        raise SpreadsheetError("unreadable") from exc
    try:
        sheet = workbook.worksheets[0]
        declared = sheet.max_row  # from the sheet's <dimension ref="A1:O200001">, when written
        if declared is not None and declared > MAX_ROW_NUMBER:
            raise SpreadsheetError("too_far", limit=MAX_ROW_NUMBER, value=declared)
        sheet.reset_dimensions()  # some writers record a wrong used range; read every row
        # read_only fills gaps with empty rows, so the position is the spreadsheet row; a gap's
        # rows are one shared tuple of None, skipped here at once.
        blank: tuple | None = None
        for number, cells in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), 1):
            if number > MAX_ROW_NUMBER:
                raise SpreadsheetError("too_far", limit=MAX_ROW_NUMBER, value=number)
            if cells is blank:
                continue
            if cells.count(None) == len(cells):
                blank = cells
                continue
            yield number, list(cells)
    except SpreadsheetError:
        raise
    except Exception as exc:
        raise SpreadsheetError("unreadable") from exc
    finally:
        workbook.close()


# --- Mapping ---------------------------------------------------------------------------------

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


@functools.lru_cache(maxsize=4096)  # kind, category and consent cells repeat down a column
def _key(text: str) -> str:
    # "Số điện thoại (bắt buộc)", "SĐT*" and "so dien thoai" are the same header.
    return fold(_BRACKETS.sub(" ", text))


def _lookup(synonyms: dict[str, list[str]]) -> dict[str, str]:
    table = {fold(code): code for code in synonyms}
    table.update({word: code for code, words in synonyms.items() for word in words})
    return table


_HEADER_KEYS = _lookup(_HEADERS)
_KIND_KEYS = _lookup(_KIND_VALUES)
_CATEGORY_KEYS = _lookup(_CATEGORY_VALUES)
_CONSENT_KEYS = _lookup(_CONSENT_VALUES)


def _collect(source: Iterator[tuple[int, list[object]]], required: set[str]) -> SheetRows:
    filled = ((n, cells) for n, cells in source if any(_cell_text("", c) for c in cells))
    head = list(itertools.islice(filled, _HEADER_SEARCH))
    if not head:
        raise SpreadsheetError("empty")
    found = (i for i, (_, cells) in enumerate(head) if _known_headers(cells) >= 2)
    at = next(found, 0)
    header_row, header_cells = head[at]
    fields, columns, unknown = _map_header(header_cells)
    missing = [field for field in FIELDS if field in required and field not in columns]
    if missing:
        raise SpreadsheetError("missing_columns", columns=missing)

    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    for number, cells in itertools.chain(head[at + 1 :], filled):
        values = {}
        for index, field in fields.items():
            text = _value(field, cells[index]) if index < len(cells) else ""
            if text:
                values[field] = text
        if not values:  # e.g. a pre-numbered template row with only "STT" filled
            continue
        if len(rows) == MAX_ROWS:
            raise SpreadsheetError("too_many_rows", limit=MAX_ROWS)
        rows.append(values)
        numbers.append(number)
    return SheetRows(
        columns=columns, unknown_columns=unknown, rows=rows, row_numbers=numbers, header_row=header_row
    )


def _known_headers(cells: list[object]) -> int:
    return sum(_key(_cell_text("", c)) in _HEADER_KEYS for c in cells)


def _map_header(cells: list[object]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    fields: dict[int, str] = {}
    columns: dict[str, str] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        header = " ".join(_cell_text("", cell).split())
        if not header:
            continue  # a blank header carries no meaning to map
        field = _HEADER_KEYS.get(_key(header))
        if field is None:
            unknown.append(header)
        elif field in columns:
            # Two columns for one field ("SĐT" and "Điện thoại"): refuse rather than guess.
            raise SpreadsheetError("duplicate_columns", columns=[columns[field], header])
        else:
            fields[index] = field
            columns[field] = header
    return fields, columns, unknown


def _cell_text(field: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return _restore_zeros(field, str(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return nfc(csv_unmarked(str(value)))


def _restore_zeros(field: str, digits: str) -> str:
    """Put back the leading zeros a number cell dropped, where only one reading is possible.

    Phones: 9 digits are a mobile without its trunk 0. Personal ID numbers are 12 digits and
    start with 0 (province codes run 001–096), so 10 or 11 digits are zero-padded to 12. Tax
    codes: 9 → 10-digit MST, 11 → personal ID, 12 → 13-digit branch code (a personal ID
    never has 12 digits as a number); 10 digits stay as they are, since a valid MST and a
    personal ID from provinces 001–009 both look like that. Commune codes: always 5 digits.
    """
    if field == "owner_phone" and len(digits) == 9:
        return "0" + digits
    if field == "owner_id_number" and len(digits) in (10, 11):
        return digits.zfill(12)
    if field == "tax_code" and len(digits) in (9, 11, 12):
        return "0" + digits
    return digits


_SPLIT_PURPOSES = re.compile(r"[,;/+\n]|\s+(?:và|and|&)\s+", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"-?[0-9]+,[0-9]+")


def _value(field: str, cell: object) -> str:
    text = _cell_text(field, cell)
    if field != "notes":
        text = " ".join(text.split())  # messy spacing, Alt+Enter line breaks inside names
    if not text:
        return ""
    if field == "kind":
        return _KIND_KEYS.get(_key(text), text)
    if field == "category":
        return _CATEGORY_KEYS.get(_key(text), text)
    if field == "consent_purposes":
        # Unknown words are kept, so the importer reports them instead of dropping a purpose.
        parts = (part.strip() for part in _SPLIT_PURPOSES.split(text))
        purposes = (_CONSENT_KEYS.get(_key(part), part) for part in parts if part)
        return ",".join(dict.fromkeys(purposes))
    if field in ("lat", "lon") and _DECIMAL_COMMA.fullmatch(text):
        return text.replace(",", ".")  # typed under Vietnamese regional settings
    if field == "commune_code" and text.isascii() and text.isdigit() and len(text) < 5:
        return text.zfill(5)
    return text
