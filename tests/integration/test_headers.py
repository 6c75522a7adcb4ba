"""Every response carries the security headers; no page runs an inline script."""

import re
from pathlib import Path

from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
DATA_BLOCK = re.compile(r'<script\b[^>]*type="application/(?:ld\+)?json"', re.I)


def _policy(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


async def test_pages_api_and_public_pages_carry_the_security_headers(client) -> None:
    for path in ("/login", "/api/v1/me", "/s/", "/health", "/static/css/app.css"):
        response = await client.get(path)
        policy = _policy(response.headers["content-security-policy"])
        sources = policy["script-src"].split()
        assert sources[0] == "'self'", path  # no other site
        assert all(s.startswith("'sha256-") for s in sources[1:])  # inline only by exact hash
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in response.headers  # plain http here


async def test_an_https_service_asks_browsers_to_keep_to_https(settings) -> None:
    secure = Settings(**{**settings.__dict__, "public_url": "https://onboard.example.vn"})
    async with AsyncTestClient(create_app(secure), base_url="http://127.0.0.1:8000") as client:
        response = await client.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_a_page_that_sets_its_own_referrer_policy_keeps_it(client) -> None:
    response = await client.get("/t/not-a-real-token")
    assert response.headers["referrer-policy"] == "no-referrer"  # the edit link is in the address


def test_no_template_runs_an_inline_script_but_the_hashed_ones() -> None:
    for path in TEMPLATES.rglob("*.j2"):
        text = path.read_text()
        for match in re.finditer(r"<script\b[^>]*>(.{0,40})", text, re.I | re.S):
            tag, body = match.group(0), match.group(1)
            hashed = body.startswith('{{ inline_script("')
            assert "src=" in tag or DATA_BLOCK.match(tag) or hashed, f"{path.name}: {tag}"
        assert not re.search(r"\son[a-z]+=", text), f"{path.name} has an inline event handler"


async def test_the_api_documentation_loads_nothing_from_other_sites(client) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert _policy(page.headers["content-security-policy"])["script-src"].split()[0] == "'self'"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)  # no inline script
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
    spec = re.search(r'data-spec="([^"]+)"', page.text)[1]
    assert (await client.get(spec)).json()["openapi"].startswith("3.")
