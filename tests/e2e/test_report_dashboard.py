"""An admin drills down from the country to a village on the dashboard, on a tablet."""

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import TABLET, sign_in

PROVINCE = "46"
COMMUNE = "19753"


def _move_a_trader_into_a_village(server) -> str:
    """The demo traders have no village: put one in the first village, so its page has a figure."""
    with httpx.Client(base_url=server.url) as api:
        token = api.post("/api/v1/session", json={"username": "demo-admin", "password": "demo-password"})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        villages = api.get(f"/api/v1/areas/communes/{COMMUNE}/villages", headers=headers).json()
        village = (villages["items"] if isinstance(villages, dict) else villages)[0]
        merchant = api.get("/api/v1/merchants", params={"commune_code": COMMUNE}, headers=headers).json()
        first = merchant["items"][0]
        moved = api.patch(
            f"/api/v1/merchants/{first['id']}",
            json={"version": first["version"], "village_id": village["id"]},
            headers=headers,
        )
        assert moved.status_code == 200, moved.text
        return village["name"]


def _shows_charts(page) -> None:
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() >= 4
    for i in range(charts.count()):
        assert charts.nth(i).locator("title").text_content().strip()


def test_admin_drills_down_from_the_country_to_a_village(browser, live_server) -> None:
    village_name = _move_a_trader_into_a_village(live_server)
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-admin")
    page.click("nav.mainnav >> text=Báo cáo")
    expect(page.locator("h1")).to_have_text("Cả nước")
    _shows_charts(page)
    merchants = page.locator("#key-figures tr[data-key=merchants] td")
    expect(merchants).to_have_text("16")  # every demo trader
    expect(page.locator("#children tbody tr")).to_have_count(34)

    province = page.locator(f"#children tr[data-code='{PROVINCE}'] th a")
    province_name = province.text_content()
    province_merchants = page.locator(f"#children tr[data-code='{PROVINCE}'] td[data-key=merchants]")
    expected = province_merchants.text_content()
    province.click()
    expect(page.locator("h1")).to_have_text(province_name)
    expect(page.locator("#key-figures tr[data-key=merchants] td")).to_have_text(expected)
    expect(page.locator("nav.breadcrumb")).to_contain_text("Cả nước")
    _shows_charts(page)

    commune = page.locator(f"#children tr[data-code='{COMMUNE}'] th a")
    commune_name = commune.text_content()
    expected = page.locator(f"#children tr[data-code='{COMMUNE}'] td[data-key=merchants]").text_content()
    assert int(expected) > 0
    commune.click()
    expect(page.locator("h1")).to_have_text(commune_name)
    expect(page.locator("#key-figures tr[data-key=merchants] td")).to_have_text(expected)
    expect(page.locator("#teams-table tbody tr").first).to_be_visible()
    _shows_charts(page)

    village = page.locator("#children tbody tr", has_text=village_name)
    expect(village.locator("td[data-key=merchants]")).to_have_text("1")
    village.locator("th a").click()
    expect(page.locator("h1")).to_have_text(village_name)
    expect(page.locator("#key-figures tr[data-key=merchants] td")).to_have_text("1")
    expect(page.locator("#stages-table tr[data-stage=registered] td[data-key=current]")).to_be_visible()
    expect(page.locator("nav.breadcrumb a", has_text=commune_name)).to_be_visible()
    _shows_charts(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.close()
