"""Signals of real use over HTTP: the trader's weekly check-in on the edit link, the team's at a
visit and over the API, "may have stopped using QR" on the worklist, a paying answer as support
for a qr_active claim, storefront views and QR fetches counted per day without bots, and what the
report counters are told."""

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import anyio.to_thread
from sqlalchemy import func, select

from service.db import create_engine, session_maker
from service.merchants import events
from service.onboarding.models import StageEvent
from service.payments.checkins import week_label
from service.payments.models import PaymentCheckin
from service.storefronts.models import StorefrontReach
from service.vietnam import VIETNAM, iso_week, local_date, month
from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.test_storefront_links import as_trader, linked, new_link, path_of
from tests.integration.test_storefronts import BUN_HEN, BUN_HEN_SLUG, new_merchant, submit

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Mobile Safari/537.36"
)
ZALO = f"{PHONE} Zalo android/12100 ZaloTheme/light ZaloLanguage/vi"


def _wednesday_ahead() -> datetime:
    """10:00 in Vietnam on the Wednesday 14 to 20 days from now: later than every demo record (the
    demo is seeded when the tests start) and than the traders a test registers, sooner than an edit
    link made now expires (30 days). The tests use only its place in the calendar."""
    day = local_date(datetime.now(UTC)) + timedelta(days=14)
    day += timedelta(days=(2 - day.weekday()) % 7)
    return datetime.combine(day, time(10), VIETNAM).astimezone(UTC)


WEDNESDAY = _wednesday_ahead()
DAY = local_date(WEDNESDAY)
MONDAY = DAY - timedelta(days=2)
SUNDAY_NIGHT = datetime.combine(DAY + timedelta(days=4), time(23, 30), VIETNAM)  # still this week
MONDAY_EARLY = datetime.combine(DAY + timedelta(days=5), time(0, 30), VIETNAM)  # next week; UTC: Sunday
WEEK, LAST_WEEK, NEXT_WEEK = (iso_week(DAY + timedelta(days=n)) for n in (0, -7, 7))
ROUTES = (
    "service.storefronts.public",
    "service.payments.api",
    "service.payments.pages",
    "service.onboarding.api",
    "service.onboarding.pages",
)


class Clock:
    """The moment the handlers give the code (`utcnow` where they call it), set by the test."""

    def __init__(self, monkeypatch, client, at: datetime):
        self.at = at
        for module in ROUTES:
            monkeypatch.setattr(f"{module}.utcnow", lambda: self.at)
        client.app.state.storefront_reach.clock = lambda: self.at


async def checkins_of(client, merchant_id, headers) -> list[dict]:
    response = await client.get(f"/api/v1/merchants/{merchant_id}/payment-checkins", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def answer(client, link: str, value: str, page=None):
    page = page or await client.get(path_of(link))
    return await client.post(
        f"{path_of(link)}/checkin",
        data={"_csrf_token": csrf_from(page.text), "answer": value},
        follow_redirects=False,
    )


async def rows(settings, model, **where) -> list:
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            query = select(model).filter_by(**where)
            return list(await session.scalars(query))
    finally:
        await engine.dispose()


async def flush(client) -> int:
    """Write the counts the app holds, on the app's own event loop (the test client runs the app in
    another thread, and PostgreSQL connections belong to the loop that opened them)."""
    return await anyio.to_thread.run_sync(
        client.blocking_portal.call, client.app.state.storefront_reach.flush
    )


def heard(monkeypatch, kind: str) -> list[events.TraderEvent]:
    """What a listener of `kind` is told (added after the real ones for this test only)."""
    told: list[events.TraderEvent] = []

    async def listener(session, event):
        told.append(event)

    registered = [*events._LISTENERS.get(kind, []), events._Registered(1000, listener)]
    monkeypatch.setitem(events._LISTENERS, kind, registered)
    return told


# --- the trader's weekly check-in ---------------------------------------------------------------


async def test_trader_answers_the_weekly_question_once_a_week_on_the_edit_link(
    client, settings, monkeypatch
) -> None:
    await browser_login(client, "demo-volunteer")
    link = await new_link(client, BUN_HEN)
    clock = Clock(monkeypatch, client, WEDNESDAY)
    told = heard(monkeypatch, "payment_reported")
    page = await as_trader(client, link)
    assert "Tuần này có bao nhiêu khách trả bằng QR?" in page.text
    assert 'id="checkin-thanks"' not in page.text and 'id="checkin-change"' not in page.text
    buttons = re.findall(r'<button type="submit" name="answer" value="([^"]+)"', page.text)
    assert buttons == ["0", "1-5", "6-20", "20+"]

    done = await answer(client, link, "1-5", page)
    assert (done.status_code, done.headers["location"]) == (303, path_of(link))
    page = await client.get(path_of(link))
    assert "Cảm ơn bạn! Câu trả lời đã được ghi lại." in page.text
    assert "Cảm ơn! Tuần này bạn đã trả lời: 1–5 khách." in page.text
    assert '<details id="checkin-change">' in page.text  # the buttons wait behind "change"

    # Answering again this week replaces the answer; the same answer again changes nothing.
    assert (await answer(client, link, "6-20")).status_code == 303
    assert (await answer(client, link, "6-20")).status_code == 303
    stored = await rows(settings, PaymentCheckin, merchant_id=BUN_HEN)
    assert [(r.iso_week, r.answer, r.source, r.recorded_by_id) for r in stored] == [
        (WEEK, "6-20", "trader", None)
    ]
    assert "Tuần này bạn đã trả lời: 6–20 khách." in (await client.get(path_of(link))).text
    assert [(e.detail["day"], e.detail["paid"], e.detail["replaced"]) for e in told] == [
        (DAY, True, False),
        (DAY, True, True),
    ]  # the repeat announced nothing: nothing changed

    # A week is Vietnam's: late on Sunday it is still answered; after midnight the question is back.
    clock.at = SUNDAY_NIGHT
    assert 'id="checkin-thanks"' in (await client.get(path_of(link))).text
    clock.at = MONDAY_EARLY
    page = await client.get(path_of(link))
    assert 'id="checkin-thanks"' not in page.text and "Tuần này có bao nhiêu khách" in page.text
    assert (await answer(client, link, "0", page)).status_code == 303
    stored = await rows(settings, PaymentCheckin, merchant_id=BUN_HEN)
    assert sorted((r.iso_week, r.answer) for r in stored) == [(WEEK, "6-20"), (NEXT_WEEK, "0")]
    last = told[-1]
    assert last.kind == "payment_reported" and last.merchant_ids == (BUN_HEN,) and last.by is None
    assert last.detail["place"].commune_code == stored[0].commune_code
    assert (last.detail["day"], last.detail["paid"], last.detail["previous"], last.detail["latest"]) == (
        DAY + timedelta(days=5),
        False,
        DAY,
        DAY,
    )

    # Only the four answers, and nothing but the answer.
    wrong = await answer(client, link, "7")
    assert wrong.status_code == 422 and "Hãy chọn một câu trả lời." in wrong.text
    page = await client.get(path_of(link))
    extra = await client.post(
        f"{path_of(link)}/checkin",
        data={"_csrf_token": csrf_from(page.text), "answer": "0", "source": "volunteer"},
        follow_redirects=False,
    )
    assert extra.status_code == 403
    assert len(await rows(settings, PaymentCheckin, merchant_id=BUN_HEN)) == 2


async def test_a_revoked_link_cannot_answer(client, settings) -> None:
    await browser_login(client, "demo-volunteer")
    link = await new_link(client, BUN_HEN)
    trader_page = await client.get(path_of(link))  # the trader opened the page while it worked
    link_id = max(await linked(settings, BUN_HEN), key=lambda row: row.created_at).id
    revoked = await submit(
        client, f"/merchants/{BUN_HEN}/storefront", f"/merchants/{BUN_HEN}/storefront/links/{link_id}/revoke"
    )
    assert revoked.status_code == 303
    refused = await answer(client, link, "1-5", trader_page)
    assert refused.status_code == 410 and "thu hồi" in refused.text
    assert await rows(settings, PaymentCheckin, merchant_id=BUN_HEN) == []


# --- the team's answer: at a visit, over the API ------------------------------------------------


async def test_volunteer_records_the_weekly_answer_at_a_visit(client, settings, monkeypatch) -> None:
    await browser_login(client, "demo-volunteer")
    link = await new_link(client, BUN_HEN)
    Clock(monkeypatch, client, WEDNESDAY)
    client.cookies.clear()
    assert (await answer(client, link, "0")).status_code == 303  # the trader said none this week
    await browser_login(client, "demo-volunteer")
    form_url = f"/merchants/{BUN_HEN}/visits/new"
    form = await client.get(form_url)
    assert "Tuần này có bao nhiêu khách trả bằng QR?" in form.text
    assert "Tiểu thương đã tự trả lời tuần này: không có khách nào." in form.text
    values = {
        "client_event_id": str(uuid.uuid4()),
        "visited_on": MONDAY.isoformat(),  # Monday of the same week
        "minutes": "20",
        "topics": "qr_payments",
        "outcome": "progressed",
        "checkin": "20+",
    }
    done = await client.post(
        form_url, data={**values, "_csrf_token": csrf_from(form.text)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    again = await client.post(
        form_url, data={**values, "_csrf_token": csrf_from(form.text)}, follow_redirects=False
    )
    assert again.status_code == 303  # the same visit sent twice: one visit, one answer

    headers = await api_token(client, "demo-volunteer")
    stored = await checkins_of(client, BUN_HEN, headers)
    assert [(c["iso_week"], c["source"], c["answer"], c["paid"], c["day"]) for c in stored] == [
        (WEEK, "trader", "0", False, DAY.isoformat()),
        (WEEK, "volunteer", "20+", True, MONDAY.isoformat()),
    ]
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert stored[1]["recorded_by_id"] == me["id"]
    timeline = await client.get(f"/merchants/{BUN_HEN}/timeline")
    assert f"Tổ đã ghi có khách trả bằng QR tuần {week_label(WEEK)}: hơn 20 khách." in timeline.text

    # A visit without the answer records none; a visit refused records none either.
    plain = {**values, "client_event_id": str(uuid.uuid4()), "checkin": ""}
    token = csrf_from(form.text)
    assert (
        await client.post(form_url, data={**plain, "_csrf_token": token}, follow_redirects=False)
    ).status_code == 303
    future = {
        **values,
        "client_event_id": str(uuid.uuid4()),
        "visited_on": str(DAY + timedelta(days=16)),
        "checkin": "1-5",
    }
    refused = await client.post(form_url, data={**future, "_csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 422
    assert len(await checkins_of(client, BUN_HEN, headers)) == 2


async def test_checkin_api_validates_in_the_callers_language_and_keeps_to_the_team(
    client, monkeypatch
) -> None:
    Clock(monkeypatch, client, WEDNESDAY)
    volunteer = await api_token(client, "demo-volunteer")
    url = f"/api/v1/merchants/{BUN_HEN}/payment-checkins"

    bad = await client.post(url, json={"answer": "7"}, headers=volunteer)
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "answer", "message": "Giá trị không hợp lệ."}]
    english = await client.post(url, json={"answer": "7"}, headers={**volunteer, "Accept-Language": "en"})
    assert english.json()["errors"][0]["field"] == "answer"
    assert english.json()["errors"][0]["message"] != "Giá trị không hợp lệ."
    future = await client.post(
        url, json={"answer": "1-5", "day": str(DAY + timedelta(days=1))}, headers=volunteer
    )
    assert future.status_code == 422
    assert future.json()["errors"] == [{"field": "day", "message": "Ngày này còn ở tương lai."}]
    future_en = await client.post(
        url,
        json={"answer": "1-5", "day": str(DAY + timedelta(days=1))},
        headers={**volunteer, "Accept-Language": "en"},
    )
    assert future_en.json()["errors"] == [{"field": "day", "message": "This date is in the future."}]
    stale = await client.post(
        url, json={"answer": "1-5", "day": str(DAY - timedelta(days=61))}, headers=volunteer
    )
    assert stale.status_code == 422 and stale.json()["errors"][0]["field"] == "day"
    assert (await client.get(url, headers=volunteer)).json() == []

    first = await client.post(url, json={"answer": "1-5"}, headers=volunteer)
    assert first.status_code == 201, first.text
    assert (first.json()["iso_week"], first.json()["day"], first.json()["source"]) == (
        WEEK,
        DAY.isoformat(),
        "volunteer",
    )
    same = await client.post(url, json={"answer": "1-5"}, headers=volunteer)
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    keyed = {**volunteer, "Idempotency-Key": "checkin-last-week"}
    last_week = await client.post(
        url, json={"answer": "0", "day": str(DAY - timedelta(days=6))}, headers=keyed
    )
    assert last_week.status_code == 201
    replay = await client.post(url, json={"answer": "0", "day": str(DAY - timedelta(days=6))}, headers=keyed)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == last_week.json()
    listed = (await client.get(url, headers=volunteer)).json()
    assert [(c["iso_week"], c["answer"]) for c in listed] == [(WEEK, "1-5"), (LAST_WEEK, "0")]

    # Outside the team: another team's volunteer does not see the trader; an officer reads only.
    other = await api_token(client, "demo-volunteer-b")
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.post(url, json={"answer": "0"}, headers=other)).status_code == 404
    officer = await api_token(client, "demo-commune")
    assert len((await client.get(url, headers=officer)).json()) == 2
    refused = await client.post(url, json={"answer": "0"}, headers=officer)
    assert refused.status_code == 403
    assert (await client.post(url, json={"answer": "0"})).status_code == 401
    assert len((await client.get(url, headers=volunteer)).json()) == 2


# --- what the answers are used for --------------------------------------------------------------


async def test_two_weeks_running_without_qr_customers_put_the_trader_on_the_worklist(
    client, monkeypatch
) -> None:
    volunteer = await api_token(client, "demo-volunteer")
    merchant_id = await new_merchant(client, "Chè Hẻm Cô Lan")  # registered today, before the clock
    url = f"/api/v1/merchants/{merchant_id}/payment-checkins"
    clock = Clock(monkeypatch, client, WEDNESDAY)
    day_before = local_date(datetime.now(UTC)) - timedelta(days=1)
    early = await client.post(url, json={"answer": "0", "day": str(day_before)}, headers=volunteer)
    assert early.status_code == 422
    assert early.json()["errors"] == [
        {"field": "day", "message": "Ngày này ở trước ngày đăng ký tiểu thương."}
    ]

    async def reasons() -> list[str] | None:
        work = (await client.get("/api/v1/worklist?mine=false", headers=volunteer)).json()
        return next((i["reasons"] for i in work["items"] if i["merchant_id"] == merchant_id), None)

    assert await reasons() == ["no_payment_account"]
    week_ago, weeks_ago = (str(DAY - timedelta(days=n)) for n in (7, 14))
    await client.post(url, json={"answer": "0", "day": weeks_ago}, headers=volunteer)
    await client.post(url, json={"answer": "0", "day": str(DAY - timedelta(days=1))}, headers=volunteer)
    assert await reasons() == ["no_payment_account"]  # two zero weeks, but not running
    await client.post(url, json={"answer": "0", "day": week_ago}, headers=volunteer)
    assert await reasons() == ["stopped_using", "no_payment_account"]
    work = (await client.get("/api/v1/worklist?mine=false", headers=volunteer)).json()
    item = next(i for i in work["items"] if i["merchant_id"] == merchant_id)
    assert item["reason"] == "stopped_using" and work["counts"]["stopped_using"] >= 1
    assert [a["url"] for a in item["actions"]] == [f"/merchants/{merchant_id}/visits/new"]
    await browser_login(client, "demo-volunteer")
    page = await client.get("/worklist?team=1")
    section = re.search(r'<section class="work" id="stopped_using">(.*?)</section>', page.text, re.S).group(1)
    assert "Có thể đã ngừng dùng QR" in section and "Chè Hẻm Cô Lan" in section
    timeline = await client.get(f"/merchants/{merchant_id}/timeline")
    assert 'id="stopped-using"' in timeline.text

    # The next week the trader says customers paid: off the list.
    clock.at = MONDAY_EARLY
    assert (await client.post(url, json={"answer": "1-5"}, headers=volunteer)).status_code == 201
    assert await reasons() == ["no_payment_account"]
    assert 'id="stopped-using"' not in (await client.get(f"/merchants/{merchant_id}/timeline")).text


async def test_a_paying_answer_supports_a_qr_active_claim_and_records_no_stage(
    client, settings, monkeypatch
) -> None:
    await browser_login(client, "demo-volunteer")
    link = await new_link(client, BUN_HEN)
    Clock(monkeypatch, client, WEDNESDAY)
    events_before = await rows(settings, StageEvent, merchant_id=BUN_HEN)
    claim_form = f"/merchants/{BUN_HEN}/stages/new?stage=qr_active"
    assert 'id="checkin-support"' not in (await client.get(claim_form)).text
    client.cookies.clear()
    assert (await answer(client, link, "6-20")).status_code == 303
    await browser_login(client, "demo-volunteer")

    form = await client.get(claim_form)
    support = re.search(r'id="checkin-support">(.*?)</p>', form.text, re.S).group(1)
    assert f"Tiểu thương báo có khách trả bằng QR tuần {week_label(WEEK)}: 6–20 khách." in support
    assert "giai đoạn chỉ được ghi nhận khi bạn xác nhận" in support
    assert (
        'id="checkin-support"'
        not in (await client.get(f"/merchants/{BUN_HEN}/stages/new?stage=identity")).text
    )
    timeline = await client.get(f"/merchants/{BUN_HEN}/timeline")
    assert f"Tiểu thương báo có khách trả bằng QR tuần {week_label(WEEK)}: 6–20 khách." in timeline.text
    english = await client.get(f"{claim_form}&lang=en")
    assert f"week {week_label(WEEK)}" in english.text
    # Support, not a stage: the log is as it was.
    assert len(await rows(settings, StageEvent, merchant_id=BUN_HEN)) == len(events_before)


# --- storefront reach ---------------------------------------------------------------------------


async def test_page_views_and_qr_fetches_are_counted_per_day_and_shown(client, settings, monkeypatch) -> None:
    told = heard(monkeypatch, "storefront_reach")
    Clock(monkeypatch, client, WEDNESDAY)
    reach = client.app.state.storefront_reach
    page = await client.get(f"/s/{BUN_HEN_SLUG}", headers={"User-Agent": PHONE})
    assert page.status_code == 200 and "set-cookie" not in page.headers
    reload = await client.get(
        f"/s/{BUN_HEN_SLUG}", headers={"User-Agent": ZALO, "If-None-Match": page.headers["etag"]}
    )
    assert reload.status_code == 304  # a person reloading: a view
    qr = re.search(r'id="stall-qr" src="([^"]+)"', page.text).group(1)
    assert (await client.get(qr, headers={"User-Agent": PHONE})).status_code == 200
    svg = await client.get(f"/s/{BUN_HEN_SLUG}/qr.svg?amount=25000", headers={"User-Agent": PHONE})
    assert svg.status_code == 200
    assert (
        await client.get(f"/s/{BUN_HEN_SLUG}/poster.pdf", headers={"User-Agent": PHONE})
    ).status_code == 200
    assert reach.pending() == 5
    assert await rows(settings, StorefrontReach) == []  # nothing written by the requests themselves

    assert await flush(client) == 1
    assert reach.pending() == 0
    (row,) = await rows(settings, StorefrontReach)
    assert (row.merchant_id, row.day, row.views, row.qr_fetches) == (BUN_HEN, DAY, 2, 3)
    trader = (
        await client.get(f"/api/v1/merchants/{BUN_HEN}", headers=await api_token(client, "demo-volunteer"))
    ).json()
    assert (row.province_code, row.commune_code) == (trader["province_code"], trader["commune_code"])
    (event,) = told
    assert event.merchant_ids == (BUN_HEN,)
    assert event.detail["counts"] == {BUN_HEN: {("views", month(DAY)): 2, ("qr_fetches", month(DAY)): 3}}

    # The next flush adds to the day's row: one row per storefront and day.
    await client.get(f"/s/{BUN_HEN_SLUG}", headers={"User-Agent": PHONE})
    assert await flush(client) == 1
    (row,) = await rows(settings, StorefrontReach)
    assert (row.views, row.qr_fetches) == (3, 3)
    assert await flush(client) == 0  # nothing new: no write, no announcement
    assert len(told) == 2

    # The trader sees it on their link; the team on the timeline and the team's page.
    await browser_login(client, "demo-volunteer")
    link = await new_link(client, BUN_HEN)
    trader = await client.get(path_of(link))
    views = re.search(r'id="reach-views">(.*?)</tr>', trader.text, re.S).group(1)
    fetches = re.search(r'id="reach-qr">(.*?)</tr>', trader.text, re.S).group(1)
    assert re.findall(r">(\d+)<", views) == ["3", "3"] and re.findall(r">(\d+)<", fetches) == ["3", "3"]
    await browser_login(client, "demo-volunteer")
    timeline = await client.get(f"/merchants/{BUN_HEN}/timeline")
    assert "Trang gian hàng: 3 lượt xem và 3 lượt tải mã QR trong 30 ngày qua" in timeline.text
    await browser_login(client, "demo-leader")
    me = (await client.get("/api/v1/me", headers=await api_token(client, "demo-leader"))).json()
    team = await client.get(f"/teams/{me['team']['id']}/progress")
    trader_row = re.search(rf'id="signals-{BUN_HEN}">(.*?)</tr>', team.text, re.S).group(1)
    assert re.findall(r'class="num">(\d+)<', trader_row) == ["3", "3"]


async def test_bots_head_requests_and_failed_requests_are_not_counted(client, settings) -> None:
    reach = client.app.state.storefront_reach
    page = f"/s/{BUN_HEN_SLUG}"
    robots = (
        "",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36",
    )
    for agent in robots:
        assert (await client.get(page, headers={"User-Agent": agent})).status_code == 200
        assert (await client.get(f"{page}/qr.png", headers={"User-Agent": agent})).status_code == 200
    assert (await client.head(page, headers={"User-Agent": PHONE})).status_code in (200, 405)
    assert (await client.get("/s/khong-co-gian-hang-nay", headers={"User-Agent": PHONE})).status_code == 404
    bad = await client.get(f"{page}/qr.png?amount=abc", headers={"User-Agent": PHONE})
    assert bad.status_code == 422
    assert reach.pending() == 0
    assert await flush(client) == 0
    assert await rows(settings, StorefrontReach) == []
    # A phone with "Cubot" in its name is a person (its maker's name ends in "bot").
    cubot = "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"
    assert (await client.get(page, headers={"User-Agent": cubot})).status_code == 200
    assert reach.pending() == 1


async def test_counts_waiting_in_memory_are_written_when_the_app_stops(settings) -> None:
    from litestar.testing import AsyncTestClient

    from service.app import create_app

    async with AsyncTestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        assert (await client.get(f"/s/{BUN_HEN_SLUG}", headers={"User-Agent": PHONE})).status_code == 200
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            assert await session.scalar(select(func.sum(StorefrontReach.views))) == 1
    finally:
        await engine.dispose()
