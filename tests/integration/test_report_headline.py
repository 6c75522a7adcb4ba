"""The headline of the dashboards and officers' home pages over HTTP, on the demo data: its figures
equal the JSON summary, the demo agrees with itself in the raw tables, every figure's link leads to
a list that counts the same, the lists keep to the caller's jurisdiction, and the sub-area table's
switch, sort keys and new columns."""

import csv
import io
import re
from collections import defaultdict
from datetime import datetime, timedelta
from html.parser import HTMLParser

from sqlalchemy import func, select

from service.db import create_engine, session_maker
from service.merchants.models import Merchant, live
from service.onboarding import stages
from service.onboarding.models import MerchantStage, StageEvent
from service.payments.models import PaymentAccount, Poster
from service.reports import counters
from service.reports.models import Target
from service.storefronts.models import Product, Storefront
from service.text import vi_sort_key
from tests.helpers import api_token, browser_login
from tests.integration import report_truth as truth
from tests.integration.test_report_pages import Tables, n
from tests.integration.test_reports import COMMUNE, PROVINCE, summary

OFFICERS = ("demo-admin", "demo-province", "demo-commune")
LIST_FIGURES = ("using_qr", "qr_held_not_used", "qr_just_started", "installed_not_using", "listed")


class Headline(HTMLParser):
    """The figures inside id="headline": data-key → {"value", "text", "href"}."""

    def __init__(self, html: str):
        super().__init__()
        self.figures: dict[str, dict] = {}
        self.found = False
        self._depth = 0  # elements open inside the headline section
        self._figure: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._depth == 0 and attrs.get("id") == "headline":
            self.found = True
            self._depth = 1
            return
        if self._depth:
            self._depth += 1
            if "data-key" in attrs:
                self._figure = self.figures[attrs["data-key"]] = {
                    "value": float(attrs["data-value"]),
                    "text": "",
                    "href": attrs.get("href"),
                }

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1
            self._figure = None

    def handle_data(self, data):
        if self._figure is not None:
            self._figure["text"] += data


def in_english(text: str) -> float:
    return float(text.strip().rstrip("%").replace(",", ""))


def expected(figures: dict) -> dict[str, float]:
    """The headline's figures as the JSON summary has them."""
    out = {
        "merchants": figures["merchants"],
        "using_qr": figures["using_qr"],
        "using_qr_percent": figures["using_qr_percent"],
        "qr_held_not_used": figures["qr_held_not_used"],
        "qr_just_started": figures["qr_just_started"],
        "installed_not_using": figures["installed_not_using"],
        "listed": figures["holding"]["listed"],
    }
    if figures["children"]:
        out["sub_areas_behind"] = figures["sub_areas_behind"]
    return out


async def headline(client, url: str) -> dict[str, dict]:
    response = await client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    parsed = Headline(response.text)
    assert parsed.found, f"{url} has no headline"
    return parsed.figures


async def signed_in(client, username: str) -> dict:
    """The user's own summary as JSON, then signed in to the pages as them."""
    figures = await summary(client, await api_token(client, username))
    client.cookies.clear()
    await browser_login(client, username)
    return figures


async def test_the_headline_on_dashboards_and_officers_home_pages_equals_the_summary(client) -> None:
    for username in (*OFFICERS, "demo-leader"):
        figures = await signed_in(client, username)
        want = expected(figures)
        # The language sticks (a cookie): each page says which it wants.
        pages = ["/reports?lang=vi", "/reports?lang=en"]
        if username in OFFICERS:
            pages += ["/?lang=vi", "/?lang=en"]
        for url in pages:
            shown = await headline(client, url)
            assert set(shown) == set(want), (username, url)
            read = in_english if "lang=en" in url else n
            for key, value in want.items():
                assert shown[key]["value"] == value, (username, url, key)
                assert read(shown[key]["text"]) == value, (username, url, key, shown[key]["text"])
    assert (await client.get("/")).status_code == 200  # the leader's home has no headline
    assert 'id="headline"' not in (await client.get("/")).text


async def test_the_demo_shows_every_headline_figure_and_targets_at_each_level(client) -> None:
    province = expected(await summary(client, await api_token(client, "demo-province")))
    for key in (*LIST_FIGURES, "using_qr_percent", "sub_areas_behind"):
        assert province[key] > 0, key  # a new user sees each figure at work
    commune = await summary(client, await api_token(client, "demo-commune"))
    assert {t["area"] for t in commune["targets"]} == {"", PROVINCE, COMMUNE}
    assert any(t["met"] for t in commune["targets"]) and not all(t["met"] for t in commune["targets"])
    assert all(t["behind_count"] == len(t["behind"]) for t in commune["targets"])


async def test_the_demo_agrees_with_itself_in_the_raw_tables(client, settings) -> None:
    country = await summary(client, await api_token(client, "demo-admin"))
    at = datetime.fromisoformat(country["as_of"])  # the moment it counted at
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            alive = set(await session.scalars(select(Merchant.id).where(live())))
            holding: dict[str, dict] = defaultdict(dict)  # stage → merchant → since
            for merchant_id, stage, since in await session.execute(
                select(MerchantStage.merchant_id, MerchantStage.stage, MerchantStage.reached_at)
            ):
                if merchant_id in alive:
                    holding[stage][merchant_id] = since
            published = set(
                await session.scalars(
                    select(Storefront.merchant_id).where(
                        Storefront.published.is_(True),
                        select(Product.id).where(Product.storefront_id == Storefront.id).exists(),
                    )
                )
            )
            with_account = set(
                await session.scalars(
                    select(PaymentAccount.merchant_id).where(PaymentAccount.removed_at.is_(None))
                )
            )
            with_poster = set(
                await session.scalars(
                    select(Poster.merchant_id)
                    .join(PaymentAccount, PaymentAccount.id == Poster.payment_account_id)
                    .where(Poster.revoked_at.is_(None), PaymentAccount.removed_at.is_(None))
                )
            )
            claimed_accounts = set(
                await session.scalars(
                    select(StageEvent.merchant_id).where(
                        StageEvent.stage == "bank_account", StageEvent.source == "manual"
                    )
                )
            )
            highest = dict(
                (await session.execute(select(Merchant.id, Merchant.current_stage).where(live()))).all()
            )
            registered = await session.scalar(
                select(func.count(func.distinct(StageEvent.merchant_id))).where(
                    StageEvent.stage == "registered"
                )
            )
            target_areas = set(await session.scalars(select(Target.area)))
            kept = await counters.stored(session)
            await counters.rebuild(session)
            rebuilt = await counters.stored(session)
            await session.rollback()
    finally:
        await engine.dispose()

    # Facts behind the automatic stages, as they happen in real use.
    assert published and published == set(holding["listed"]) & alive
    assert with_account and with_account <= set(holding["bank_account"])
    assert set(holding["bank_account"]) <= with_account | claimed_accounts
    assert with_poster and with_poster <= set(holding["qr_issued"])
    assert registered == len(alive) == len(holding["registered"])
    order = {s.code: s.order for s in stages.STAGES}
    for merchant_id, stage in highest.items():
        held = [code for code, who in holding.items() if merchant_id in who]
        assert stage == max(held, key=order.__getitem__), merchant_id
    assert kept == rebuilt  # the write paths kept the counters: no rebuild needed
    assert {"", PROVINCE, COMMUNE} <= target_areas

    # The country's summary, counted here from the held stages.
    # Installed but not using: a QR held since 30 or more calendar days in Vietnam, i.e. since before
    # the start of the Vietnamese day 29 days before today.
    cut = truth.start_of_day(truth.vn_date(at) - timedelta(days=29))
    unused = {m: since for m, since in holding["qr_issued"].items() if m not in holding["qr_active"]}
    assert country["merchants"] == len(alive)
    assert country["using_qr"] == len(holding["qr_active"])
    assert country["holding"]["listed"] == len(holding["listed"])
    assert country["qr_held_not_used"] == len(unused)
    assert country["qr_just_started"] == sum(1 for since in unused.values() if since >= cut)
    assert country["installed_not_using"] == sum(1 for since in unused.values() if since < cut)


async def _count_behind(client, url: str) -> int:
    response = await client.get(url)
    assert response.status_code == 200, url
    return sum(1 for row in Tables(response.text).tables["children"] if "data-behind" in row["attrs"])


async def _list_total(client, url: str) -> int:
    response = await client.get(url)
    assert response.status_code == 200, (url, response.text[:300])
    if url.startswith("/merchants/"):  # "<p id="result-count">12 tiểu thương</p>"
        return int(re.search(r'id="result-count">([0-9.]+) ', response.text).group(1).replace(".", ""))
    return int(re.search(r'data-total="(\d+)"', response.text).group(1))


async def test_each_headline_figure_leads_to_a_list_that_counts_the_same(client) -> None:
    checked = 0
    for username in OFFICERS:
        await signed_in(client, username)
        token = await api_token(client, username)
        pages = ["/", "/reports"]
        if username == "demo-commune":  # a village's and a team's dashboards too
            commune = await summary(client, token)
            village = next(c for c in commune["children"] if c["merchants"])
            team = next(t for t in commune["teams_list"] if t["merchants"])
            pages += [f"/reports?village={village['code']}", f"/reports?team={team['code']}"]
        for page in pages:
            for key, figure in (await headline(client, page)).items():
                if key == "using_qr_percent":
                    assert figure["href"] is None
                    continue
                href = figure["href"]
                assert href, (page, key)
                if key == "sub_areas_behind":
                    assert href.endswith("#sub-areas")
                    assert await _count_behind(client, href.split("#")[0]) == figure["value"], (page, key)
                else:
                    assert await _list_total(client, href) == figure["value"], (page, key, href)
                if href.startswith("/lists/"):
                    api = await client.get("/api/v1" + href, headers=token)
                    assert api.status_code == 200 and api.json()["total"] == figure["value"], (page, key)
                checked += 1
    assert checked >= 8 * 3


async def test_the_lists_keep_to_the_callers_jurisdiction(client) -> None:
    commune = await api_token(client, "demo-commune")
    own = await client.get("/api/v1/lists/using_qr", headers=commune)
    assert own.status_code == 200 and own.json()["area_name"] is None
    names = {item["business_name"] for item in own.json()["items"]}
    assert names == {"Bún hến Đông Ba O Nga", "Tạp hóa Chi Lăng"}
    for params in ({"area": "19774"}, {"area": PROVINCE}, {"area": "01"}):
        refused = await client.get("/api/v1/lists/using_qr", params=params, headers=commune)
        assert refused.status_code == 403, params
    unknown = await client.get("/api/v1/lists/listed", params={"area": "99999"}, headers=commune)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "area"
    hanoi = await api_token(client, "canbo-hanoi")
    assert (
        await client.get("/api/v1/lists/listed", params={"area": COMMUNE}, headers=hanoi)
    ).status_code == 403
    hanoi_listed = (await client.get("/api/v1/lists/listed", headers=hanoi)).json()
    assert hanoi_listed["total"] >= 1
    assert "Bún hến Đông Ba O Nga" not in {item["business_name"] for item in hanoi_listed["items"]}
    # A team's members see their own team only.
    volunteer = await api_token(client, "demo-volunteer")
    team = (await client.get("/api/v1/me", headers=volunteer)).json()["team"]["id"]
    mine = await client.get("/api/v1/lists/installed_not_using", params={"team": team}, headers=volunteer)
    assert {item["business_name"] for item in mine.json()["items"]} >= {"Mè xửng Thiên Hương"}
    other = await summary(client, await api_token(client, "demo-volunteer-b"))
    denied = await client.get("/api/v1/lists/listed", params={"team": other["code"]}, headers=volunteer)
    assert denied.status_code == 403
    assert (await client.get("/api/v1/lists/everything", headers=volunteer)).status_code in (400, 404, 422)


async def test_the_sub_area_table_hides_empty_rows_until_asked_and_carries_sort_keys(client) -> None:
    figures = await signed_in(client, "demo-province")
    response = await client.get("/reports")
    tables = Tables(response.text)
    rows = [row for row in tables.tables["children"] if "data-code" in row["attrs"]]
    assert len(rows) == len(figures["children"])  # every row is in the page, the empty ones hidden
    by_code = {c["code"]: c for c in figures["children"]}
    empty = [row for row in rows if "data-empty" in row["attrs"]]
    assert empty and all("hidden" in row["attrs"] for row in empty)
    assert all("hidden" not in row["attrs"] for row in rows if "data-empty" not in row["attrs"])
    for row in empty:
        child = by_code[row["attrs"]["data-code"]]
        assert child["merchants"] == child["teams"] == child["members"] == 0
    assert 'href="?area=46&amp;all=1#children"' in response.text  # the switch without a script
    shown_all = Tables((await client.get("/reports?all=1")).text).tables["children"]
    assert not any("hidden" in row["attrs"] for row in shown_all)

    # Sort keys: figures by value, names by their Vietnamese alphabetical rank.
    ranks = {}
    for row in rows:
        child = by_code[row["attrs"]["data-code"]]
        cells = {c["attrs"].get("data-key"): c for c in row["cells"]}
        ranks[child["name"]] = int(row["cells"][0]["attrs"]["data-value"])
        for key in ("merchants", "using_qr", "using_qr_percent", "qr_just_started", "installed_not_using"):
            assert float(cells[key]["attrs"]["data-value"]) == child[key], key
        assert float(cells["holding-listed"]["attrs"]["data-value"]) == child["holding"]["listed"]
        assert ("data-behind" in row["attrs"]) == (
            child["merchants"] > 0
            and any(
                round(100 * child["holding"][t["stage"]] / child["merchants"], 1) < t["share_percent"]
                for t in figures["targets"]
            )
        )
    assert sorted(ranks, key=ranks.__getitem__) == sorted(ranks, key=vi_sort_key)
    assert 'src="/static/js/report-tables.js"' in response.text
    assert (await client.get("/static/js/report-tables.js")).status_code == 200


async def test_the_files_add_holding_and_using_qr_columns(client) -> None:
    figures = await signed_in(client, "demo-province")
    response = await client.get("/reports/export.csv", params={"table": "children", "area": PROVINCE})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {"Số tiểu thương", "Có mã QR nhưng chưa dùng", "Hiện ở: Dùng QR thường xuyên"} <= set(rows[0])
    for row, child in zip(rows, figures["children"], strict=True):
        assert int(row["Đang dùng QR"]) == child["using_qr"]
        assert float(row["Tỷ lệ đang dùng QR (%)"]) == child["using_qr_percent"]
        assert int(row["Có QR nhưng chưa dùng: tổng"]) == child["qr_held_not_used"]
        assert int(row["Có QR nhưng chưa dùng: mới bắt đầu (< 30 ngày)"]) == child["qr_just_started"]
        assert int(row["Gian hàng trực tuyến"]) == child["holding"]["listed"]
        assert int(row["Đang giữ: Có tài khoản nhận tiền"]) == child["holding"]["bank_account"]
    english = await client.get(
        "/reports/export.csv", params={"table": "teams", "area": COMMUNE, "lang": "en"}
    )
    assert "Using QR now" in english.content.decode("utf-8-sig").splitlines()[0]
