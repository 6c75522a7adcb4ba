"""Merchants over HTTP: registration, validation, duplicates, idempotency, search, edits, scoping,
masking and audit."""

import asyncio
import unicodedata
import uuid

from tests.helpers import api_token, browser_login, csrf_from, visible_text
from tests.integration.lock_wait import PATIENCE, LockWait

PRODUCE = (
    "bưởi Phúc Trạch",
    "thanh long ruột đỏ",
    "vải thiều",
    "nhãn lồng",
    "xoài cát",
    "măng cụt",
    "chôm chôm",
    "sầu riêng",
    "mít tố nữ",
    "ổi găng",
    "cam sành",
    "quýt hồng",
    "dưa hấu",
    "khoai lang tím",
    "rau muống",
    "cải bẹ xanh",
    "mồng tơi",
    "bí đao",
    "hành lá",
    "ớt hiểm",
    "gừng củ",
    "tỏi Lý Sơn",
    "nấm rơm",
)
# A team of the demo commune 19753 with no demo traders, so counts start at zero;
# demo-volunteer works in the same commune but another team.
VOLUNTEER = "tnv-2-1"
LEADER = "totruong-2"
OTHER_TEAM_VOLUNTEER = "demo-volunteer"
NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


def payload(**overrides) -> dict:
    body = {
        "kind": "market_stall",
        "business_name": "Bún bò Huế Mệ Kéo",
        "category": "food_drink",
        "owner_name": "Trần Thị Kéo",
        "owner_phone": "0912 345 678",
        "commune_code": "19753",
        "market": "Chợ Đông Ba",
        "stall": "A-12",
        "consent_purposes": ["storefront", "contact"],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def register(client, headers, **overrides):
    return await client.post("/api/v1/merchants", json=payload(**overrides), headers=headers)


async def test_volunteer_registers_a_merchant_over_json(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    response = await register(client, headers, lat=16.4728, lon=107.5789)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["province_code"] == "46"
    assert body["current_stage"] == "registered"
    assert body["version"] == 1
    assert body["owner_phone"] == "+84912345678"
    assert body["consent_purposes"] == ["storefront", "contact"]
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert body["team_id"] == me["team"]["id"]
    assert body["consent_by_id"] == me["id"]
    fetched = await client.get(f"/api/v1/merchants/{body['id']}", headers=headers)
    assert fetched.json() == body


async def test_nfc_and_nfd_input_are_stored_as_the_same_nfc_text(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    composed = await register(client, headers, business_name="  Phở   Đặng Hoà ", owner_phone="0912345001")
    decomposed = await register(
        client,
        headers,
        business_name=NFD("Nước mía Huế"),
        owner_name=NFD("Đặng Văn Đức"),
        owner_phone="0912345002",
    )
    assert composed.status_code == decomposed.status_code == 201, decomposed.text
    assert composed.json()["business_name"] == "Phở Đặng Hoà"
    assert decomposed.json()["business_name"] == unicodedata.normalize("NFC", "Nước mía Huế")
    assert decomposed.json()["owner_name"] == "Đặng Văn Đức"
    assert len(decomposed.json()["owner_name"]) == len("Đặng Văn Đức")


async def test_registration_form_accepts_nfd_and_redirects_to_the_merchant(client) -> None:
    await browser_login(client, VOLUNTEER)
    page = await client.get("/merchants/new")
    assert page.status_code == 200
    form = {
        **payload(business_name=NFD("Bánh canh cá lóc Dì Tư"), owner_name=NFD("Lê Thị Tư")),
        "consent_purposes": ["storefront", "statistics"],
        "id": str(uuid.uuid4()),
        "_csrf_token": csrf_from(page.text),
    }
    created = await client.post("/merchants/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    detail = await client.get(created.headers["location"])
    assert "Bánh canh cá lóc Dì Tư" in visible_text(detail.text)  # NFC, in the page itself
    assert "0912 345 678" in detail.text
    again = await client.post("/merchants/new", data=form, follow_redirects=False)  # a double tap
    assert again.status_code == 303 and again.headers["location"] == created.headers["location"]
    search = (
        await client.get(
            "/api/v1/merchants", params={"q": "banh canh"}, headers=await api_token(client, VOLUNTEER)
        )
    ).json()
    assert [m["business_name"] for m in search["items"]] == ["Bánh canh cá lóc Dì Tư"]
    assert search["total"] == 1
    assert search["items"][0]["consent_purposes"] == ["storefront", "statistics"]


async def test_every_bad_field_is_reported_at_once(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    response = await register(
        client,
        headers,
        owner_phone="0123456789",
        owner_id_number="00108501234A",
        tax_code="0101234560",
        consent_purposes=[],
        kind="flying_carpet",
        lat=1.5,
        business_name="",
    )
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {
        "owner_phone",
        "owner_id_number",
        "tax_code",
        "consent_purposes",
        "kind",
        "lat",
        "business_name",
    }
    assert errors["owner_phone"] == "Số điện thoại không hợp lệ."
    assert errors["owner_id_number"] == "Số CCCD gồm đúng 12 chữ số."
    assert errors["tax_code"] == "Mã số thuế sai chữ số kiểm tra; hãy đối chiếu lại."
    assert errors["consent_purposes"] == "Cần chọn ít nhất một mục người bán đồng ý."


async def test_a_landline_is_refused_for_the_traders_phone(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    response = await register(client, headers, owner_phone="02838123456")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "owner_phone", "message": "Cần số di động; số máy bàn không dùng được."}
    ]


async def test_field_errors_are_in_english_on_request(client) -> None:
    headers = {**await api_token(client, VOLUNTEER), "Accept-Language": "en"}
    response = await register(client, headers, owner_phone="0123456789", owner_id_number="12345")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "owner_phone", "message": "This phone number is not valid."},
        {"field": "owner_id_number", "message": "A citizen ID number has exactly 12 digits."},
    ]
    vietnamese = await register(client, {**headers, "Accept-Language": "vi"}, owner_phone="0123456789")
    assert vietnamese.json()["errors"] == [{"field": "owner_phone", "message": "Số điện thoại không hợp lệ."}]


async def test_invalid_form_redisplays_every_error_with_what_was_typed(client) -> None:
    await browser_login(client, VOLUNTEER)
    page = await client.get("/merchants/new")
    form = {
        **payload(owner_phone="02838123456", owner_id_number="00108501234A", business_name="Chè Hẻm"),
        "consent_purposes": [],
        "_csrf_token": csrf_from(page.text),
    }
    form.pop("consent_purposes")
    response = await client.post("/merchants/new", data=form)
    assert response.status_code == 422
    assert 'value="Chè Hẻm"' in response.text
    assert 'value="02838123456"' in response.text
    assert "Cần số di động; số máy bàn không dùng được." in response.text
    assert "Số CCCD gồm đúng 12 chữ số." in response.text
    assert "Cần chọn ít nhất một mục người bán đồng ý." in response.text


async def test_a_commune_outside_the_jurisdiction_is_forbidden(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    assert (await register(client, headers, commune_code="19774")).status_code == 403
    officer = await api_token(client, "demo-commune")
    assert (await register(client, officer, commune_code="00070")).status_code == 403


async def test_village_must_belong_to_the_commune_and_team_to_the_scope(client) -> None:
    admin = await api_token(client, "demo-admin")
    kim_long = (await client.get("/api/v1/areas/communes/19774/villages", headers=admin)).json()
    teams = {t["name"]: t["id"] for t in (await client.get("/api/v1/teams", headers=admin)).json()}
    headers = await api_token(client, VOLUNTEER)
    response = await register(
        client, headers, village_id=kim_long[0]["id"], team_id=teams["Tổ công nghệ số chợ Đông Ba"]
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"village_id", "team_id"}
    officer = await api_token(client, "demo-commune")
    missing_team = await register(client, officer)
    assert [e["field"] for e in missing_team.json()["errors"]] == ["team_id"]
    ok = await register(client, officer, team_id=teams["Tổ công nghệ số Gia Hội"])
    assert ok.status_code == 201, ok.text


async def test_duplicate_phone_is_409_until_confirmed_not_a_duplicate(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    first = (await register(client, headers)).json()
    second = await register(client, headers, business_name="Cơm hến Bà Mai", owner_name="Ngô Thị Mai")
    assert second.status_code == 409
    assert second.json()["duplicates"] == [
        {
            "id": first["id"],
            "business_name": first["business_name"],
            "commune_code": "19753",
            "reason": "owner_phone",
        }
    ]
    confirmed = await register(
        client,
        headers,
        business_name="Cơm hến Bà Mai",
        owner_name="Ngô Thị Mai",
        not_duplicate_of=[first["id"]],
    )
    assert confirmed.status_code == 201


async def test_similar_name_in_the_commune_is_a_duplicate(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    first = (await register(client, headers, business_name="Bún bò Huế Mệ Kéo")).json()
    similar = await register(client, headers, business_name="Bun bo Hue Me Keo.", owner_phone="0987654321")
    assert similar.status_code == 409
    assert similar.json()["duplicates"][0] == {
        "id": first["id"],
        "business_name": "Bún bò Huế Mệ Kéo",
        "commune_code": "19753",
        "reason": "business_name",
    }
    different = await register(client, headers, business_name="Bánh bèo Mệ Kéo", owner_phone="0987654321")
    assert different.status_code == 201


async def test_duplicates_elsewhere_reveal_no_personal_data(client) -> None:
    other = await api_token(client, "demo-volunteer-b")
    theirs = await register(
        client,
        other,
        commune_code="19774",
        owner_id_number="001085012345",
        tax_code="0101234565",
        business_name="Tạp hóa Kim Long",
    )
    assert theirs.status_code == 201, theirs.text
    headers = await api_token(client, VOLUNTEER)
    mine = await register(client, headers, owner_phone="0912345999", owner_id_number="001085012345")
    assert mine.status_code == 409
    [duplicate] = mine.json()["duplicates"]
    assert duplicate == {
        "id": theirs.json()["id"],
        "business_name": "Tạp hóa Kim Long",
        "commune_code": "19774",
        "reason": "owner_id_number",
    }
    # Nothing of the other record but id, name and commune: not its phone (0912 345 678) nor CCCD.
    assert "912345678" not in mine.text and "345 678" not in mine.text and "001085012345" not in mine.text
    by_tax = await register(client, headers, owner_phone="0912345998", tax_code="0101234565")
    assert by_tax.json()["duplicates"][0]["reason"] == "tax_code"


async def test_form_shows_duplicates_and_accepts_the_confirmation(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    first = (await register(client, headers)).json()
    await browser_login(client, VOLUNTEER)
    page = await client.get("/merchants/new")
    form = {
        **payload(business_name="Chè Bà Mai"),
        "id": str(uuid.uuid4()),
        "_csrf_token": csrf_from(page.text),
    }
    shown = await client.post("/merchants/new", data=form)
    assert shown.status_code == 409
    assert f'href="/merchants/{first["id"]}"' in shown.text
    assert f'name="not_duplicate_of" value="{first["id"]}"' in shown.text
    assert 'value="Chè Bà Mai"' in shown.text
    accepted = await client.post(
        "/merchants/new", data={**form, "not_duplicate_of": first["id"]}, follow_redirects=False
    )
    assert accepted.status_code == 303


async def test_same_idempotency_key_twice_creates_one_merchant_with_identical_responses(client) -> None:
    headers = {**await api_token(client, VOLUNTEER), "Idempotency-Key": "tablet-7-0001"}
    first = await register(client, headers)
    second = await register(client, headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers.get("idempotent-replayed") == "true"
    listed = (await client.get("/api/v1/merchants", headers=headers)).json()
    assert listed["total"] == 1
    changed = await register(client, headers, stall="B-1")
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_concurrent_retries_with_one_key_create_one_merchant(client) -> None:
    headers = {**await api_token(client, VOLUNTEER), "Idempotency-Key": "race-1"}
    responses = await asyncio.gather(*(register(client, headers) for _ in range(4)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert (await client.get("/api/v1/merchants", headers=headers)).json()["total"] == 1


async def test_same_client_id_twice_replays_and_a_different_body_is_refused(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = str(uuid.uuid4())
    first = await register(client, headers, id=merchant_id)
    again = await register(client, headers, id=merchant_id)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content and first.json()["id"] == merchant_id
    different = await register(client, headers, id=merchant_id, stall="Z-9")
    assert different.status_code == 422
    other_user = await register(client, await api_token(client, LEADER), id=merchant_id)
    assert other_user.status_code == 409
    assert (await client.get("/api/v1/merchants", headers=headers)).json()["total"] == 1


async def test_a_racing_duplicate_meets_the_unique_key_and_replays_the_winner(settings) -> None:
    """Two transactions with one key: the second sees nothing committed, writes, hits the unique
    constraint when the first commits, rolls back and returns the first one's response."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from service import idempotency
    from service.accounts.models import User
    from service.accounts.services import AccountService
    from service.db import create_engine, session_maker
    from service.merchants.models import Merchant
    from service.merchants.schemas import MerchantIn
    from service.merchants.services import MerchantService

    engine, loser_engine = create_engine(settings), create_engine(settings)
    sessions = session_maker(engine)
    lock = LockWait(loser_engine, holding=engine)
    try:
        async with sessions() as first, session_maker(loser_engine)() as second, sessions() as reader:
            user_id = await reader.scalar(select(User.id).where(User.username == VOLUNTEER))
            user = await AccountService(reader).current_user(user_id=user_id)
            data = MerchantIn(**payload())
            digest = idempotency.request_hash("POST", "/api/v1/merchants", data)
            at = datetime(2026, 2, 1, tzinfo=UTC)
            won, replayed = await MerchantService(first).register_once(
                by=user, data=data, key="race", request_hash=digest, at=at
            )
            assert not replayed
            await lock.watch(second)
            loser = asyncio.create_task(
                MerchantService(second).register_once(
                    by=user, data=data, key="race", request_hash=digest, at=at
                )
            )
            await lock.blocked()  # the loser found nothing committed, wrote, and waits on the winner
            await first.commit()
            lost, replayed = await asyncio.wait_for(loser, timeout=PATIENCE)
            await second.commit()
            lock.assert_waited()
            assert replayed and lost == won
            await reader.rollback()
            count = select(func.count()).where(Merchant.business_name == data.business_name)
            assert await reader.scalar(count) == 1
    finally:
        await engine.dispose()
        await loser_engine.dispose()


async def _seed_market(client, headers) -> dict[str, dict]:
    people = [
        ("Bún bò Huế Mệ Kéo", "Trần Thị Kéo", "0912000001", "Chợ Đông Ba", "food_drink", "market_stall"),
        ("Đồ khô Đặng Gia", "Đặng Văn Đức", "0912000002", "Chợ Đông Ba", "groceries", "market_stall"),
        ("Áo dài Thu Hà", "Nguyễn Thu Hà", "0912000003", "Chợ Đông Ba", "clothing_textiles", "market_stall"),
        ("Nón lá Phú Cam", "Lê Thị Hoà", "0983111222", None, "crafts_ocop", "household_business"),
        ("Cà phê Đò Gia Hội", "Phạm Quốc Dũng", "0905123123", None, "food_drink", "street_vendor"),
    ]
    out = {}
    for name, owner, phone, market, category, kind in people:
        response = await register(
            client,
            headers,
            business_name=name,
            owner_name=owner,
            owner_phone=phone,
            market=market,
            stall=None,
            category=category,
            kind=kind,
        )
        assert response.status_code == 201, response.text
        out[name] = response.json()
    return out


async def _names(client, headers, **params) -> list[str]:
    response = await client.get("/api/v1/merchants", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(m["business_name"] for m in response.json()["items"])


async def test_search_ignores_accents_and_case_and_reads_phones_in_any_format(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    await _seed_market(client, headers)
    assert await _names(client, headers, q="bun bo hue") == ["Bún bò Huế Mệ Kéo"]
    assert await _names(client, headers, q="BÚN BÒ") == ["Bún bò Huế Mệ Kéo"]
    assert await _names(client, headers, q="hue bun") == ["Bún bò Huế Mệ Kéo"]
    assert await _names(client, headers, q="dang") == ["Đồ khô Đặng Gia"]
    assert await _names(client, headers, q="do kho") == ["Đồ khô Đặng Gia"]
    with_d = await _names(client, headers, q="d")
    assert "Đồ khô Đặng Gia" in with_d and "Nón lá Phú Cam" not in with_d
    assert await _names(client, headers, q="nguyen thu") == ["Áo dài Thu Hà"]  # owner name
    assert len(await _names(client, headers, q="cho dong ba")) == 3  # market
    assert await _names(client, headers, q="+84 983 111 222") == ["Nón lá Phú Cam"]
    assert await _names(client, headers, q="84983111222") == ["Nón lá Phú Cam"]
    assert await _names(client, headers, q="0983.111.222") == ["Nón lá Phú Cam"]
    assert await _names(client, headers, q="111 222") == ["Nón lá Phú Cam"]  # partial digits
    assert await _names(client, headers, q="banh xeo") == []


async def test_officers_find_by_whole_phone_but_not_by_digit_fragments(client) -> None:
    await _seed_market(client, await api_token(client, VOLUNTEER))
    officer = await api_token(client, "demo-commune")
    assert await _names(client, officer, q="0983 111 222") == ["Nón lá Phú Cam"]
    assert await _names(client, officer, q="111 222") == []


async def test_filters_narrow_the_list(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    await _seed_market(client, headers)
    assert await _names(client, headers, kind="street_vendor") == ["Cà phê Đò Gia Hội"]
    assert await _names(client, headers, category="food_drink", q="ca phe") == ["Cà phê Đò Gia Hội"]
    assert len(await _names(client, headers, stage="registered")) == 5
    assert await _names(client, headers, stage="qr_active") == []
    assert len(await _names(client, headers, commune_code="19753")) == 5
    assert await _names(client, headers, commune_code="19774") == []
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert len(await _names(client, headers, team_id=me["team"]["id"])) == 5
    villages = (await client.get("/api/v1/areas/communes/19753/villages", headers=headers)).json()
    placed = await register(
        client,
        headers,
        business_name="Bánh ép Gia Hội",
        owner_phone="0912000009",
        village_id=villages[0]["id"],
    )
    assert placed.status_code == 201, placed.text
    assert await _names(client, headers, village_id=villages[0]["id"]) == ["Bánh ép Gia Hội"]


async def test_cursor_pagination_returns_every_merchant_exactly_once(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    created = set()
    for i in range(23):
        response = await register(
            client,
            headers,
            business_name=f"Sạp {PRODUCE[i]}",
            owner_phone=f"09120{i:05d}",
            market=None,
        )
        assert response.status_code == 201, response.text
        created.add(response.json()["id"])
    for sort in ("recent", "name"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 5, "sort": sort, "q": "sap", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/merchants", params=params, headers=headers)).json()
            assert page["total"] == 23
            seen += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 23 and set(seen) == created
    bad = await client.get("/api/v1/merchants", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 422


async def test_list_page_searches_without_diacritics(client) -> None:
    await _seed_market(client, await api_token(client, VOLUNTEER))
    await browser_login(client, VOLUNTEER)
    page = await client.get("/merchants/", params={"q": "do kho dang", "kind": "", "village_id": ""})
    assert page.status_code == 200
    assert "Đồ khô Đặng Gia" in page.text and "Bún bò Huế" not in page.text


async def test_other_team_and_other_commune_get_404(client) -> None:
    mine = (await register(client, await api_token(client, VOLUNTEER))).json()
    url = f"/api/v1/merchants/{mine['id']}"
    for username in ("demo-volunteer-b", OTHER_TEAM_VOLUNTEER, "canbo-kimlong", "canbo-hanoi"):
        headers = await api_token(client, username)
        assert (await client.get(url, headers=headers)).status_code == 404, username
        patched = await client.patch(url, json={"version": 1, "stall": "X"}, headers=headers)
        assert patched.status_code == 404, username
        listed = (await client.get("/api/v1/merchants", params={"limit": 100}, headers=headers)).json()
        assert mine["id"] not in {m["id"] for m in listed["items"]}
    for username in (LEADER, "demo-commune", "demo-province", "demo-admin"):
        assert (await client.get(url, headers=await api_token(client, username))).status_code == 200
    await browser_login(client, "demo-volunteer-b")
    assert (await client.get(f"/merchants/{mine['id']}")).status_code == 404


async def test_personal_data_is_masked_by_role(client) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    created = (
        await register(client, volunteer, owner_id_number="079185123456", tax_code="0101234565")
    ).json()
    url = f"/api/v1/merchants/{created['id']}"
    expected = {
        VOLUNTEER: ("+84912345678", "•••• 3456"),
        LEADER: ("+84912345678", "079185123456"),
        "demo-commune": ("•••• 5678", "•••• 3456"),
        "demo-province": ("•••• 5678", "•••• 3456"),
        "demo-admin": ("+84912345678", "079185123456"),
    }
    for username, (phone, id_number) in expected.items():
        body = (await client.get(url, headers=await api_token(client, username))).json()
        assert (body["owner_phone"], body["owner_id_number"]) == (phone, id_number), username
        assert body["tax_code"] == "0101234565"  # a business tax code is public
    personal_tax = (
        await register(
            client,
            volunteer,
            owner_phone="0912000777",
            business_name="Xôi gà Bà Tám",
            tax_code="001085012345",
        )
    ).json()
    assert personal_tax["tax_code"] == "•••• 2345"
    assert set(personal_tax["masked"]) == {"tax_code"}
    await browser_login(client, "demo-commune")
    page = await client.get(f"/merchants/{created['id']}")
    assert "•••• 5678" in page.text and "0912 345 678" not in page.text and "079185123456" not in page.text


async def test_stale_edit_gets_409_with_the_current_values(client) -> None:
    created = (await register(client, await api_token(client, VOLUNTEER))).json()
    url = f"/api/v1/merchants/{created['id']}"
    first = await api_token(client, VOLUNTEER)
    second = await api_token(client, LEADER)
    saved = await client.patch(
        url, json={"version": 1, "stall": "B-7", "owner_phone": "0987 654 321"}, headers=first
    )
    assert saved.status_code == 200, saved.text
    assert (saved.json()["version"], saved.json()["stall"], saved.json()["owner_phone"]) == (
        2,
        "B-7",
        "+84987654321",
    )
    stale = await client.patch(url, json={"version": 1, "stall": "C-1"}, headers=second)
    assert stale.status_code == 409
    assert stale.json()["current"]["stall"] == "B-7"
    assert stale.json()["current"]["version"] == 2
    assert (await client.get(url, headers=second)).json()["stall"] == "B-7"
    invalid = await client.patch(
        url, json={"version": 2, "owner_phone": "123", "lat": 99, "lon": 107}, headers=second
    )
    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.json()["errors"]} == {"owner_phone", "lat"}


async def test_edit_form_conflict_shows_both_versions_side_by_side(client) -> None:
    created = (await register(client, await api_token(client, VOLUNTEER))).json()
    await browser_login(client, VOLUNTEER)
    form_page = await client.get(f"/merchants/{created['id']}/edit")
    assert form_page.status_code == 200
    assert 'value="0912 345 678"' in form_page.text
    token = csrf_from(form_page.text)
    # Someone else saves first, over the API.
    other = await client.patch(
        f"/api/v1/merchants/{created['id']}",
        json={"version": 1, "stall": "Sạp của tổ trưởng"},
        headers=await api_token(client, LEADER),
    )
    assert other.status_code == 200
    mine = {**payload(stall="Sạp của tôi"), "version": "1", "_csrf_token": token}
    response = await client.post(f"/merchants/{created['id']}/edit", data=mine)
    assert response.status_code == 409
    assert "Sạp của tôi" in response.text and "Sạp của tổ trưởng" in response.text
    assert 'name="version" value="2"' in response.text
    stored = (
        await client.get(f"/api/v1/merchants/{created['id']}", headers=await api_token(client, VOLUNTEER))
    ).json()
    assert stored["stall"] == "Sạp của tổ trưởng"
    resubmitted = await client.post(
        f"/merchants/{created['id']}/edit", data={**mine, "version": "2"}, follow_redirects=False
    )
    assert resubmitted.status_code == 303


async def test_audit_is_written_and_shown_to_leaders_not_volunteers(client) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    created = (await register(client, volunteer, owner_id_number="079185123456")).json()
    url = f"/api/v1/merchants/{created['id']}"
    await client.patch(
        url, json={"version": 1, "owner_phone": "0987654321", "stall": "B-2"}, headers=volunteer
    )
    leader = await api_token(client, LEADER)
    entries = (await client.get(f"{url}/audit", headers=leader)).json()
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["changes"]["owner_phone"] == ["+84912345678", "+84987654321"]
    assert entries[0]["changes"]["stall"] == ["A-12", "B-2"]
    assert entries[1]["changes"]["owner_id_number"] == [None, "079185123456"]
    officer = (await client.get(f"{url}/audit", headers=await api_token(client, "demo-commune"))).json()
    assert officer[0]["changes"]["owner_phone"] == ["•••• 5678", "•••• 4321"]
    assert officer[1]["changes"]["owner_id_number"] == [None, "•••• 3456"]
    assert (await client.get(f"{url}/audit", headers=volunteer)).status_code == 403
    await browser_login(client, LEADER)
    assert 'id="audit"' in (await client.get(f"/merchants/{created['id']}")).text
    await browser_login(client, VOLUNTEER)
    assert 'id="audit"' not in (await client.get(f"/merchants/{created['id']}")).text
    assert (await client.delete(url, headers=volunteer)).status_code == 403  # a live record
    assert (await client.get(url, headers=leader)).json()["version"] == 2  # untouched
    deleted = await client.delete(url, headers=leader)
    assert deleted.status_code == 204
    assert (await client.get(url, headers=leader)).status_code == 404
    assert (await client.delete(url, headers=volunteer)).status_code == 404


async def test_volunteers_may_not_delete(client) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    created = (await register(client, volunteer)).json()
    url = f"/api/v1/merchants/{created['id']}"
    assert (await client.delete(url, headers=volunteer)).status_code == 403
    kept = await client.get(url, headers=volunteer)
    assert kept.status_code == 200 and kept.json()["version"] == created["version"]
    assert (await client.get("/api/v1/merchants", headers=volunteer)).json()["total"] == 1
    leader = await api_token(client, LEADER)
    assert (await client.delete(url, headers=leader)).status_code == 204  # the same request, allowed
