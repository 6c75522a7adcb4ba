import unicodedata

import pytest

from service.text import fold, nfc, vi_sort_key


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Bún bò Huế", "bun bo hue"),
        (unicodedata.normalize("NFD", "Bún bò Huế"), "bun bo hue"),
        ("Đặng Văn Đức", "dang van duc"),
        ("ĐƯỜNG LÊ LỢI", "duong le loi"),
        ("Phở Hà Nội", "pho ha noi"),
        ("Cửa hàng Bà Tư – Bún bò Huế, Phở", "cua hang ba tu bun bo hue pho"),
        ("Nguyễn Thị Hoà", "nguyen thi hoa"),
        ("Nguyễn Thị Hòa", "nguyen thi hoa"),
        ("Thuỷ", "thuy"),
        ("Thủy", "thuy"),
        ("Khánh Hoà", "khanh hoa"),
        ("Ưu đãi", "uu dai"),
        ("Ea H’Leo", "ea h leo"),
        ("Ea H'Leo", "ea h leo"),
        ("Ðà Nẵng", "da nang"),
        ("ＰＨỞ　２４", "pho 24"),
        ("Bánh mì 25.000₫", "banh mi 25 000"),
    ],
)
def test_fold_makes_spellings_and_encodings_equal(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_nfc_composes_decomposed_input_and_trims() -> None:
    assert nfc("  " + unicodedata.normalize("NFD", "Huế") + " ") == "Huế"
    assert len(nfc(unicodedata.normalize("NFD", "Huế"))) == 3


def test_vietnamese_sort_order_matches_icu() -> None:
    expected = [
        "Anh",
        "Ăn",
        "Ấn",
        "bao",
        "Bảo",
        "Bạo",
        "Bún bò Huế",
        "Dung",
        "Dương",
        "Đào",
        "Đặng",
        "Hoà",
        "Hòa",
        "Hỏa",
        "Oanh",
        "Ô mai",
        "Ông",
        "Ơi",
        "Uyên",
        "Ưng",
        "Zebra",
    ]
    shuffled = sorted(expected, key=lambda s: s[::-1])
    assert sorted(shuffled, key=vi_sort_key) == expected
    assert sorted(expected) != expected  # plain code-point order puts Ă, Đ, Ơ after Z
