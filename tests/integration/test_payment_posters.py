"""The merchant's QR images over HTTP (ETag, 304, cache lifetimes), stall posters as PNG and PDF
read back with zxing-cpp, printing a whole market, and the public `/v/{code}` page."""

import io
import re

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from service.audit import AuditEntry
from service.db import create_engine, session_maker
from service.payments import render
from service.payments.vietqr import VietQR, decode, encode
from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.test_payment_accounts import AGRIBANK, KIM_LONG, NO_ACCOUNT, TWO_ACCOUNTS, accounts_url
from tests.unit.payments.test_poster import pdf_page_count, pdf_page_images

STALL = encode(VietQR(bank_bin="970405", account="4000205123456"))  # demo trader 0, Agribank
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def read_qr(data: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)), formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode.text


@pytest.fixture
async def volunteer(client) -> dict[str, str]:
    return await api_token(client, "demo-volunteer")


async def print_poster(client, headers, merchant_id=AGRIBANK) -> dict:
    response = await client.post(f"/api/v1/merchants/{merchant_id}/posters", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- QR images ----------------------------------------------------------------------------------


async def test_qr_png_reads_back_as_the_json_payload(client, volunteer) -> None:
    for params in ({}, {"amount": "85000", "purpose": "Bàn 4"}):
        payload = await client.get(
            f"/api/v1/merchants/{AGRIBANK}/payment-qr", params=params, headers=volunteer
        )
        png = await client.get(f"/merchants/{AGRIBANK}/qr.png", params=params, headers=volunteer)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert read_qr(png.content) == payload.json()["payload"]
        assert decode(read_qr(png.content)).static is (not params)


async def test_qr_svg_is_the_same_symbol(client, volunteer) -> None:
    svg = await client.get(f"/merchants/{AGRIBANK}/qr.svg", headers=volunteer)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text == render.qr_svg(STALL)


async def test_unversioned_image_is_revalidated_and_answers_304(client, volunteer) -> None:
    first = await client.get(f"/merchants/{AGRIBANK}/qr.png", headers=volunteer)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "private, no-cache"
    again = await client.get(f"/merchants/{AGRIBANK}/qr.png", headers={**volunteer, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = await client.get(
        f"/merchants/{AGRIBANK}/qr.png", headers={**volunteer, "If-None-Match": f'"other", W/{etag}'}
    )
    assert weak.status_code == 304
    stale = await client.get(
        f"/merchants/{AGRIBANK}/qr.png", headers={**volunteer, "If-None-Match": '"nope"'}
    )
    assert stale.status_code == 200 and stale.content == first.content


async def test_versioned_url_is_immutable_for_a_year(client, volunteer) -> None:
    version = render.version(STALL)
    response = await client.get(f"/merchants/{AGRIBANK}/qr.svg", params={"v": version}, headers=volunteer)
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    old = await client.get(f"/merchants/{AGRIBANK}/qr.svg", params={"v": "0" * 16}, headers=volunteer)
    assert old.headers["cache-control"] == "private, no-cache"  # an old page: revalidate


async def test_merchant_page_links_the_versioned_image(client) -> None:
    await browser_login(client, "demo-volunteer")
    page = (await client.get(f"/merchants/{AGRIBANK}")).text
    assert f"/merchants/{AGRIBANK}/qr.svg?v={render.version(STALL)}" in page


async def test_a_changed_primary_account_changes_the_etag(client, volunteer) -> None:
    before = (await client.get(f"/merchants/{TWO_ACCOUNTS}/qr.png", headers=volunteer)).headers["etag"]
    card = (await client.get(accounts_url(TWO_ACCOUNTS), headers=volunteer)).json()[1]
    await client.patch(
        f"{accounts_url(TWO_ACCOUNTS)}/{card['id']}", json={"is_primary": True}, headers=volunteer
    )
    after = await client.get(
        f"/merchants/{TWO_ACCOUNTS}/qr.png", headers={**volunteer, "If-None-Match": before}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before
    assert decode(read_qr(after.content)).service == "card"


async def test_identical_payloads_are_rendered_once(client, volunteer) -> None:
    render.clear_cache()
    for _ in range(3):
        await client.get(f"/merchants/{AGRIBANK}/qr.png", headers=volunteer)
    info = render._served.cache_info()
    assert (info.misses, info.hits) == (1, 2)


async def test_images_need_sign_in_and_scope(client) -> None:
    assert (await client.get(f"/merchants/{AGRIBANK}/qr.png", follow_redirects=False)).status_code in (
        302,
        303,
        307,
    )
    other = await api_token(client, "demo-volunteer-b")
    assert (await client.get(f"/merchants/{AGRIBANK}/qr.png", headers=other)).status_code == 404
    assert (await client.get(f"/merchants/{KIM_LONG}/qr.png", headers=other)).status_code == 200


async def test_image_of_a_merchant_without_account_is_409(client, volunteer) -> None:
    assert (await client.get(f"/merchants/{NO_ACCOUNT}/qr.png", headers=volunteer)).status_code == 409


# --- posters -------------------------------------------------------------------------------------


async def test_poster_png_and_pdf_carry_the_qr(client, volunteer) -> None:
    poster = await print_poster(client, volunteer)
    assert CODE.match(poster["code"])
    assert poster["verify_url"] == f"http://127.0.0.1:8000/v/{poster['code']}"
    png = await client.get(poster["png_url"], headers=volunteer)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.size == (1240, 1748)
    assert read_qr(png.content) == STALL
    pdf = await client.get(poster["pdf_url"], headers=volunteer)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf_page_count(pdf.content) == 1
    (page,) = pdf_page_images(pdf.content)
    (barcode,) = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
    assert barcode.text == STALL


async def test_printing_again_reprints_the_same_code_and_audits_each_print(
    client, settings, volunteer
) -> None:
    first = await print_poster(client, volunteer)
    again = await print_poster(client, volunteer)
    assert again["code"] == first["code"]
    engine = create_engine(settings)
    async with session_maker(engine)() as session:
        prints = list(
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity_type == "payment_account",
                    AuditEntry.entity_id == str(AGRIBANK),
                    AuditEntry.action == "print_poster",
                )
            )
        )
    await engine.dispose()
    # The demo printed this trader's poster once already: the same code, three prints audited.
    assert [p.changes["poster_code"][1] for p in prints] == [first["code"].replace("-", "")] * 3
    assert {p.changes["payment_account_id"][1] for p in prints} == {first["payment_account_id"]}


async def test_poster_without_an_account_is_409(client, volunteer) -> None:
    response = await client.post(f"/api/v1/merchants/{NO_ACCOUNT}/posters", headers=volunteer)
    assert response.status_code == 409


async def test_print_button_leads_to_the_poster_page(client) -> None:
    await browser_login(client, "demo-volunteer")
    page = await client.get(f"/merchants/{AGRIBANK}")
    response = await client.post(
        f"/merchants/{AGRIBANK}/posters", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    location = response.headers["location"]
    code = location.rsplit("/", 1)[1]
    assert CODE.match(code)
    poster_page = await client.get(location)
    assert f'src="/payments/posters/{code}/poster.png"' in poster_page.text
    assert f"http://127.0.0.1:8000/v/{code}" in poster_page.text
    merchant_page = await client.get(f"/merchants/{AGRIBANK}")
    assert f"/payments/posters/{code}" in merchant_page.text


async def test_another_team_cannot_open_the_poster(client, volunteer) -> None:
    poster = await print_poster(client, volunteer)
    other = await api_token(client, "demo-volunteer-b")
    assert (await client.get(poster["png_url"], headers=other)).status_code == 404


# --- /v/{code} ------------------------------------------------------------------------------------


async def test_verification_page_is_public_and_shows_the_trader(client, volunteer) -> None:
    poster = await print_poster(client, volunteer)
    client.headers.pop("Authorization", None)
    client.cookies.clear()
    page = await client.get(f"/v/{poster['code']}")
    assert page.status_code == 200
    html = page.text
    assert "Mã này đang có hiệu lực." in html
    assert "Bún hến Đông Ba O Nga" in html and "Chợ Đông Ba" in html and "A-07" in html
    assert "Agribank" in html and "•••• 3456" in html and "TRAN THI NGA" in html
    assert "4000205123456" not in html and "+8490" not in html  # no full number, no phone
    assert 'name="robots" content="noindex"' in html


async def test_codes_are_read_the_way_people_type_them(client, volunteer) -> None:
    code = (await print_poster(client, volunteer))["code"]
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert (await client.get(f"/v/{typed}")).status_code == 200
    form = await client.get("/v/", params={"code": typed}, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == f"/v/{code}"


async def test_removed_account_makes_the_poster_no_longer_valid(client, volunteer) -> None:
    poster = await print_poster(client, volunteer)
    await client.delete(f"{accounts_url(AGRIBANK)}/{poster['payment_account_id']}", headers=volunteer)
    page = await client.get(f"/v/{poster['code']}")
    assert page.status_code == 200
    assert "Mã này không còn hiệu lực." in page.text
    assert "Bún hến Đông Ba O Nga" in page.text


async def test_unknown_code_gets_a_friendly_404_page(client) -> None:
    for code in ("ZZZZ-ZZZZ", "not-a-code-at-all", "%3Cscript%3E"):
        page = await client.get(f"/v/{code}")
        assert page.status_code == 404
        assert "Không tìm thấy mã xác minh" in page.text
        assert "<script>" not in page.text


# --- a whole market -----------------------------------------------------------------------------


async def test_market_page_lists_who_is_printed_and_who_is_skipped(client) -> None:
    await browser_login(client, "demo-volunteer")
    page = await client.get("/payments/posters/", params={"market": "cho dong ba"})
    assert page.status_code == 200
    printable = re.search(r'<table class="table" id="printable">(.*?)</table>', page.text, re.S).group(1)
    assert "Bún hến Đông Ba O Nga" in printable and "Mè xửng Thiên Hương" in printable
    skipped = re.search(r'<ul id="skipped">(.*?)</ul>', page.text, re.S).group(1)
    assert "Cà phê muối Đông Ba" in skipped and "Bún hến" not in skipped


async def test_market_prints_one_multi_page_pdf(client) -> None:
    await browser_login(client, "demo-volunteer")
    page = await client.get("/payments/posters/", params={"market": "Chợ Đông Ba"})
    response = await client.post(
        "/payments/posters/",
        data={"_csrf_token": csrf_from(page.text), "market": "Chợ Đông Ba"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    pdf = await client.get(response.headers["location"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf_page_count(pdf.content) == 2
    texts = []
    for image in pdf_page_images(pdf.content):
        (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        texts.append(decode(barcode.text).account)
    assert texts == ["4000205123456", "0011004455667"]  # stalls A-07, B-03


async def test_market_is_scoped_to_the_caller(client) -> None:
    await browser_login(client, "demo-volunteer-b")
    page = await client.get("/payments/posters/")
    assert "Chợ Kim Long" in page.text and "Chợ Đông Ba" not in page.text
    assert (await client.get("/payments/posters/", params={"market": "Chợ Đông Ba"})).status_code == 404
    assert (await client.get("/payments/posters.pdf", params={"market": "Chợ Đông Ba"})).status_code == 404


async def test_guessing_codes_is_slowed_down(client, volunteer) -> None:
    code = (await print_poster(client, volunteer))["code"]
    for n in range(30):
        assert (await client.get(f"/v/ZZZZ-ZZ{n:02d}")).status_code == 404
    assert (await client.get("/v/ZZZZ-ZZZY")).status_code == 429
    assert (await client.get(f"/v/{code}")).status_code == 429  # until the window passes
