"""What a browser or a tablet does to sign in, for the integration tests."""

import re
from html.parser import HTMLParser

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


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """What a person reads on the page: its text, without attributes (the CSRF token, ids, links),
    scripts, styles or the title. Look for personal data here, not in the raw HTML, where random
    tokens can contain any short run of digits."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())
