"""The server's side of offline work: the service worker's address, the data a tablet keeps
(scoped like every list, no ID numbers), the outbox's token, and the form shells."""

from tests.helpers import api_token, browser_login, csrf_from

TEAM_TRADER = "Tạp hóa Chi Lăng"  # demo: team chợ Đông Ba (Phú Xuân)
OTHER_TEAM_TRADER = "Rau sạch Kim Long"  # demo: team Kim Long, another commune


async def test_the_service_worker_is_served_from_the_root_for_every_page(client) -> None:
    answer = await client.get("/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == "/"
    assert answer.headers["cache-control"] == "no-cache"
    assert "importScripts" in answer.text


async def test_a_volunteer_keeps_their_teams_traders_without_id_numbers(client) -> None:
    data = (await client.get("/api/v1/device/data", headers=await api_token(client, "demo-volunteer"))).json()
    names = {t["business_name"] for t in data["traders"]}
    assert TEAM_TRADER in names
    assert OTHER_TEAM_TRADER not in names
    assert all("owner_id_number" not in t and "tax_code" not in t for t in data["traders"])
    trader = next(t for t in data["traders"] if t["business_name"] == TEAM_TRADER)
    assert trader["owner_phone"] == "0905 131 676"  # a volunteer sees their team's phones
    assert [c["code"] for c in data["communes"]] == ["19753"]
    assert {v["commune_code"] for v in data["villages"]} == {"19753"}
    assert "Chợ Đông Ba" in data["markets"]
    assert data["categories"] and data["kinds"] and data["stages"]["qr_active"]
    assert any(b["short_name"] == "Vietcombank" for b in data["banks"])
    assert data["truncated"] is False


async def test_officers_keep_no_traders_and_no_phones_on_a_device(client) -> None:
    data = (await client.get("/api/v1/device/data", headers=await api_token(client, "demo-commune"))).json()
    assert data["traders"] == []
    assert "19753" in {c["code"] for c in data["communes"]}


async def test_device_data_needs_a_signed_in_user(client) -> None:
    assert (await client.get("/api/v1/device/data")).status_code == 401


async def test_device_data_reads_with_the_page_session(client) -> None:
    await browser_login(client, "demo-volunteer")
    answer = await client.get("/api/v1/device/data")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"


async def test_the_outbox_token_needs_the_session_and_its_csrf_token(client) -> None:
    await browser_login(client, "demo-volunteer")
    page = await client.get("/outbox")
    assert (await client.post("/device/token")).status_code == 403  # no CSRF token
    answer = await client.post("/device/token", headers={"X-CSRFToken": csrf_from(page.text)})
    assert answer.status_code == 201
    issued = answer.json()
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"})).json()
    assert me["id"] == issued["user_id"]


async def test_the_outbox_token_is_refused_without_a_session(client) -> None:
    page = await client.get("/login")
    answer = await client.post(
        "/device/token", headers={"X-CSRFToken": csrf_from(page.text)}, follow_redirects=False
    )
    assert answer.status_code in (302, 303)
    assert answer.headers["location"].startswith("/login")


async def test_the_form_shells_render_without_a_trader(client) -> None:
    await browser_login(client, "demo-volunteer")
    zero = "00000000-0000-0000-0000-000000000000"
    for path, action in [
        ("/offline/forms/visit", f"/merchants/{zero}/visits/new"),
        ("/offline/forms/stage?stage=qr_active", f"/merchants/{zero}/stages/new"),
        ("/offline/forms/payment-account", f"/merchants/{zero}/payment-accounts/new"),
        ("/offline/forms/payment-qr", f"/merchants/{zero}/payment-accounts/import"),
    ]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert f'action="{action}"' in page.text, path
        assert '"shell": true' in page.text, path
    chooser = await client.get("/offline/forms/stage")
    assert f"/merchants/{zero}/stages/new?stage=identity" in chooser.text


async def test_every_page_of_a_signed_in_user_shows_the_outbox_badge(client) -> None:
    login = await client.get("/login")
    assert 'id="outbox-badge"' not in login.text
    await browser_login(client, "demo-volunteer")
    for path in ["/", "/merchants/", "/merchants/new", "/worklist", "/outbox"]:
        page = await client.get(path)
        assert 'id="outbox-badge"' in page.text, path
        assert "/static/js/offline.js" in page.text, path


async def test_the_outbox_speaks_english_from_the_catalog(client) -> None:
    await browser_login(client, "demo-volunteer")
    page = (await client.get("/outbox?lang=en")).text
    assert "<h1>Outbox</h1>" in page
    assert '"badge": "{n} waiting to send"' in page
    assert 'data-state-needs_fix="Needs fixing"' in page
