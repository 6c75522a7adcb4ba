"""Merging two records of one trader when both have payment accounts or both have a storefront:
every account reaches the survivor with one primary, the posters at the stall keep verifying, and
one storefront holds all the products while the duplicate's address leads to it."""

import re

from tests.helpers import api_token
from tests.integration.test_storefront_links import as_trader, new_link
from tests.integration.test_storefront_photos import camera_photo, upload
from tests.integration.test_storefronts import (  # noqa: F401
    add_product,
    editor,
    listed,
    new_merchant,
    product_names,
    published_storefront,
    volunteer,
)


def editor_products(html: str) -> list[str]:
    """Product names in the team's editor list (each is `<strong>name</strong> · price`)."""
    (products,) = re.findall(r'<ul class="sf-products">.*?</ul>', html, re.S)
    return re.findall(r"<strong>([^<]*)</strong> · ", products)


def trader_products(html: str) -> list[str]:
    """Product names in the trader's price list (each labels its price field)."""
    return re.findall(
        r'<label for="[^"]*" class="pname">([^<]*)</label>(?:\s*<span class="muted">[^<]*</span>)?'
        r'<input type="hidden" name="listed-',
        html,
    )


LEADER = "demo-leader"  # leader of demo-volunteer's team (Đông Ba)
VCB, BIDV, AGRIBANK = "970436", "970418", "970405"


async def merge(client, survivor_id: str, duplicate_id: str) -> dict:
    response = await client.post(
        f"/api/v1/merchants/{survivor_id}/merge",
        json={"duplicate_id": duplicate_id},
        headers=await api_token(client, LEADER),
    )
    assert response.status_code == 200, response.text
    return response.json()


# --- payment accounts ---------------------------------------------------------------------------


async def add_account(client, headers, merchant_id: str, bank_bin: str, account: str) -> dict:
    response = await client.post(
        f"/api/v1/merchants/{merchant_id}/payment-accounts",
        json={"bank_bin": bank_bin, "account": account},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_primary(client, headers, merchant_id: str, account_id: str) -> None:
    response = await client.patch(
        f"/api/v1/merchants/{merchant_id}/payment-accounts/{account_id}",
        json={"is_primary": True},
        headers=headers,
    )
    assert response.status_code == 200, response.text


async def print_poster(client, headers, merchant_id: str) -> str:
    response = await client.post(f"/api/v1/merchants/{merchant_id}/posters", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["code"]


async def accounts_of(client, headers, merchant_id: str) -> list[dict]:
    response = await client.get(f"/api/v1/merchants/{merchant_id}/payment-accounts", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_merge_moves_every_account_and_the_survivor_keeps_one_primary(client) -> None:
    """The trader was registered three times. The first merge brings a primary account to a
    survivor without any; the second brings a primary, an account the survivor has too, and one more."""
    team = await api_token(client, "demo-volunteer")
    survivor = await new_merchant(client, "Bún bò Cô Ba")
    first = await new_merchant(client, "Bún bò Cô Ba", stall="C-22", not_duplicate_of=[survivor])
    duplicate = await new_merchant(client, "Bún bò Cô Ba", stall="C-23", not_duplicate_of=[survivor, first])
    await add_account(client, team, first, VCB, "0011001234567")
    await merge(client, survivor, first)
    assert [(a["bank_bin"], a["is_primary"]) for a in await accounts_of(client, team, survivor)] == [
        (VCB, True)
    ]

    bidv = await add_account(client, team, duplicate, BIDV, "12010000123456")  # the duplicate's primary
    same = await add_account(client, team, duplicate, VCB, "0011001234567")  # also on the survivor
    await add_account(client, team, duplicate, AGRIBANK, "4000205777777")
    # Posters printed from the duplicate hang at the stall: one of the shared account, one of BIDV.
    await make_primary(client, team, duplicate, same["id"])
    shared_poster = await print_poster(client, team, duplicate)
    await make_primary(client, team, duplicate, bidv["id"])
    bidv_poster = await print_poster(client, team, duplicate)

    result = await merge(client, survivor, duplicate)
    assert result["moved"]["payment_accounts.merchant_id"] == 3
    assert "payment_accounts.merchant_id" not in result["left_behind"]

    accounts = await accounts_of(client, team, survivor)
    assert sorted((a["bank_bin"], a["account"]) for a in accounts) == [
        (AGRIBANK, "4000205777777"),
        (BIDV, "12010000123456"),
        (VCB, "0011001234567"),
    ]
    assert [(a["bank_bin"], a["is_primary"]) for a in accounts if a["is_primary"]] == [(VCB, True)]
    qr = (await client.get(f"/api/v1/merchants/{survivor}/payment-qr", headers=team)).json()
    assert qr["account"] == "0011001234567"  # the survivor's own primary is still the stall QR
    for code in (shared_poster, bidv_poster):
        page = await client.get(f"/v/{code}")
        assert page.status_code == 200
        assert "Mã này đang có hiệu lực." in page.text, code


# --- storefronts --------------------------------------------------------------------------------


async def test_merge_of_two_storefronts_keeps_one_page_with_every_product(volunteer) -> None:  # noqa: F811
    """Three records of one trader: the first merge brings a storefront to a survivor without one;
    the second brings another storefront, whose products join it."""
    client = volunteer
    first, survivor_slug = await published_storefront(
        client, ("Bún bò", "35.000"), ("Bún chả", "30.000"), name="Bún bò Cô Ba"
    )
    survivor = await new_merchant(client, "Bún bò Cô Ba", stall="C-22", not_duplicate_of=[first])
    result = await merge(client, survivor, first)
    assert result["moved"]["storefronts.merchant_id"] == 1
    assert (await client.get(f"/s/{survivor_slug}")).status_code == 200
    assert editor_products((await client.get(editor(survivor))).text) == ["Bún bò", "Bún chả"]

    duplicate, old_slug = await published_storefront(client, ("Nem lụi", "5.000"), name="Quán Cô Ba")
    assert (
        await add_product(client, duplicate, "Bánh bèo", "20.000", files=upload(camera_photo()))
    ).status_code == 303
    link = await new_link(client, duplicate)
    assert (await client.get(f"/s/{old_slug}")).status_code == 200  # now in the page cache

    result = await merge(client, survivor, duplicate)
    assert result["left_behind"].get("storefronts.merchant_id") == 1  # retired with the tombstone

    moved = await client.get(f"/s/{old_slug}", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == f"/s/{survivor_slug}"
    qr = await client.get(f"/s/{old_slug}/qr.png", follow_redirects=False)
    assert qr.status_code == 301 and qr.headers["location"] == f"/s/{survivor_slug}/qr.png"
    page = await client.get(f"/s/{survivor_slug}")
    assert page.status_code == 200
    # The product list itself (the page title is the trader's name, "Bún bò Cô Ba"): the
    # duplicate's products come after the survivor's.
    assert product_names(page.text) == ["Bún bò", "Bún chả", "Nem lụi", "Bánh bèo"]
    photo = re.search(
        r'<img src="(/media/[0-9a-f]{2}/[0-9a-f]{32}-thumb\.jpg)"[^>]*alt="Bánh bèo"', page.text
    )
    assert photo, "the moved product keeps its photo"
    assert (await client.get(photo.group(1))).status_code == 200

    directory = await client.get("/s/", params={"q": "Cô Ba"})
    found = listed(directory.text)
    assert found.count(survivor_slug) == 1 and old_slug not in found
    searched = await client.get("/s/", params={"q": "nem lui"})
    assert listed(searched.text) == [survivor_slug]  # the survivor's search key has the moved products

    editor_page = await client.get(editor(survivor))
    assert editor_products(editor_page.text) == ["Bún bò", "Bún chả", "Nem lụi", "Bánh bèo"]
    trader = await as_trader(client, link)  # the trader's link keeps working, on the one page left
    assert trader_products(trader.text) == ["Bún bò", "Bún chả", "Nem lụi", "Bánh bèo"]
