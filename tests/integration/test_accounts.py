import pytest

from tests.helpers import api_token, browser_login, csrf_from, post_form

DEMO_LOGINS = [
    "demo-admin",
    "demo-province",
    "demo-commune",
    "demo-leader",
    "demo-volunteer",
    "demo-volunteer-b",
]


@pytest.mark.parametrize("username", DEMO_LOGINS)
async def test_every_demo_login_works_in_the_browser_and_the_api(client, username: str) -> None:
    response = await browser_login(client, username)
    assert response.status_code == 303
    home = await client.get("/")
    assert home.status_code == 200
    assert "Đăng xuất" in home.text
    headers = await api_token(client, username)
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["username"] == username


async def test_me_tells_a_tablet_its_role_team_and_communes(client) -> None:
    volunteer = (await client.get("/api/v1/me", headers=await api_token(client, "demo-volunteer"))).json()
    assert volunteer["role"] == "volunteer"
    assert volunteer["team"]["name"] == "Tổ công nghệ số chợ Đông Ba"
    assert volunteer["commune_codes"] == ["19753"]
    province = (await client.get("/api/v1/me", headers=await api_token(client, "demo-province"))).json()
    assert province["team"] is None
    assert len(province["commune_codes"]) == 40  # every commune of Huế
    assert all(code.isdigit() and len(code) == 5 for code in province["commune_codes"])


async def test_wrong_password_and_unknown_user_get_the_same_answer(client) -> None:
    wrong = await client.post(
        "/api/v1/session", json={"username": "demo-volunteer", "password": "nope-nope-nope"}
    )
    unknown = await client.post(
        "/api/v1/session", json={"username": "nobody-here", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Tên đăng nhập hoặc mật khẩu không đúng."


async def test_wrong_password_in_the_browser_shows_the_error_and_keeps_the_username(client) -> None:
    response = await browser_login(client, "demo-volunteer", "wrong-password")
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.text
    assert 'value="demo-volunteer"' in response.text
    assert (await client.get("/", follow_redirects=False)).status_code in (302, 303, 307)


async def test_repeated_failures_pause_logins_even_with_the_right_password(client) -> None:
    for _ in range(5):
        await client.post("/api/v1/session", json={"username": "demo-leader", "password": "wrong-password"})
    blocked = await client.post(
        "/api/v1/session", json={"username": "demo-leader", "password": "demo-password"}
    )
    assert blocked.status_code == 429
    assert "thử lại sau" in blocked.json()["detail"]
    other = await client.post(
        "/api/v1/session", json={"username": "demo-volunteer", "password": "demo-password"}
    )
    assert other.status_code == 201


async def test_parallel_wrong_passwords_are_counted_before_they_are_checked(client) -> None:
    import asyncio

    answers = await asyncio.gather(
        *(
            client.post("/api/v1/session", json={"username": "demo-leader", "password": f"wrong-{n}"})
            for n in range(30)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 5 + [429] * 25  # only the allowed five reached the password check


async def test_one_address_trying_many_usernames_is_paused(client, settings) -> None:
    limit = settings.login_attempts_per_address
    for n in range(limit):
        response = await client.post("/api/v1/session", json={"username": f"guess-{n}", "password": "x" * 10})
        assert response.status_code == 401
    fresh = await client.post(
        "/api/v1/session", json={"username": "demo-volunteer", "password": "demo-password"}
    )
    assert fresh.status_code == 429  # a name never tried before, from the same address


async def test_deactivated_account_cannot_sign_in_and_its_tokens_stop_working(client) -> None:
    headers = await api_token(client, "demo-volunteer")
    await browser_login(client, "demo-leader")
    team = (await client.get("/api/v1/me", headers=headers)).json()["team"]["id"]
    detail = (await client.get(f"/api/v1/teams/{team}", headers=headers)).json()
    member = next(m for m in detail["members"] if m["username"] == "demo-volunteer")
    response = await post_form(
        client, f"/teams/{team}", f"/teams/{team}/members/{member['id']}/deactivate", {}
    )
    assert response.status_code == 303
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    again = await client.post(
        "/api/v1/session", json={"username": "demo-volunteer", "password": "demo-password"}
    )
    assert again.status_code == 401


def _signed_in(response) -> bool:
    return response.status_code == 200


async def test_a_copied_session_cookie_stops_working_at_sign_out(client) -> None:
    await browser_login(client, "demo-volunteer")
    copied = client.cookies.get("onboard_session")
    assert _signed_in(await client.get("/", follow_redirects=False))
    assert (await post_form(client, "/", "/logout", {})).status_code == 303
    client.cookies.set("onboard_session", copied)  # someone kept the cookie from before
    replay = await client.get("/", follow_redirects=False)
    assert replay.status_code in (302, 303, 307) and replay.headers["location"].startswith("/login")


async def test_disabling_an_account_ends_its_sessions_and_enabling_it_does_not_revive_them(
    client, settings
) -> None:
    from service.accounts.services import AccountService
    from service.db import create_engine, session_maker

    async def set_active(active: bool) -> None:
        engine = create_engine(settings)  # the test's own: the app's connections belong to its loop
        try:
            async with session_maker(engine)() as db:
                await AccountService(db).set_active(username="demo-volunteer", active=active)
                await db.commit()
        finally:
            await engine.dispose()

    await browser_login(client, "demo-volunteer")
    kept = client.cookies.get("onboard_session")
    assert _signed_in(await client.get("/", follow_redirects=False))
    await set_active(False)
    assert not _signed_in(await client.get("/", follow_redirects=False))
    await set_active(True)
    client.cookies.set("onboard_session", kept)
    assert not _signed_in(await client.get("/", follow_redirects=False))  # the old session stays ended
    client.cookies.clear()
    await browser_login(client, "demo-volunteer")
    assert _signed_in(await client.get("/", follow_redirects=False))  # a new sign-in works


async def test_form_posts_without_csrf_token_are_refused(client) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"username": "demo-volunteer", "password": "demo-password"})
    assert response.status_code == 403
    assert "<html" in response.text


async def test_logout_ends_the_browser_session(client) -> None:
    await browser_login(client, "demo-volunteer")
    response = await post_form(client, "/", "/logout", {})
    assert response.status_code == 303
    assert (await client.get("/", follow_redirects=False)).headers["location"].startswith("/login")


async def test_session_cookie_is_http_only_and_same_site(client) -> None:
    response = await browser_login(client, "demo-volunteer")
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "onboard_session" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()


async def test_api_writes_ignore_the_session_cookie(client) -> None:
    await browser_login(client, "demo-volunteer")
    response = await client.delete("/api/v1/session")
    assert response.status_code == 401


async def test_english_on_request_for_pages_and_api(client) -> None:
    page = await client.get("/login?lang=en")
    assert "Sign in" in page.text
    assert (await client.get("/login")).text.count("Sign in") > 0  # remembered in a cookie
    api = await client.post("/api/v1/session", json={"username": "x"}, headers={"Accept-Language": "en"})
    assert api.status_code == 422
    assert api.json()["errors"] == [{"field": "password", "message": "Required."}]


async def test_user_language_setting_is_kept_for_next_sign_in(client) -> None:
    await browser_login(client, "demo-leader")
    settings_page = await client.get("/settings")
    await client.post("/settings", data={"locale": "en", "_csrf_token": csrf_from(settings_page.text)})
    client.cookies.clear()
    await browser_login(client, "demo-leader")
    assert "Sign out" in (await client.get("/")).text


async def test_a_signed_in_tablet_gets_english_when_it_asks(client) -> None:
    headers = {**await api_token(client, "demo-volunteer"), "Accept-Language": "en-US,en;q=0.9"}
    response = await client.post("/api/v1/merchants", json={}, headers=headers)
    assert response.status_code == 422
    assert "Required." in {e["message"] for e in response.json()["errors"]}
    vietnamese = await client.post("/api/v1/merchants", json={}, headers={**headers, "Accept-Language": "vi"})
    assert "Bắt buộc." in {e["message"] for e in vietnamese.json()["errors"]}


async def test_a_volunteers_home_page_is_their_worklist(client) -> None:
    await browser_login(client, "demo-volunteer")
    home = await client.get("/")
    assert 'id="worklist-title"' in home.text
    assert 'section class="work" id="follow_up"' in home.text


async def test_a_background_request_leaves_the_session_to_the_page(client) -> None:
    """A tablet's script fetches pages and data while the volunteer works: those requests must not
    take the next page's message, nor write back the older session they were sent with."""
    await browser_login(client, "demo-volunteer")
    await post_form(client, "/", "/logout", {})  # "Bạn đã đăng xuất." waits for the next page
    background = {"sec-fetch-mode": "cors"}
    for path in ("/login", "/api/v1/me"):
        response = await client.get(path, headers=background)
        assert "set-cookie" not in response.headers, path
        assert "Bạn đã đăng xuất." not in response.text
    page = await client.get("/login", headers={"sec-fetch-mode": "navigate"})
    assert "Bạn đã đăng xuất." in page.text
