"""Onboarding over HTTP: stage events with evidence, visits, late and repeated syncs, regressions,
verification, the worklist and its fair shares, the timeline, the leader's page, concurrency."""

import asyncio
import uuid
from datetime import datetime, timedelta

import msgspec
import pytest
from sqlalchemy import delete, func, select, update

from service import migrate
from service.accounts.services import AccountService
from service.audit import record as audit_record
from service.db import create_engine, session_maker
from service.merchants.models import Merchant
from service.onboarding import stages
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.onboarding.schemas import StageEventIn
from service.onboarding.services import OnboardingService
from service.onboarding.stages import local_date
from service.settings import Settings
from tests.conftest import SECRET, client_at, run_blocking
from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.lock_wait import PATIENCE, LockWait

# Tổ công nghệ số Gia Hội (commune 19753) has no demo traders: every count starts at zero.
VOLUNTEER = "tnv-2-1"
OTHER_VOLUNTEERS = ("tnv-2-2", "tnv-2-3")
LEADER = "totruong-2"
OTHER_TEAM = "demo-volunteer"  # same commune, another team
NAMES = [
    "Bưởi Phúc Trạch",
    "Thanh long ruột đỏ",
    "Vải thiều Lục Ngạn",
    "Nhãn lồng Hưng Yên",
    "Xoài cát Hòa Lộc",
    "Măng cụt Lái Thiêu",
    "Chôm chôm Java",
    "Sầu riêng Ri6",
    "Mít tố nữ",
    "Ổi găng",
    "Cam sành",
    "Quýt hồng",
    "Dưa hấu Long An",
    "Khoai lang tím",
]
_serial = iter(range(1, 10_000))


@pytest.fixture
async def client(pinned_client):
    """Every request of this module is handled at 00:02 in Vietnam on the first of a month (the
    `clock` fixture, which the tests read too): "today", "sixty days ago" and the worklist's dates
    are checked right after a new day, week and month began, and midnight never passes mid-test."""
    return pinned_client


def iso(at: datetime) -> str:
    return at.isoformat()


async def register(client, headers, name: str | None = None, registered_at: datetime | None = None) -> str:
    """A trader registered now, or at `registered_at` (a tablet that was offline: visits may not
    predate the registration)."""
    n = next(_serial)
    body = {
        "kind": "market_stall",
        "business_name": name or NAMES[n % len(NAMES)] + f" {n}",
        "category": "fresh_produce",
        "owner_name": "Lê Thị Hoa",
        "owner_phone": f"0935{n:06d}",
        "commune_code": "19753",
        "market": "Chợ Gia Hội",
        "consent_purposes": ["contact"],
    }
    if registered_at is not None:
        body["registered_at"] = iso(registered_at)
    response = await client.post("/api/v1/merchants", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def event(stage: str, at: datetime, kind: str = "reached", **fields) -> dict:
    return {
        "client_event_id": str(uuid.uuid4()),
        "occurred_at": iso(at),
        "stage": stage,
        "kind": kind,
        **fields,
    }


async def post_event(client, headers, merchant_id: str, body: dict):
    return await client.post(f"/api/v1/merchants/{merchant_id}/stage-events", json=body, headers=headers)


async def claim(client, headers, merchant_id: str, stage: str, at: datetime, **fields) -> dict:
    evidence = {"note": "Đã xem tận mắt tại sạp"} if stages.BY_CODE[stage].evidence == "note" else {}
    response = await post_event(client, headers, merchant_id, event(stage, at, **evidence, **fields))
    assert response.status_code == 201, response.text
    return response.json()


def visit(at: datetime, **fields) -> dict:
    return {
        "client_event_id": str(uuid.uuid4()),
        "occurred_at": iso(at),
        "minutes": 30,
        "topics": ["qr_payments"],
        "outcome": "progressed",
        **fields,
    }


async def merchant(client, headers, merchant_id: str) -> dict:
    return (await client.get(f"/api/v1/merchants/{merchant_id}", headers=headers)).json()


async def timeline(client, headers, merchant_id: str) -> dict:
    response = await client.get(f"/api/v1/merchants/{merchant_id}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def replayed_stage(client, headers, merchant_id: str) -> str:
    """The current stage computed from the raw events the timeline lists."""
    items = (await timeline(client, headers, merchant_id))["items"]
    events = [
        stages.Event(
            stage=i["stage"],
            kind="regressed" if i["event_kind"] == "rejected" else i["event_kind"],
            occurred_at=datetime.fromisoformat(i["at"]),
            recorded_at=datetime.fromisoformat(i["at"]),
        )
        for i in items
        if i["kind"] == "stage"
    ]
    return stages.progress(events).stage


# --- stage events ------------------------------------------------------------------------------


async def test_registration_records_the_registered_event(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    body = await timeline(client, headers, merchant_id)
    [registered] = [i for i in body["items"] if i["kind"] == "stage"]
    assert (registered["stage"], registered["event_kind"], registered["status"]) == (
        "registered",
        "reached",
        "automatic",
    )
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert registered["by_name"] == me["full_name"]
    assert body["current_stage"] == "registered"
    assert (await merchant(client, headers, merchant_id))["version"] == 1


async def test_manual_claims_need_their_evidence(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    t = clock()
    cases = [
        (event("identity", t), "note"),
        (event("ecommerce", t, link="shopee"), "link"),
        (event("qr_active", t, visit_on=local_date(t).isoformat(), customer_payments_7d=3), "stage"),
        (event("listed", t), "stage"),
        (event("registered", t), "stage"),
        (event("identity", t + timedelta(days=2), note="Đã xem VNeID mức 2"), "occurred_at"),
        (event("digital_ops", t, kind="regressed", note="Không còn dùng"), "stage"),
    ]
    for body, field in cases:
        response = await post_event(client, headers, merchant_id, body)
        assert response.status_code == 422, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (body, response.json())
    unreadable = await post_event(client, headers, merchant_id, {**event("identity", t), "stage": "vip"})
    assert unreadable.status_code == 422
    assert unreadable.json()["errors"][0]["field"] == "stage"
    naive = await post_event(
        client, headers, merchant_id, {**event("identity", t), "occurred_at": "2026-11-01T08:00:00"}
    )
    assert naive.status_code == 422
    assert (await timeline(client, headers, merchant_id))["current_stage"] == "registered"


async def test_qr_active_needs_a_follow_up_visit_a_week_after_the_qr_with_customer_payments(
    client, clock
) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    t = clock()
    await claim(client, headers, merchant_id, "qr_issued", t - timedelta(days=10))
    too_soon = event(
        "qr_active", t, visit_on=local_date(t - timedelta(days=5)).isoformat(), customer_payments_7d=4
    )
    response = await post_event(client, headers, merchant_id, too_soon)
    assert [e["field"] for e in response.json()["errors"]] == ["visit_on"]
    no_customers = event("qr_active", t, visit_on=local_date(t).isoformat(), customer_payments_7d=0)
    response = await post_event(client, headers, merchant_id, no_customers)
    assert [e["field"] for e in response.json()["errors"]] == ["customer_payments_7d"]
    good = await claim(
        client,
        headers,
        merchant_id,
        "qr_active",
        t,
        visit_on=local_date(t).isoformat(),
        customer_payments_7d=4,
    )
    assert good["current_stage"] == "qr_active"
    assert good["event"]["evidence"] == {"visit_on": local_date(t).isoformat(), "customer_payments_7d": 4}


async def test_late_and_repeated_syncs_are_placed_by_when_they_happened(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    t = clock()
    bank = event("bank_account", t - timedelta(days=20), note="Tài khoản Agribank của chủ hộ")
    first = await post_event(client, headers, merchant_id, bank)
    assert first.status_code == 201
    assert first.json()["current_stage"] == "bank_account"

    # The same event synced again, even with a changed note: same status, same body, nothing added.
    again = await post_event(client, headers, merchant_id, {**bank, "note": "gửi lại"})
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"

    await claim(client, headers, merchant_id, "qr_issued", t - timedelta(days=15))
    visit_on = local_date(t - timedelta(days=5)).isoformat()
    await claim(
        client,
        headers,
        merchant_id,
        "qr_active",
        t - timedelta(days=5),
        visit_on=visit_on,
        customer_payments_7d=3,
    )
    # A regression recorded offline two days ago arrives: the current stage goes down.
    stopped = event("qr_active", t - timedelta(days=2), kind="regressed", note="Khách không quét được mã")
    response = await post_event(client, headers, merchant_id, stopped)
    assert response.status_code == 201
    assert response.json()["current_stage"] == "qr_issued"
    assert (await merchant(client, headers, merchant_id))["current_stage"] == "qr_issued"
    # Still "installed": the QR stage keeps its own date.
    ladder = {s["code"]: s for s in (await timeline(client, headers, merchant_id))["ladder"]}
    assert ladder["qr_active"]["status"] == "stopped"
    assert ladder["identity"]["status"] == "skipped"
    assert ladder["qr_issued"]["status"] == "self_reported"
    page = (await client.get(f"/merchants/{merchant_id}/timeline", headers=headers)).text
    rung = page.split('id="stage-identity"')[1].split("</li>")[0]
    assert "chưa đạt" in rung and "bỏ qua" not in rung  # passed over, and still not reached
    assert "đã ngừng" in page.split('id="stage-qr_active"')[1].split("</li>")[0]

    # Back in use yesterday; then a regression made three days ago arrives, later still. Placed by
    # when it happened, it falls in the gap the first regression already covers: nothing changes,
    # where applying it in arrival order would have lowered the stage again.
    back = event(
        "qr_active",
        t - timedelta(days=1),
        visit_on=local_date(t - timedelta(days=1)).isoformat(),
        customer_payments_7d=5,
    )
    assert (await post_event(client, headers, merchant_id, back)).json()["current_stage"] == "qr_active"
    older = event("qr_active", t - timedelta(days=3), kind="regressed", note="Mất mạng ở chợ")
    response = await post_event(client, headers, merchant_id, older)
    assert (response.status_code, response.json()["recorded"]) == (200, False)
    assert response.json()["current_stage"] == "qr_active"
    # A stage reached a month ago, synced only now: below the current stage, it fills the gap.
    late = await claim(client, headers, merchant_id, "identity", t - timedelta(days=30))
    assert late["current_stage"] == "qr_active"
    ladder = {s["code"]: s for s in (await timeline(client, headers, merchant_id))["ladder"]}
    assert ladder["identity"]["status"] == "self_reported"

    stored = await merchant(client, headers, merchant_id)
    assert stored["current_stage"] == await replayed_stage(client, headers, merchant_id) == "qr_active"
    assert datetime.fromisoformat(stored["stage_reached_at"]) == datetime.fromisoformat(back["occurred_at"])
    assert stored["version"] == 1  # stage changes leave the profile's optimistic lock alone


async def test_a_stage_already_held_is_not_recorded_twice(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    t = clock()
    await claim(client, headers, merchant_id, "identity", t - timedelta(hours=2))
    response = await post_event(client, headers, merchant_id, event("identity", t, note="Kiểm tra lại VNeID"))
    assert response.status_code == 200
    assert response.json()["recorded"] is False
    assert response.json()["event"] is None
    stage_events = [
        i for i in (await timeline(client, headers, merchant_id))["items"] if i["stage"] == "identity"
    ]
    assert len(stage_events) == 1


async def test_only_visible_merchants_and_recording_roles(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    t = clock()
    outsider = await api_token(client, OTHER_TEAM)
    for path, body in (("stage-events", event("identity", t, note="Đã xem VNeID")), ("visits", visit(t))):
        response = await client.post(f"/api/v1/merchants/{merchant_id}/{path}", json=body, headers=outsider)
        assert response.status_code == 404
        missing = await client.post(f"/api/v1/merchants/{uuid.uuid4()}/{path}", json=body, headers=headers)
        assert missing.status_code == 404
    assert (
        await client.get(f"/api/v1/merchants/{merchant_id}/timeline", headers=outsider)
    ).status_code == 404
    officer = await api_token(client, "demo-commune")
    response = await post_event(client, officer, merchant_id, event("identity", t, note="Đã xem VNeID"))
    assert response.status_code == 403
    assert (await client.get(f"/api/v1/merchants/{merchant_id}/timeline", headers=officer)).status_code == 200
    verify = await post_event(client, headers, merchant_id, event("registered", t, kind="verified"))
    assert verify.status_code == 403


# --- visits ------------------------------------------------------------------------------------


async def test_a_visit_is_dated_between_the_registration_and_sixty_days_ago(client, clock) -> None:
    """A tablet that was offline sends the registration and the visit later, each with its own
    time; a visit before the registration, or older than 60 days, is refused by field."""
    headers = await api_token(client, VOLUNTEER)
    t = clock()
    merchant_id = await register(client, headers, registered_at=t - timedelta(days=3))
    assert (await merchant(client, headers, merchant_id))["created_at"][:10] == iso(t - timedelta(days=3))[
        :10
    ]
    english = {**headers, "Accept-Language": "en"}
    early = await client.post(
        f"/api/v1/merchants/{merchant_id}/visits",
        json=visit(t - timedelta(days=5)),
        headers=english,
    )
    assert early.status_code == 422
    assert early.json()["errors"] == [
        {"field": "visited_on", "message": "The visit date cannot be before the trader was registered."}
    ]
    fine = await client.post(
        f"/api/v1/merchants/{merchant_id}/visits", json=visit(t - timedelta(days=2)), headers=headers
    )
    assert fine.status_code == 201, fine.text
    assert fine.json()["visited_on"] == local_date(t - timedelta(days=2)).isoformat()

    # A trader registered long ago cannot take a visit dated 61 days back (2019 used to pass).
    old = await register(client, headers, registered_at=t - timedelta(days=59))
    for day in ("2019-03-01", (local_date(t) - timedelta(days=61)).isoformat()):
        late = await client.post(
            f"/api/v1/merchants/{old}/visits",
            json=visit(t, visited_on=day),
            headers=english,
        )
        assert late.status_code == 422, day
        assert late.json()["errors"][0]["field"] == "visited_on"
    # Registrations follow the same window, and the future is refused.
    n = next(_serial)
    for registered_at in (t - timedelta(days=61), t + timedelta(hours=1)):
        refused = await client.post(
            "/api/v1/merchants",
            json={
                "kind": "market_stall",
                "business_name": f"Bún bò Cô Út {n}",
                "category": "food_drink",
                "owner_name": "Lê Thị Út",
                "owner_phone": f"0935{n:06d}",
                "commune_code": "19753",
                "consent_purposes": ["contact"],
                "registered_at": iso(registered_at),
            },
            headers=english,
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "registered_at"


async def test_a_visit_sets_the_follow_up_and_a_late_older_visit_does_not_undo_it(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    t = clock()
    merchant_id = await register(client, headers, registered_at=t - timedelta(days=5))
    plan = local_date(t) + timedelta(days=14)
    body = visit(
        t,
        topics=["vneid", "bank_app", "vneid"],
        note="Hướng dẫn cài app ngân hàng",
        next_follow_up=plan.isoformat(),
    )
    first = await client.post(f"/api/v1/merchants/{merchant_id}/visits", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["topics"] == ["vneid", "bank_app"]
    assert first.json()["visited_on"] == local_date(t).isoformat()
    again = await client.post(f"/api/v1/merchants/{merchant_id}/visits", json=body, headers=headers)
    assert (again.status_code, again.content) == (201, first.content)

    older = visit(t - timedelta(days=3), next_follow_up=(local_date(t) + timedelta(days=1)).isoformat())
    assert (
        await client.post(f"/api/v1/merchants/{merchant_id}/visits", json=older, headers=headers)
    ).status_code == 201
    stored = await merchant(client, headers, merchant_id)
    assert stored["next_follow_up"] == plan.isoformat()
    assert datetime.fromisoformat(stored["last_visit_at"]) == datetime.fromisoformat(body["occurred_at"])
    visits = [i for i in (await timeline(client, headers, merchant_id))["items"] if i["kind"] == "visit"]
    assert len(visits) == 2


async def test_visit_validation_answers_field_errors(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    t = clock()
    cases = [
        ({**visit(t), "outcome": None}, "outcome"),
        ({**visit(t), "minutes": 0}, "minutes"),
        ({**visit(t), "topics": ["karaoke"]}, "topics"),
        (visit(t, next_follow_up=local_date(t).isoformat()), "next_follow_up"),
        (visit(t, visited_on=(local_date(t) + timedelta(days=3)).isoformat()), "visited_on"),
        (visit(t - timedelta(days=400)), "occurred_at"),
    ]
    for body, field in cases:
        response = await client.post(f"/api/v1/merchants/{merchant_id}/visits", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        fields = [e["field"].split("[")[0] for e in response.json()["errors"]]  # topics[0] → topics
        assert field in fields, (field, response.json())


# --- review ------------------------------------------------------------------------------------


async def test_leader_verifies_a_claim_and_rejects_another_with_a_reason(client, clock) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    leader = await api_token(client, LEADER)
    merchant_id = await register(client, volunteer)
    t = clock()
    await claim(client, volunteer, merchant_id, "identity", t - timedelta(hours=3))
    await claim(
        client,
        volunteer,
        merchant_id,
        "ecommerce",
        t - timedelta(hours=2),
        link="https://shopee.vn/buoi_gia_hoi",
    )
    team_id = (await client.get("/api/v1/me", headers=leader)).json()["team"]["id"]
    progress = (await client.get(f"/api/v1/teams/{team_id}/progress", headers=leader)).json()
    assert [(c["stage"], c["merchant_id"]) for c in progress["claims"]] == [
        ("identity", merchant_id),
        ("ecommerce", merchant_id),
    ]
    assert progress["claims"][1]["evidence"] == {"link": "https://shopee.vn/buoi_gia_hoi"}

    # A volunteer may not review; a rejection needs its reason.
    assert (
        await post_event(client, volunteer, merchant_id, event("identity", t, kind="verified"))
    ).status_code == 403
    no_reason = await post_event(client, leader, merchant_id, event("ecommerce", t, kind="rejected"))
    assert [e["field"] for e in no_reason.json()["errors"]] == ["note"]

    verified = await post_event(client, leader, merchant_id, event("identity", t, kind="verified"))
    assert verified.status_code == 201
    assert verified.json()["verified"] == ["identity"]
    twice = await post_event(client, leader, merchant_id, event("identity", t, kind="verified"))
    assert (twice.status_code, twice.json()["recorded"]) == (200, False)
    rejected = await post_event(
        client,
        leader,
        merchant_id,
        event("ecommerce", t, kind="rejected", note="Đường dẫn là trang cá nhân, không phải gian hàng"),
    )
    assert rejected.status_code == 201
    assert rejected.json()["current_stage"] == "identity"
    assert rejected.json()["event"]["kind"] == "rejected"

    progress = (await client.get(f"/api/v1/teams/{team_id}/progress", headers=leader)).json()
    assert progress["claims"] == []
    # The claimant sees both outcomes on the timeline.
    body = await timeline(client, volunteer, merchant_id)
    statuses = {(i["stage"], i["event_kind"]): i for i in body["items"] if i["kind"] == "stage"}
    assert statuses[("identity", "reached")]["status"] == "verified"
    assert statuses[("ecommerce", "reached")]["status"] == "rejected"
    assert statuses[("ecommerce", "rejected")]["note"] == "Đường dẫn là trang cá nhân, không phải gian hàng"
    ladder = {s["code"]: s["status"] for s in body["ladder"]}
    assert ladder["identity"] == "verified" and ladder["ecommerce"] == "rejected"  # sent back, not stopped
    page = await client.get(f"/merchants/{merchant_id}/timeline", headers=volunteer)
    assert "✓ đã xác minh" in page.text and "Đường dẫn là trang cá nhân" in page.text
    rung = page.text.split('id="stage-ecommerce"')[1].split("</li>")[0]
    assert "bị trả lại" in rung and "đã ngừng" not in rung
    english = await client.get(f"/merchants/{merchant_id}/timeline?lang=en", headers=volunteer)
    assert "sent back" in english.text.split('id="stage-ecommerce"')[1].split("</li>")[0]


async def test_leader_reviews_from_the_team_page(client, clock) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, volunteer)
    await claim(client, volunteer, merchant_id, "identity", clock() - timedelta(hours=1))
    await browser_login(client, LEADER)
    me = (await client.get("/api/v1/me")).json()
    page_url = f"/teams/{me['team']['id']}/progress"
    page = await client.get(page_url)
    assert page.status_code == 200
    assert "tự khai" in page.text and f"/merchants/{merchant_id}/stages/identity/review" in page.text
    response = await client.post(
        f"/merchants/{merchant_id}/stages/identity/review",
        data={
            "decision": "verify",
            "next": page_url,
            "client_event_id": str(uuid.uuid4()),
            "_csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, page_url)
    page = await client.get(page_url)
    assert "Không có khai báo nào chờ xác minh." in page.text
    assert "Đã xác minh: Định danh điện tử." in page.text


# --- concurrency -------------------------------------------------------------------------------


async def test_two_volunteers_recording_the_same_stage_at_once_leave_one_event(
    client, settings, clock
) -> None:
    headers = await api_token(client, VOLUNTEER)
    other = await api_token(client, OTHER_VOLUNTEERS[0])
    merchant_id = await register(client, headers)
    t = clock()
    async with client_at(settings, clock) as second:
        for round_ in range(3):  # identity, then a regression race, then identity again
            if round_ == 1:
                bodies = [
                    event("identity", t + timedelta(seconds=i), kind="regressed", note="Quên mật khẩu VNeID")
                    for i in (1, 2)
                ]
            else:
                bodies = [
                    event("identity", t + timedelta(seconds=round_ * 10 + i), note="Đã xem VNeID mức 2")
                    for i in (0, 1)
                ]
            a, b = await asyncio.gather(
                post_event(client, headers, merchant_id, bodies[0]),
                post_event(second, other, merchant_id, bodies[1]),
            )
            # One adds the event, the other finds it there: one consistent answer, no duplicate.
            assert sorted([a.status_code, b.status_code]) == [200, 201], (a.text, b.text)
            assert a.json()["current_stage"] == b.json()["current_stage"]
        # The same event sent through both at once: one row, the same answer.
        same = event("qr_issued", t, note="Đã dán mã QR ở sạp")
        a, b = await asyncio.gather(
            post_event(client, headers, merchant_id, same), post_event(second, headers, merchant_id, same)
        )
        assert (a.status_code, a.content) == (b.status_code, b.content) == (201, a.content)
    items = [i for i in (await timeline(client, headers, merchant_id))["items"] if i["kind"] == "stage"]
    kinds = [(i["stage"], i["event_kind"]) for i in items]
    assert kinds.count(("identity", "reached")) == 2  # one per hold: before and after the regression
    assert kinds.count(("identity", "regressed")) == 1
    assert kinds.count(("qr_issued", "reached")) == 1
    stored = await merchant(client, headers, merchant_id)
    assert stored["current_stage"] == await replayed_stage(client, headers, merchant_id) == "qr_issued"


async def test_the_merchant_row_lock_makes_the_second_writer_wait_and_see_the_first(
    client, settings, clock
) -> None:
    """Two database sessions, deterministically interleaved: the second starts while the first holds
    the merchant, waits for it to commit, then finds the stage held (no second event)."""
    merchant_id = uuid.UUID(await register(client, await api_token(client, VOLUNTEER)))
    ids = [
        (await client.get("/api/v1/me", headers=await api_token(client, name))).json()["id"]
        for name in (VOLUNTEER, OTHER_VOLUNTEERS[0])
    ]
    engines = [create_engine(settings), create_engine(settings)]
    lock = LockWait(engines[1], holding=engines[0])
    t = clock()
    try:
        async with session_maker(engines[0])() as a, session_maker(engines[1])() as b:
            first_user = await AccountService(a).current_user(user_id=uuid.UUID(ids[0]))
            second_user = await AccountService(b).current_user(user_id=uuid.UUID(ids[1]))
            for round_, (first_id, second_id) in enumerate((("a-1", "b-1"), ("same", "same"))):
                stage = ("identity", "qr_issued")[round_]

                def claim_in(session, user, client_event_id, seconds, stage=stage):
                    data = StageEventIn(
                        client_event_id=client_event_id,
                        occurred_at=t + timedelta(seconds=seconds),
                        stage=stage,
                        note="Đã xem tận mắt tại sạp",
                    )
                    return OnboardingService(session).record_stage(
                        by=user, merchant_id=merchant_id, data=data, at=t
                    )

                first, _ = await claim_in(a, first_user, first_id, 0)
                assert first.status_code == 201
                await lock.watch(b)
                waiting = asyncio.create_task(
                    claim_in(b, second_user if round_ == 0 else first_user, second_id, 1)
                )
                await lock.blocked()  # held back by the first session's lock on the merchant
                assert not waiting.done()
                await a.commit()
                second, replayed = await asyncio.wait_for(waiting, timeout=PATIENCE)
                await b.commit()
                lock.assert_waited()
                if round_ == 0:
                    assert (second.status_code, replayed) == (200, False)  # the stage was already held
                    assert msgspec.json.decode(second.body)["current_stage"] == "identity"
                else:
                    assert (second.status_code, second.body, replayed) == (201, first.body, True)
    finally:
        for engine in engines:
            await engine.dispose()
    headers = await api_token(client, VOLUNTEER)
    kinds = [
        (i["stage"], i["event_kind"])
        for i in (await timeline(client, headers, merchant_id))["items"]
        if i["kind"] == "stage"
    ]
    assert kinds == [("registered", "reached"), ("identity", "reached"), ("qr_issued", "reached")]


# --- automatic events --------------------------------------------------------------------------


async def test_record_automatic_is_idempotent(client, settings, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = uuid.UUID(await register(client, headers))
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            service = OnboardingService(session)
            t = clock()
            first = await service.record_automatic(
                merchant_id=merchant_id, stage="qr_issued", at=t, by=None, source_id="poster-1"
            )
            assert first is not None
            assert (
                await service.record_automatic(
                    merchant_id=merchant_id, stage="qr_issued", at=t, by=None, source_id="poster-1"
                )
                is None
            )
            later = t + timedelta(minutes=5)
            assert (
                await service.record_automatic(
                    merchant_id=merchant_id, stage="qr_issued", at=later, by=None, source_id="poster-2"
                )
                is None
            )
            await session.commit()
            count = await session.scalar(
                select(func.count())
                .select_from(StageEvent)
                .where(StageEvent.merchant_id == merchant_id, StageEvent.stage == "qr_issued")
            )
            assert count == 1
    finally:
        await engine.dispose()
    body = await timeline(client, headers, merchant_id)
    assert body["current_stage"] == "qr_issued"
    assert {s["code"]: s["status"] for s in body["ladder"]}["qr_issued"] == "automatic"


async def test_imports_and_merges_have_their_service_functions(client, settings, clock) -> None:
    """`record_registered` (for MerchantService.on_imported) and `recompute` (for on_merged)."""
    headers = await api_token(client, VOLUNTEER)
    t = clock()
    survivor, duplicate = (
        uuid.UUID(await register(client, headers, registered_at=t - timedelta(days=4))),
        uuid.UUID(await register(client, headers, registered_at=t - timedelta(days=4))),
    )
    await claim(client, headers, str(duplicate), "qr_issued", t - timedelta(days=3))
    body = visit(t - timedelta(days=1), next_follow_up=(local_date(t) + timedelta(days=5)).isoformat())
    await client.post(f"/api/v1/merchants/{duplicate}/visits", json=body, headers=headers)
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            # A merge moves the duplicate's log and visits to the survivor, then recomputes it.
            for table in (StageEvent, Visit):
                await session.execute(
                    update(table).where(table.merchant_id == duplicate).values(merchant_id=survivor)
                )
            await session.execute(delete(MerchantStage).where(MerchantStage.merchant_id == duplicate))
            progress = await OnboardingService(session).recompute(merchant_id=survivor)
            assert progress.stage == "qr_issued"
            # An import inserts merchants in bulk, then records their first stage in bulk.
            template = await session.get(Merchant, survivor)
            columns = {c.key: getattr(template, c.key) for c in Merchant.__table__.columns}
            imported = [uuid.uuid4(), uuid.uuid4()]
            for n, merchant_id in enumerate(imported):
                session.add(
                    Merchant(**{**columns, "id": merchant_id, "owner_phone": f"+8493700000{n}", "version": 1})
                )
            await session.flush()
            assert await OnboardingService(session).record_registered(merchant_ids=imported, by=None) == 2
            await session.commit()
    finally:
        await engine.dispose()
    merged = await merchant(client, headers, str(survivor))
    assert merged["current_stage"] == "qr_issued"
    assert merged["next_follow_up"] == (local_date(t) + timedelta(days=5)).isoformat()
    for merchant_id in imported:
        kinds = [(i["stage"], i["status"]) for i in (await timeline(client, headers, merchant_id))["items"]]
        assert kinds == [("registered", "automatic")]


# --- the worklist ------------------------------------------------------------------------------


async def test_the_worklist_lists_what_needs_doing_and_changes_when_it_is_done(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    t = clock()
    due = await register(client, headers, registered_at=t - timedelta(days=11))
    await claim(client, headers, due, "bank_account", t - timedelta(days=10))
    body = visit(t - timedelta(days=10), next_follow_up=local_date(t).isoformat())
    assert (
        await client.post(f"/api/v1/merchants/{due}/visits", json=body, headers=headers)
    ).status_code == 201
    unused = await register(client, headers)
    await claim(client, headers, unused, "bank_account", t - timedelta(days=40))
    await claim(client, headers, unused, "qr_issued", t - timedelta(days=31))
    stalled = await register(client, headers)
    await claim(client, headers, stalled, "identity", t - timedelta(days=61))
    fresh = await register(client, headers)
    fine = await register(client, headers)
    await claim(client, headers, fine, "bank_account", t - timedelta(days=1))

    work = (await client.get("/api/v1/worklist", headers=headers)).json()
    assert work["mine"] is True and work["today"] == local_date(t).isoformat()
    items = {i["merchant_id"]: i for i in work["items"]}
    assert set(items) == {due, unused, stalled, fresh}
    assert items[due]["reasons"] == ["follow_up"]
    assert items[unused]["reasons"] == ["installed_not_using"]
    assert items[stalled]["reasons"] == ["no_payment_account", "stalled"]
    assert items[fresh]["reasons"] == ["no_payment_account"]
    assert [i["merchant_id"] for i in work["items"]] == [due, unused, stalled, fresh]
    assert work["counts"] == {
        "follow_up": 1,
        "stopped_using": 0,
        "installed_not_using": 1,
        "no_payment_account": 2,
        "stalled": 0,
    }
    assert items[due]["actions"][0]["url"] == f"/merchants/{due}/visits/new"
    assert items[unused]["actions"][0]["url"] == f"/merchants/{unused}/stages/new?stage=qr_active"
    assert items[fresh]["actions"][0]["url"] == f"/merchants/{fresh}/stages/new?stage=bank_account"

    # What the SQL says matches the pure rules over the raw events.
    for merchant_id, item in items.items():
        rows = [i for i in (await timeline(client, headers, merchant_id))["items"] if i["kind"] == "stage"]
        progress = stages.progress(
            stages.Event(
                stage=r["stage"],
                kind=r["event_kind"],
                occurred_at=datetime.fromisoformat(r["at"]),
                recorded_at=datetime.fromisoformat(r["at"]),
            )
            for r in rows
        )
        assert ("installed_not_using" in item["reasons"]) == stages.installed_not_using(
            qr_issued_at=progress.reached.get("qr_issued"), held=list(progress.reached), now=clock()
        )
        assert ("stalled" in item["reasons"]) == stages.stalled(
            stage=progress.stage, reached_at=progress.reached_at, now=clock()
        )

    # Doing the work takes the items off the list.
    later = visit(t, next_follow_up=(local_date(t) + timedelta(days=14)).isoformat())
    assert (
        await client.post(f"/api/v1/merchants/{due}/visits", json=later, headers=headers)
    ).status_code == 201
    await claim(
        client, headers, unused, "qr_active", t, visit_on=local_date(t).isoformat(), customer_payments_7d=2
    )
    await claim(client, headers, fresh, "bank_account", t)
    work = (await client.get("/api/v1/worklist", headers=headers)).json()
    assert [i["merchant_id"] for i in work["items"]] == [stalled]


async def test_the_team_worklist_is_shared_fairly_and_each_volunteer_sees_their_share(client, clock) -> None:
    leader = await api_token(client, LEADER)
    volunteers = {name: await api_token(client, name) for name in (VOLUNTEER, *OTHER_VOLUNTEERS)}
    registered_by_leader = {await register(client, leader) for _ in range(12)}
    mine = await register(client, volunteers[VOLUNTEER])  # a volunteer's own registration stays theirs
    visited = await register(client, leader)
    body = visit(clock(), next_follow_up=(local_date(clock()) + timedelta(days=3)).isoformat())
    await client.post(
        f"/api/v1/merchants/{visited}/visits", json=body, headers=volunteers[OTHER_VOLUNTEERS[1]]
    )

    team = (await client.get("/api/v1/worklist", headers=leader)).json()
    assert team["mine"] is False
    everything = {i["merchant_id"]: i["assigned_to"] for i in team["items"]}
    assert set(everything) == registered_by_leader | {mine, visited}
    shares = {}
    for name, headers in volunteers.items():
        me = (await client.get("/api/v1/me", headers=headers)).json()["id"]
        own = {
            i["merchant_id"] for i in (await client.get("/api/v1/worklist", headers=headers)).json()["items"]
        }
        assert own == {m for m, who in everything.items() if who == me}
        shares[name] = own
        whole = (await client.get("/api/v1/worklist?mine=false", headers=headers)).json()
        assert {i["merchant_id"] for i in whole["items"]} == set(everything)
    assert set().union(*shares.values()) == set(everything)
    assert sum(len(s) for s in shares.values()) == len(everything)
    assert mine in shares[VOLUNTEER] and visited in shares[OTHER_VOLUNTEERS[1]]
    # The outsider's team is not mixed in, and officers see their jurisdiction's list with who takes each.
    outsider = (
        await client.get("/api/v1/worklist?mine=false", headers=await api_token(client, OTHER_TEAM))
    ).json()
    assert not set(everything) & {i["merchant_id"] for i in outsider["items"]}
    officer = (await client.get("/api/v1/worklist", headers=await api_token(client, "demo-commune"))).json()
    assert set(everything) <= {i["merchant_id"] for i in officer["items"]}


# --- pages -------------------------------------------------------------------------------------


async def test_visit_form_redisplays_errors_then_saves_once_and_returns(client, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    await browser_login(client, VOLUNTEER)
    form_url = f"/merchants/{merchant_id}/visits/new?next=/worklist"
    page = await client.get(form_url)
    assert page.status_code == 200 and 'name="client_event_id"' in page.text
    token = csrf_from(page.text)
    client_event_id = page.text.split('name="client_event_id" value="')[1].split('"')[0]
    today = local_date(clock())
    data = {
        "_csrf_token": token,
        "client_event_id": client_event_id,
        "next": "/worklist",
        "visited_on": today.isoformat(),
        "minutes": "0",
        "topics": ["vneid", "qr_payments"],
        "note": "Hướng dẫn quét mã",
    }
    bad = await client.post(f"/merchants/{merchant_id}/visits/new", data=data, follow_redirects=False)
    assert bad.status_code == 422
    assert 'id="minutes-error"' in bad.text and 'id="outcome-error"' in bad.text
    assert "Hướng dẫn quét mã" in bad.text and 'value="qr_payments" checked' in bad.text
    good = {
        **data,
        "minutes": "25",
        "outcome": "progressed",
        "next_follow_up": (today + timedelta(days=7)).isoformat(),
    }
    for _ in range(2):  # a double tap
        response = await client.post(
            f"/merchants/{merchant_id}/visits/new", data=good, follow_redirects=False
        )
        assert (response.status_code, response.headers["location"]) == (303, "/worklist")
    body = await timeline(client, headers, merchant_id)
    assert len([i for i in body["items"] if i["kind"] == "visit"]) == 1
    assert body["next_follow_up"] == (today + timedelta(days=7)).isoformat()
    page = await client.get(f"/merchants/{merchant_id}/timeline")
    assert "25 phút" in page.text and "Thanh toán bằng QR" in page.text


async def test_stage_form_asks_for_the_right_evidence(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    await browser_login(client, VOLUNTEER)
    chooser = await client.get(f"/merchants/{merchant_id}/stages/new")
    assert (
        chooser.status_code == 200
        and "?stage=identity" in chooser.text
        and "?stage=listed" not in chooser.text
    )
    page = await client.get(f"/merchants/{merchant_id}/stages/new?stage=qr_active")
    assert "Không tính các khoản chuyển thử của thành viên tổ" in page.text
    assert 'name="customer_payments_7d"' in page.text
    page = await client.get(f"/merchants/{merchant_id}/stages/new?stage=identity")
    token, cid = csrf_from(page.text), page.text.split('name="client_event_id" value="')[1].split('"')[0]
    data = {
        "_csrf_token": token,
        "client_event_id": cid,
        "stage": "identity",
        "kind": "reached",
        "note": "ok",
    }
    bad = await client.post(f"/merchants/{merchant_id}/stages/new", data=data, follow_redirects=False)
    assert bad.status_code == 422 and 'id="note-error"' in bad.text
    data["note"] = "Chủ hộ mở VNeID mức 2 cho tôi xem"
    response = await client.post(f"/merchants/{merchant_id}/stages/new", data=data, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, f"/merchants/{merchant_id}/timeline")
    page = await client.get(response.headers["location"])
    assert "Đã ghi nhận: Định danh điện tử." in page.text and "tự khai" in page.text
    regress = await client.get(f"/merchants/{merchant_id}/stages/new?stage=identity&kind=regressed")
    assert "Báo ngừng sử dụng" in regress.text


async def test_the_merchant_page_links_to_the_timeline_and_volunteer_home_shows_the_worklist(client) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    await browser_login(client, VOLUNTEER)
    detail = await client.get(f"/merchants/{merchant_id}")
    assert f'href="/merchants/{merchant_id}/timeline"' in detail.text
    assert f'href="/merchants/{merchant_id}/visits/new"' in detail.text
    home = await client.get("/")
    assert merchant_id in home.text  # registered without a payment account: on today's list
    worklist = await client.get("/worklist")
    assert worklist.status_code == 200 and merchant_id in worklist.text


async def test_the_timeline_shows_other_areas_changes_from_the_audit_log(client, settings, clock) -> None:
    headers = await api_token(client, VOLUNTEER)
    merchant_id = await register(client, headers)
    me = (await client.get("/api/v1/me", headers=headers)).json()
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            await audit_record(
                session,
                entity_type="payment_account",
                entity_id=merchant_id,
                action="create",
                actor_id=uuid.UUID(me["id"]),
                at=clock(),
                changes={
                    "payment_account_id": [None, str(uuid.uuid4())],
                    "bank_bin": [None, "970436"],
                    "account": [None, "1234567890"],
                },
                province_code="46",
            )
            await session.commit()
    finally:
        await engine.dispose()
    body = await timeline(client, headers, merchant_id)
    [change] = [i for i in body["items"] if i["kind"] == "change"]
    assert (change["entity_type"], change["action"], change["by_name"]) == (
        "payment_account",
        "create",
        me["full_name"],
    )
    assert change["sentences"] == [
        {"text": "Thêm tài khoản {account}", "params": {"account": "Vietcombank •••• 7890"}}
    ]
    page = await client.get(f"/merchants/{merchant_id}/timeline", headers=headers)
    assert "Thêm tài khoản Vietcombank •••• 7890" in page.text and "1234567890" not in page.text
    assert "bank_bin" not in page.text and "payment_account" not in page.text
    english = await client.get(f"/merchants/{merchant_id}/timeline?lang=en", headers=headers)
    assert "Added account Vietcombank •••• 7890" in english.text


# --- the team leader's page --------------------------------------------------------------------


async def test_team_progress_numbers_match_the_raw_events(client, clock) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    leader = await api_token(client, LEADER)
    t = clock()
    ids = [await register(client, volunteer) for _ in range(4)]
    await claim(client, volunteer, ids[0], "identity", t - timedelta(days=2))
    await claim(client, volunteer, ids[1], "qr_issued", t - timedelta(days=9))
    await claim(
        client, volunteer, ids[1], "qr_active", t, visit_on=local_date(t).isoformat(), customer_payments_7d=7
    )
    await claim(client, volunteer, ids[2], "bank_account", t - timedelta(days=3))
    await post_event(
        client, volunteer, ids[2], event("bank_account", t, kind="regressed", note="Chủ hộ đóng tài khoản")
    )
    await client.post(f"/api/v1/merchants/{ids[3]}/visits", json=visit(t), headers=volunteer)
    await client.post(
        f"/api/v1/merchants/{ids[3]}/visits", json=visit(t - timedelta(days=45)), headers=volunteer
    )

    team_id = (await client.get("/api/v1/me", headers=leader)).json()["team"]["id"]
    progress = (await client.get(f"/api/v1/teams/{team_id}/progress", headers=leader)).json()
    counts = {s["stage"]: s["count"] for s in progress["stages"]}
    expected = {code.code: 0 for code in stages.STAGES}
    for merchant_id in ids:
        expected[await replayed_stage(client, volunteer, merchant_id)] += 1
    assert counts == expected
    assert counts["registered"] == 2 and counts["identity"] == 1 and counts["qr_active"] == 1
    assert progress["total"] == 4
    me = (await client.get("/api/v1/me", headers=volunteer)).json()["id"]
    activity = {a["user_id"]: a for a in progress["activity"]}
    assert (activity[me]["visits"], activity[me]["stage_moves"]) == (1, 5)
    assert {c["stage"] for c in progress["claims"]} == {"identity", "qr_issued", "qr_active"}
    # Volunteers do not get the leader's page; another team's leader does not see this one.
    assert (await client.get(f"/api/v1/teams/{team_id}/progress", headers=volunteer)).status_code == 403
    other_leader = await api_token(client, "demo-leader")
    assert (await client.get(f"/api/v1/teams/{team_id}/progress", headers=other_leader)).status_code == 404
    page = await client.get(f"/teams/{team_id}/progress", headers=leader)
    assert page.status_code == 200 and 'id="count-qr_active"' in page.text


async def test_demo_data_tells_a_story(client) -> None:
    leader = await api_token(client, "demo-leader")
    team_id = (await client.get("/api/v1/me", headers=leader)).json()["team"]["id"]
    progress = (await client.get(f"/api/v1/teams/{team_id}/progress", headers=leader)).json()
    counts = {s["stage"]: s["count"] for s in progress["stages"] if s["count"]}
    # Four of the team's traders have a published storefront: their highest stage held is listed
    # (O Nga also uses QR, Thiên Hương and Chè Hẻm hold a QR code; Nón bài thơ skipped the rest).
    assert counts == {"registered": 1, "identity": 1, "listed": 4, "ecommerce": 1}
    # Payment accounts, posters and storefronts record their stages by themselves: what waits for
    # the leader are the volunteers' own claims.
    assert sorted(c["stage"] for c in progress["claims"]) == ["ecommerce", "identity"]
    volunteer = await api_token(client, "demo-volunteer")
    work = (await client.get("/api/v1/worklist", headers=volunteer)).json()
    names = {i["business_name"]: i for i in work["items"]}
    assert "installed_not_using" in names["Mè xửng Thiên Hương"]["reasons"]
    assert "follow_up" in names["Mè xửng Thiên Hương"]["reasons"]


async def test_migration_gives_existing_merchants_their_registered_event(database_url) -> None:
    run_blocking(migrate.downgrade, database_url, "0002")
    run_blocking(migrate.upgrade, database_url, "heads")
    engine = create_engine(Settings(database_url=database_url, secret_key=SECRET))
    try:
        async with session_maker(engine)() as session:
            merchants = await session.scalar(select(func.count()).select_from(Merchant))
            registered = await session.scalar(
                select(func.count()).select_from(StageEvent).where(StageEvent.stage == "registered")
            )
            holds = await session.scalar(select(func.count()).select_from(MerchantStage))
            assert merchants == registered == holds > 0
    finally:
        await engine.dispose()
