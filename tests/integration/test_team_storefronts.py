"""Storefronts inside the app: the staff menu's "Gian hàng" lists the team's storefronts (not the
public directory); the merchant page says whether the storefront is published and gives its public
link; a trader's edit link, shown once, can be re-issued."""

from tests.helpers import browser_login, csrf_from
from tests.integration.test_storefronts import BUN_HEN, BUN_HEN_SLUG, CA_PHE, VOLUNTEER, editor


async def test_the_menu_opens_the_teams_storefronts_inside_the_app(client) -> None:
    await browser_login(client, VOLUNTEER)
    home = (await client.get("/")).text
    nav = home.split('class="mainnav"')[1].split("</nav>")[0]
    assert 'href="/storefronts/">Gian hàng</a>' in nav and 'href="/s/"' not in nav

    page = await client.get("/storefronts/")
    assert page.status_code == 200
    assert 'class="mainnav"' in page.text  # the staff menu stays: a way back
    listing = page.text.split('id="team-storefronts"')[1].split("</ul>")[0]
    assert f'href="/merchants/{BUN_HEN}/storefront">Bún hến Đông Ba O Nga</a>' in listing
    assert f"/s/{BUN_HEN_SLUG}" in listing and "Đang công khai" in listing
    assert f'href="/merchants/{CA_PHE}/storefront"' in listing  # a draft is there too
    assert listing.index("Bún hến Đông Ba O Nga") < listing.index("Cà phê muối Đông Ba")  # published first

    # Another team's traders are not.
    await browser_login(client, "demo-volunteer-b")
    other = (await client.get("/storefronts/")).text
    assert "Bún hến Đông Ba O Nga" not in other
    english = (await client.get("/storefronts/?lang=en")).text
    assert "Team storefronts" in english


async def test_the_merchant_page_says_whether_the_storefront_is_published_with_its_link(client) -> None:
    await browser_login(client, VOLUNTEER)
    page = (await client.get(f"/merchants/{BUN_HEN}")).text
    section = page.split('id="storefront"')[1].split("</section>")[0]
    assert "Đang công khai" in section
    assert f'value="http://127.0.0.1:8000/s/{BUN_HEN_SLUG}"' in section or f"/s/{BUN_HEN_SLUG}" in section
    assert 'data-copy="#storefront-url"' in section and 'data-share="#storefront-url"' in section
    draft = (await client.get(f"/merchants/{CA_PHE}")).text.split('id="storefront"')[1].split("</section>")[0]
    assert "Chưa công khai" in draft and "data-copy" not in draft


async def test_an_edit_link_shown_once_can_be_reissued(client) -> None:
    await browser_login(client, VOLUNTEER)
    page = await client.get(editor(BUN_HEN))
    made = await client.post(
        f"{editor(BUN_HEN)}/links",
        data={"_csrf_token": csrf_from(page.text), "days": "30"},
        follow_redirects=False,
    )
    shown_at = made.headers["location"]
    first = (await client.get(shown_at)).text
    old_url = first.split('id="link-url" readonly value="')[1].split('"')[0]
    assert 'data-copy="#link-url"' in first and 'data-share="#link-url"' in first
    again = (await client.get(shown_at)).text
    assert 'id="link-shown"' in again and old_url not in again  # shown once only
    reissued = await client.post(
        f"{shown_at}/reissue", data={"_csrf_token": csrf_from(again)}, follow_redirects=False
    )
    assert reissued.status_code == 303
    fresh = (await client.get(reissued.headers["location"])).text
    new_url = fresh.split('id="link-url" readonly value="')[1].split('"')[0]
    assert new_url != old_url
    assert (await client.get(old_url.split("127.0.0.1:8000")[-1])).status_code in (403, 410)
    assert (await client.get(new_url.split("127.0.0.1:8000")[-1])).status_code == 200
