"""An admin drills down from the country to a village on the dashboard, on a tablet."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import TABLET, sign_in

PROVINCE = "46"
COMMUNE = "19753"


def _shows_charts(page) -> None:
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() >= 4
    for i in range(charts.count()):
        assert charts.nth(i).locator("title").text_content().strip()


def test_admin_drills_down_from_the_country_to_a_village(browser, live_server) -> None:
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

    # The demo traders live in the village their team covers.
    village = (
        page.locator("#children tbody tr", has=page.locator("th a"))
        .filter(has_not=page.locator("td[data-key=merchants]", has_text=re.compile(r"^\s*0\s*$")))
        .first
    )
    village_name = village.locator("th a").text_content()
    in_village = village.locator("td[data-key=merchants]").text_content()
    assert int(in_village) > 0
    village.locator("th a").click()
    expect(page.locator("h1")).to_have_text(village_name)
    expect(page.locator("#key-figures tr[data-key=merchants] td")).to_have_text(in_village)
    expect(page.locator("#stages-table tr[data-stage=registered] td[data-key=current]")).to_be_visible()
    expect(page.locator("nav.breadcrumb a", has_text=commune_name)).to_be_visible()
    _shows_charts(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.close()
