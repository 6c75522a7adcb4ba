"""A province officer reads the headline and works the sub-area table on a phone (360 px) and a
portrait tablet (800 px), in Vietnamese and English; with the network off, the page already loaded
keeps its figures and its table still works."""

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

OFFICER = "demo-province"
HEADER = {"vi": "Số tiểu thương", "en": "Traders"}


def _summary(server) -> dict:
    session = httpx.post(
        f"{server.url}/api/v1/session", json={"username": OFFICER, "password": "demo-password"}
    )
    token = session.json()["token"]
    return httpx.get(
        f"{server.url}/api/v1/reports/summary", headers={"Authorization": f"Bearer {token}"}
    ).json()


def _values(page, key: str) -> list[float]:
    """The figures of one column, top to bottom, of the rows shown."""
    return [
        float(v)
        for v in page.locator(f"#children tbody tr:visible td[data-key={key}]").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )
    ]


def _headline(page, figures: dict) -> None:
    want = {
        "merchants": figures["merchants"],
        "using_qr": figures["using_qr"],
        "using_qr_percent": figures["using_qr_percent"],
        "qr_held_not_used": figures["qr_held_not_used"],
        "qr_just_started": figures["qr_just_started"],
        "installed_not_using": figures["installed_not_using"],
        "listed": figures["holding"]["listed"],
        "sub_areas_behind": figures["sub_areas_behind"],
    }
    for key, value in want.items():
        figure = page.locator(f"#headline [data-key={key}]")
        expect(figure).to_be_visible()
        assert float(figure.get_attribute("data-value")) == value, key
    bar = page.locator("#headline [role=progressbar]")
    assert float(bar.get_attribute("aria-valuenow")) == figures["using_qr_percent"]


def test_an_officer_reads_the_headline_and_works_the_sub_area_table(browser, live_server) -> None:
    figures = _summary(live_server)
    assert figures["level"] == "province" and figures["sub_areas_behind"] >= 1
    with_merchants = sum(1 for c in figures["children"] if c["merchants"] or c["teams"] or c["members"])
    for width in (360, 800):
        for lang in ("vi", "en"):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            sign_in(page, live_server, OFFICER)
            page.goto(f"{live_server.url}/reports?lang={lang}")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            _headline(page, figures)
            label = "Đang dùng QR" if lang == "vi" else "Using QR now"
            expect(page.locator("#headline")).to_contain_text(label)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (width, lang)

            # Rows without any figure wait behind the switch.
            rows = page.locator("#children tbody tr:visible")
            expect(rows).to_have_count(with_merchants)
            switch = page.locator("a.show-all[data-table=children]")
            expect(switch).to_have_attribute("role", "switch")
            switch.click()
            expect(switch).to_have_attribute("aria-checked", "true")
            expect(rows).to_have_count(len(figures["children"]))
            assert "all=1" in page.url
            switch.click()
            expect(rows).to_have_count(with_merchants)
            switch.click()  # all rows for what follows

            # Sorting: figures largest first, then the other way; names in Vietnamese order.
            header = page.locator("#children thead th", has_text=HEADER[lang]).first
            header.locator("button.sort").click()
            expect(header).to_have_attribute("aria-sort", "descending")
            merchants = _values(page, "merchants")
            assert merchants == sorted(merchants, reverse=True) and merchants[0] > 0
            header.locator("button.sort").click()
            expect(header).to_have_attribute("aria-sort", "ascending")
            assert _values(page, "merchants") == sorted(merchants)
            names = page.locator("#children thead th").first
            names.locator("button.sort").click()
            expect(names).to_have_attribute("aria-sort", "ascending")
            ranks = page.locator("#children tbody tr:visible th[scope=row]").evaluate_all(
                "cells => cells.map(c => Number(c.dataset.value))"
            )
            assert ranks == sorted(ranks)

            # The header stays on top and the names on the left while the table scrolls.
            box = page.locator("#sub-areas .sticky-table")
            scrolled = box.evaluate(
                "el => { el.scrollIntoView({block: 'start'}); el.scrollTop = 10000; el.scrollLeft = 10000;"
                " return [el.scrollTop, el.scrollLeft]; }"
            )
            assert scrolled[0] > 0 and scrolled[1] > 0, (width, lang, scrolled)
            frame = box.bounding_box()
            first = page.locator("#children tbody tr:visible th[scope=row]").last
            cell = first.bounding_box()
            assert abs(cell["x"] - frame["x"]) <= 2 and cell["width"] > 40, (width, lang, cell, frame)
            top = page.locator("#children thead th").nth(1).bounding_box()
            assert abs(top["y"] - frame["y"]) <= 2, (width, lang, top, frame)
            on_top = first.evaluate(
                "th => { const r = th.getBoundingClientRect();"
                " const hit = document.elementFromPoint(r.left + 8, r.top + r.height / 2);"
                " return th.contains(hit); }"
            )
            assert on_top, (width, lang)

            # Offline, the page already loaded keeps its figures and its table works.
            context.set_offline(True)
            assert page.evaluate("navigator.onLine") is False
            _headline(page, figures)
            switch.click()
            expect(rows).to_have_count(with_merchants)
            header.locator("button.sort").click()
            expect(header).to_have_attribute("aria-sort", "descending")
            context.close()
