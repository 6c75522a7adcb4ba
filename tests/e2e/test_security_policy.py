"""The security policy in a real Chromium: every page's own scripts still run under it, and the
browser reports no violation (an inline script that slipped in would be blocked and say so)."""

from playwright.sync_api import expect

from service.generated.demo import demo_merchant_id
from tests.e2e.conftest import PHONE, TABLET, sign_in

BUN_HEN = demo_merchant_id(0)
BUN_HEN_SLUG = "bun-hen-dong-ba-o-nga-cho-dong-ba"


def _watch(page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return refused


def test_the_storefront_share_box_works_under_the_policy(browser, live_server) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    refused = _watch(page)
    page.goto(f"{live_server.url}/s/{BUN_HEN_SLUG}")
    expect(page.locator("#copy-link")).to_be_visible()  # shown by the page's inline script
    page.click("#copy-link")
    expect(page.locator("#copy-link")).to_have_text("Đã chép")
    assert refused == []
    context.close()


def test_staff_pages_run_their_scripts_under_the_policy(browser, live_server) -> None:
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    refused = _watch(page)
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/payment-accounts/new")
    expect(page.locator("#bank-filter")).to_have_count(0)  # removed by bank-filter.js
    page.fill("#bank_q", "vietcom")
    visible = page.eval_on_selector_all("#bank_bin option", "os => os.filter(o => !o.hidden).length")
    assert 0 < visible < page.locator("#bank_bin option").count()
    for path in ("/", "/merchants/new", "/worklist", "/outbox", "/reports"):
        page.goto(f"{live_server.url}{path}")
    assert refused == []
    context.close()


def test_the_api_documentation_opens_with_no_internet(browser, live_server) -> None:
    """An office network without internet: every request to another site fails."""
    context = browser.new_context(viewport=TABLET)
    elsewhere: list[str] = []

    def only_this_site(route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_this_site)
    page = context.new_page()
    refused = _watch(page)
    page.goto(f"{live_server.url}/schema")
    expect(page.locator('.opblock-summary-path[data-path="/health"]')).to_be_visible()
    document = page.request.get(f"{live_server.url}/schema/openapi.json").json()
    operations = sum(len(item) for item in document["paths"].values())
    expect(page.locator(".opblock")).to_have_count(operations)  # every operation is drawn
    expect(page.locator(".info .title")).to_contain_text("Onboard API")
    assert elsewhere == [] and refused == []
    context.close()
