"""A trader's data rights: everything about them as JSON, and erasure that keeps the statistics."""

import json
import uuid

from sqlalchemy import func, select

from service.db import create_engine, session_maker
from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.test_merchant_merge import LEADER, VOLUNTEER, body
from tests.integration.test_merchant_merge import extra_tables as extra_tables  # the fixture

PHONE, CCCD = "+84912345678", "079185123456"


def leaves(value):
    """Every number and string inside a JSON value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


async def _trader(client, **overrides) -> dict:
    values = body(
        owner_id_number=CCCD, tax_code="001085012345", notes="Bán từ 5 giờ sáng", lat=16.47, lon=107.58
    )
    response = await client.post(
        "/api/v1/merchants", json={**values, **overrides}, headers=await api_token(client, VOLUNTEER)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_subject_export_returns_everything_about_one_owner(client, extra_tables) -> None:
    first = await _trader(client)
    second = await _trader(client, owner_phone="0987 654 321", stall="B-2", not_duplicate_of=[first["id"]])
    await _trader(
        client, owner_phone="0911 000 222", owner_id_number=None, tax_code=None, business_name="Chè Bà Ba"
    )
    await extra_tables.insert("test_visits", id=1, merchant_id=uuid.UUID(second["id"]), client_event_id="v1")
    leader = await api_token(client, LEADER)
    await client.post(
        f"/api/v1/merchants/{first['id']}/merge", json={"duplicate_id": second["id"]}, headers=leader
    )

    response = await client.post(
        "/api/v1/merchants/data-subject-export", json={"id_number": CCCD}, headers=leader
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["query"] == {"id_number": CCCD}
    records = {m["id"]: m for m in data["merchants"]}
    assert set(records) == {first["id"], second["id"]}  # the merged record too: it still holds data
    assert records[first["id"]]["owner_phone"] == PHONE and records[first["id"]]["owner_id_number"] == CCCD
    assert records[second["id"]]["merged_into_id"] == first["id"]
    assert {e["action"] for e in data["audit"]} >= {"create", "merge"}
    assert data["related"]["test_visits.merchant_id"] == [
        {"id": 1, "merchant_id": first["id"], "client_event_id": "v1"}
    ]
    by_phone = await client.post(
        "/api/v1/merchants/data-subject-export", json={"phone": "0912.345.678"}, headers=leader
    )
    assert [m["id"] for m in by_phone.json()["merchants"]] == [first["id"]]
    audit = (await client.get(f"/api/v1/merchants/{first['id']}/audit", headers=leader)).json()
    exported = [e for e in audit if e["action"] == "subject_export"]
    # Two exports; the first found both records (the merged one shows in the survivor's history).
    assert len(exported) == 3 and exported[0]["changes"] == {}


async def test_subject_export_is_for_leaders_and_officers_within_their_area(client) -> None:
    await _trader(client)
    url = "/api/v1/merchants/data-subject-export"
    volunteer = await client.post(url, json={"phone": PHONE}, headers=await api_token(client, VOLUNTEER))
    assert volunteer.status_code == 403
    elsewhere = await client.post(url, json={"phone": PHONE}, headers=await api_token(client, "canbo-hanoi"))
    assert elsewhere.json()["merchants"] == []
    officer = await client.post(url, json={"phone": PHONE}, headers=await api_token(client, "demo-province"))
    assert officer.json()["merchants"][0]["owner_id_number"] == CCCD  # unmasked: the copy is for the owner
    invalid = await client.post(url, json={"phone": "12"}, headers=await api_token(client, LEADER))
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "phone"
    empty = await client.post(url, json={}, headers=await api_token(client, LEADER))
    assert empty.status_code == 422


async def test_subject_export_page_downloads_a_json_file(client) -> None:
    created = await _trader(client)
    await browser_login(client, LEADER)
    page = await client.get("/merchants/data-subject")
    assert page.status_code == 200
    bad = await client.post(
        "/merchants/data-subject", data={"_csrf_token": csrf_from(page.text), "phone": "abc"}
    )
    assert bad.status_code == 422 and "Số điện thoại không hợp lệ." in bad.text
    response = await client.post(
        "/merchants/data-subject", data={"_csrf_token": csrf_from(page.text), "phone": "0912 345 678"}
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert [m["id"] for m in json.loads(response.content)["merchants"]] == [created["id"]]


async def test_erasure_anonymizes_the_person_and_keeps_the_statistics(client, settings) -> None:
    created = await _trader(client, market="Chợ Đông Ba", stall="A-12")
    merged = await _trader(client, owner_phone="0987 654 321", not_duplicate_of=[created["id"]])
    leader = await api_token(client, LEADER)
    await client.post(
        f"/api/v1/merchants/{created['id']}/merge", json={"duplicate_id": merged["id"]}, headers=leader
    )
    await client.patch(
        f"/api/v1/merchants/{created['id']}",
        json={"version": 2, "owner_phone": "0912 000 999", "notes": "Con gái Trần Thị Kéo nghe máy"},
        headers=leader,
    )
    officer = await api_token(client, "demo-commune")
    before = (await client.get("/api/v1/merchants", headers=officer)).json()["total"]

    response = await client.post(f"/api/v1/merchants/{created['id']}/erasure", json={}, headers=officer)
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result["merchant_ids"]) == {created["id"], merged["id"]}
    assert {
        "owner_name",
        "owner_phone",
        "owner_id_number",
        "tax_code",
        "notes",
        "lat",
        "business_name",
    } <= set(result["fields"])

    admin = await api_token(client, "demo-admin")
    erased = (await client.get(f"/api/v1/merchants/{created['id']}", headers=admin)).json()
    assert (erased["owner_name"], erased["business_name"], erased["owner_phone"]) == ("Đã xóa", "Đã xóa", "")
    assert erased["owner_id_number"] is None and erased["tax_code"] is None and erased["notes"] is None
    assert erased["lat"] is None and erased["lon"] is None and erased["consent_purposes"] == []
    assert (erased["kind"], erased["category"], erased["commune_code"], erased["current_stage"]) == (
        "market_stall",
        "food_drink",
        "19753",
        "registered",
    )
    assert (erased["market"], erased["stall"], erased["team_id"]) == (
        "Chợ Đông Ba",
        "A-12",
        created["team_id"],
    )
    assert (await client.get("/api/v1/merchants", headers=officer)).json()["total"] == before

    entries = (await client.get(f"/api/v1/merchants/{created['id']}/audit", headers=admin)).json()
    # The values the entries record: what changed, not when or by whom (timestamps and ids are
    # random enough to contain any short run of digits).
    recorded = [value for entry in entries for value in leaves(entry["changes"])]
    for secret in ("912345678", "987654321", "912000999", "Trần Thị Kéo", CCCD, "001085012345", "Bún bò"):
        assert not any(secret in str(value) for value in recorded), secret
    for coordinate in (16.47, 107.58):
        assert coordinate not in recorded and str(coordinate) not in map(str, recorded), coordinate
    coordinates = [entry["changes"][f] for entry in entries for f in ("lat", "lon") if f in entry["changes"]]
    assert coordinates and all(16.47 not in pair and 107.58 not in pair for pair in coordinates)
    assert entries[0]["action"] == "erase" and "owner_phone" in entries[0]["changes"]["erased"][1]
    update = next(e for e in entries if e["action"] == "update")
    assert update["changes"]["owner_phone"] == ["•••", "•••"]  # who changed what, when: kept

    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            from service.merchants.models import Merchant

            tombstone = await session.get(Merchant, uuid.UUID(merged["id"]))
            assert (tombstone.owner_phone, tombstone.owner_name, tombstone.owner_id_number) == (
                "",
                "Đã xóa",
                None,
            )
            count = await session.scalar(select(func.count()).select_from(Merchant))
            assert count == 16 + 2
    finally:
        await engine.dispose()
    found = await client.post(
        "/api/v1/merchants/data-subject-export", json={"id_number": CCCD}, headers=admin
    )
    assert found.json()["merchants"] == []


async def test_erased_records_are_read_only_and_only_officers_erase(client) -> None:
    created = await _trader(client)
    url = f"/api/v1/merchants/{created['id']}/erasure"
    assert (await client.post(url, json={}, headers=await api_token(client, LEADER))).status_code == 403
    assert (
        await client.post(url, json={}, headers=await api_token(client, "demo-province"))
    ).status_code == 403
    stale = await client.post(url, json={"version": 5}, headers=await api_token(client, "demo-commune"))
    assert stale.status_code == 409
    assert (
        await client.post(url, json={}, headers=await api_token(client, "demo-commune"))
    ).status_code == 200
    assert (await client.post(url, json={}, headers=await api_token(client, "demo-admin"))).status_code == 409
    edit = await client.patch(
        f"/api/v1/merchants/{created['id']}",
        json={"version": 2, "stall": "X"},
        headers=await api_token(client, LEADER),
    )
    assert edit.status_code == 409
    again = await client.post(
        "/api/v1/merchants", json=body(owner_id_number=CCCD), headers=await api_token(client, VOLUNTEER)
    )
    assert again.status_code == 201  # the erased record is nobody's duplicate


async def test_erasure_keeps_a_cooperatives_name_and_business_tax_code(client) -> None:
    created = await _trader(
        client, kind="cooperative", business_name="HTX rau an toàn Gia Hội", tax_code="0101234565"
    )
    await client.post(
        f"/api/v1/merchants/{created['id']}/erasure", json={}, headers=await api_token(client, "demo-commune")
    )
    erased = (
        await client.get(f"/api/v1/merchants/{created['id']}", headers=await api_token(client, "demo-admin"))
    ).json()
    assert erased["business_name"] == "HTX rau an toàn Gia Hội" and erased["tax_code"] == "0101234565"
    assert erased["owner_name"] == "Đã xóa"


async def _replays(settings) -> dict[str, tuple[int, bytes]]:
    """The stored replay records: key -> (status, body)."""
    from service.idempotency import IdempotencyRecord

    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            rows = await session.execute(
                select(IdempotencyRecord.key, IdempotencyRecord.status_code, IdempotencyRecord.response_body)
            )
            return {key: (status, bytes(body)) for key, status, body in rows}
    finally:
        await engine.dispose()


async def _age_replays(settings, days: int) -> None:
    """Make every stored replay `days` older, as if the daily purge had not reached them."""
    from datetime import timedelta

    from sqlalchemy import update

    from service.idempotency import IdempotencyRecord

    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            for rid, created in (
                await session.execute(select(IdempotencyRecord.id, IdempotencyRecord.created_at))
            ).all():
                await session.execute(
                    update(IdempotencyRecord)
                    .where(IdempotencyRecord.id == rid)
                    .values(created_at=created - timedelta(days=days))
                )
            await session.commit()
    finally:
        await engine.dispose()


async def test_erasure_forgets_stored_api_replays_whatever_their_age(client, settings) -> None:
    headers = {**await api_token(client, VOLUNTEER), "Idempotency-Key": "tablet-1"}
    created = (await client.post("/api/v1/merchants", json=body(), headers=headers)).json()
    account = await client.post(
        f"/api/v1/merchants/{created['id']}/payment-accounts",
        json={"bank_bin": "970436", "account": "0011001234567", "holder_name": "Trần Thị Kéo"},
        headers=headers | {"Idempotency-Key": "tablet-account"},
    )
    assert account.status_code == 201, account.text
    other = await client.post(
        "/api/v1/merchants",
        json=body(owner_phone="0911 333 444", business_name="Chè Bà Ba"),
        headers=headers | {"Idempotency-Key": "tablet-2"},
    )
    assert other.status_code == 201
    await _age_replays(settings, days=30)  # older than the age limit; the purge has not run yet
    officer = await api_token(client, "demo-commune")
    erased = await client.post(f"/api/v1/merchants/{created['id']}/erasure", json={}, headers=officer)
    assert erased.status_code == 200
    replays = await _replays(settings)
    for key in ("tablet-1", "tablet-account"):
        assert replays[key] == (410, b"")  # a tombstone: nothing of the trader is left
    assert not any(b"912345678" in b for _, b in replays.values())
    assert "Chè Bà Ba".encode() in replays["tablet-2"][1]  # another trader's replay is untouched


SECOND = {"owner_phone": "0911 222 333", "business_name": "Cơm hến Bà Năm", "owner_name": "Lê Văn Năm"}


async def test_a_retry_after_erasure_does_not_register_the_person_again(client, settings) -> None:
    from datetime import timedelta

    from service.housekeeping import Housekeeping
    from service.merchants.models import Merchant
    from service.web import utcnow

    volunteer = await api_token(client, VOLUNTEER)
    keyed = {**volunteer, "Idempotency-Key": "outbox-77"}
    created = (await client.post("/api/v1/merchants", json=body(), headers=keyed)).json()
    client_id = str(uuid.uuid4())
    with_id = await client.post("/api/v1/merchants", json=body(id=client_id, **SECOND), headers=volunteer)
    assert with_id.status_code == 201, with_id.text
    officer = await api_token(client, "demo-commune")
    for merchant_id in (created["id"], client_id):
        response = await client.post(f"/api/v1/merchants/{merchant_id}/erasure", json={}, headers=officer)
        assert response.status_code == 200
    # The daily purge, long after: the tombstones stay, the refusal lasts.
    engine = create_engine(settings)
    try:
        await Housekeeping(engine, settings).run_once(now=utcnow() + timedelta(days=90))
    finally:
        await engine.dispose()

    retry = await client.post("/api/v1/merchants", json=body(), headers=keyed)
    assert retry.status_code == 410
    assert "đã được xóa dữ liệu cá nhân" in retry.json()["detail"]
    again = await client.post("/api/v1/merchants", json=body(id=client_id, **SECOND), headers=volunteer)
    assert again.status_code == 410
    english = await client.post("/api/v1/merchants", json=body(), headers=keyed | {"Accept-Language": "en"})
    assert english.status_code == 410 and "erased" in english.json()["detail"]
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            phones = await session.scalar(
                select(func.count())
                .select_from(Merchant)
                .where(Merchant.owner_phone.in_(["+84912345678", "+84911222333"]))
            )
    finally:
        await engine.dispose()
    assert phones == 0


async def test_erasure_from_the_page(client) -> None:
    created = await _trader(client)
    await browser_login(client, LEADER)
    assert 'id="erase-link"' not in (await client.get(f"/merchants/{created['id']}")).text
    assert (await client.get(f"/merchants/{created['id']}/erase")).status_code == 403
    await browser_login(client, "demo-commune")
    page = await client.get(f"/merchants/{created['id']}/erase")
    assert page.status_code == 200
    done = await client.post(
        f"/merchants/{created['id']}/erase",
        data={"_csrf_token": csrf_from(page.text), "version": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    detail = await client.get(done.headers["location"])
    assert 'id="erased-note"' in detail.text and "Đã xóa dữ liệu cá nhân" in detail.text
    assert 'id="erase-link"' not in detail.text


async def test_subject_export_includes_deleted_records_with_all_they_hold(client) -> None:
    created = await _trader(client)
    leader = await api_token(client, LEADER)
    assert (await client.delete(f"/api/v1/merchants/{created['id']}", headers=leader)).status_code == 204
    assert (await client.get(f"/api/v1/merchants/{created['id']}", headers=leader)).status_code == 404

    response = await client.post(
        "/api/v1/merchants/data-subject-export", json={"phone": "0912 345 678"}, headers=leader
    )
    assert response.status_code == 200, response.text
    (record,) = response.json()["merchants"]  # gone from the lists, not from what is held
    assert record["id"] == created["id"] and record["deleted_at"] is not None
    assert (record["owner_name"], record["owner_phone"], record["owner_id_number"]) == (
        created["owner_name"],
        PHONE,
        CCCD,
    )
    assert (record["notes"], record["lat"], record["lon"]) == ("Bán từ 5 giờ sáng", 16.47, 107.58)
    actions = [e["action"] for e in response.json()["audit"] if e["merchant_id"] == created["id"]]
    assert {"create", "delete"} <= set(actions)


async def test_an_administrator_erases_a_trader_anywhere_and_is_recorded_as_the_one_who_did(client) -> None:
    created = await _trader(client)  # in Phú Xuân, Huế
    url = f"/api/v1/merchants/{created['id']}/erasure"
    other_commune = await client.post(url, json={}, headers=await api_token(client, "canbo-kimlong"))
    assert other_commune.status_code in (403, 404)  # a commune officer erases in their commune only
    admin = await api_token(client, "demo-admin")
    me = (await client.get("/api/v1/me", headers=admin)).json()

    response = await client.post(url, json={}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["merchant_ids"] == [created["id"]]
    erased = (await client.get(f"/api/v1/merchants/{created['id']}", headers=admin)).json()
    assert (erased["owner_name"], erased["owner_phone"], erased["owner_id_number"]) == ("Đã xóa", "", None)
    assert (erased["tax_code"], erased["notes"], erased["lat"], erased["consent_purposes"]) == (
        None,
        None,
        None,
        [],
    )
    assert (erased["kind"], erased["commune_code"], erased["team_id"]) == (
        created["kind"],
        created["commune_code"],
        created["team_id"],
    )
    (entry,) = [
        e
        for e in (await client.get(f"/api/v1/merchants/{created['id']}/audit", headers=admin)).json()
        if e["action"] == "erase"
    ]
    assert entry["actor_id"] == me["id"]
    found = await client.post(
        "/api/v1/merchants/data-subject-export", json={"id_number": CCCD}, headers=admin
    )
    assert found.json()["merchants"] == []
