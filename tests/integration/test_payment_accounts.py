"""Payment accounts over HTTP: create (first is primary), idempotent retries, scoping, masking, field
errors, primary and removal with audit; the tablet form and the import-from-QR path."""

import io
import uuid

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from service.audit import AuditEntry
from service.db import create_engine, session_maker
from service.payments import banks
from service.payments.vietqr import VietQR, encode
from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.test_payments_api import phone_photo, upload


def demo_merchant(position: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-merchant-{position}")


# Demo traders of the Đông Ba team (demo-volunteer, demo-leader): 0 has an Agribank account,
# 1 a Vietcombank account and card, 3 (Bánh lọc Bà Tư, owner Ngô Thị Tư) none. 6 is Kim Long's.
NO_ACCOUNT = demo_merchant(3)
AGRIBANK = demo_merchant(0)
TWO_ACCOUNTS = demo_merchant(1)
KIM_LONG = demo_merchant(6)
VCB = {"bank_bin": "970436", "account": "0011 0012-34567"}


def accounts_url(merchant_id: uuid.UUID) -> str:
    return f"/api/v1/merchants/{merchant_id}/payment-accounts"


@pytest.fixture
async def volunteer(client) -> dict[str, str]:
    return await api_token(client, "demo-volunteer")


async def add(client, headers, merchant_id=NO_ACCOUNT, **body):
    return await client.post(accounts_url(merchant_id), json={**VCB, **body}, headers=headers)


def field_errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


async def audit_rows(settings, account_id, merchant_id=None) -> list[AuditEntry]:
    """The account's audit entries: filed under its merchant, naming the account."""
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            query = select(AuditEntry).where(AuditEntry.entity_type == "payment_account")
            if merchant_id is not None:
                query = query.where(AuditEntry.entity_id == str(merchant_id))
            rows = await session.scalars(query.order_by(AuditEntry.at, AuditEntry.action))
            return [e for e in rows if e.changes["payment_account_id"][1] == str(account_id)]
    finally:
        await engine.dispose()


def without_account_id(changes: dict) -> dict:
    return {field: pair for field, pair in changes.items() if field != "payment_account_id"}


# --- the JSON API -------------------------------------------------------------------------------


async def test_first_account_is_primary_with_the_owner_name_as_banks_write_it(client, volunteer) -> None:
    response = await add(client, volunteer)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["account"] == "0011001234567"  # spaces and dashes removed
    assert body["holder_name"] == "NGO THI TU"  # the owner, Ngô Thị Tư, as the bank shows it
    assert (body["is_primary"], body["account_masked"], body["bank_short_name"]) == (
        True,
        False,
        "Vietcombank",
    )

    second = await add(client, volunteer, bank_bin="970415", account="108870654321", holder_name="Ngô thị Tư")
    assert second.status_code == 201, second.text
    assert (second.json()["is_primary"], second.json()["holder_name"]) == (False, "NGO THI TU")

    listed = (await client.get(accounts_url(NO_ACCOUNT), headers=volunteer)).json()
    assert [(a["bank_bin"], a["is_primary"]) for a in listed] == [("970436", True), ("970415", False)]


async def test_a_new_primary_demotes_the_old_one(client, volunteer) -> None:
    await add(client, volunteer)
    third = await add(client, volunteer, bank_bin="970422", account="0901234567", is_primary=True)
    assert third.json()["is_primary"] is True
    listed = (await client.get(accounts_url(NO_ACCOUNT), headers=volunteer)).json()
    assert [a["bank_bin"] for a in listed if a["is_primary"]] == ["970422"]


async def test_same_idempotency_key_twice_creates_one_account(client, volunteer) -> None:
    headers = {**volunteer, "Idempotency-Key": "tablet-7-account-1"}
    first = await add(client, headers)
    again = await add(client, headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    other_body = await add(client, headers, account="0011009999999")
    assert other_body.status_code == 422
    assert len((await client.get(accounts_url(NO_ACCOUNT), headers=volunteer)).json()) == 1


async def test_same_client_id_twice_replays(client, volunteer) -> None:
    client_id = str(uuid.uuid4())
    first = await add(client, volunteer, id=client_id)
    again = await add(client, volunteer, id=client_id)
    assert first.json()["id"] == again.json()["id"] == client_id
    assert again.headers["idempotent-replayed"] == "true"
    assert len((await client.get(accounts_url(NO_ACCOUNT), headers=volunteer)).json()) == 1


async def test_another_teams_volunteer_gets_404(client) -> None:
    other = await api_token(client, "demo-volunteer-b")  # Kim Long team
    assert (await add(client, other)).status_code == 404
    assert (await client.get(accounts_url(NO_ACCOUNT), headers=other)).status_code == 404
    assert (await client.get(f"/api/v1/merchants/{AGRIBANK}/payment-qr", headers=other)).status_code == 404


async def test_bad_account_number_is_a_field_error(client, volunteer) -> None:
    errors = field_errors(await add(client, volunteer, account="12-34"))
    assert errors == {"account": "Số tài khoản gồm 6 đến 19 chữ số hoặc chữ cái, không có dấu cách."}
    card = field_errors(await add(client, volunteer, service="card", account="1234567812345678"))
    assert card == {"account": "Số thẻ gồm 16 hoặc 19 chữ số, bắt đầu bằng 9704."}


async def test_a_bank_that_cannot_receive_transfers_is_refused(client, volunteer) -> None:
    closed = next(b for b in banks.all_banks() if not b.receives_transfers)
    errors = field_errors(await add(client, volunteer, bank_bin=closed.bin))
    assert errors == {"bank_bin": "Ngân hàng này không nhận chuyển khoản VietQR."}
    assert field_errors(await add(client, volunteer, bank_bin="999999")) == {
        "bank_bin": "Ngân hàng này không có trong danh mục."
    }


async def test_every_bad_field_is_reported_at_once(client, volunteer) -> None:
    response = await client.post(
        accounts_url(NO_ACCOUNT), json={"account": "", "holder_name": "123"}, headers=volunteer
    )
    assert set(field_errors(response)) == {"bank_bin", "account", "holder_name"}


async def test_the_same_number_twice_is_refused(client, volunteer) -> None:
    await add(client, volunteer)
    errors = field_errors(await add(client, volunteer, account="0011001234567"))
    assert set(errors) == {"account"}


async def test_officers_see_masked_numbers_and_may_not_add(client) -> None:
    officer = await api_token(client, "demo-commune")
    listed = (await client.get(accounts_url(AGRIBANK), headers=officer)).json()
    assert [(a["account"], a["account_masked"]) for a in listed] == [("•••• 3456", True)]
    assert (await add(client, officer, merchant_id=AGRIBANK)).status_code == 403
    team = (await client.get(accounts_url(AGRIBANK), headers=await api_token(client, "demo-leader"))).json()
    assert team[0]["account"] == "4000205123456"


async def test_primary_change_and_removal_are_audited(client, settings, volunteer) -> None:
    listed = (await client.get(accounts_url(TWO_ACCOUNTS), headers=volunteer)).json()
    account, card = listed
    assert (account["is_primary"], card["is_primary"], card["service"]) == (True, False, "card")

    url = f"{accounts_url(TWO_ACCOUNTS)}/{card['id']}"
    refused = await client.patch(url, json={"is_primary": False}, headers=volunteer)
    assert set(field_errors(refused)) == {"is_primary"}
    changed = await client.patch(url, json={"is_primary": True}, headers=volunteer)
    assert changed.status_code == 200 and changed.json()["is_primary"] is True

    removed = await client.delete(url, headers=volunteer)
    assert removed.status_code == 204
    after = (await client.get(accounts_url(TWO_ACCOUNTS), headers=volunteer)).json()
    assert [(a["id"], a["is_primary"]) for a in after] == [(account["id"], True)]  # promoted again
    assert (await client.delete(url, headers=volunteer)).status_code == 404

    # The demo saved both accounts through the service: each history starts with its creation.
    card_audit = [(e.action, without_account_id(e.changes)) for e in await audit_rows(settings, card["id"])]
    assert card_audit[0][0] == "create"
    assert card_audit[1] == ("update", {"is_primary": [False, True]})
    assert card_audit[2][0] == "delete" and card_audit[2][1]["is_primary"] == [True, False]
    account_audit = [
        (e.action, without_account_id(e.changes))
        for e in await audit_rows(settings, account["id"], TWO_ACCOUNTS)
    ]
    assert [action for action, _ in account_audit[:2]] == ["create", "print_poster"]  # the demo's
    assert account_audit[2:] == [
        ("update", {"is_primary": [True, False]}),
        ("update", {"is_primary": [False, True]}),
    ]


async def test_creation_is_audited_with_the_full_values(client, settings, volunteer) -> None:
    created = (await add(client, volunteer)).json()
    (entry,) = await audit_rows(settings, created["id"], NO_ACCOUNT)
    assert (entry.action, entry.entity_id) == ("create", str(NO_ACCOUNT))  # the timeline reads it
    assert entry.changes["payment_account_id"] == [None, created["id"]]
    assert entry.changes["account"] == [None, "0011001234567"]
    assert entry.changes["merchant_id"] == [None, str(NO_ACCOUNT)]
    assert entry.province_code == "46"


# --- the merchant's payment QR ----------------------------------------------------------------


def qr_url(merchant_id=AGRIBANK) -> str:
    return f"/api/v1/merchants/{merchant_id}/payment-qr"


async def test_payment_qr_is_the_static_stall_qr_of_the_primary_account(client, volunteer) -> None:
    response = await client.get(qr_url(), headers=volunteer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "payload": encode(VietQR(bank_bin="970405", account="4000205123456")),
        "bank_bin": "970405",
        "account": "4000205123456",
        "amount": None,
        "purpose": None,
    }


async def test_amount_and_purpose_make_a_dynamic_qr(client, volunteer) -> None:
    params = {"amount": "150.000", "purpose": "Bún hến, 2 tô"}
    body = (await client.get(qr_url(), params=params, headers=volunteer)).json()
    assert (body["amount"], body["purpose"]) == (150_000, "Bun hen 2 to")
    expected = VietQR(
        bank_bin="970405", account="4000205123456", amount=150_000, purpose="Bun hen 2 to", static=False
    )
    assert body["payload"] == encode(expected)
    memo_only = (await client.get(qr_url(), params={"purpose": "Don 42"}, headers=volunteer)).json()
    assert memo_only["payload"] == encode(
        VietQR(bank_bin="970405", account="4000205123456", purpose="Don 42", static=False)
    )


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"amount": "abc"}, {"amount"}),
        ({"amount": "0"}, {"amount"}),
        ({"amount": "500000000"}, {"amount"}),
        ({"amount": "12.5"}, {"amount"}),
        ({"purpose": "Thanh toán đơn hàng số 2026 ngày 30"}, {"purpose"}),
        ({"purpose": "!!!"}, {"purpose"}),
        ({"amount": "-5", "purpose": "x" * 40}, {"amount", "purpose"}),
    ],
)
async def test_invalid_amount_or_purpose_is_a_field_error(client, volunteer, params, fields) -> None:
    assert set(field_errors(await client.get(qr_url(), params=params, headers=volunteer))) == fields


async def test_payment_qr_without_an_account_is_409_with_a_reason(client, volunteer) -> None:
    response = await client.get(qr_url(NO_ACCOUNT), headers=volunteer)
    assert response.status_code == 409
    assert response.json()["detail"] == "Tiểu thương chưa có tài khoản nhận tiền. Hãy thêm tài khoản trước."


# --- the tablet pages ---------------------------------------------------------------------------


async def open_page(client, url: str, username: str = "demo-volunteer") -> str:
    await browser_login(client, username)
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return page.text


async def test_form_saves_the_first_account_and_the_merchant_page_shows_it(client) -> None:
    html = await open_page(client, f"/merchants/{NO_ACCOUNT}/payment-accounts/new")
    assert 'value="NGO THI TU"' in html  # the holder is prefilled from the owner's name
    assert "csrf" in html
    client_id = str(uuid.uuid4())
    form = {
        "_csrf_token": csrf_from(html),
        "id": client_id,
        "bank_bin": "970436",
        "service": "account",
        "account": "0011 001 234 567",
        "holder_name": "NGO THI TU",
    }
    saved = await client.post(
        f"/merchants/{NO_ACCOUNT}/payment-accounts/new", data=form, follow_redirects=False
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/merchants/{NO_ACCOUNT}"  # the success message stays in view
    again = await client.post(
        f"/merchants/{NO_ACCOUNT}/payment-accounts/new", data=form, follow_redirects=False
    )
    assert again.status_code == 303  # a double tap shows the first save, adds nothing

    page = (await client.get(f"/merchants/{NO_ACCOUNT}")).text
    assert page.count('class="payment-account primary"') == 1
    assert "0011001234567" in page
    assert f'src="/merchants/{NO_ACCOUNT}/qr.svg?v=' in page
    assert "Đã lưu tài khoản nhận tiền." in page


async def test_form_redisplays_errors_with_what_was_typed(client) -> None:
    html = await open_page(client, f"/merchants/{NO_ACCOUNT}/payment-accounts/new")
    form = {"_csrf_token": csrf_from(html), "bank_bin": "", "account": "12ab!", "holder_name": "Ngô Tư"}
    response = await client.post(f"/merchants/{NO_ACCOUNT}/payment-accounts/new", data=form)
    assert response.status_code == 422
    assert 'id="bank_bin-error"' in response.text and 'id="account-error"' in response.text
    assert 'value="12ab!"' in response.text


async def test_bank_list_is_filtered_without_javascript(client) -> None:
    html = await open_page(client, f"/merchants/{NO_ACCOUNT}/payment-accounts/new")
    form = {"_csrf_token": csrf_from(html), "bank_q": "ngoai thuong", "_filter": "1", "account": "0011"}
    response = await client.post(f"/merchants/{NO_ACCOUNT}/payment-accounts/new", data=form)
    assert response.status_code == 200
    assert response.text.count("<option ") == 1 and 'value="970436"' in response.text
    assert 'value="0011"' in response.text  # nothing typed is lost
    closed = next(b for b in banks.all_banks() if not b.receives_transfers)
    full = await client.get(f"/merchants/{NO_ACCOUNT}/payment-accounts/new")
    assert f'value="{closed.bin}"' not in full.text  # only banks that receive transfers are offered


async def test_import_from_the_traders_qr_photo_prefills_the_form(client) -> None:
    html = await open_page(client, f"/merchants/{NO_ACCOUNT}/payment-accounts/import")
    photo = phone_photo(encode(VietQR(bank_bin="970422", account="0901234567890")))
    response = await client.post(
        f"/merchants/{NO_ACCOUNT}/payment-accounts/import",
        data={"_csrf_token": csrf_from(html)},
        files=upload(photo),
    )
    assert response.status_code == 200, response.text
    assert 'id="imported"' in response.text
    assert '<option value="970422" data-search="MB Bank' in response.text
    assert "selected>MB Bank" in response.text
    assert 'value="0901234567890"' in response.text
    assert 'action="/merchants/' in response.text  # the volunteer confirms by saving the form


async def test_import_of_a_qr_that_is_not_a_transfer_explains_why(client) -> None:
    html = await open_page(client, f"/merchants/{NO_ACCOUNT}/payment-accounts/import")
    response = await client.post(
        f"/merchants/{NO_ACCOUNT}/payment-accounts/import",
        data={"_csrf_token": csrf_from(html), "payload": "https://example.vn"},
        files={},
    )
    assert response.status_code == 422
    assert "Mã QR này không phải mã chuyển khoản VietQR." in response.text


async def test_officers_see_masked_numbers_and_no_change_buttons(client) -> None:
    html = await open_page(client, f"/merchants/{AGRIBANK}", "demo-commune")
    assert "•••• 3456" in html and "4000205123456" not in html
    assert "Gỡ tài khoản" not in html and "/payment-accounts/new" not in html
    assert (await client.get(f"/merchants/{AGRIBANK}/payment-accounts/new")).status_code == 403


async def test_primary_and_removal_buttons_redirect_back(client) -> None:
    html = await open_page(client, f"/merchants/{TWO_ACCOUNTS}")
    token = csrf_from(html)
    card = (await client.get(accounts_url(TWO_ACCOUNTS))).json()[1]
    response = await client.post(
        f"/merchants/{TWO_ACCOUNTS}/payment-accounts/{card['id']}/primary",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (await client.get(accounts_url(TWO_ACCOUNTS))).json()[0]["id"] == card["id"]
    response = await client.post(
        f"/merchants/{TWO_ACCOUNTS}/payment-accounts/{card['id']}/remove",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert len((await client.get(accounts_url(TWO_ACCOUNTS))).json()) == 1


async def test_leaders_see_the_payment_history_on_the_merchant_page(client) -> None:
    html = await open_page(client, f"/merchants/{TWO_ACCOUNTS}", "demo-leader")
    card = (await client.get(accounts_url(TWO_ACCOUNTS))).json()[1]
    await client.post(
        f"/merchants/{TWO_ACCOUNTS}/payment-accounts/{card['id']}/primary",
        data={"_csrf_token": csrf_from(html)},
    )
    page = (await client.get(f"/merchants/{TWO_ACCOUNTS}")).text
    assert 'id="payment-history"' in page and "Đặt làm tài khoản chính" in page


async def test_merchant_qr_image_reads_back(client) -> None:
    await browser_login(client, "demo-volunteer")
    png = await client.get(f"/merchants/{AGRIBANK}/qr.png")
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert barcode.text == encode(VietQR(bank_bin="970405", account="4000205123456"))


# --- onboarding stages ----------------------------------------------------------------------------


async def test_first_account_records_bank_account_and_a_poster_qr_issued(client, settings, volunteer) -> None:
    from service.onboarding.models import StageEvent

    async def automatic_events() -> list[str]:
        engine = create_engine(settings)
        try:
            async with session_maker(engine)() as session:
                rows = await session.scalars(
                    select(StageEvent.stage)
                    .where(StageEvent.merchant_id == NO_ACCOUNT, StageEvent.source == "automatic")
                    .order_by(StageEvent.occurred_at)
                )
                return [stage for stage in rows if stage != "registered"]
        finally:
            await engine.dispose()

    merchant = f"/api/v1/merchants/{NO_ACCOUNT}"
    assert await automatic_events() == []
    await add(client, volunteer)
    assert (await client.get(merchant, headers=volunteer)).json()["current_stage"] == "bank_account"
    await add(client, volunteer, bank_bin="970415", account="108870654321")  # a second: nothing new
    assert await automatic_events() == ["bank_account"]
    await client.post(f"{merchant}/posters", headers=volunteer)
    await client.post(f"{merchant}/posters", headers=volunteer)  # a reprint: nothing new
    assert (await client.get(merchant, headers=volunteer)).json()["current_stage"] == "qr_issued"
    assert await automatic_events() == ["bank_account", "qr_issued"]


async def test_account_changes_appear_on_the_onboarding_timeline(client, volunteer) -> None:
    await add(client, volunteer)
    await browser_login(client, "demo-volunteer")
    timeline = await client.get(f"/merchants/{NO_ACCOUNT}/timeline")
    assert timeline.status_code == 200
    told = timeline.text.split('id="timeline"')[1]
    assert f"Thêm tài khoản Vietcombank •••• {VCB['account'][-4:]}" in told  # a sentence, not field names
    assert "bank_bin" not in told and "0011001234567" not in told
