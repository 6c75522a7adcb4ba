"""What a browser or a tablet does to sign in, for the integration tests."""

import re

DEMO_PASSWORD = "demo-password"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def browser_login(client, username: str, password: str = DEMO_PASSWORD):
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": csrf_from(page.text), "next": "/"},
        follow_redirects=False,
    )


async def api_token(client, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    response = await client.post("/api/v1/session", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def post_form(client, page_url: str, action: str, data: dict[str, str]):
    """Open a page, take its CSRF token, submit a form to `action` like the browser would."""
    page = await client.get(page_url)
    return await client.post(
        action, data={**data, "_csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
