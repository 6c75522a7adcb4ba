"""Every page a volunteer, a team leader, a trader and a shopper opens fits a 360 px phone and an
800 px tablet without sideways scrolling; the trader's page has big labelled toggles and prices
written as prices; the shopper's pay-this-amount QR opens large enough to scan, with a word on how
to pay from the same phone; a whole directory card opens its storefront."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from service.generated.demo import demo_merchant_id
from tests.e2e.conftest import sign_in
from tests.e2e.steps import SIZE_IDS, SIZES, assert_fits, fits, widest, wrong_default_buttons

BUN_HEN = demo_merchant_id(0)
BUN_HEN_SLUG = "bun-hen-dong-ba-o-nga-cho-dong-ba"


def staff_pages(url: str) -> list[str]:
    merchant = f"{url}/merchants/{BUN_HEN}"
    return [
        f"{url}/",
        f"{url}/merchants/",
        f"{url}/merchants/new",
        merchant,
        f"{merchant}/edit",
        f"{merchant}/timeline",
        f"{merchant}/visits/new",
        f"{merchant}/stages/new",
        f"{merchant}/stages/new?stage=qr_active",
        f"{merchant}/payment-accounts/new",
        f"{merchant}/storefront",
        f"{url}/storefronts/",
        f"{url}/worklist",
        f"{url}/settings",
        f"{url}/reports/feedback/new",
    ]


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_every_page_fits_without_sideways_scrolling(browser, live_server, size) -> None:
    context = browser.new_context(viewport=size, is_mobile=size["width"] < 500, has_touch=True)
    page = context.new_page()
    sign_in(page, live_server, "demo-volunteer")
    for url in staff_pages(live_server.url):
        assert_fits(page, url)
        assert wrong_default_buttons(page) == [], url  # Enter never presses a hidden or secondary button
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/storefront")
    page.locator("#new-link").dispatch_event("click")
    link = page.locator("#link-url").input_value()
    context.close()

    context = browser.new_context(viewport=size, is_mobile=size["width"] < 500, has_touch=True)
    page = context.new_page()
    sign_in(page, live_server, "demo-leader")
    for url in [f"{live_server.url}/", f"{live_server.url}/teams/", f"{live_server.url}/worklist"]:
        assert_fits(page, url)
    page.goto(f"{live_server.url}/teams/")
    page.locator("main a[href^='/teams/']").first.click()
    page.wait_for_url("**/teams/*-*")
    assert fits(page), (page.url, widest(page))
    page.goto(f"{live_server.url}/")
    page.click("#claims-waiting")  # the team's progress and claims
    page.wait_for_url("**/progress*")
    assert fits(page), (page.url, widest(page))
    page.goto(f"{live_server.url}/")
    page.locator("main").get_by_role("link", name="Thôn, tổ dân phố").click()
    page.wait_for_url("**/villages/")
    assert fits(page), (page.url, widest(page))
    context.close()

    public = browser.new_context(viewport=size, is_mobile=size["width"] < 500, has_touch=True)
    shopper = public.new_page()
    for url in [f"{live_server.url}/s/", f"{live_server.url}/s/{BUN_HEN_SLUG}", link]:
        assert_fits(shopper, url)
        assert wrong_default_buttons(shopper) == [], url
    public.close()


def test_the_traders_page_has_big_labelled_toggles_and_prices_as_prices(browser, live_server) -> None:
    volunteer = browser.new_context(viewport={"width": 800, "height": 1280})
    page = volunteer.new_page()
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/storefront")
    page.click("#new-link")
    link = page.locator("#link-url").input_value()
    volunteer.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    trader = phone.new_page()
    trader.goto(link)
    assert fits(trader), widest(trader)
    # Prices read as prices.
    expect(trader.get_by_label("Bún hến", exact=True)).to_have_value("25.000")
    # Each "in stock" toggle is a labelled box of at least 44 px.
    toggles = trader.locator("#prices label.toggle")
    assert toggles.count() >= 4
    for n in range(toggles.count()):
        box = toggles.nth(n).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
        expect(toggles.nth(n)).to_contain_text("Còn hàng")
    # Every tap target: buttons, links, fields and labelled boxes.
    small = trader.evaluate(
        """() => [...document.querySelectorAll(`main a, main button, main select, main summary,
                   main label.toggle, main input:not([type=hidden]):not([type=checkbox])`)]
          .filter((el) => el.checkVisibility())
          .map((el) => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().height])
          .filter(([, h]) => h < 44)"""
    )
    assert small == [], small
    assert trader.locator("main input[type=checkbox]:not(label.toggle input)").count() == 0
    # A price typed as traders say it is saved and shown back as a price.
    trader.get_by_label("Bún hến", exact=True).fill("30k")
    trader.get_by_role("button", name="Lưu giá").click()
    expect(trader.locator(".flash")).to_contain_text("Đã lưu")
    expect(trader.get_by_label("Bún hến", exact=True)).to_have_value("30.000")
    phone.close()


def test_a_shopper_opens_a_scannable_qr_and_is_told_how_to_pay_from_the_same_phone(
    browser, live_server
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/")
    # Tapping anywhere on a card, not only its name, opens the storefront.
    card = page.locator("#results > li.item", has_text="Bún hến Đông Ba O Nga")
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 10, box["y"] + box["height"] - 10)
    expect(page.locator("h1")).to_have_text("Bún hến Đông Ba O Nga")

    page.locator("details > summary").first.click()
    qr = page.locator("details[open] img.qr").first
    qr.scroll_into_view_if_needed()
    assert qr.bounding_box()["width"] >= 220, qr.bounding_box()
    howto = page.locator("#pay-howto")
    expect(howto).to_contain_text("Lưu ảnh mã QR")
    expect(howto).to_contain_text("thư viện ảnh")
    expect(page.locator("details[open]").first.get_by_role("link", name="Lưu ảnh mã QR")).to_be_visible()
    assert fits(page)
    context.close()


def test_the_menus_storefronts_stay_in_the_app_and_the_public_link_copies(browser, live_server) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    sign_in(page, live_server, "demo-volunteer")
    page.locator(".mainnav").get_by_role("link", name="Gian hàng").click()
    expect(page.locator("h1")).to_have_text("Gian hàng của tổ")
    expect(page.locator(".mainnav")).to_be_visible()  # the way back
    page.get_by_role("link", name="Bún hến Đông Ba O Nga").click()
    expect(page.locator("h1")).to_contain_text("Bún hến Đông Ba O Nga")

    page.goto(f"{live_server.url}/merchants/{BUN_HEN}")
    expect(page.locator("#storefront-state")).to_contain_text("Đang công khai")
    page.click("#storefront-url-copy")
    expect(page.locator("#storefront-url-copy")).to_have_text("Đã chép")
    assert page.evaluate("navigator.clipboard.readText()").endswith(f"/s/{BUN_HEN_SLUG}")
    context.close()


# Addresses a crawl does not open: sign-out, files to download, the shoppers' and traders' pages
# (checked above) and the API.
NOT_PAGES = re.compile(r"\.(csv|xlsx|pdf|png|svg|json)$|^/(logout|api/|static/|s/|t/|sw\.js)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LINKS = """() => [...document.querySelectorAll('a[href]')]
  .filter((a) => !a.hasAttribute('download')).map((a) => a.href)"""


def page_kind(url: str) -> str:
    """One page of each kind: ids, codes and query values (but a code's length: a province or a
    commune) left out."""
    parts = urlsplit(url)
    path = UUID.sub("{id}", parts.path)
    query = sorted(
        f"{k}={'#' * len(v) if v.isdigit() else ('{id}' if UUID.fullmatch(v) else '')}"
        for k, v in parse_qsl(parts.query)
        if k != "cursor"
    )
    return path + "?" + "&".join(query)


def crawl(
    page, server, limit: int, follow: tuple[str, ...] = ("/",), seeds: tuple[str, ...] = ()
) -> list[str]:
    """Every kind of page a signed-in user reaches by following links (to paths starting with one of
    `follow`) from the home page and `seeds` (at most `limit`); what overflows the screen sideways,
    and forms whose Enter presses a hidden or a secondary button."""
    problems: list[str] = []
    queue, seen = [f"{server.url}/", *(f"{server.url}{seed}" for seed in seeds)], set()
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if page_kind(url) in seen:
            continue
        seen.add(page_kind(url))
        response = page.goto(url)
        if response is None or not response.ok:
            problems.append(f"{url}: {response and response.status}")
            continue
        if not fits(page):
            problems.append(f"{url}: {widest(page)}")
        problems += [f"{url}: {form}" for form in wrong_default_buttons(page)]
        for link in page.evaluate(LINKS):
            link = link.split("#")[0]
            path, query = urlsplit(link).path, urlsplit(link).query
            if (
                link.startswith(server.url)
                and path.startswith(follow)
                and not NOT_PAGES.search(path)
                and "lang=" not in query  # the language switch: the same page in English
                and page_kind(link) not in seen
            ):
                queue.append(link)
    assert len(seen) >= 10, seen
    return problems


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_every_officers_page_fits_without_sideways_scrolling(browser, live_server, size) -> None:
    """The commune's, the province's and the national officer's pages: home, reports at each level
    and their sub-pages, targets, teams' reports, teams, villages, traders, imports, merging,
    posters; wide tables scroll inside their own box, never the page."""
    problems = []
    reports = ("/reports", "/lists", "/teams")
    officers = [
        # The commune officer: every kind of page there is, posters and QR reading too.
        ("demo-commune", 60, ("/",), ("/payments/posters/?market=Chợ Đông Ba", "/payments/import", "/v/")),
        # The province's and the country's reports, down to a village and a team.
        ("demo-province", 25, reports, ()),
        ("demo-admin", 25, reports, ()),
    ]
    for username, limit, follow, seeds in officers:
        context = browser.new_context(viewport=size, is_mobile=size["width"] < 500, has_touch=True)
        page = context.new_page()
        sign_in(page, live_server, username)
        problems += [f"{username} {p}" for p in crawl(page, live_server, limit, follow, seeds)]
        context.close()
    assert problems == [], "\n".join(problems)
