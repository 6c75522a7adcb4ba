"""Officer reports over HTTP: the summary of each area equals what the merchant list API and the raw
tables say, sub-areas add up to their parents, the counters kept by the write paths equal a rebuild
from the raw tables, time-dependent figures are exact at the moment asked, jurisdiction, targets."""

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import select

from service.db import create_engine, session_maker
from service.onboarding.stages import STAGES, local_date
from service.reports import counters
from service.reports.summaries import SummaryService
from service.settings import Settings
from tests.helpers import api_token, browser_login
from tests.integration import report_truth as truth
from tests.integration.test_merchant_import import GOOD_HEADER, GOOD_ROWS, commit_form, csv_bytes, upload

VOLUNTEER = "tnv-2-1"  # Tổ công nghệ số Gia Hội, Phú Xuân (19753); no demo traders
LEADER = "totruong-2"
COMMUNE = "19753"
PROVINCE = "46"
_serial = iter(range(1, 10_000))
GOODS = [
    "Bưởi",
    "Cá kho",
    "Bánh mì",
    "Nón lá",
    "Tạp hóa",
    "Rau muống",
    "Chè đậu",
    "Giày dép",
    "Sửa xe",
    "Thịt heo",
]
PEOPLE = ["Cô Lan", "Anh Tú", "Bà Sáu", "Chú Bảy", "Dì Hạnh", "Ông Khải", "Chị Mai", "Em Nhi"]


def now() -> datetime:
    return datetime.now(UTC)


async def database(settings: Settings):
    engine = create_engine(settings)
    return engine, session_maker(engine)


async def register(client, headers, **fields) -> dict:
    n = next(_serial)
    body = {
        "kind": "market_stall",
        "business_name": f"{GOODS[n % len(GOODS)]} {PEOPLE[n // len(GOODS) % len(PEOPLE)]}",
        "category": "fresh_produce",
        "owner_name": "Lê Thị Hoa",
        "owner_phone": f"0936{n:06d}",
        "commune_code": COMMUNE,
        "consent_purposes": ["contact", "statistics"],
        **fields,
    }
    response = await client.post("/api/v1/merchants", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def claim(client, headers, merchant_id: str, stage: str, at: datetime, kind: str = "reached", **extra):
    body = {"client_event_id": str(uuid.uuid4()), "occurred_at": at.isoformat(), "stage": stage, "kind": kind}
    if kind == "reached" and stage not in ("qr_active", "ecommerce"):
        body["note"] = "Đã xem tại sạp"
    if kind == "regressed":
        body["note"] = "Đã đóng tài khoản"
    body.update(extra)
    response = await client.post(f"/api/v1/merchants/{merchant_id}/stage-events", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


async def visit(client, headers, merchant_id: str, at: datetime) -> None:
    body = {
        "client_event_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "minutes": 20,
        "topics": ["qr_payments"],
        "outcome": "progressed",
    }
    response = await client.post(f"/api/v1/merchants/{merchant_id}/visits", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def summary(client, headers, **params) -> dict:
    response = await client.get("/api/v1/reports/summary", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def untrue(settings: Settings, got: dict, level: str, code: str | None) -> list[str]:
    """The figures of a summary response that the raw tables, recomputed by the rules, contradict."""
    engine, sessions = await database(settings)
    try:
        async with sessions() as session:
            world = await truth.load(session)
    finally:
        await engine.dispose()
    expected = truth.summary(world, datetime.fromisoformat(got["as_of"]), level, code)
    return truth.differences(got, expected, f"{level} {code or ''}".strip())


async def busy_commune(client, settings, clock=now) -> dict[str, str]:
    """A day's work in commune 19753 through every write path: registrations, claims backdated so
    that QR codes are 30+ days old, a regression, visits, a merchant moved to a village, a deletion,
    a merge, a spreadsheet import. Returns merchant ids by role in the story. `clock`: the app's."""
    volunteer = await api_token(client, VOLUNTEER)
    leader = await api_token(client, LEADER)
    t = clock()
    ids = {}
    for name in ("unused", "active", "listed", "moved", "deleted", "survivor", "duplicate", "regressed"):
        ids[name] = (await register(client, volunteer))["id"]
    for name in ("unused", "active", "survivor", "duplicate", "regressed"):
        await claim(client, volunteer, ids[name], "bank_account", t - timedelta(days=45))
        await claim(client, volunteer, ids[name], "qr_issued", t - timedelta(days=40))
    await claim(
        client, volunteer, ids["active"], "qr_active", t - timedelta(days=20),
        visit_on=local_date(t - timedelta(days=20)).isoformat(), customer_payments_7d=12,
    )  # fmt: skip
    await claim(client, volunteer, ids["regressed"], "qr_issued", t - timedelta(days=2), kind="regressed")
    await claim(client, volunteer, ids["listed"], "identity", t - timedelta(days=3))
    for name in ("unused", "active", "survivor", "duplicate"):  # a visit cannot predate registration
        await visit(client, volunteer, ids[name], clock())
        await visit(client, volunteer, ids[name], clock())
    village = (await client.get(f"/api/v1/areas/communes/{COMMUNE}/villages", headers=leader)).json()
    village_id = (village["items"] if isinstance(village, dict) else village)[0]["id"]
    moved = await client.patch(
        f"/api/v1/merchants/{ids['moved']}", json={"version": 1, "village_id": village_id}, headers=leader
    )
    assert moved.status_code == 200, moved.text
    deleted = await client.delete(f"/api/v1/merchants/{ids['deleted']}", headers=leader)
    assert deleted.status_code == 204, deleted.text
    merged = await client.post(
        f"/api/v1/merchants/{ids['survivor']}/merge", json={"duplicate_id": ids["duplicate"]}, headers=leader
    )
    assert merged.status_code == 200, merged.text
    await browser_login(client, LEADER)
    preview = await upload(client, csv_bytes([GOOD_HEADER, *GOOD_ROWS]), "xa.csv")
    committed = await client.post(
        "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
    )
    assert committed.status_code == 303, committed.text
    client.cookies.clear()
    return ids


async def test_the_counters_kept_by_the_write_paths_equal_a_rebuild_from_the_raw_tables(
    client, settings
) -> None:
    await busy_commune(client, settings)
    engine, sessions = await database(settings)
    try:
        async with sessions() as session:
            kept = await counters.stored(session)
            assert kept[("c", COMMUNE, "merchants", "")] > 0
            await counters.rebuild(session)
            rebuilt = await counters.stored(session)
            await session.rollback()
    finally:
        await engine.dispose()
    assert {k: v for k, v in kept.items() if k[1] in (COMMUNE, PROVINCE) or k[0] in "vt"} == {
        k: v for k, v in rebuilt.items() if k[1] in (COMMUNE, PROVINCE) or k[0] in "vt"
    }
    assert kept == rebuilt


async def test_the_summary_equals_the_merchant_list_and_the_raw_tables(client, settings) -> None:
    ids = await busy_commune(client, settings)
    officer = await api_token(client, "demo-commune")
    figures = await summary(client, officer)
    assert (figures["level"], figures["code"]) == ("commune", COMMUNE)

    # The merchant list API, filtered by stage, counts the same merchants.
    listed = await client.get("/api/v1/merchants", params={"commune_code": COMMUNE}, headers=officer)
    assert figures["merchants"] == listed.json()["total"]
    for stage in STAGES:
        page = await client.get(
            "/api/v1/merchants", params={"commune_code": COMMUNE, "stage": stage.code}, headers=officer
        )
        assert figures["by_stage"][stage.code] == page.json()["total"], stage.code

    # The raw tables, recomputed from the rules in the test (30 and 60 calendar days in Vietnam,
    # medians of calendar days) at the moment the summary says it was made.
    assert await untrue(settings, figures, "commune", COMMUNE) == []
    assert figures["installed_not_using"] >= 1  # "unused" and the survivor
    assert sum(figures["visits_by_month"].values()) >= 8  # four merchants visited twice, the merged one too
    assert figures["median_days_to_qr_active"] is not None
    assert ids["deleted"] not in str(figures)


async def test_sub_areas_add_up_to_their_parents_at_every_level(client, settings) -> None:
    await busy_commune(client, settings)
    admin = await api_token(client, "demo-admin")
    additive = ("merchants", "installed_not_using", "stalled")
    country = await summary(client, admin)
    assert country["level"] == "country" and len(country["children"]) == 34
    for parent in (
        country,
        await summary(client, admin, area=PROVINCE),
        await summary(client, admin, area=COMMUNE),
    ):
        children = parent["children"]
        for key in additive:
            assert parent[key] == sum(child[key] for child in children), (parent["name"], key)
        for key in ("by_stage", "reached", "visits_by_month", "new_by_month"):
            for bucket, n in parent[key].items():
                assert n == sum(child[key][bucket] for child in children), (parent["name"], key, bucket)
    commune = await summary(client, admin, area=COMMUNE)
    assert commune["merchants"] >= 10
    assert sum(team["merchants"] for team in commune["teams_list"]) == commune["merchants"]
    for team in commune["teams_list"]:
        assert team["members"] >= 1
    assert commune["members"] == sum(team["members"] for team in commune["teams_list"])
    assert commune["active_volunteers"] >= 1  # the volunteer who visited an hour ago


async def test_a_commune_officer_sees_only_their_commune_and_teams_only_their_team(client) -> None:
    officer = await api_token(client, "demo-commune")
    assert (await summary(client, officer))["code"] == COMMUNE
    village = (await summary(client, officer))["children"][0]
    assert (await summary(client, officer, village=village["code"]))["level"] == "village"
    for params in ({"area": "19774"}, {"area": PROVINCE}, {"area": "01"}):
        response = await client.get("/api/v1/reports/summary", params=params, headers=officer)
        assert response.status_code == 403, params
    hanoi = await api_token(client, "canbo-hanoi")
    assert (
        await client.get("/api/v1/reports/summary", params={"area": PROVINCE}, headers=hanoi)
    ).status_code == 403
    assert (await summary(client, hanoi))["code"] == "01"
    unknown = await client.get("/api/v1/reports/summary", params={"area": "99999"}, headers=hanoi)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "area"
    volunteer = await api_token(client, VOLUNTEER)
    own = await summary(client, volunteer)
    assert own["level"] == "team" and own["teams"] == 1
    denied = await client.get("/api/v1/reports/summary", params={"area": COMMUNE}, headers=volunteer)
    assert denied.status_code == 403


async def test_installed_but_not_using_is_exact_at_the_moment_asked(client, settings) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    t = now()
    merchant = (await register(client, volunteer))["id"]
    await claim(client, volunteer, merchant, "bank_account", t - timedelta(days=29, hours=1))
    await claim(client, volunteer, merchant, "qr_issued", t - timedelta(days=29))
    engine, sessions = await database(settings)
    try:
        async with sessions() as session:
            reports = SummaryService(session)
            place = await reports.resolve(by=await _admin(session), area=COMMUNE)
            today = await reports.of(place, now=t)
            in_two_days = await reports.of(place, now=t + timedelta(days=2))
            world = await truth.load(session)
    finally:
        await engine.dispose()
    assert in_two_days.installed_not_using == today.installed_not_using + 1
    for moment, got in ((t, today), (t + timedelta(days=2), in_two_days)):  # 29 days, then 31
        expected = truth.summary(world, moment, "commune", COMMUNE)
        assert truth.differences(msgspec.to_builtins(got), expected, f"commune at {moment}") == []
    await claim(
        client, volunteer, merchant, "qr_active", t,
        visit_on=local_date(t).isoformat(), customer_payments_7d=5,
    )  # fmt: skip
    engine, sessions = await database(settings)
    try:
        async with sessions() as session:
            reports = SummaryService(session)
            place = await reports.resolve(by=await _admin(session), area=COMMUNE)
            after_use = await reports.of(place, now=t + timedelta(days=2))
            world = await truth.load(session)
    finally:
        await engine.dispose()
    expected = truth.summary(world, t + timedelta(days=2), "commune", COMMUNE)
    assert truth.differences(msgspec.to_builtins(after_use), expected, "commune after use") == []
    assert after_use.installed_not_using == today.installed_not_using
    assert after_use.by_stage["qr_active"] == today.by_stage["qr_active"] + 1


async def _admin(session):
    from service.accounts.models import User
    from service.accounts.schemas import CurrentUser

    row = await session.scalar(select(User).where(User.username == "demo-admin"))
    return CurrentUser(id=row.id, username=row.username, full_name=row.full_name, role="admin", locale="vi")


async def test_officers_set_targets_and_see_the_sub_areas_furthest_behind(client) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    t = now()
    for n in range(3):
        merchant = (await register(client, volunteer))["id"]
        if n == 0:
            await claim(client, volunteer, merchant, "bank_account", t - timedelta(days=1))
    officer = await api_token(client, "demo-commune")
    due = (local_date(t) + timedelta(days=60)).isoformat()
    body = {"stage": "bank_account", "share_percent": 60, "due_on": due}
    created = await client.post("/api/v1/reports/targets", json=body, headers=officer)
    assert created.status_code == 201, created.text
    again = await client.post("/api/v1/reports/targets", json={**body, "share_percent": 70}, headers=officer)
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
    figures = await summary(client, officer)
    # The demo's targets for the country, the province and the commune apply too.
    (target,) = [t for t in figures["targets"] if t["id"] == created.json()["id"]]
    assert target["share_percent"] == 70 and target["stage"] == "bank_account" and target["area"] == COMMUNE
    # Measured on the merchants holding the stage now (a demo trader with a storefront but no
    # account is past bank_account by its highest stage, and does not hold it).
    holding = figures["holding"]["bank_account"]
    assert target["percent"] == round(100 * holding / figures["merchants"], 1)
    assert target["met"] is False
    shares = [b["percent"] for b in target["behind"]]
    assert shares == sorted(shares) and all(s < 70 for s in shares) and shares
    # Another commune's officer cannot set it for this commune; a past date or stage 1 is refused.
    other = await api_token(client, "canbo-kimlong")
    assert (
        await client.post("/api/v1/reports/targets", json={**body, "area": COMMUNE}, headers=other)
    ).status_code == 403
    past = await client.post(
        "/api/v1/reports/targets",
        json={**body, "due_on": "2020-01-01"},
        headers={**officer, "Accept-Language": "en"},
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "due_on"
    assert past.json()["errors"][0]["message"] == "The target date has passed."
    first = await client.post(
        "/api/v1/reports/targets", json={**body, "stage": "registered"}, headers=officer
    )
    assert first.status_code == 422 and first.json()["errors"][0]["field"] == "stage"
    assert (await client.post("/api/v1/reports/targets", json=body, headers=volunteer)).status_code == 403
    removed = await client.delete(f"/api/v1/reports/targets/{created.json()['id']}", headers=officer)
    assert removed.status_code == 204
    assert created.json()["id"] not in [t["id"] for t in (await summary(client, officer))["targets"]]


async def test_a_visit_makes_its_volunteer_active(pinned_client, clock, settings) -> None:
    """At 00:02 in Vietnam on the first of a month (in UTC, still the last day of the month before):
    the visit counts in the new month, and its volunteer is active."""
    client = pinned_client
    volunteer = await api_token(client, VOLUNTEER)
    leader = await api_token(client, LEADER)
    before = await summary(client, leader)
    merchant = (await register(client, volunteer))["id"]
    await visit(client, volunteer, merchant, clock())
    after = await summary(client, leader)
    month = clock().astimezone(truth.VIETNAM).strftime("%Y-%m")  # Vietnam's month, the first day
    assert month != clock().astimezone(UTC).strftime("%Y-%m")
    assert after["active_volunteers"] == before["active_volunteers"] + 1
    assert after["visits_by_month"][month] == before["visits_by_month"][month] + 1 == 1
    assert await untrue(settings, after, "team", after["code"]) == []


async def test_a_target_that_is_met_says_so_and_lists_no_sub_area_behind_it(client, settings) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    t = now()
    for n in range(4):
        merchant = (await register(client, volunteer))["id"]
        if n < 3:
            await claim(client, volunteer, merchant, "bank_account", t - timedelta(days=1))
    officer = await api_token(client, "demo-commune")
    figures = await summary(client, officer)
    engine, sessions = await database(settings)
    try:
        async with sessions() as session:
            world = await truth.load(session)
    finally:
        await engine.dispose()
    # The commune's share holding a payment account, worked out from the raw tables.
    expected = truth.summary(world, datetime.fromisoformat(figures["as_of"]), "commune", COMMUNE)
    share = round(100 * expected["holding"]["bank_account"] / expected["merchants"], 1)
    assert 1 <= share < 100
    due = (local_date(t) + timedelta(days=30)).isoformat()
    for goal, met in ((int(share), True), (int(share) + 1, False)):  # reached exactly or more; not yet
        body = {"stage": "bank_account", "share_percent": goal, "due_on": due}
        created = await client.post("/api/v1/reports/targets", json=body, headers=officer)
        assert created.status_code == 201, created.text
        figures = await summary(client, officer)
        (target,) = [x for x in figures["targets"] if x["id"] == created.json()["id"]]
        assert (target["percent"], target["met"]) == (share, met), (goal, target)
        # The sub-areas below the goal, by the same count: only those are listed as behind.
        below = {
            code
            for code, child in expected["children"].items()
            if child["merchants"]
            and round(100 * child["holding"]["bank_account"] / child["merchants"], 1) < goal
        }
        assert target["behind_count"] == len(below)
        assert {b["code"] for b in target["behind"]} <= below


async def test_median_days_to_listed_counts_calendar_days_from_registration(
    pinned_client, clock, settings
) -> None:
    """Three traders of a team without any other, registered 2, 5 and 9 days before their pages
    were published at 00:02 on the first of a month (Vietnam): the median is 5 days."""
    from tests.integration.test_storefronts import add_product, publish

    client = pinned_client
    volunteer = await api_token(client, VOLUNTEER)
    t = clock()
    ids = []
    for days in (9, 2, 5):
        registered = await register(
            client,
            volunteer,
            registered_at=(t - timedelta(days=days)).isoformat(),
            consent_purposes=["storefront", "contact"],
        )
        ids.append(registered["id"])
    await browser_login(client, VOLUNTEER)
    for merchant_id in ids:
        assert (await add_product(client, merchant_id, "Bánh ướt", "15.000")).status_code == 303
        assert (await publish(client, merchant_id)).status_code == 303
    figures = await summary(client, await api_token(client, LEADER))
    assert figures["level"] == "team" and figures["holding"]["listed"] == 3
    assert figures["median_days_to_listed"] == 5
    assert figures["median_days_to_qr_active"] is None  # nobody uses QR yet
    assert await untrue(settings, figures, "team", figures["code"]) == []
