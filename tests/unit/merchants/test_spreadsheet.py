import csv
import io
import unicodedata
from datetime import datetime

import openpyxl
import pytest

from service.merchants import spreadsheet
from service.merchants.spreadsheet import REQUIRED_COLUMNS, SpreadsheetError, read_rows
from service.text import fold

VI_HEADER = ["Tên cơ sở", "Chủ hộ", "Số điện thoại", "Mã xã", "Loại hình", "Ngành hàng", "Ghi chú"]
VI_ROWS = [
    ["Phở Hà Nội", "Nguyễn Văn Đức", "0912345678", "00004", "Hộ kinh doanh", "Ăn uống", ""],
    ["Bún bò Huế Bà Tư", "Trần Thị Hoà", "0843456789", "26740", "Sạp chợ", "Ăn uống", "Sạp số 12"],
]
VI_EXPECTED = [
    {
        "business_name": "Phở Hà Nội",
        "owner_name": "Nguyễn Văn Đức",
        "owner_phone": "0912345678",
        "commune_code": "00004",
        "kind": "household_business",
        "category": "food_drink",
    },
    {
        "business_name": "Bún bò Huế Bà Tư",
        "owner_name": "Trần Thị Hoà",
        "owner_phone": "0843456789",
        "commune_code": "26740",
        "kind": "market_stall",
        "category": "food_drink",
        "notes": "Sạp số 12",
    },
]
TONES = "\u0300\u0301\u0303\u0309\u0323"


def _csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _cp1258(text: str, *, all_tones_combining: bool = False) -> bytes:
    """Encode as real Windows-1258 files are: â ê ô ă ơ ư đ precomposed, tones as marks."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if not all_tones_combining:
            try:
                out.append(ch.encode("cp1258"))
                continue
            except UnicodeEncodeError:
                pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out.append((base + "".join(c for c in parts if c in TONES)).encode("cp1258"))
    return b"".join(out)


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _error(data: bytes, filename: str = "list.csv", **kwargs) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        read_rows(data, filename=filename, **kwargs)
    return caught.value


# --- Encodings and delimiters ----------------------------------------------------------------


def test_utf8_csv_with_vietnamese_headers_maps_to_canonical_fields():
    sheet = read_rows(_csv_text([VI_HEADER, *VI_ROWS]).encode(), filename="ds.csv")
    assert sheet.rows == VI_EXPECTED
    assert sheet.row_numbers == [2, 3]
    assert sheet.header_row == 1
    assert sheet.columns == {
        "business_name": "Tên cơ sở",
        "owner_name": "Chủ hộ",
        "owner_phone": "Số điện thoại",
        "commune_code": "Mã xã",
        "kind": "Loại hình",
        "category": "Ngành hàng",
        "notes": "Ghi chú",
    }
    assert sheet.unknown_columns == []
    assert list(sheet.numbered()) == [(2, VI_EXPECTED[0]), (3, VI_EXPECTED[1])]


def test_utf8_bom_does_not_leak_into_the_first_header():
    sheet = read_rows(_csv_text([VI_HEADER, *VI_ROWS]).encode("utf-8-sig"), filename="ds.csv")
    assert sheet.columns["business_name"] == "Tên cơ sở"
    assert sheet.rows == VI_EXPECTED


@pytest.mark.parametrize("all_tones_combining", [False, True])
def test_windows_1258_csv_is_decoded_and_normalized_to_nfc(all_tones_combining):
    data = _cp1258(_csv_text([VI_HEADER, *VI_ROWS], ";"), all_tones_combining=all_tones_combining)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    sheet = read_rows(data, filename="ds.csv")
    assert sheet.rows == VI_EXPECTED
    assert all(unicodedata.is_normalized("NFC", v) for row in sheet.rows for v in row.values())


def test_utf16_tab_separated_export_is_read():
    # Excel's "Unicode Text (*.txt)".
    sheet = read_rows(_csv_text([VI_HEADER, *VI_ROWS], "\t").encode("utf-16"), filename="ds.txt")
    assert sheet.rows == VI_EXPECTED


@pytest.mark.parametrize(
    "data",
    [
        "Name,City,Phone\nMüller,Köln,0912345678\nJosé,São Paulo,0987654321\n".encode("latin-1"),
        "店舗名,電話番号\nテスト商店,0912345678\n".encode("shift_jis"),
        # UTF-8 cut in the middle of "ữ": mojibake if read as Windows-1258.
        "Tên cơ sở,Chủ hộ\nPhở Hà Nội,Nguyễn Văn Đức\n".encode() + "ữ".encode()[:2],
        bytes(range(256)) * 4,
    ],
    ids=["latin-1", "shift-jis", "broken-utf-8", "binary"],
)
def test_files_in_other_encodings_are_refused(data):
    assert _error(data).code == "encoding"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_detected(delimiter):
    sheet = read_rows(_csv_text([VI_HEADER, *VI_ROWS], delimiter).encode(), filename="ds.csv")
    assert sheet.rows == VI_EXPECTED


def test_semicolon_file_with_commas_inside_names_is_split_on_semicolons():
    text = "Tên cơ sở;Chủ hộ;SĐT;Mã xã\nTạp hoá Minh, Lan;Lê Văn Minh, Jr;0912345678;00004\n"
    sheet = read_rows(text.encode(), filename="ds.csv")
    assert sheet.rows[0]["business_name"] == "Tạp hoá Minh, Lan"
    assert sheet.rows[0]["owner_name"] == "Lê Văn Minh, Jr"


def test_delimiter_is_detected_below_a_title_row():
    text = (
        "DANH SÁCH\n"
        "Tên cơ sở;Chủ hộ;SĐT;Mã xã\n"
        "Phở, bún;An;0912345678;00004\n"
        "Cơm;Bình, Chi;0987654321;00004\n"
    )
    sheet = read_rows(text.encode(), filename="ds.csv")
    assert sheet.header_row == 2
    assert [r["business_name"] for r in sheet.rows] == ["Phở, bún", "Cơm"]


def test_row_numbers_count_records_when_a_quoted_cell_spans_lines():
    text = _csv_text(
        [
            ["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã", "Ghi chú"],
            ["Phở", "An", "0912345678", "00004", "dòng 1\ndòng 2"],
            ["Bún", "Bình", "0987654321", "00004", ""],
        ]
    )
    sheet = read_rows(text.encode(), filename="ds.csv")
    assert sheet.row_numbers == [2, 3]
    assert sheet.rows[0]["notes"] == "dòng 1\ndòng 2"


# --- XLSX ------------------------------------------------------------------------------------


def test_xlsx_number_cells_get_their_leading_zeros_back():
    data = _xlsx(
        [
            ["Tên cơ sở", "Chủ hộ", "SĐT", "Số CCCD", "Mã số thuế", "Mã xã", "Quầy", "Vĩ độ", "Kinh độ"],
            ["Phở", "An", 912345678, 1085012345, 101234565, 4, 12, 21.0285, 105.8542],
            ["Bún", "Bình", 912345678.0, 79185123456, 101234565001, 26740, "A-3", 10.77, 106.7],
            ["Cơm", "Chi", 84912345678, 79185123456.0, 7900000012, 26740, None, None, None],
            ["Xôi", "Dũng", "0843456789", "001085012345", 79185123456, "00004", None, None, None],
        ]
    )
    rows = read_rows(data, filename="ds.xlsx").rows
    assert [r["owner_phone"] for r in rows] == ["0912345678", "0912345678", "84912345678", "0843456789"]
    assert [r["owner_id_number"] for r in rows] == [
        "001085012345",
        "079185123456",
        "079185123456",
        "001085012345",
    ]
    # 9 digits: a 10-digit MST; 12: a 13-digit branch code; 11: a personal ID; 10 stays as is.
    assert [r["tax_code"] for r in rows] == ["0101234565", "0101234565001", "7900000012", "079185123456"]
    assert [r["commune_code"] for r in rows] == ["00004", "26740", "26740", "00004"]
    assert rows[0]["stall"] == "12"
    assert (rows[0]["lat"], rows[0]["lon"]) == ("21.0285", "105.8542")


def test_xlsx_ambiguous_ten_digit_tax_code_is_left_for_validation():
    # 1085012345 could be MST-shaped or personal ID 001085012345 with two zeros lost.
    data = _xlsx(
        [["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã", "MST"], ["Phở", "An", "0912345678", "00004", 1085012345]]
    )
    assert read_rows(data, filename="ds.xlsx").rows[0]["tax_code"] == "1085012345"


def test_xlsx_title_rows_above_the_header_and_blank_rows_keep_spreadsheet_row_numbers():
    data = _xlsx(
        [
            ["DANH SÁCH HỘ KINH DOANH XÃ BA CHẼ"],
            ["(kèm theo Kế hoạch số 12/KH-UBND)"],
            [],
            ["STT", "Tên hộ kinh doanh", "Họ tên chủ hộ", "SĐT", "Mã phường xã", "Ngày đăng ký"],
            [1, "Tạp hoá Lan", "Lê Thị Lan", 912345678, "06970", datetime(2026, 3, 1)],
            [],
            [2, None, None, None, None, None],  # pre-numbered template row, nothing filled
            [3, "Hàng rong Tư", "Phạm Văn Tư", "0987 654 321", "06970", None],
        ]
    )
    sheet = read_rows(data, filename="ds.xlsx")
    assert sheet.header_row == 4
    assert sheet.row_numbers == [5, 8]
    assert sheet.unknown_columns == ["STT", "Ngày đăng ký"]
    assert sheet.rows[0] == {
        "business_name": "Tạp hoá Lan",
        "owner_name": "Lê Thị Lan",
        "owner_phone": "0912345678",
        "commune_code": "06970",
    }


def test_xlsx_filename_does_not_matter_when_the_content_is_a_workbook():
    data = _xlsx([VI_HEADER, *VI_ROWS])
    assert read_rows(data, filename="export.csv").rows == VI_EXPECTED


def test_legacy_xls_and_ods_are_refused_as_unsupported():
    assert _error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "ds.xls").code == "unsupported_format"
    assert _error(b"PK\x03\x04whatever", "ds.ods").code == "unsupported_format"


@pytest.mark.parametrize(
    ("data", "filename"),
    [(b"PK\x03\x04 not really a zip", "ds.xlsx"), (b"Ten co so,Chu ho\n", "ds.xlsx")],
)
def test_corrupt_workbook_is_unreadable(data, filename):
    assert _error(data, filename).code == "unreadable"


# --- Headers ---------------------------------------------------------------------------------


def test_english_headers_and_canonical_names_are_accepted():
    text = _csv_text(
        [
            [
                "Business name",
                "Owner name",
                "Phone",
                "commune_code",
                "Kind",
                "Category",
                "Tax code",
                "Lat",
                "Lon",
            ],
            [
                "Pho 24",
                "An Nguyen",
                "0912345678",
                "00004",
                "street_vendor",
                "Food",
                "0101234565",
                "21.03",
                "105.85",
            ],
        ]
    )
    sheet = read_rows(text.encode(), filename="ds.csv")
    assert sheet.rows[0]["kind"] == "street_vendor"
    assert sheet.rows[0]["category"] == "food_drink"
    assert sheet.rows[0]["tax_code"] == "0101234565"
    assert set(sheet.columns) >= {"lat", "lon", "tax_code", "business_name", "owner_name"}


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Tên hộ kinh doanh", "business_name"),
        ("TÊN CỬA HÀNG", "business_name"),
        ("Loại hình", "kind"),
        ("Ngành hàng", "category"),
        ("Họ tên chủ hộ", "owner_name"),
        ("Người đại diện", "owner_name"),
        ("SĐT", "owner_phone"),
        ("Điện thoại", "owner_phone"),
        ("Số điện thoại (*)", "owner_phone"),
        ("CCCD", "owner_id_number"),
        ("Số định danh", "owner_id_number"),
        ("Số CCCD/CMND", "owner_id_number"),
        ("MST", "tax_code"),
        ("Mã số thuế", "tax_code"),
        ("Mã phường xã", "commune_code"),
        ("Mã xã (5 số)", "commune_code"),
        ("Thôn", "village"),
        ("Tổ dân phố", "village"),
        ("Thôn/Tổ", "village"),
        ("Chợ", "market"),
        ("Sạp", "stall"),
        ("Ki ốt", "stall"),
        ("Ki-ốt", "stall"),
        ("Vĩ độ", "lat"),
        ("Kinh độ", "lon"),
        ("Ghi chú", "notes"),
        ("Đồng ý", "consent_purposes"),
        ("Mục đích đồng ý", "consent_purposes"),
        (unicodedata.normalize("NFD", "  Họ  tên chủ hộ "), "owner_name"),
        ("Ðiện thoại", "owner_phone"),  # ETH instead of Đ, as in mojibake-repaired files
    ],
)
def test_header_synonyms_are_matched_without_accents_case_or_spacing(header, field):
    text = _csv_text([["Tên cơ sở", "Chủ hộ", header], ["Phở", "An", "x"]])
    if field in ("business_name", "owner_name"):
        text = _csv_text([[header, "SĐT"], ["x", "0912345678"]])
    sheet = read_rows(text.encode(), filename="ds.csv", required=())
    assert field in sheet.columns
    assert sheet.rows[0][field] == "x"


def test_missing_required_columns_are_listed_in_canonical_order():
    text = _csv_text([["Tên cơ sở", "Ghi chú", "Loại hình"], ["Phở", "", "Bán rong"]])
    error = _error(text.encode())
    assert error.code == "missing_columns"
    assert error.columns == ["owner_name", "owner_phone", "commune_code"]


def test_required_columns_can_be_relaxed_when_the_importer_supplies_them():
    text = _csv_text([["Tên cơ sở", "Chủ hộ", "SĐT"], ["Phở", "An", "0912345678"]])
    sheet = read_rows(text.encode(), filename="ds.csv", required=REQUIRED_COLUMNS - {"commune_code"})
    assert sheet.rows == [{"business_name": "Phở", "owner_name": "An", "owner_phone": "0912345678"}]


def test_kind_is_not_a_required_column_by_default():
    text = _csv_text([["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã"], ["Phở", "An", "0912345678", "00004"]])
    assert "kind" not in read_rows(text.encode(), filename="ds.csv").rows[0]


def test_two_columns_for_one_field_are_refused():
    text = _csv_text([["Tên cơ sở", "Chủ hộ", "SĐT", "Điện thoại", "Mã xã"], ["Phở", "An", "1", "2", "3"]])
    error = _error(text.encode())
    assert error.code == "duplicate_columns"
    assert error.columns == ["SĐT", "Điện thoại"]


def test_unknown_columns_are_reported_and_their_cells_dropped():
    text = _csv_text([[*VI_HEADER, "Zalo", "STT"], [*VI_ROWS[0], "0912345678", "1"]])
    sheet = read_rows(text.encode(), filename="ds.csv")
    assert sheet.unknown_columns == ["Zalo", "STT"]
    assert sheet.rows == VI_EXPECTED[:1]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n ,, \n"])
def test_empty_file_is_refused(data):
    assert _error(data).code == "empty"


# --- Values ----------------------------------------------------------------------------------


def test_values_are_trimmed_nfc_with_messy_whitespace_collapsed():
    name = unicodedata.normalize("NFD", "  Nguyễn\u00a0 Thị\n Hoà ")
    text = _csv_text(
        [
            ["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã", "Ghi chú", "Thôn"],
            [
                unicodedata.normalize("NFD", "Bún bò  Huế"),
                name,
                " 0912 345 678 ",
                "00004",
                " gần chợ\nsáng ",
                "  ",
            ],
        ]
    )
    row = read_rows(text.encode(), filename="ds.csv").rows[0]
    assert row["owner_name"] == "Nguyễn Thị Hoà"
    assert row["business_name"] == "Bún bò Huế"
    assert row["owner_phone"] == "0912 345 678"  # identifiers are normalized by the importer
    assert row["notes"] == "gần chợ\nsáng"  # line breaks kept in notes only
    assert "village" not in row  # empty cells are left out


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("Hộ kinh doanh", "household_business"),
        ("HỘ KINH DOANH CÁ THỂ", "household_business"),
        ("Sạp chợ", "market_stall"),
        ("Tiểu thương chợ", "market_stall"),
        ("Bán rong", "street_vendor"),
        ("Hợp tác xã", "cooperative"),
        ("HTX", "cooperative"),
        ("Doanh nghiệp siêu nhỏ", "micro_enterprise"),
        ("micro_enterprise", "micro_enterprise"),
        ("Cửa hàng tiện lợi", "Cửa hàng tiện lợi"),  # unknown: kept for the importer to report
    ],
)
def test_kind_values_in_vietnamese_map_to_codes(kind, code):
    text = _csv_text(
        [["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã", "Loại hình"], ["Phở", "An", "1", "00004", kind]]
    )
    assert read_rows(text.encode(), filename="ds.csv").rows[0]["kind"] == code


@pytest.mark.parametrize(
    ("category", "code"),
    [
        ("Ăn uống", "food_drink"),
        ("Tạp hoá", "groceries"),
        ("Tạp hóa", "groceries"),
        ("Thực phẩm tươi sống", "fresh_produce"),
        ("Quần áo", "clothing_textiles"),
        ("Đồ gia dụng", "household_goods"),
        ("Dịch vụ", "services"),
        ("Sản phẩm OCOP", "crafts_ocop"),
        ("Khác", "other"),
    ],
)
def test_category_values_in_vietnamese_map_to_codes(category, code):
    text = _csv_text(
        [["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã", "Ngành hàng"], ["Phở", "An", "1", "00004", category]]
    )
    assert read_rows(text.encode(), filename="ds.csv").rows[0]["category"] == code


@pytest.mark.parametrize(
    ("consent", "purposes"),
    [
        ("Liên hệ; Thống kê", "contact,statistics"),
        ("Gian hàng, liên hệ và thống kê", "storefront,contact,statistics"),
        ("storefront,contact", "storefront,contact"),
        ("Thống kê / thống kê", "statistics"),
        ("Liên hệ, quảng cáo", "contact,quảng cáo"),  # unknown purpose kept so it is reported
        ("Có", "Có"),  # a bare yes names no purpose
    ],
)
def test_consent_purposes_map_vietnamese_words_and_keep_unknown_ones(consent, purposes):
    text = _csv_text(
        [["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã", "Đồng ý"], ["Phở", "An", "1", "00004", consent]]
    )
    assert read_rows(text.encode(), filename="ds.csv").rows[0]["consent_purposes"] == purposes


def test_coordinates_with_a_decimal_comma_use_a_point():
    text = "Tên cơ sở;Chủ hộ;SĐT;Mã xã;Vĩ độ;Kinh độ\nPhở;An;0912345678;00004;21,0285;105,8542\n"
    row = read_rows(text.encode(), filename="ds.csv").rows[0]
    assert (row["lat"], row["lon"]) == ("21.0285", "105.8542")


def test_short_commune_codes_are_zero_padded_in_csv_too():
    text = _csv_text([["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã"], ["Phở", "An", "0912345678", "4"]])
    assert read_rows(text.encode(), filename="ds.csv").rows[0]["commune_code"] == "00004"


# --- Limits ----------------------------------------------------------------------------------


def test_files_over_the_size_limit_are_refused():
    error = _error(b"x" * (spreadsheet.MAX_BYTES + 1))
    assert (error.code, error.limit) == ("too_large", spreadsheet.MAX_BYTES)


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 2)
    rows = [["Phở", "An", "0912345678", "00004"]] * 3
    error = _error(_csv_text([["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã"], *rows]).encode())
    assert (error.code, error.limit) == ("too_many_rows", 2)
    assert (
        len(
            read_rows(
                _csv_text([["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã"], *rows[:2]]).encode(), filename="a.csv"
            ).rows
        )
        == 2
    )


def test_too_many_rows_in_a_workbook_are_refused(monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 2)
    data = _xlsx([["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã"], *[["Phở", "An", 912345678, "00004"]] * 3])
    assert _error(data, "ds.xlsx").code == "too_many_rows"


@pytest.mark.parametrize(
    "table",
    [
        spreadsheet._HEADERS,
        spreadsheet._KIND_VALUES,
        spreadsheet._CATEGORY_VALUES,
        spreadsheet._CONSENT_VALUES,
    ],
)
def test_synonym_tables_are_written_as_folded_keys_without_clashes(table):
    words = [word for synonyms in table.values() for word in synonyms]
    assert all(fold(word) == word for word in words)
    assert len(set(words)) == len(words)
    assert not set(words) & {fold(code) for code in table}
