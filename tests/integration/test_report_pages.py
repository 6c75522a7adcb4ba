"""Officer dashboards over HTTP: the page and its files show the numbers of the JSON summary, every
sub-area row leads to its own dashboard, jurisdiction, English, the target form."""

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

from openpyxl import load_workbook

from service.onboarding.stages import STAGES, local_date
from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.test_reports import COMMUNE, PROVINCE, busy_commune, now, summary

OTHER_COMMUNE = "19774"  # Kim Long, same province


class Tables(HTMLParser):
    """The page's tables by id; each row is its attributes and its cells (attributes, text, link)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.h1 = ""
        self._table: list[dict] | None = None
        self._cell: dict | None = None
        self._in_h1 = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", f"table-{len(self.tables)}"), [])
        elif tag == "tr" and self._table is not None:
            self._table.append({"attrs": attrs, "cells": []})
        elif tag in ("td", "th") and self._table:
            self._cell = {"attrs": attrs, "text": "", "href": None}
            self._table[-1]["cells"].append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell["href"] = attrs.get("href")
        elif tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th"):
            self._cell = None
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_h1:
            self.h1 += data

    def rows(self, table: str, key: str) -> dict[str, dict[str, str]]:
        """Body rows by the row attribute `key`, each as {cell data-key: text} plus "name"."""
        out = {}
        for row in self.tables[table]:
            if key not in row["attrs"]:
                continue
            cells = {c["attrs"].get("data-key", ""): c["text"].strip() for c in row["cells"]}
            cells["name"] = row["cells"][0]["text"].strip()
            cells["href"] = row["cells"][0]["href"]
            out[row["attrs"][key]] = cells
        return out


def n(text: str) -> float:
    """A figure as the Vietnamese page writes it: 1.234 or 12,5%."""
    return float(text.rstrip("%").replace(".", "").replace(",", "."))


async def page(client, url: str, status: int = 200) -> Tables:
    response = await client.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:500])
    return Tables(response.text)


async def test_a_commune_dashboard_shows_the_numbers_of_the_summary(client, settings) -> None:
    await busy_commune(client, settings)
    figures = await summary(client, await api_token(client, "demo-commune"))
    await browser_login(client, "demo-commune")
    html = await page(client, "/reports")

    assert html.h1.strip() == figures["name"]
    key = html.rows("key-figures", "data-key")  # the figure is the row's only unnamed cell
    for name in ("merchants", "installed_not_using", "stalled", "teams", "members", "active_volunteers"):
        assert n(key[name][""]) == figures[name], name
    assert figures["installed_not_using"] >= 1 and figures["merchants"] >= 10
    stages = html.rows("stages-table", "data-stage")
    funnel = html.rows("funnel-table", "data-stage")
    for stage in STAGES:
        assert n(stages[stage.code]["current"]) == figures["by_stage"][stage.code], stage.code
        assert n(funnel[stage.code]["reached"]) == figures["reached"][stage.code], stage.code
    qr_active = figures["by_stage"]["qr_active"]
    assert n(stages["qr_active"]["share"]) == round(100 * qr_active / figures["merchants"], 1)
    children = html.rows("children", "data-code")
    assert len(children) == len(figures["children"])
    for child in figures["children"]:
        row = children[child["code"]]
        assert row["name"] == child["name"]
        assert n(row["merchants"]) == child["merchants"]
        assert n(row["installed_not_using"]) == child["installed_not_using"]
        for stage in STAGES:
            assert n(row[f"stage-{stage.code}"]) == child["by_stage"][stage.code]
    teams = html.rows("teams-table", "data-code")
    for team in figures["teams_list"]:
        assert n(teams[team["code"]]["merchants"]) == team["merchants"]
        assert n(teams[team["code"]]["members"]) == team["members"]
    trend = html.rows("trend-table", "data-month")
    assert {m: n(row["visits"]) for m, row in trend.items()} == figures["visits_by_month"]
    assert {m: n(row["new"]) for m, row in trend.items()} == figures["new_by_month"]
    assert {m: n(row["checkins"]) for m, row in trend.items()} == figures["checkins_by_month"]
    assert {m: n(row["views"]) for m, row in trend.items()} == figures["storefront_views_by_month"]
    assert {m: n(row["qr_fetches"]) for m, row in trend.items()} == figures["qr_fetches_by_month"]
    dashboard = (await client.get("/reports")).text
    paying = re.search(r'data-key="paying_merchants_30d">[^<]*<strong>([^<]+)</strong>', dashboard)
    assert paying and n(paying.group(1)) == figures["paying_merchants_30d"]
    # Installed-but-not-using and stalled lead to the commune's worklist, the stage counts to the list.
    response = await client.get("/reports")
    assert 'href="/worklist#installed_not_using"' in response.text
    assert f'href="/merchants/?commune_code={COMMUNE}&amp;stage=qr_issued"' in response.text


async def test_every_sub_area_row_leads_to_its_own_dashboard(client) -> None:
    await browser_login(client, "demo-admin")
    country = await page(client, "/reports")
    assert country.h1.strip() == "Cả nước"
    provinces = country.rows("children", "data-code")
    assert len(provinces) == 34
    province = await page(client, provinces[PROVINCE]["href"])
    assert province.h1.strip() == provinces[PROVINCE]["name"]
    communes = province.rows("children", "data-code")
    assert all(row["href"] for row in communes.values())
    commune = await page(client, communes[COMMUNE]["href"])
    assert commune.h1.strip() == communes[COMMUNE]["name"]
    villages = commune.rows("children", "data-code")
    linked = {code: row for code, row in villages.items() if row["href"]}
    assert len(linked) == len(villages) - 1  # merchants without a village have no page of their own
    assert any(row["name"] == "Chưa gán thôn" and not row["href"] for row in villages.values())
    for row in linked.values():
        village = await page(client, row["href"])
        assert village.h1.strip() == row["name"]
    teams = commune.rows("teams-table", "data-code")
    assert teams
    for row in teams.values():
        team = await page(client, row["href"])
        assert team.h1.strip() == row["name"]
    # The village page's breadcrumb leads back up.
    response = await client.get(next(iter(linked.values()))["href"])
    assert f'href="/reports?area={PROVINCE}"' in response.text
    assert f'href="/reports?area={COMMUNE}"' in response.text


async def test_a_commune_officer_cannot_open_another_communes_dashboard_or_files(client) -> None:
    await browser_login(client, "demo-commune")
    assert (await page(client, "/reports")).h1.strip()
    for url in (
        f"/reports?area={OTHER_COMMUNE}",
        f"/reports?area={PROVINCE}",
        f"/reports/export.csv?table=children&area={OTHER_COMMUNE}",
        f"/reports/export.xlsx?table=stages&area={OTHER_COMMUNE}",
    ):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "Bạn không có quyền" in response.text
    client.cookies.clear()
    await browser_login(client, "canbo-kimlong")
    other = await page(client, "/reports")
    village = next(row["href"] for row in other.rows("children", "data-code").values() if row["href"])
    client.cookies.clear()
    await browser_login(client, "demo-commune")
    assert (await client.get(village)).status_code == 403


async def test_the_dashboard_in_english(client) -> None:
    await browser_login(client, "demo-commune")
    response = await client.get("/reports?lang=en")
    assert response.status_code == 200
    assert "Merchants by current stage" in response.text
    assert "QR in regular use" in response.text
    assert "Tiểu thương theo giai đoạn hiện tại" not in response.text
    assert '<a href="/reports">Reports</a>' in response.text


async def test_an_officer_sets_a_target_and_a_past_date_is_shown_beside_the_field(client) -> None:
    await browser_login(client, "demo-commune")
    dashboard = await client.get("/reports")
    assert 'id="target-form"' in dashboard.text
    due = (local_date(now()) + timedelta(days=90)).isoformat()
    form = {"_csrf_token": csrf_from(dashboard.text), "area": COMMUNE, "stage": "qr_active"}
    past = await client.post("/reports/targets", data={**form, "share_percent": "60", "due_on": "2020-01-01"})
    assert past.status_code == 422
    assert re.search(r'id="due_on-error">Hạn đạt chỉ tiêu đã qua\.<', past.text)
    assert 'value="2020-01-01"' in past.text and 'value="60"' in past.text
    assert re.search(r'<option value="qr_active" selected>', past.text)
    too_much = await client.post("/reports/targets", data={**form, "share_percent": "150", "due_on": due})
    assert too_much.status_code == 422 and 'id="share_percent-error"' in too_much.text

    created = await client.post(
        "/reports/targets", data={**form, "share_percent": "60", "due_on": due}, follow_redirects=False
    )
    assert created.status_code == 303 and created.headers["location"] == f"/reports?area={COMMUNE}"
    after = await client.get(created.headers["location"])
    assert "Đã lưu chỉ tiêu." in after.text
    # The demo's own targets are there too; this one is the commune's 60% by the date chosen.
    ((target_id, row),) = [
        (target, row)
        for target, row in Tables(after.text).rows("targets-table", "data-target").items()
        if row["goal"] == "60%" and row["name"] == "Dùng QR thường xuyên"
    ]
    assert row["met"] == "Chưa đạt"
    removed = await client.post(
        f"/reports/targets/{target_id}/delete",
        data={"_csrf_token": csrf_from(after.text), "area": COMMUNE},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert f'data-target="{target_id}"' not in (await client.get(removed.headers["location"])).text

    client.cookies.clear()
    await browser_login(client, "tnv-2-1")  # a volunteer sees their team, without the form
    team = await client.get("/reports")
    assert team.status_code == 200 and 'id="target-form"' not in team.text
    refused = await client.post(
        "/reports/targets",
        data={
            "_csrf_token": csrf_from(team.text),
            "stage": "qr_active",
            "share_percent": "60",
            "due_on": due,
        },
    )
    assert refused.status_code == 403


def _csv(response) -> list[dict[str, str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


async def test_the_files_carry_the_numbers_of_the_summary_with_area_codes_and_names(
    pinned_client, clock, settings
) -> None:
    client = pinned_client  # at 00:02 in Vietnam: the files are named by Vietnam's date, not UTC's
    await busy_commune(client, settings, clock)
    figures = await summary(client, await api_token(client, "demo-commune"))
    await browser_login(client, "demo-commune")
    today = local_date(clock()).isoformat()
    assert today != clock().date().isoformat()

    response = await client.get("/reports/export.csv", params={"table": "children", "area": COMMUNE})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="bao-cao-{COMMUNE}-children-{today}.csv"' in response.headers["content-disposition"]
    rows = _csv(response)
    assert len(rows) == len(figures["children"])
    for row, child in zip(rows, figures["children"], strict=True):
        assert (row["Mã địa bàn báo cáo"], row["Tên địa bàn báo cáo"]) == (COMMUNE, figures["name"])
        assert row["Cấp báo cáo"] == "Xã/phường"
        assert (row["Mã"], row["Tên"]) == (child["code"], child["name"])
        assert int(row["Số tiểu thương"]) == child["merchants"]
        assert int(row["Có mã QR nhưng chưa dùng"]) == child["installed_not_using"]
        for stage in STAGES:
            name = stage.name
            assert int(row[f"Hiện ở: {name}"]) == child["by_stage"][stage.code]
            assert int(row[f"Từng đạt: {name}"]) == child["reached"][stage.code]
    assert sum(int(row["Số tiểu thương"]) for row in rows) == figures["merchants"]

    response = await client.get("/reports/export.xlsx", params={"table": "stages", "area": COMMUNE})
    assert response.status_code == 200
    assert f'filename="bao-cao-{COMMUNE}-stages-{today}.xlsx"' in response.headers["content-disposition"]
    rows = _xlsx(response)
    assert [row["Mã giai đoạn"] for row in rows] == [s.code for s in STAGES]
    for row in rows:
        assert (row["Mã địa bàn báo cáo"], row["Tên địa bàn báo cáo"]) == (COMMUNE, figures["name"])
        assert row["Hiện ở giai đoạn"] == figures["by_stage"][row["Mã giai đoạn"]]
        assert row["Từng đạt"] == figures["reached"][row["Mã giai đoạn"]]

    response = await client.get("/reports/export.xlsx", params={"table": "children", "area": COMMUNE})
    rows = _xlsx(response)
    assert {row["Mã"]: row["Số tiểu thương"] for row in rows} == {
        c["code"]: c["merchants"] for c in figures["children"]
    }
    response = await client.get("/reports/export.csv", params={"table": "stages"})  # no area: the commune
    assert {row["Mã giai đoạn"]: int(row["Hiện ở giai đoạn"]) for row in _csv(response)} == figures[
        "by_stage"
    ]
    trend = _csv(await client.get("/reports/export.csv", params={"table": "trend"}))
    assert {row["Tháng"]: int(row["Lượt thăm"]) for row in trend} == figures["visits_by_month"]
    teams = _csv(await client.get("/reports/export.csv", params={"table": "teams"}))
    assert {row["Mã"]: int(row["Số tiểu thương"]) for row in teams} == {
        t["code"]: t["merchants"] for t in figures["teams_list"]
    }
