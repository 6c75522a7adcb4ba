"""Pure parts of the bulk import: name matching in bulk, village names, the upload store, messages."""

import os
import time
import uuid

import pytest

from service.merchants.imports import NameIndex, UploadStore, file_error, village_key
from service.merchants.search import similar_names
from service.merchants.spreadsheet import SpreadsheetError
from service.text import fold

NAMES = [
    "Bún bò Huế Mệ Kéo",
    "Bánh canh Nam Phổ Cô Hoa",
    "Tạp hóa Chi Lăng",
    "Cà phê muối Đông Ba",
    "Nón lá Sình",
    "Phở",
]


def _index(names: list[str]) -> NameIndex:
    index = NameIndex()
    for i, name in enumerate(names):
        index.add(fold(name), i)
    return index


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Bun bo Hue Me Keo.", 0),  # accents and punctuation: folded away
        ("Bún bò Huế Mệ Kẹo", 0),  # one letter at the end
        ("Bún bò Huế Mẹ Kéo", 0),
        ("Bún bò Huê Mê Keo", 0),
        ("Bủn bò Huế Mệ Kéo", 0),
        ("Bún bò Huế Mệ Kéoo", 0),  # one letter added
        ("Bn bò Huế Mệ Kéo", 0),  # one letter dropped
        ("Bún bò Hué Mệ Kao", 0),  # one letter changed
        ("Bún bò Huế Mệ Kéo A", 0),  # "a" more, spaces do not count
        ("Bánh canh Nam Phổ Cô Huệ", None),  # two letters apart: the form would ask, bulk does not
        ("Bánh canh Nam Phổ Cô Hòa", 1),
        ("Bánh canh Nam Pho Co Hoa", 1),
        ("Tạp hoá Chi Lăng", 2),  # old-style tone mark
        ("Cà phê muối  Đông  Ba", 3),
        ("Phở", 5),
        ("Phở bò", None),  # short names: equal or nothing
        ("Bánh bèo Mệ Kéo", None),
        ("Tạp hóa Chi Lăng Út Tâm", None),
        ("Nón lá Huế", None),
    ],
)
def test_bulk_name_matching_finds_what_the_forms_rule_finds(typed: str, expected: int | None) -> None:
    assert _index(NAMES).find(fold(typed)) == expected


def test_every_pair_the_bulk_index_reports_is_similar_by_the_forms_rule() -> None:
    index = _index(NAMES)
    for name in NAMES:
        found = index.find(fold(name))
        assert found is not None and similar_names(fold(name), fold(NAMES[found]))


def test_an_empty_index_finds_nothing() -> None:
    assert NameIndex().find("bun bo") is None


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Gia Hội", "Tổ dân phố Gia Hội"),
        ("TDP Gia Hội", "Tổ dân phố Gia Hội"),
        ("tổ dân phố gia hội", "Tổ dân phố Gia Hội"),
        ("Thôn Phú Mộng", "Phú Mộng"),
        ("ap 3", "Ấp 3"),
    ],
)
def test_village_names_match_with_or_without_their_kind(written: str, stored: str) -> None:
    assert village_key(written) == village_key(stored)


def test_uploads_are_kept_per_user_by_hash_and_expire(tmp_path) -> None:
    store = UploadStore(tmp_path)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    sha = store.save(user_id=alice, data=b"a,b\n1,2\n", filename="danh sach.CSV")
    assert len(sha) == 64
    assert store.load(user_id=alice, sha256=sha, filename="danh sach.CSV") == b"a,b\n1,2\n"
    assert store.load(user_id=bob, sha256=sha, filename="danh sach.CSV") is None
    assert store.load(user_id=alice, sha256="../" + sha[3:], filename="x.csv") is None
    assert store.load(user_id=alice, sha256=sha, filename="other.xlsx") is None  # the extension is kept
    path = next((tmp_path / "imports" / str(alice)).iterdir())
    assert path.name == f"{sha}.csv"
    old = time.time() - 2 * 24 * 3600
    os.utime(path, (old, old))
    store.save(user_id=bob, data=b"x", filename="x.csv")
    assert store.load(user_id=alice, sha256=sha, filename="danh sach.CSV") is None
    store.remove(user_id=bob, sha256="not-a-hash", filename="x.csv")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (SpreadsheetError("encoding"), "Tệp CSV không dùng bảng mã UTF-8 hay Windows-1258"),
        (SpreadsheetError("unsupported_format"), "Không đọc được tệp .xls hoặc .ods"),
        (
            SpreadsheetError("missing_columns", columns=["owner_phone", "kind"]),
            "Tệp thiếu cột: Số điện thoại",
        ),
        (SpreadsheetError("too_many_rows", limit=200_000), "tối đa 200000 dòng"),
        (SpreadsheetError("too_large", limit=1), "Tệp quá lớn (tối đa 20 MB)."),
        (SpreadsheetError("duplicate_columns", columns=["SĐT", "Điện thoại"]), "SĐT, Điện thoại"),
    ],
)
def test_file_errors_read_as_sentences(error: SpreadsheetError, message: str) -> None:
    assert message in file_error(error).text()
