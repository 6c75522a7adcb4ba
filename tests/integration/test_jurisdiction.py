"""Scoping: volunteers see their team, commune officers their commune, province officers their province."""

from tests.helpers import api_token, browser_login, post_form


async def _team_ids(client, username: str) -> dict[str, str]:
    teams = (await client.get("/api/v1/teams", headers=await api_token(client, username))).json()
    return {t["name"]: t["id"] for t in teams}


async def test_volunteer_of_team_a_cannot_read_team_b(client) -> None:
    all_teams = await _team_ids(client, "demo-admin")
    team_b = all_teams["Tổ công nghệ số Kim Long"]
    headers = await api_token(client, "demo-volunteer")
    assert set(await _team_ids(client, "demo-volunteer")) == {"Tổ công nghệ số chợ Đông Ba"}
    assert (await client.get(f"/api/v1/teams/{team_b}", headers=headers)).status_code == 404
    own = all_teams["Tổ công nghệ số chợ Đông Ba"]
    assert (await client.get(f"/api/v1/teams/{own}", headers=headers)).status_code == 200


async def test_commune_officer_cannot_read_another_commune(client) -> None:
    all_teams = await _team_ids(client, "demo-admin")
    visible = await _team_ids(client, "demo-commune")
    assert set(visible) == {"Tổ công nghệ số chợ Đông Ba", "Tổ công nghệ số Gia Hội"}
    headers = await api_token(client, "demo-commune")
    other = all_teams["Tổ công nghệ số Kim Long"]
    assert (await client.get(f"/api/v1/teams/{other}", headers=headers)).status_code == 404
    await browser_login(client, "demo-commune")
    assert (await client.get(f"/teams/{other}")).status_code == 404
    assert (await client.get("/places/communes/19774/villages/")).status_code == 403


async def test_province_officer_sees_only_their_province(client) -> None:
    visible = await _team_ids(client, "demo-province")
    assert len(visible) == 5
    assert "Tổ công nghệ số chợ Đồng Xuân" not in visible
    assert len(await _team_ids(client, "demo-admin")) == 8


async def test_officer_creates_a_team_only_inside_their_commune(client) -> None:
    await browser_login(client, "demo-commune")
    created = await post_form(
        client, "/teams/new", "/teams/new", {"name": "Tổ công nghệ số chợ Xép", "commune_code": "19753"}
    )
    assert created.status_code == 303
    assert "Tổ công nghệ số chợ Xép" in (await client.get(created.headers["location"])).text
    outside = await post_form(
        client, "/teams/new", "/teams/new", {"name": "Tổ ngoài phạm vi", "commune_code": "19774"}
    )
    assert outside.status_code == 403


async def test_volunteers_cannot_manage_teams(client) -> None:
    await browser_login(client, "demo-volunteer")
    assert (await client.get("/teams/")).status_code == 403
    assert (await client.get("/teams/new")).status_code == 403


async def test_leader_adds_a_member_who_can_then_sign_in(client) -> None:
    await browser_login(client, "demo-leader")
    team = (await _team_ids(client, "demo-leader"))["Tổ công nghệ số chợ Đông Ba"]
    data = {"full_name": "Trần Thị Bích", "username": "tran-bich", "password": "mat-khau-dai-du", "phone": ""}
    response = await post_form(client, f"/teams/{team}", f"/teams/{team}/members", data)
    assert response.status_code == 303
    me = (
        await client.get("/api/v1/me", headers=await api_token(client, "tran-bich", "mat-khau-dai-du"))
    ).json()
    assert (me["role"], me["team"]["id"]) == ("volunteer", team)


async def test_member_form_errors_keep_what_was_typed(client) -> None:
    await browser_login(client, "demo-leader")
    team = (await _team_ids(client, "demo-leader"))["Tổ công nghệ số chợ Đông Ba"]
    data = {"full_name": "Lê Văn Tám", "username": "demo-volunteer", "password": "short"}
    response = await post_form(client, f"/teams/{team}", f"/teams/{team}/members", data)
    assert response.status_code == 422
    assert 'value="Lê Văn Tám"' in response.text
    assert "Cần ít nhất 10 ký tự." in response.text
    taken = await post_form(
        client, f"/teams/{team}", f"/teams/{team}/members", {**data, "password": "mat-khau-dai-du"}
    )
    assert "Tên đăng nhập này đã có người dùng." in taken.text


async def test_leader_creates_a_village_once_per_commune(client) -> None:
    await browser_login(client, "demo-leader")
    url = "/places/communes/19753/villages/"
    assert (
        await post_form(client, url, url, {"name": "Tổ dân phố Chợ Dinh", "kind": "to_dan_pho"})
    ).status_code == 303
    duplicate = await post_form(client, url, url, {"name": "to dan pho cho dinh", "kind": "to_dan_pho"})
    assert duplicate.status_code == 422
    villages = await client.get(
        "/api/v1/areas/communes/19753/villages", headers=await api_token(client, "demo-leader")
    )
    assert "Tổ dân phố Chợ Dinh" in [v["name"] for v in villages.json()]
