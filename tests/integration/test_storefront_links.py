"""The trader's private edit link: made by the team, shown once as a QR, used without an account
for prices, sold-out marks, a new product with a photo and opening hours; nothing else; audited as
the trader's; revoked and expired links show a clear page."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import zxingcpp
from sqlalchemy import func, select, update

from service.audit import AuditEntry
from service.db import create_engine, session_maker
from service.payments.models import PaymentCheckin
from service.storefronts.models import EditLink
from service.storefronts.public import PRIVATE_PAGE
from tests.helpers import browser_login, csrf_from, post_form
from tests.integration.test_storefront_photos import camera_photo, upload
from tests.integration.test_storefronts import (  # noqa: F401
    VOLUNTEER,
    editor,
    published_storefront,
    submit,
    volunteer,
)


async def new_link(client, merchant_id, days: str = "30") -> str:
    """Make a link as the team; returns its address (read from the page that shows it once)."""
    made = await submit(
        client, editor(merchant_id), f"/merchants/{merchant_id}/storefront/links", {"days": days}
    )
    assert made.status_code == 303, made.text
    shown = await client.get(made.headers["location"])
    assert shown.headers["cache-control"] == "no-store"
    url = re.search(r'id="link-url" readonly value="([^"]+)"', shown.text).group(1)
    svg = re.search(r"(<svg.*?</svg>)", shown.text, re.S).group(1)
    assert read_svg(svg) == url
    again = await client.get(made.headers["location"])  # only once: the token is not kept
    assert url not in again.text and 'id="link-shown"' in again.text
    return url


def read_svg(svg: str) -> str:
    """Decode the inline SVG QR by drawing its module runs."""
    from PIL import Image, ImageDraw

    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    image = Image.new("L", (size * 8, size * 8), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        x, y, w = int(x), int(y), int(w)
        draw.rectangle((x * 8, y * 8, (x + w) * 8 - 1, y * 8 + 7), fill=0)
    (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode.text


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


async def as_trader(client, link: str):
    """Forget the volunteer: the trader's phone has no session, only the link."""
    client.cookies.clear()
    page = await client.get(path_of(link))
    assert page.status_code == 200, page.text
    for name, value in PRIVATE_PAGE.items():
        assert page.headers[name.lower()] == value
    assert "csrftoken" in client.cookies  # the form page set the CSRF cookie, no login needed
    return page


async def audit_rows(settings, merchant_id) -> list[AuditEntry]:
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            return list(
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.entity_id == str(merchant_id), AuditEntry.entity_type == "storefront")
                    .order_by(AuditEntry.at)
                )
            )
    finally:
        await engine.dispose()


async def test_trader_changes_prices_and_sold_out_with_the_link(volunteer, settings) -> None:  # noqa: F811
    client = volunteer
    merchant_id, slug = await published_storefront(client, ("Bún bò", "35.000"), ("Chả cua", "10.000"))
    link = await new_link(client, merchant_id)
    page = await as_trader(client, link)
    ids = re.findall(r'name="price-([0-9a-f-]{36})"', page.text)
    assert len(ids) == 2
    token = csrf_from(page.text)
    response = await client.post(
        f"{path_of(link)}/prices",
        data={
            "_csrf_token": token,
            f"listed-{ids[0]}": "1",
            f"price-{ids[0]}": "40.000",
            f"available-{ids[0]}": "on",
            f"listed-{ids[1]}": "1",
            f"price-{ids[1]}": "10.000",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == path_of(link)
    assert "Đã lưu" in (await client.get(path_of(link))).text
    html = (await client.get(f"/s/{slug}")).text
    assert "40.000\u00a0₫" in html and "35.000" not in html
    assert re.search(r'class="item out"[^>]*>.*?Chả cua', html, re.S)  # sold out

    trader_rows = [r for r in await audit_rows(settings, merchant_id) if r.actor_id is None]
    link_id = (await linked(settings, merchant_id))[0].id
    assert {tuple(r.changes["via"]) for r in trader_rows} == {(None, f"trader via link {link_id}")}
    assert {f for r in trader_rows for f in r.changes} == {"via", "product_id", "price", "available"}


async def linked(settings, merchant_id) -> list[EditLink]:
    from service.storefronts.models import Storefront

    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            sf = await session.scalar(select(Storefront).where(Storefront.merchant_id == merchant_id))
            return list(await session.scalars(select(EditLink).where(EditLink.storefront_id == sf.id)))
    finally:
        await engine.dispose()


async def test_trader_adds_a_product_with_a_photo_and_sets_hours(volunteer) -> None:  # noqa: F811
    client = volunteer
    merchant_id, slug = await published_storefront(client)
    link = await new_link(client, merchant_id)
    page = await as_trader(client, link)
    added = await client.post(
        f"{path_of(link)}/products",
        data={"_csrf_token": csrf_from(page.text), "name": "Bánh canh", "price": "30000", "available": "on"},
        files=upload(camera_photo()),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    hours = await client.post(
        f"{path_of(link)}/hours",
        data={"_csrf_token": csrf_from(page.text), "hours_sat_open": "17:00", "hours_sat_close": "23:30"},
        follow_redirects=False,
    )
    assert hours.status_code == 303
    html = (await client.get(f"/s/{slug}")).text
    assert "Bánh canh" in html and "30.000\u00a0₫" in html and "17:00–23:30" in html
    assert re.search(r'<img src="/media/[0-9a-f]{2}/[0-9a-f]{32}-thumb\.jpg"[^>]*alt="Bánh canh"', html)

    bad = await client.post(
        f"{path_of(link)}/products",
        data={"_csrf_token": csrf_from(page.text), "name": "Bánh ướt", "price": "12,5"},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "Giá là số đồng nguyên" in bad.text and 'value="Bánh ướt"' in bad.text


async def test_the_link_is_refused_everything_else(volunteer) -> None:  # noqa: F811
    client = volunteer
    merchant_id, slug = await published_storefront(client, ("Bún bò", "35.000"))
    link = await new_link(client, merchant_id)
    page = await as_trader(client, link)
    token = csrf_from(page.text)
    (product,) = re.findall(r'name="price-([0-9a-f-]{36})"', page.text)
    attempts = [
        ("/prices", {f"listed-{product}": "1", f"price-{product}": "1000", f"name-{product}": "Đổi tên"}),
        ("/prices", {f"listed-{product}": "1", "headline": "Quảng cáo"}),
        ("/products", {"name": "Bún", "price": "1000", "position": "0"}),
        ("/hours", {"hours_mon_open": "06:00", "hours_mon_close": "10:00", "contact_phone": "0905000000"}),
    ]
    for action, data in attempts:
        response = await client.post(f"{path_of(link)}{action}", data={"_csrf_token": token, **data})
        assert response.status_code == 403, (action, data)
        assert "chỉ dùng để sửa giá, báo hết hàng, thêm sản phẩm và giờ mở cửa" in response.text
    for action in ("/publish", f"/products/{product}/delete", "/links", "/"):
        response = await client.post(f"{path_of(link)}{action}", data={"_csrf_token": token})
        assert response.status_code in (404, 405), action
    assert (await client.get(f"{path_of(link)}/edit")).status_code == 404
    # Nothing changed, and the team's pages stay closed to the link holder.
    html = (await client.get(f"/s/{slug}")).text
    assert "35.000\u00a0₫" in html and "Đổi tên" not in html and "Quảng cáo" not in html
    assert (await client.get(editor(merchant_id), follow_redirects=False)).status_code in (302, 303, 401)
    # Without the CSRF token from its page, a form is refused.
    forged = await client.post(
        f"{path_of(link)}/prices", data={f"listed-{product}": "1", f"price-{product}": "1"}
    )
    assert forged.status_code == 403


async def test_revoked_expired_and_unknown_links_show_a_clear_page(volunteer, settings) -> None:  # noqa: F811
    client = volunteer
    merchant_id, _ = await published_storefront(client)
    revoked = await new_link(client, merchant_id, days="30")
    expired = await new_link(client, merchant_id, days="7")
    rows = sorted(await linked(settings, merchant_id), key=lambda row: row.expires_at)
    week, month = rows  # the 7-day link, the 30-day link
    page = await client.get(editor(merchant_id))
    gone = await client.post(
        f"/merchants/{merchant_id}/storefront/links/{month.id}/revoke",
        data={"_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    engine = create_engine(settings)
    async with session_maker(engine)() as session:  # a week later
        past = datetime.now(UTC) - timedelta(minutes=1)
        await session.execute(update(EditLink).where(EditLink.id == week.id).values(expires_at=past))
        await session.commit()
    await engine.dispose()
    listing = await client.get(editor(merchant_id))
    assert "Đã thu hồi" in listing.text and "Hết hạn" in listing.text

    client.cookies.clear()
    gone = await client.get(path_of(revoked))
    assert gone.status_code == 410 and "Liên kết này đã bị thu hồi" in gone.text
    late = await client.get(path_of(expired))
    assert late.status_code == 410 and "Liên kết này đã hết hạn" in late.text
    wrong = await client.get("/t/" + "x" * 43)
    assert wrong.status_code == 404 and "Liên kết không đúng" in wrong.text
    post = await client.post(f"{path_of(revoked)}/hours", data={"hours_mon_open": "06:00"})
    assert post.status_code == 403  # no CSRF cookie from a working page: refused before anything


async def test_only_the_team_makes_and_revokes_links(volunteer, settings) -> None:  # noqa: F811
    client = volunteer
    merchant_id, _ = await published_storefront(client, ("Bún bò", "35.000"))
    link = await new_link(client, merchant_id)
    (row,) = await linked(settings, merchant_id)
    make, revoke = (
        f"/merchants/{merchant_id}/storefront/links",
        f"/merchants/{merchant_id}/storefront/links/{row.id}/revoke",
    )
    # The commune's officer reads the team's editor; a volunteer of another team cannot see it.
    for outsider, page, status in (
        ("demo-commune", editor(merchant_id), 403),
        ("demo-volunteer-b", "/merchants/new", 404),
    ):
        await browser_login(client, outsider)
        made = await post_form(client, page, make, {"days": "30"})
        assert made.status_code == status, (outsider, made.text)
        revoked = await post_form(client, page, revoke, {})
        assert revoked.status_code == status, (outsider, revoked.text)
    (still,) = await linked(settings, merchant_id)  # no new link, and this one is not revoked
    assert still.revoked_at is None
    await as_trader(client, link)  # the trader's link still works

    await browser_login(client, VOLUNTEER)
    gone = await post_form(client, editor(merchant_id), revoke, {})
    assert gone.status_code == 303
    (row,) = await linked(settings, merchant_id)
    assert row.revoked_at is not None
    client.cookies.clear()
    assert (await client.get(path_of(link))).status_code == 410


async def test_a_revoked_or_expired_link_writes_nothing_even_with_a_valid_csrf_token(
    volunteer,  # noqa: F811
    settings,
) -> None:
    client = volunteer
    merchant_id, slug = await published_storefront(client, ("Bún bò", "35.000"))
    links = {"revoked": await new_link(client, merchant_id, days="30")}
    links["expired"] = await new_link(client, merchant_id, days="7")
    week, month = sorted(await linked(settings, merchant_id), key=lambda row: row.expires_at)
    # While the links work, the trader's page shows the product's field names.
    (product,) = re.findall(r'name="price-([0-9a-f-]{36})"', (await as_trader(client, links["revoked"])).text)
    await browser_login(client, VOLUNTEER)
    revoked = await post_form(
        client, editor(merchant_id), f"/merchants/{merchant_id}/storefront/links/{month.id}/revoke", {}
    )
    assert revoked.status_code == 303
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            past = datetime.now(UTC) - timedelta(minutes=1)
            await session.execute(update(EditLink).where(EditLink.id == week.id).values(expires_at=past))
            await session.commit()
    finally:
        await engine.dispose()

    client.cookies.clear()
    token = csrf_from((await client.get("/login")).text)  # a CSRF cookie and its token, both valid
    writes = [
        ("/prices", {f"listed-{product}": "1", f"price-{product}": "1.000", f"available-{product}": "on"}),
        ("/hours", {"hours_mon_open": "06:00", "hours_mon_close": "10:00"}),
        ("/products", {"name": "Bánh lọc", "price": "5.000", "available": "on"}),
        ("/checkin", {"answer": "6-20"}),
    ]
    for state, message in (("revoked", "Liên kết này đã bị thu hồi"), ("expired", "Liên kết này đã hết hạn")):
        for action, data in writes:
            response = await client.post(
                f"{path_of(links[state])}{action}",
                data={"_csrf_token": token, **data},
                follow_redirects=False,
            )
            assert response.status_code == 410, (state, action, response.status_code)
            assert message in response.text, (state, action)
    html = (await client.get(f"/s/{slug}")).text
    assert "35.000\u00a0₫" in html and "1.000\u00a0₫" not in html
    assert "Bánh lọc" not in html and "06:00–10:00" not in html
    assert not [r for r in await audit_rows(settings, merchant_id) if r.actor_id is None]  # no trader write
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            answers = await session.scalar(
                select(func.count()).where(PaymentCheckin.merchant_id == uuid.UUID(merchant_id))
            )
    finally:
        await engine.dispose()
    assert answers == 0  # nor the weekly check-in
