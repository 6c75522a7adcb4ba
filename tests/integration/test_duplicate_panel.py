"""The registration form's duplicate panel says what a volunteer needs to decide: the commune by
name, why it matched in words, the owner (masked outside the reader's scope), market and stall,
who registered it and when."""

import uuid

from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.test_merchants import VOLUNTEER, payload, register


async def post_registration(client, username: str, **overrides):
    await browser_login(client, username)
    page = await client.get("/merchants/new")
    form = {**payload(**overrides), "id": str(uuid.uuid4()), "_csrf_token": csrf_from(page.text)}
    return await client.post("/merchants/new", data=form)


def panel(html: str) -> str:
    return html.split('id="duplicates"')[1].split("</section>")[0]


async def test_the_panel_names_commune_reason_owner_place_and_registrant(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    first = await register(client, headers, business_name="Bún bò Huế Mệ Kéo")
    assert first.status_code == 201
    me = (await client.get("/api/v1/me", headers=headers)).json()

    shown = await post_registration(
        client, VOLUNTEER, business_name="Cơm hến Bà Mai", owner_name="Ngô Thị Mai"
    )
    assert shown.status_code == 409
    text = panel(shown.text)
    assert "trùng số điện thoại" in text and "owner_phone" not in text
    assert "Phường Phú Xuân" in text and "19753" not in text
    assert "Trần Thị Kéo" in text  # the reader's own team: the owner in full
    assert "Chợ Đông Ba" in text and "A-12" in text
    assert me["full_name"] in text and "Đăng ký ngày" in text

    english = await client.post(
        "/merchants/new?lang=en",
        data={
            **payload(business_name="Cơm hến Bà Mai", owner_name="Ngô Thị Mai"),
            "id": str(uuid.uuid4()),
            "_csrf_token": csrf_from((await client.get("/merchants/new?lang=en")).text),
        },
    )
    assert "same phone number" in panel(english.text)


async def test_a_record_outside_the_readers_scope_shows_initials_and_the_team(client) -> None:
    other = await api_token(client, "demo-volunteer-b")
    theirs = await register(
        client,
        other,
        commune_code="19774",
        owner_id_number="001085012345",
        business_name="Tạp hóa Kim Long",
        owner_name="Phan Văn Long",
        market="Chợ Kim Long",
        stall="B-3",
    )
    assert theirs.status_code == 201, theirs.text
    them = (await client.get("/api/v1/me", headers=other)).json()

    shown = await post_registration(
        client, VOLUNTEER, owner_phone="0912345999", owner_id_number="001085012345"
    )
    assert shown.status_code == 409
    text = panel(shown.text)
    assert "trùng số căn cước" in text
    assert "Phan Văn Long" not in text and "P. V. L." in text
    assert them["full_name"] not in text and them["team"]["name"] in text
    assert "Chợ Kim Long" in text and f'href="/merchants/{theirs.json()["id"]}"' not in text
    assert "001085012345" not in text  # (the form still holds what the reader typed)
