"""Bodies no client should send get a clear 400, in the caller's language, on both databases:
never a 500, and a NUL character is never stored."""

import json

import pytest

from tests.helpers import api_token, browser_login, csrf_from

DEEP = ("[" * 1000 + "]" * 1000).encode()
NESTED = b'{"business_name": ' + DEEP + b"}"
INVALID_UTF8 = b'{"username": "\xff\xfe", "password": "x"}'
NUL_JSON = b'{"username": "demo\\u0000admin", "password": "demo-password"}'
MERCHANT = {
    "kind": "market_stall",
    "business_name": "Bún bò Hẻm",
    "category": "food_drink",
    "owner_name": "Lê Thị Hẻm",
    "owner_phone": "0987 654 321",
    "commune_code": "19753",
    "consent_purposes": ["storefront"],
}
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (DEEP, "lồng nhau quá sâu"),
        (INVALID_UTF8, "UTF-8"),
        (NUL_JSON, "ký tự NUL"),
    ],
)
async def test_the_unauthenticated_login_refuses_hostile_json(client, body, message) -> None:
    response = await client.post("/api/v1/session", content=body, headers=JSON)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body"


async def test_a_write_with_a_nul_character_is_refused_and_nothing_is_stored(client) -> None:
    headers = {**await api_token(client, "demo-volunteer"), **JSON}
    before = (await client.get("/api/v1/merchants", headers=headers)).json()
    for name in ("Bún\u0000bò", "\u0000"):
        response = await client.post(
            "/api/v1/merchants", content=json.dumps({**MERCHANT, "business_name": name}), headers=headers
        )
        assert response.status_code == 400, response.text
    assert (await client.post("/api/v1/merchants", content=NESTED, headers=headers)).status_code == 400
    broken = b'{"business_name": "\xc3\x28"}'
    assert (await client.post("/api/v1/merchants", content=broken, headers=headers)).status_code == 400
    assert (await client.get("/api/v1/merchants", headers=headers)).json() == before
    accepted = await client.post("/api/v1/merchants", json=MERCHANT, headers=headers)
    assert accepted.status_code == 201  # the same request without the bad character is fine


async def test_english_callers_read_the_reason_in_english(client) -> None:
    response = await client.post("/api/v1/session?lang=en", content=NUL_JSON, headers=JSON)
    assert response.status_code == 400
    assert response.json()["detail"] == "The data sent contains a NUL character, which no field accepts."


async def test_a_form_with_a_nul_character_gets_an_error_page(client) -> None:
    await browser_login(client, "demo-volunteer")
    page = await client.get("/merchants/new")
    response = await client.post(
        "/merchants/new",
        content=f"_csrf_token={csrf_from(page.text)}&business_name=B%00n".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "ký tự NUL" in response.text and "<html" in response.text.lower()
