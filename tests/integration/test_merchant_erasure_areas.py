"""A trader's data erasure reaches every area: payment accounts and posters (numbers, holder names,
printed QR text), onboarding notes and shop links, storefront audit values. Rows stay, so counts,
banks, stages and the stage log are unchanged; nothing then renders a QR from an erased account."""

import itertools
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.audit import AuditEntry
from service.db import create_engine, session_maker
from service.onboarding.models import StageEvent, Visit
from service.payments.models import PaymentAccount, Poster
from tests.helpers import api_token, browser_login, post_form, visible_text
from tests.integration.test_storefronts import (  # noqa: F401
    editor,
    published_storefront,
    submit,
    volunteer,
)

VOLUNTEER, OFFICER = "demo-volunteer", "demo-commune"
OWNER = "Phạm Thị Hoa"
HOLDER = "PHAM THI HOA"
VCB, BIDV = ("970436", "0011009876543"), ("970418", "12010000654321")
# Phones of the traders registered here: distinct, and far from the demo traders' (0905 1xx xxx).
_phones = itertools.count(800001)
RANDOM_FIELDS = ("id", "merchant_id", "created_at", "created_by_id")  # uuid4s and timestamps


async def trader(client, headers) -> str:
    response = await client.post(
        "/api/v1/merchants",
        json={
            "kind": "market_stall",
            "business_name": "Bánh canh Cô Hoa",
            "category": "food_drink",
            "owner_name": OWNER,
            "owner_phone": f"0905{next(_phones):06d}",
            "commune_code": "19753",
            "market": "Chợ Đông Ba",
            "stall": "D-03",
            "consent_purposes": ["contact", "storefront"],
            # registered by a tablet a few days ago: the visits below may not predate it
            "registered_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def erase(client, merchant_id: str) -> None:
    response = await client.post(
        f"/api/v1/merchants/{merchant_id}/erasure", json={}, headers=await api_token(client, OFFICER)
    )
    assert response.status_code == 200, response.text


async def rows(settings, model, merchant_id: str) -> list:
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            column = AuditEntry.entity_id if model is AuditEntry else model.merchant_id
            value = merchant_id if model is AuditEntry else uuid.UUID(merchant_id)
            return list(await session.scalars(select(model).where(column == value)))
    finally:
        await engine.dispose()


def assert_erase_audited(entries: list[AuditEntry]) -> None:
    assert any(e.entity_type == "merchant" and e.action == "erase" for e in entries)


# --- payments -----------------------------------------------------------------------------------


async def test_erasure_removes_account_numbers_and_holders_and_keeps_the_banks(client, settings) -> None:
    team = await api_token(client, VOLUNTEER)
    merchant_id = await trader(client, team)
    accounts_url = f"/api/v1/merchants/{merchant_id}/payment-accounts"
    for bank_bin, number in (VCB, BIDV):
        added = await client.post(accounts_url, json={"bank_bin": bank_bin, "account": number}, headers=team)
        assert added.status_code == 201, added.text
        assert added.json()["holder_name"] == HOLDER
    poster = await client.post(f"/api/v1/merchants/{merchant_id}/posters", headers=team)
    code = poster.json()["code"]
    assert (await client.get(f"/v/{code}")).status_code == 200

    await erase(client, merchant_id)

    accounts = (await client.get(accounts_url, headers=team)).json()
    assert [(a["bank_bin"], a["is_primary"]) for a in accounts] == [(VCB[0], True), (BIDV[0], False)]
    assert {(a["account"], a["holder_name"]) for a in accounts} == {("", "Đã xóa")}
    # Every value an account shows, its ids and timestamps aside (random digits may match "6543").
    shown = [v for a in accounts for k, v in a.items() if k not in RANDOM_FIELDS]
    for secret in (VCB[1], BIDV[1], HOLDER, "6543", "4321"):
        assert not any(secret in str(v) for v in shown), secret

    # No QR of an erased account anywhere: the tablet API, the team's images and posters, the public check.
    gone = await client.get(f"/api/v1/merchants/{merchant_id}/payment-qr", headers=team)
    assert gone.status_code == 410 and "đã được xóa" in gone.json()["detail"]
    assert (await client.post(f"/api/v1/merchants/{merchant_id}/posters", headers=team)).status_code == 410
    again = await client.post(accounts_url, json={"bank_bin": VCB[0], "account": VCB[1]}, headers=team)
    assert again.status_code == 409  # an erased record is read-only
    public = await client.get(f"/v/{code}")
    assert public.status_code == 410 and "Đừng chuyển tiền theo biển này" in public.text
    for secret in (HOLDER, "6543", "Bánh canh"):
        assert secret not in visible_text(public.text), secret
    assert HOLDER not in public.text and VCB[1] not in public.text  # nor in any attribute
    await browser_login(client, VOLUNTEER)
    for url in (
        f"/merchants/{merchant_id}/qr.png",
        f"/merchants/{merchant_id}/qr.svg",
        f"/payments/posters/{code}",
        f"/payments/posters/{code}/poster.png",
        f"/payments/posters/{code}/poster.pdf",
    ):
        assert (await client.get(url)).status_code == 410, url
    page = await client.get(f"/merchants/{merchant_id}")
    assert page.status_code == 200 and 'id="payments-erased"' in page.text
    assert 'id="payment-qr"' not in page.text and HOLDER not in page.text and VCB[1] not in page.text
    for secret in ("6543", "4321"):
        assert secret not in visible_text(page.text), secret
    market = await client.get("/payments/posters/", params={"market": "Chợ Đông Ba"})
    assert market.status_code == 200 and VCB[1] not in market.text
    printable = re.search(r'<table class="table" id="printable">.*?</table>', market.text, re.S).group(0)
    assert f'href="/merchants/{merchant_id}"' not in printable  # nothing of the erased trader's to print
    assert not re.search(r"\b6543\b|\b4321\b", visible_text(market.text))  # "•••• 6543" anywhere
    printed = await post_form(
        client, "/payments/posters/?market=Chợ+Đông+Ba", "/payments/posters/", {"market": "Chợ Đông Ba"}
    )
    assert printed.status_code == 303  # the rest of the market still prints

    stored = await rows(settings, PaymentAccount, merchant_id)
    assert len(stored) == 2 and {a.holder_name for a in stored} == {"Đã xóa"}
    assert not any(VCB[1] in a.account or BIDV[1] in a.account for a in stored)
    (printed_poster,) = await rows(settings, Poster, merchant_id)
    assert printed_poster.payload == "" and printed_poster.revoked_at is not None
    entries = await rows(settings, AuditEntry, merchant_id)
    history = json.dumps(
        [e.changes for e in entries if e.entity_type == "payment_account"], ensure_ascii=False
    )
    for secret in (VCB[1], BIDV[1], HOLDER):
        assert secret not in history, secret
    assert sum(e.entity_type == "payment_account" and e.action == "create" for e in entries) == 2
    assert_erase_audited(entries)


# --- onboarding ---------------------------------------------------------------------------------


async def test_erasure_clears_visit_and_stage_notes_and_keeps_the_log(client, settings) -> None:
    team = await api_token(client, VOLUNTEER)
    merchant_id = await trader(client, team)
    when = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    visit = await client.post(
        f"/api/v1/merchants/{merchant_id}/visits",
        json={
            "client_event_id": "visit-1",
            "occurred_at": when,
            "minutes": 30,
            "topics": ["bank_app"],
            "outcome": "progressed",
            "note": "Chị Hoa nhờ con trai Lê Văn Nam ghi sổ",
        },
        headers=team,
    )
    assert visit.status_code == 201, visit.text
    for event in (
        {"stage": "identity", "note": "Đã xem VNeID của chị Phạm Thị Hoa"},
        {"stage": "ecommerce", "link": "https://shopee.vn/banhcanhcohoa"},
    ):
        recorded = await client.post(
            f"/api/v1/merchants/{merchant_id}/stage-events",
            json={"client_event_id": event["stage"], "occurred_at": when, **event},
            headers=team,
        )
        assert recorded.status_code == 201, recorded.text
    leader = await api_token(client, "demo-leader")
    timeline_url = f"/api/v1/merchants/{merchant_id}/timeline"
    before = (await client.get(timeline_url, headers=leader)).json()

    await erase(client, merchant_id)

    after = (await client.get(timeline_url, headers=leader)).json()
    text = json.dumps(after, ensure_ascii=False)
    for secret in ("Lê Văn Nam", "Phạm Thị Hoa", "banhcanhcohoa"):
        assert secret not in text, secret

    def log(timeline: dict) -> list:
        return [
            (i["kind"], i.get("stage"), i.get("event_kind"), i["at"], i.get("minutes"))
            for i in timeline["items"]
            if i["kind"] in ("stage", "visit")
        ]

    assert log(after) == log(before) and len(log(after)) == 4  # registered, identity, ecommerce, visit
    assert after["current_stage"] == before["current_stage"] == "ecommerce"
    assert after["ladder"] == before["ladder"]
    await browser_login(client, "demo-leader")
    page = await client.get(f"/merchants/{merchant_id}/timeline")
    assert page.status_code == 200 and "Lê Văn Nam" not in page.text and "shopee.vn" not in page.text

    events = await rows(settings, StageEvent, merchant_id)
    assert len(events) == 3 and all(e.note is None for e in events)
    assert all(not (e.evidence or {}).get("link") for e in events)
    (stored_visit,) = await rows(settings, Visit, merchant_id)
    assert stored_visit.note is None and stored_visit.minutes == 30
    assert_erase_audited(await rows(settings, AuditEntry, merchant_id))


# --- storefront history ---------------------------------------------------------------------------


async def test_erasure_leaves_no_storefront_text_in_its_history(volunteer, settings) -> None:  # noqa: F811
    client = volunteer
    merchant_id, slug = await published_storefront(client, name="Bánh canh Cô Hoa")
    saved = await submit(
        client,
        editor(merchant_id),
        editor(merchant_id),
        {
            "headline": "Bánh canh của chị Hoa",
            "location_note": "Cạnh nhà bà Tư",
            "contact_phone": "0905 765 432",
            "contact_call": "on",
        },
    )
    assert saved.status_code == 303

    await erase(client, merchant_id)

    entries = await rows(settings, AuditEntry, merchant_id)
    history = json.dumps([e.changes for e in entries if e.entity_type == "storefront"], ensure_ascii=False)
    for secret in ("chị Hoa", "bà Tư", "+84905765432", "0905765432", slug):
        assert secret not in history, secret
    assert "Bún bò" in history  # product names and prices are the market's: they stay
    assert_erase_audited(entries)
