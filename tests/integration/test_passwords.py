"""Passwords: changing one's own, and a manager's reset with a one-time code the member signs in with."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.audit import AuditEntry
from service.db import create_engine, session_maker
from tests.conftest import Clock, client_at
from tests.helpers import DEMO_PASSWORD, api_token, browser_login, csrf_from, post_form, visible_text
from tests.integration.test_cli import onboard as onboard  # the fixture

NEW_PASSWORD = "lúa-chín-vàng-2026"
CODE = re.compile(r'id="reset-code"><strong>([0-9A-Z]{4}-[0-9A-Z]{4})<')


async def _sign_in(client, username: str, password: str) -> int:
    response = await client.post("/api/v1/session", json={"username": username, "password": password})
    return response.status_code


async def _signed_in(client) -> bool:
    return (await client.get("/", follow_redirects=False)).status_code == 200


async def _audit_actions(settings, entity_id: str) -> list[str]:
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            rows = await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.entity_type == "user", AuditEntry.entity_id == entity_id
                )
            )
            return list(rows)
    finally:
        await engine.dispose()


async def _member_id(client, headers, username: str) -> tuple[str, str]:
    """(team id, user id) of a member of the caller's team."""
    team = (await client.get("/api/v1/me", headers=headers)).json()["team"]["id"]
    detail = (await client.get(f"/api/v1/teams/{team}", headers=headers)).json()
    return team, next(m["id"] for m in detail["members"] if m["username"] == username)


# --- one's own password ---------------------------------------------------------------------------


async def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(client, settings) -> None:
    tablet = await api_token(client, "demo-volunteer")
    me = (await client.get("/api/v1/me", headers=tablet)).json()
    await browser_login(client, "demo-volunteer")
    response = await post_form(
        client,
        "/account/password",
        "/account/password",
        {
            "current_password": DEMO_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/settings"
    assert "Đã đổi mật khẩu" in (await client.get("/settings")).text
    assert await _signed_in(client)  # this browser stays signed in
    assert (await client.get("/api/v1/me", headers=tablet)).status_code == 401  # the tablet's token ended
    assert await _sign_in(client, "demo-volunteer", DEMO_PASSWORD) == 401
    assert await _sign_in(client, "demo-volunteer", NEW_PASSWORD) == 201
    assert "password_change" in await _audit_actions(settings, me["id"])


async def test_the_password_page_explains_each_mistake_in_its_field(client) -> None:
    await browser_login(client, "demo-volunteer")

    async def submit(current: str, new: str, confirm: str):
        return await post_form(
            client,
            "/account/password",
            "/account/password",
            {"current_password": current, "new_password": new, "new_password_confirm": confirm},
        )

    wrong = await submit("not-my-password", NEW_PASSWORD, NEW_PASSWORD)
    assert wrong.status_code == 422 and "Mật khẩu hiện tại không đúng." in visible_text(wrong.text)
    mismatch = await submit(DEMO_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert mismatch.status_code == 422
    assert "Hai lần nhập mật khẩu mới không giống nhau." in visible_text(mismatch.text)
    short = await submit(DEMO_PASSWORD, "ngắn", "ngắn")
    assert short.status_code == 422 and "Cần ít nhất 10 ký tự." in visible_text(short.text)
    same = await submit(DEMO_PASSWORD, DEMO_PASSWORD, DEMO_PASSWORD)
    assert same.status_code == 422 and "phải khác mật khẩu hiện tại" in visible_text(same.text)
    assert await _sign_in(client, "demo-volunteer", DEMO_PASSWORD) == 201  # nothing changed


async def test_a_tablet_changes_its_password_over_the_api_and_keeps_its_token(client) -> None:
    tablet = await api_token(client, "demo-leader")
    other = await api_token(client, "demo-leader")
    english = tablet | {"Accept-Language": "en"}
    wrong = await client.post(
        "/api/v1/account/password",
        json={"current_password": "nope-nope-nope", "new_password": NEW_PASSWORD},
        headers=english,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == [
        {"field": "current_password", "message": "The current password is wrong."}
    ]
    short = await client.post(
        "/api/v1/account/password",
        json={"current_password": DEMO_PASSWORD, "new_password": "short"},
        headers=tablet,
    )
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "new_password"
    changed = await client.post(
        "/api/v1/account/password",
        json={"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD},
        headers=tablet,
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/me", headers=tablet)).status_code == 200
    assert (await client.get("/api/v1/me", headers=other)).status_code == 401


async def test_guessing_the_current_password_is_throttled_like_signing_in(client) -> None:
    tablet = await api_token(client, "demo-leader")
    for _ in range(5):
        response = await client.post(
            "/api/v1/account/password",
            json={"current_password": "guess-guess-guess", "new_password": NEW_PASSWORD},
            headers=tablet,
        )
        assert response.status_code == 422
    paused = await client.post(
        "/api/v1/account/password",
        json={"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD},
        headers=tablet,
    )
    assert paused.status_code == 429


# --- reset with a one-time code ---------------------------------------------------------------------


async def test_a_leader_resets_a_volunteers_password_and_the_code_signs_them_in_once(
    client, settings
) -> None:
    volunteer_tablet = await api_token(client, "demo-volunteer")
    leader = await api_token(client, "demo-leader")
    team, member = await _member_id(client, leader, "demo-volunteer")
    await browser_login(client, "demo-leader")
    page = await client.get(f"/teams/{team}")
    assert f"/teams/{team}/members/{member}/reset-password" in page.text
    reset = await client.post(
        f"/teams/{team}/members/{member}/reset-password",
        data={"_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert reset.status_code == 303
    shown = await client.get(reset.headers["location"])
    assert shown.headers["cache-control"] == "no-store"
    code = CODE.search(shown.text).group(1)
    again = await client.get(reset.headers["location"])
    assert code not in again.text and "chỉ hiện một lần" in visible_text(again.text)
    # The old password and every session of the member have ended.
    assert (await client.get("/api/v1/me", headers=volunteer_tablet)).status_code == 401
    assert await _sign_in(client, "demo-volunteer", DEMO_PASSWORD) == 401

    client.cookies.clear()
    form = await client.get("/login")
    assert "/account/activate" in form.text
    activate = await client.get("/account/activate")
    typed = code.lower().replace("-", " ")  # as read over the phone
    done = await client.post(
        "/account/activate",
        data={
            "username": "demo-volunteer",
            "code": typed,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
            "_csrf_token": csrf_from(activate.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert await _signed_in(client)
    assert await _sign_in(client, "demo-volunteer", NEW_PASSWORD) == 201
    reused = await client.post(
        "/api/v1/account/activate",
        json={"username": "demo-volunteer", "code": code, "new_password": "someone-else-1234"},
    )
    assert reused.status_code == 401  # used once
    actions = await _audit_actions(settings, member)
    assert "password_reset" in actions and "password_code_used" in actions


async def test_the_activation_page_explains_mistakes(client, settings) -> None:
    officer = await api_token(client, "demo-commune")
    leader = await api_token(client, "demo-leader")
    _, member = await _member_id(client, leader, "demo-volunteer")
    code = (await client.post(f"/api/v1/users/{member}/password-reset", headers=officer)).json()["code"]
    page = await client.get("/account/activate?lang=en")
    values = {"username": "demo-volunteer", "code": code, "_csrf_token": csrf_from(page.text)}
    mismatch = await client.post(
        "/account/activate",
        data={**values, "new_password": NEW_PASSWORD, "new_password_confirm": "other-password-1"},
    )
    assert mismatch.status_code == 422 and "The two new passwords differ." in visible_text(mismatch.text)
    wrong = await client.post(
        "/account/activate",
        data={
            **values,
            "code": "AAAA-AAAA",
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 401
    assert "wrong, or the code has expired" in visible_text(wrong.text)


async def test_a_reset_is_refused_outside_the_managers_jurisdiction(client) -> None:
    leader = await api_token(client, "demo-leader")
    _, own_volunteer = await _member_id(client, leader, "demo-volunteer")
    other_team = await api_token(client, "demo-volunteer-b")
    _, far_volunteer = await _member_id(client, other_team, "demo-volunteer-b")
    commune = await api_token(client, "demo-commune")  # Phú Xuân; demo-volunteer-b works in Kim Long
    volunteer = await api_token(client, "demo-volunteer")
    assert (
        await client.post(f"/api/v1/users/{far_volunteer}/password-reset", headers=commune)
    ).status_code == 404
    assert (
        await client.post(f"/api/v1/users/{far_volunteer}/password-reset", headers=leader)
    ).status_code == 404
    assert (
        await client.post(f"/api/v1/users/{own_volunteer}/password-reset", headers=volunteer)
    ).status_code == 403
    assert await _sign_in(client, "demo-volunteer-b", DEMO_PASSWORD) == 201  # untouched
    province = await api_token(client, "demo-province")  # Huế: Kim Long is inside
    reset = await client.post(f"/api/v1/users/{far_volunteer}/password-reset", headers=province)
    assert reset.status_code == 201
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", reset.json()["code"])
    assert reset.headers["cache-control"] == "no-store"


async def test_a_code_expires_after_72_hours(client, settings) -> None:
    officer = await api_token(client, "demo-commune")
    leader = await api_token(client, "demo-leader")
    _, member = await _member_id(client, leader, "demo-volunteer")
    code = (await client.post(f"/api/v1/users/{member}/password-reset", headers=officer)).json()["code"]
    later = Clock(datetime.now(UTC) + timedelta(hours=73))
    async with client_at(settings, later) as late_client:
        late = await late_client.post(
            "/api/v1/account/activate",
            json={"username": "demo-volunteer", "code": code, "new_password": NEW_PASSWORD},
        )
    assert late.status_code == 401
    in_time = await client.post(
        "/api/v1/account/activate",
        json={"username": "demo-volunteer", "code": code, "new_password": NEW_PASSWORD},
    )
    assert in_time.status_code == 201 and in_time.json()["user"]["username"] == "demo-volunteer"


async def test_guessing_codes_is_throttled(client) -> None:
    officer = await api_token(client, "demo-commune")
    leader = await api_token(client, "demo-leader")
    _, member = await _member_id(client, leader, "demo-volunteer")
    code = (await client.post(f"/api/v1/users/{member}/password-reset", headers=officer)).json()["code"]
    for n in range(5):
        guess = await client.post(
            "/api/v1/account/activate",
            json={"username": "demo-volunteer", "code": f"AAAA-AAA{n}", "new_password": NEW_PASSWORD},
        )
        assert guess.status_code == 401
    paused = await client.post(
        "/api/v1/account/activate",
        json={"username": "demo-volunteer", "code": code, "new_password": NEW_PASSWORD},
    )
    assert paused.status_code == 429


async def test_an_officers_password_is_reset_from_the_command_line(client, onboard) -> None:
    tablet = await api_token(client, "demo-commune")
    status, out, _ = onboard("users", "reset-code", "demo-commune")
    assert status == 0
    code = re.search(r"One-time code ([0-9A-Z]{4}-[0-9A-Z]{4})", out).group(1)
    assert (await client.get("/api/v1/me", headers=tablet)).status_code == 401
    assert await _sign_in(client, "demo-commune", DEMO_PASSWORD) == 401
    signed_in = await client.post(
        "/api/v1/account/activate",
        json={"username": "demo-commune", "code": code, "new_password": NEW_PASSWORD},
    )
    assert signed_in.status_code == 201 and signed_in.json()["user"]["role"] == "commune_officer"
    assert onboard("users", "reset-code", "khong-co-ai")[0] == 1
