"""The teams' feedback channel over HTTP: reports per village or commune, retries, validation,
jurisdiction, counts per topic and officers marking reports handled."""

import unicodedata
import uuid

from sqlalchemy import select

from service.audit import AuditEntry
from service.db import create_engine, session_maker
from tests.helpers import api_token, browser_login, csrf_from

# demo-volunteer: team "Tổ công nghệ số chợ Đông Ba" (commune 19753, Huế), covering Tổ dân phố
# Đông Ba only; Gia Hội in the same commune belongs to another team.
VOLUNTEER = "demo-volunteer"
OTHER_COMMUNE_VOLUNTEER = "demo-volunteer-b"  # Kim Long, commune 19774, same province
COMMUNE_OFFICER = "demo-commune"  # 19753
OTHER_COMMUNE_OFFICER = "canbo-kimlong"  # 19774
PROVINCE_OFFICER = "demo-province"  # 46
OTHER_PROVINCE_OFFICER = "canbo-hanoi"  # 01
URL = "/api/v1/reports/feedback"
EN = {"Accept-Language": "en"}


async def _village(client, headers, commune: str, name: str) -> str:
    villages = (await client.get(f"/api/v1/areas/communes/{commune}/villages", headers=headers)).json()
    return next(v["id"] for v in villages if v["name"] == name)


async def _report(client, username: str, **body) -> dict:
    body.setdefault("topic", "training")
    body.setdefault("note", "Cần tập huấn thêm về mã QR")
    response = await client.post(URL, json=body, headers=await api_token(client, username))
    assert response.status_code == 201, response.text
    return response.json()


async def _counts(client, username: str, area: str | None = None) -> dict:
    params = {"area": area} if area else {}
    response = await client.get(f"{URL}/counts", params=params, headers=await api_token(client, username))
    assert response.status_code == 200, response.text
    return response.json()


async def _ids(client, username: str, **params) -> list[str]:
    response = await client.get(URL, params=params, headers=await api_token(client, username))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _errors(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# --- reporting ---------------------------------------------------------------------------------


async def test_volunteer_reports_a_need_for_their_village(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    dong_ba = await _village(client, headers, "19753", "Tổ dân phố Đông Ba")
    note = unicodedata.normalize("NFD", "  Máy tính bảng của tổ bị hỏng màn hình  ")
    response = await client.post(
        URL, json={"village_id": dong_ba, "topic": "equipment", "note": note}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["village_name"] == "Tổ dân phố Đông Ba"
    assert body["commune_code"] == "19753" and body["province_code"] == "46"
    assert body["team_name"] == "Tổ công nghệ số chợ Đông Ba"
    assert body["note"] == "Máy tính bảng của tổ bị hỏng màn hình"  # trimmed, NFC
    assert body["status"] == "open" and body["handled_at"] is None


async def test_report_without_village_concerns_the_whole_commune(client) -> None:
    body = await _report(client, VOLUNTEER, topic="connectivity", note="Sóng 4G yếu ở chợ")
    assert body["village_id"] is None and body["village_name"] is None
    assert body["commune_code"] == "19753"


async def test_retry_with_same_id_returns_first_record_and_adds_nothing(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    report = {"id": str(uuid.uuid4()), "topic": "platform", "note": "Ứng dụng ngân hàng báo lỗi khi quét QR"}
    first = await client.post(URL, json=report, headers=headers)
    again = await client.post(URL, json=report, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await _ids(client, COMMUNE_OFFICER, status="all") == [report["id"]]
    assert (await _counts(client, COMMUNE_OFFICER))["open"]["platform"] == 1


async def test_same_id_with_other_content_is_a_conflict(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    report_id = str(uuid.uuid4())
    await client.post(URL, json={"id": report_id, "topic": "training", "note": "Tập huấn"}, headers=headers)
    response = await client.post(
        URL, json={"id": report_id, "topic": "training", "note": "Nội dung khác"}, headers=headers
    )
    assert response.status_code == 409
    assert "id" in _errors(response)
    other = await client.post(
        URL,
        json={"id": report_id, "topic": "training", "note": "Tập huấn"},
        headers=await api_token(client, OTHER_COMMUNE_VOLUNTEER),
    )
    assert other.status_code == 409
    assert await _ids(client, PROVINCE_OFFICER, status="all") == [report_id]


async def test_invalid_topic_is_a_field_error_in_vietnamese_and_english(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    body = {"topic": "weather", "note": "Mưa to"}
    vi = await client.post(URL, json=body, headers=headers)
    en = await client.post(URL, json=body, headers={**headers, **EN})
    assert vi.status_code == en.status_code == 422
    assert _errors(vi) == {"topic": "Giá trị không hợp lệ."}
    assert _errors(en) == {"topic": "Invalid value."}


async def test_missing_topic_and_empty_note_are_reported_together(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    vi = await client.post(URL, json={"note": "   "}, headers=headers)
    en = await client.post(URL, json={"note": "   "}, headers={**headers, **EN})
    assert vi.status_code == en.status_code == 422
    assert _errors(vi) == {"topic": "Hãy chọn loại vấn đề.", "note": "Hãy ghi rõ vấn đề hoặc nhu cầu."}
    assert _errors(en) == {"topic": "Choose the kind of problem.", "note": "Describe the problem or need."}
    too_long = await client.post(URL, json={"topic": "other", "note": "x" * 2001}, headers=headers)
    assert too_long.status_code == 422 and _errors(too_long) == {"note": "Tối đa 2000 ký tự."}
    assert await _ids(client, COMMUNE_OFFICER, status="all") == []


async def test_volunteer_cannot_report_for_a_village_outside_their_team(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    gia_hoi = await _village(client, headers, "19753", "Tổ dân phố Gia Hội")  # another team's
    kim_long = await _village(client, headers, "19774", "Tổ dân phố Kim Long")  # another commune
    for village in (gia_hoi, kim_long, str(uuid.uuid4())):
        response = await client.post(
            URL, json={"village_id": village, "topic": "training", "note": "Cần tập huấn"}, headers=headers
        )
        assert response.status_code == 422
        assert _errors(response) == {"village_id": "Thôn, tổ dân phố này không thuộc địa bàn của tổ bạn."}
    assert await _ids(client, PROVINCE_OFFICER, status="all") == []


async def test_officers_receive_reports_and_do_not_send_them(client) -> None:
    response = await client.post(
        URL,
        json={"topic": "training", "note": "Cần tập huấn"},
        headers=await api_token(client, COMMUNE_OFFICER),
    )
    assert response.status_code == 403


# --- jurisdiction and counts --------------------------------------------------------------------


async def test_each_officer_sees_and_counts_only_their_area(client) -> None:
    hue = await _report(client, VOLUNTEER, topic="training")
    kim_long = await _report(client, OTHER_COMMUNE_VOLUNTEER, topic="equipment", note="Thiếu máy in")

    assert await _ids(client, COMMUNE_OFFICER) == [hue["id"]]
    assert await _ids(client, OTHER_COMMUNE_OFFICER) == [kim_long["id"]]
    assert await _ids(client, PROVINCE_OFFICER) == [kim_long["id"], hue["id"]]  # newest first
    assert await _ids(client, PROVINCE_OFFICER, area="19774") == [kim_long["id"]]
    assert await _ids(client, OTHER_PROVINCE_OFFICER) == []
    assert await _ids(client, "demo-admin") == [kim_long["id"], hue["id"]]
    assert await _ids(client, OTHER_COMMUNE_VOLUNTEER) == [kim_long["id"]]  # their team's own

    commune = await _counts(client, COMMUNE_OFFICER)
    assert commune["open"] == {"training": 1, "equipment": 0, "connectivity": 0, "platform": 0, "other": 0}
    assert set(commune["handled"].values()) == {0}
    province = await _counts(client, PROVINCE_OFFICER)
    assert (province["open"]["training"], province["open"]["equipment"]) == (1, 1)
    assert (await _counts(client, PROVINCE_OFFICER, area="19753"))["open"]["equipment"] == 0
    elsewhere = await _counts(client, OTHER_PROVINCE_OFFICER)
    assert set(elsewhere["open"].values()) == set(elsewhere["handled"].values()) == {0}
    # Naming an area outside the jurisdiction shows nothing more.
    assert (await _counts(client, OTHER_PROVINCE_OFFICER, area="46"))["open"]["training"] == 0


async def test_bad_area_is_a_field_error(client) -> None:
    response = await client.get(
        URL, params={"area": "hue"}, headers=await api_token(client, PROVINCE_OFFICER)
    )
    assert response.status_code == 422 and "area" in _errors(response)


async def test_list_pages_with_a_cursor(client) -> None:
    created = [(await _report(client, VOLUNTEER, note=f"Phản ánh {n}"))["id"] for n in range(3)]
    headers = await api_token(client, COMMUNE_OFFICER)
    first = (await client.get(URL, params={"limit": 2}, headers=headers)).json()
    second = (
        await client.get(URL, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers)
    ).json()
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(seen) == sorted(created) and len(set(seen)) == 3
    assert second["next_cursor"] is None


# --- handling -----------------------------------------------------------------------------------


async def test_officer_marks_a_report_handled_once_and_counts_follow(client, settings) -> None:
    report = await _report(client, VOLUNTEER, topic="connectivity", note="Mất mạng ở chợ")
    officer = await api_token(client, COMMUNE_OFFICER)
    handled = await client.post(
        f"{URL}/{report['id']}/handled", json={"note": "  Đã báo nhà mạng  "}, headers=officer
    )
    assert handled.status_code == 200, handled.text
    body = handled.json()
    assert body["status"] == "handled" and body["handled_note"] == "Đã báo nhà mạng"
    assert body["handled_by_name"] and body["handled_at"]

    again = await client.post(
        f"{URL}/{report['id']}/handled",
        json={"note": "Lần hai"},
        headers=await api_token(client, PROVINCE_OFFICER),
    )
    assert again.status_code == 200
    assert (again.json()["handled_at"], again.json()["handled_note"], again.json()["handled_by_id"]) == (
        body["handled_at"],
        "Đã báo nhà mạng",
        body["handled_by_id"],
    )

    counts = await _counts(client, COMMUNE_OFFICER)
    assert (counts["open"]["connectivity"], counts["handled"]["connectivity"]) == (0, 1)
    assert await _ids(client, COMMUNE_OFFICER) == []
    assert await _ids(client, COMMUNE_OFFICER, status="handled") == [report["id"]]

    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            actions = list(
                await session.scalars(
                    select(AuditEntry.action)
                    .where(AuditEntry.entity_type == "feedback", AuditEntry.entity_id == report["id"])
                    .order_by(AuditEntry.at)
                )
            )
    finally:
        await engine.dispose()
    assert actions == ["create", "handle"]  # the second press changed nothing and is not recorded


async def test_handling_is_refused_outside_the_jurisdiction_and_to_teams(client) -> None:
    report = await _report(client, VOLUNTEER)
    url = f"{URL}/{report['id']}/handled"
    assert (
        await client.post(url, headers=await api_token(client, OTHER_PROVINCE_OFFICER))
    ).status_code == 404
    assert (await client.post(url, headers=await api_token(client, OTHER_COMMUNE_OFFICER))).status_code == 404
    assert (await client.post(url, headers=await api_token(client, VOLUNTEER))).status_code == 403
    assert (await client.post(url, headers=await api_token(client, "demo-leader"))).status_code == 403
    assert await _ids(client, COMMUNE_OFFICER) == [report["id"]]  # still open
    done = await client.post(url, headers=await api_token(client, COMMUNE_OFFICER))  # no note, no body
    assert done.status_code == 200 and done.json()["status"] == "handled"
    assert done.json()["handled_note"] is None


# --- tablet pages -------------------------------------------------------------------------------


async def test_volunteer_sends_the_form_and_typed_values_survive_errors(client) -> None:
    await browser_login(client, VOLUNTEER)
    page = await client.get("/reports/feedback/new")
    assert page.status_code == 200
    assert "Tổ dân phố Đông Ba" in page.text and "Tổ dân phố Gia Hội" not in page.text
    assert "Cả xã, phường" in page.text
    headers = await api_token(client, VOLUNTEER)
    dong_ba = await _village(client, headers, "19753", "Tổ dân phố Đông Ba")
    form = {
        "_csrf_token": csrf_from(page.text),
        "id": str(uuid.uuid4()),
        "village_id": dong_ba,
        "topic": "equipment",
        "note": "",
    }

    invalid = await client.post("/reports/feedback/new", data=form, follow_redirects=False)
    assert invalid.status_code == 422
    assert "Hãy ghi rõ vấn đề hoặc nhu cầu." in invalid.text
    assert f'value="{dong_ba}" selected' in invalid.text
    assert 'value="equipment" checked' in invalid.text

    form["note"] = "Cần thêm 2 máy tính bảng"
    sent = await client.post("/reports/feedback/new", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/reports/feedback"
    listed = await client.get("/reports/feedback")
    assert "Cần thêm 2 máy tính bảng" in listed.text
    assert "Đã gửi phản ánh tới cơ quan quản lý." in listed.text

    resent = await client.post("/reports/feedback/new", data=form, follow_redirects=False)  # double tap
    assert resent.status_code == 303
    assert await _ids(client, COMMUNE_OFFICER, status="all") == [form["id"]]


async def test_officer_marks_handled_from_the_list_page(client) -> None:
    report = await _report(client, VOLUNTEER, topic="platform", note="Không đăng nhập được VNeID")
    await browser_login(client, COMMUNE_OFFICER)
    page = await client.get("/reports/feedback")
    assert page.status_code == 200 and "Không đăng nhập được VNeID" in page.text
    assert f'action="/reports/feedback/{report["id"]}/handled"' in page.text
    assert (await client.get("/reports/feedback/new")).status_code == 403

    done = await client.post(
        f"/reports/feedback/{report['id']}/handled",
        data={"_csrf_token": csrf_from(page.text), "note": "Đã hướng dẫn lại", "status": "open"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    open_page = await client.get(done.headers["location"])
    assert "Không đăng nhập được VNeID" not in open_page.text
    assert "Không có phản ánh nào." in open_page.text
    handled_page = await client.get("/reports/feedback?status=handled")
    assert "Đã hướng dẫn lại" in handled_page.text
    platform = '<tr data-topic="platform"><th scope="row">Sự cố nền tảng</th>'
    assert (
        f'{platform}<td class="num" data-status="open">0</td><td class="num" data-status="handled">1</td>'
        in (handled_page.text)
    )


async def test_list_page_in_english(client) -> None:
    await _report(client, VOLUNTEER, topic="training")
    await browser_login(client, COMMUNE_OFFICER)
    page = await client.get("/reports/feedback?lang=en")
    assert "Reports from the digital technology teams" in page.text
    assert ">Training<" in page.text


async def test_page_handling_without_csrf_is_refused(client) -> None:
    report = await _report(client, VOLUNTEER)
    await browser_login(client, COMMUNE_OFFICER)
    response = await client.post(f"/reports/feedback/{report['id']}/handled", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert await _ids(client, COMMUNE_OFFICER) == [report["id"]]
