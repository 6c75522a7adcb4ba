"""A tablet without a connection: what a volunteer saves waits in the outbox on the device and
reaches the server exactly once when the connection (or the server) is back; a tablet shared by
two volunteers never sends one's items under the other's session.

The tablet is a persistent Chromium profile, so that closing and reopening it keeps what a real
tablet keeps (service worker, IndexedDB, cookies). The server is a real process, stopped and
started again on the same port and database for the "server down" case."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from service.payments.vietqr import VietQR, encode
from tests.conftest import SECRET, clone_database, drop_database
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, TABLET, _free_port
from tests.e2e.conftest import sign_in as sign_in_page
from tests.e2e.steps import fill_registration
from tests.integration.test_payments_api import phone_photo

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
EXISTING = "Tạp hóa Chi Lăng"  # demo trader of demo-volunteer's team, phone 0905 131 676
EXISTING_PHONE = "0905 131 676"
SEND_WAIT = 30_000  # ms: the outbox sends on reconnect and on page load; this is a ceiling


class Server:
    """The app in a subprocess that the test can stop and start again (same port, same database)."""

    def __init__(self, database_url: str, tmp_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "ONBOARD_DATABASE_URL": database_url,
            "ONBOARD_SECRET_KEY": SECRET,
            "ONBOARD_MEDIA_DIR": str(tmp_path / "media"),
            "ONBOARD_LOG_REQUESTS": "0",
            "PORT": str(self.port),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.tmp_path / "server.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"], env=self.env, stdout=log, stderr=log
        )
        for _ in range(150):
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError((self.tmp_path / "server.log").read_text())
            time.sleep(0.1)  # polling a process that starts: there is nothing to wait on instead
        raise RuntimeError("the server did not start")

    def freeze(self) -> None:
        """The server stops answering (a stalled link looks the same to the tablet)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def server(template_url: str, tmp_path: Path) -> Iterator[Server]:
    database_url = clone_database(template_url, tmp_path)
    live = Server(database_url, tmp_path)
    live.start()
    try:
        yield live
    finally:
        live.stop()
        drop_database(database_url)


def open_tablet(browser, profile: Path) -> BrowserContext:
    return browser.clocked(
        browser.browser_type.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=TABLET
        )
    )


def sign_in(page: Page, server: Server, username: str, next_path: str = "/") -> None:
    """Signed in, and the device ready to work offline."""
    sign_in_page(page, server, username, next_path=next_path)
    ready(page)


def ready(page: Page) -> None:
    """The device has what it needs for work offline: its pages and data, and the service worker."""
    expect(page.locator("html[data-device-ready]")).to_have_count(1, timeout=20_000)
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def badge(page: Page):
    return page.locator("#outbox-badge")


def register(page: Page, server: Server, name: str, phone: str) -> None:
    page.goto(f"{server.url}/merchants/new")
    expect(page.locator("h1")).to_have_text("Đăng ký tiểu thương")
    fill_registration(page, name, phone)
    page.click("main form button.primary")
    expect(page).to_have_url(re.compile(r"/outbox\?saved="))
    expect(page.locator("#device-notice")).to_contain_text("Đã lưu trên máy tính bảng")


def record_visit(page: Page, server: Server, merchant_id: str, name: str) -> None:
    page.goto(f"{server.url}/merchants/{merchant_id}/visits/new")
    expect(page.locator("h1")).to_have_text("Ghi lần thăm")
    expect(page.locator(f"main a[href='/merchants/{merchant_id}/timeline']")).to_have_text(name)
    page.fill("#minutes", "25")
    page.check("input[name=topics][value=qr_payments]")
    page.check("input[name=outcome][value=progressed]")
    page.click("main form button.primary")
    expect(page).to_have_url(re.compile(r"/outbox\?saved="))


def record_identity(page: Page, server: Server, merchant_id: str) -> None:
    page.goto(f"{server.url}/merchants/{merchant_id}/stages/new?stage=identity")
    expect(page.locator("h1")).to_contain_text("Ghi nhận:")
    page.fill("#note", "Đã kích hoạt VNeID mức 2 trên điện thoại của chủ hộ")
    page.click("main form button.primary")
    expect(page).to_have_url(re.compile(r"/outbox\?saved="))


def add_account(page: Page, server: Server, merchant_id: str, number: str) -> None:
    page.goto(f"{server.url}/merchants/{merchant_id}/payment-accounts/new")
    expect(page.locator("h1")).to_have_text("Thêm tài khoản nhận tiền")
    page.fill("#bank_q", "vietcom")
    page.select_option("#bank_bin", "970436")
    page.fill("#account", number)
    expect(page.locator("#holder_name")).not_to_have_value("")  # the owner's name, as banks write it
    page.click("#save-account")
    expect(page).to_have_url(re.compile(r"/outbox\?saved="))


def trader_id_on_device(page: Page, server: Server, query: str, name: str) -> str:
    """Search the team's traders on the device (no accents typed) and take the trader's id."""
    page.goto(f"{server.url}/merchants/")
    page.fill("#q", query)
    page.click("form.search button[type=submit]")
    card = page.locator("ul.merchant-list li.card", has_text=name)
    expect(card).to_have_count(1)
    return (card.locator("a.title").get_attribute("href") or "").rsplit("/", 1)[-1]


class Api:
    def __init__(self, server: Server, username: str = "demo-leader"):
        self.url = server.url
        answer = httpx.post(
            f"{server.url}/api/v1/session", json={"username": username, "password": "demo-password"}
        )
        answer.raise_for_status()
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}

    def traders_named(self, name: str) -> list[dict]:
        found = httpx.get(
            f"{self.url}/api/v1/merchants/", params={"q": name, "limit": 100}, headers=self.headers
        )
        found.raise_for_status()
        return [m for m in found.json()["items"] if m["business_name"] == name]

    def timeline(self, merchant_id: str) -> list[dict]:
        answer = httpx.get(f"{self.url}/api/v1/merchants/{merchant_id}/timeline", headers=self.headers)
        answer.raise_for_status()
        return answer.json()["items"]

    def accounts(self, merchant_id: str) -> list[str]:
        answer = httpx.get(
            f"{self.url}/api/v1/merchants/{merchant_id}/payment-accounts", headers=self.headers
        )
        answer.raise_for_status()
        return [a["account"] for a in answer.json()]

    def visits(self, merchant_id: str) -> int:
        return sum(1 for item in self.timeline(merchant_id) if item["kind"] == "visit")

    def stage_events(self, merchant_id: str, stage: str) -> int:
        return sum(1 for i in self.timeline(merchant_id) if i["kind"] == "stage" and i["stage"] == stage)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_offline_work_survives_reload_and_reopening_and_reaches_the_server_once(
    browser, server: Server, tmp_path: Path
) -> None:
    names = ["Bánh canh Ngoại tuyến", "Chè bắp Ngoại tuyến", "Nem lụi Ngoại tuyến"]
    started = datetime.now(UTC)
    tablet = open_tablet(browser, tmp_path / "tablet")
    page = tablet.new_page()
    sign_in(page, server, "demo-volunteer")
    expect(badge(page)).to_have_text("0 chờ gửi")

    tablet.set_offline(True)
    phones = ["0912 300 001", "0912 300 002", "0912 300 003"]
    for n, (name, phone) in enumerate(zip(names, phones, strict=True)):
        register(page, server, name, phone)
        expect(badge(page)).to_have_text(f"{n + 1} chờ gửi")
    expect(page.locator("#net-state")).to_have_text("Ngoại tuyến")
    shot(page, "offline-badge")
    page.goto(f"{server.url}/worklist")  # the worklist as it was last seen online
    expect(page.locator("h1")).to_have_text("Việc cần làm")
    expect(page.locator("#device-notice")).to_contain_text("Bản lưu trên máy tính bảng")
    expect(badge(page)).to_have_text("3 chờ gửi")

    # The trader registered offline is found on the device, accents left out, and visited.
    first = trader_id_on_device(page, server, "banh canh ngoai", names[0])
    expect(page.locator("ul.merchant-list li.card", has_text=names[0])).to_contain_text("chờ gửi")
    record_visit(page, server, first, names[0])
    record_identity(page, server, first)
    expect(badge(page)).to_have_text("5 chờ gửi")

    page.reload()
    expect(badge(page)).to_have_text("5 chờ gửi")
    expect(page.locator("#outbox li.outbox-item")).to_have_count(5)
    expect(page.locator("#outbox li.outbox-item").first).to_contain_text("Chờ gửi")
    # The visit waits for its trader's registration, in the order they were saved.
    expect(page.locator("#outbox li.outbox-item[data-kind=visit]")).to_contain_text(
        "Chờ mục trước của tiểu thương này được gửi"
    )
    # When each was saved, in Vietnam's time and the pages' format, whatever the tablet's own zone.
    saved = page.locator("#outbox li.outbox-item").first.locator(".muted").inner_text()
    minutes = {
        (started + timedelta(minutes=n)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%-d/%-m/%Y %H:%M")
        for n in range(int((datetime.now(UTC) - started).total_seconds() // 60) + 2)
    }
    assert saved.removeprefix("Lưu lúc ") in minutes, (saved, minutes)
    shot(page, "outbox-waiting")
    tablet.close()

    # The tablet is switched on again, still without a connection, then the network comes back.
    tablet = open_tablet(browser, tmp_path / "tablet")
    tablet.set_offline(True)
    page = tablet.new_page()
    page.goto(f"{server.url}/outbox")
    expect(badge(page)).to_have_text("5 chờ gửi")
    tablet.set_offline(False)
    expect(badge(page)).to_have_text("0 chờ gửi", timeout=SEND_WAIT)
    expect(page.locator("#outbox-empty")).to_be_visible()

    api = Api(server)
    for name in names:
        assert len(api.traders_named(name)) == 1, name
    [registered] = api.traders_named(names[0])
    assert registered["id"] == first
    assert api.visits(first) == 1
    assert api.stage_events(first, "identity") == 1

    # Another page load sends nothing again.
    page.reload()
    expect(badge(page)).to_have_text("0 chờ gửi")
    assert len(api.traders_named(names[1])) == 1
    assert api.visits(first) == 1
    tablet.close()


def test_work_saved_while_the_server_is_down_is_sent_once_it_is_back(
    browser, server: Server, tmp_path: Path
) -> None:
    name = "Bún bò Máy chủ nghỉ"
    tablet = open_tablet(browser, tmp_path / "tablet")
    page = tablet.new_page()
    sign_in(page, server, "demo-volunteer")
    existing = trader_id_on_device(page, server, EXISTING, EXISTING)  # online: the server's search
    api = Api(server)
    visits_before = api.visits(existing)

    server.stop()
    register(page, server, name, "0912 300 010")
    record_visit(page, server, existing, EXISTING)
    new_id = trader_id_on_device(page, server, "bun bo may chu", name)  # on the device now
    record_visit(page, server, new_id, name)
    add_account(page, server, new_id, "0071000123456")
    page.goto(f"{server.url}/outbox")
    expect(badge(page)).to_have_text("4 chờ gửi")
    page.reload()
    expect(badge(page)).to_have_text("4 chờ gửi")
    tablet.close()

    tablet = open_tablet(browser, tmp_path / "tablet")  # switched on again, the server still down
    page = tablet.new_page()
    page.goto(f"{server.url}/outbox")
    expect(badge(page)).to_have_text("4 chờ gửi")
    server.start()
    # Nothing tells the tablet the server is back: the outbox tries again by itself, every 20 s.
    expect(badge(page)).to_have_text("0 chờ gửi", timeout=SEND_WAIT)

    api = Api(server)
    assert len(api.traders_named(name)) == 1
    assert api.visits(new_id) == 1
    assert api.visits(existing) == visits_before + 1
    assert api.accounts(new_id) == ["0071000123456"]
    tablet.close()


def test_a_form_the_server_does_not_answer_in_time_waits_and_is_recorded_once(
    browser, server: Server, tmp_path: Path
) -> None:
    name = "Bánh ép Máy chủ chậm"
    tablet = open_tablet(browser, tmp_path / "tablet")
    page = tablet.new_page()
    sign_in(page, server, "demo-volunteer")
    page.goto(f"{server.url}/merchants/new")
    fill_registration(page, name, "0912 300 020", owner="Trần Thị Chậm", kind="street_vendor", market=None)
    server.freeze()
    try:
        page.click("main form button.primary")
        # The form waits for the server's answer for a while, then in the outbox.
        expect(page).to_have_url(re.compile(r"/outbox\?saved="), timeout=SEND_WAIT)
        expect(badge(page)).to_have_text("1 chờ gửi")
    finally:
        server.thaw()
    # The server got the form after all, late; the outbox sends it again: still one trader.
    page.goto(f"{server.url}/outbox")
    expect(badge(page)).to_have_text("0 chờ gửi", timeout=SEND_WAIT)
    assert len(Api(server).traders_named(name)) == 1
    tablet.close()


def test_a_likely_duplicate_is_fixed_from_the_outbox_and_then_its_visit_is_sent(
    browser, server: Server, tmp_path: Path
) -> None:
    name = "Tạp hóa Chi Lăng 2"
    tablet = open_tablet(browser, tmp_path / "tablet")
    page = tablet.new_page()
    sign_in(page, server, "demo-volunteer")
    tablet.set_offline(True)
    register(page, server, name, EXISTING_PHONE)  # the phone of a trader already registered
    new_id = trader_id_on_device(page, server, "tap hoa chi lang 2", name)
    record_visit(page, server, new_id, name)
    page.goto(f"{server.url}/outbox")
    expect(badge(page)).to_have_text("2 chờ gửi")

    tablet.set_offline(False)
    item = page.locator("#outbox li.outbox-item[data-kind=merchant]")
    expect(item).to_contain_text("Cần sửa", timeout=SEND_WAIT)
    expect(item.locator(".server-answer")).to_contain_text("409")
    expect(page.locator("#outbox li.outbox-item[data-kind=visit]")).to_contain_text("Chờ mục trước")
    expect(badge(page)).to_have_text("2 chờ gửi")
    expect(badge(page)).to_have_class(re.compile("has-problem"))
    shot(page, "outbox-conflict")
    api = Api(server)
    assert api.traders_named(name) == []

    item.locator("a.fix").click()
    expect(page.locator("#outbox-fix")).to_contain_text("Máy chủ chưa nhận mục này")
    expect(page.locator("#business_name")).to_have_value(name)
    expect(page.locator("#owner_phone")).to_have_value(EXISTING_PHONE)
    duplicates = page.locator("#outbox-duplicates")
    expect(duplicates).to_contain_text(EXISTING)
    shot(page, "conflict-form")
    duplicates.locator("input[name=not_duplicate_of]").check()  # another trader, same phone (family)
    page.click("main form button.primary")

    expect(page).to_have_url(re.compile(r"/outbox$"))
    expect(badge(page)).to_have_text("0 chờ gửi", timeout=SEND_WAIT)
    [registered] = api.traders_named(name)
    assert registered["id"] == new_id  # the id made on the tablet
    assert api.visits(new_id) == 1
    assert len(api.traders_named(EXISTING)) == 1
    tablet.close()


READ_DEVICE_DATA = """id => new Promise((resolve, reject) => {
  const open = indexedDB.open("onboard-device");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction("data").objectStore("data").get(id);
    get.onsuccess = () => resolve(get.result ? get.result.traders.length : null);
  };
})"""


def _device_data_of(page: Page, user_id: str) -> int | None:
    """How many of the user's traders the device keeps (None: nothing kept for that user)."""
    return page.evaluate(READ_DEVICE_DATA, user_id)


def test_signing_out_keeps_waiting_items_for_their_owner_and_another_volunteer_never_sends_them(
    browser, server: Server, tmp_path: Path
) -> None:
    name = "Tạp hóa Chi Lăng Hai"
    tablet = open_tablet(browser, tmp_path / "tablet")
    page = tablet.new_page()
    sign_in(page, server, "demo-volunteer")
    first_user = page.evaluate("JSON.parse(document.getElementById('device-config').textContent).user_id")
    assert _device_data_of(page, first_user) > 0  # the team's traders are on the device

    tablet.set_offline(True)
    register(page, server, name, EXISTING_PHONE)  # will come back as a likely duplicate
    new_id = trader_id_on_device(page, server, "chi lang hai", name)
    record_visit(page, server, new_id, name)  # waits behind the registration
    tablet.set_offline(False)
    page.goto(f"{server.url}/outbox")
    expect(page.locator("#outbox li.outbox-item[data-kind=merchant]")).to_contain_text(
        "Cần sửa", timeout=SEND_WAIT
    )
    expect(badge(page)).to_have_text("2 chờ gửi")

    # Signing out warns, then clears this volunteer's traders from the device.
    page.click("form[action='/logout'] button")
    warning = page.locator("#logout-warning")
    expect(warning).to_contain_text("Còn 2 mục chưa gửi")
    shot(page, "logout-warning")
    page.click("#logout-stay")
    expect(warning).to_have_count(0)
    page.click("form[action='/logout'] button")
    page.click("#logout-anyway")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert _device_data_of(page, first_user) is None

    # Another volunteer of the same team signs in on the same tablet.
    sign_in(page, server, "tnv-1-2", next_path="/outbox")
    expect(badge(page)).to_have_text("0 chờ gửi")
    expect(page.locator("#outbox-others")).to_contain_text("2 mục của người dùng khác")
    expect(page.locator("#outbox li.outbox-item")).to_have_count(0)
    page.reload()
    ready(page)  # this page load sent what this volunteer has waiting: nothing
    api = Api(server)
    assert api.traders_named(name) == []
    page.click("form[action='/logout'] button")  # nothing of theirs waits: no warning
    expect(page).to_have_url(re.compile(r"/login$"))

    # The first volunteer finds the items again, fixes the conflict, and they are sent.
    sign_in(page, server, "demo-volunteer", next_path="/outbox")
    expect(badge(page)).to_have_text("2 chờ gửi")
    page.locator("#outbox li.outbox-item[data-kind=merchant] a.fix").click()
    page.locator("#outbox-duplicates input[name=not_duplicate_of]").check()
    page.click("main form button.primary")
    expect(badge(page)).to_have_text("0 chờ gửi", timeout=SEND_WAIT)
    assert len(api.traders_named(name)) == 1
    assert api.visits(new_id) == 1
    tablet.close()


def test_an_expired_session_asks_to_sign_in_again_and_only_its_owner_sends(
    browser, server: Server, tmp_path: Path
) -> None:
    tablet = open_tablet(browser, tmp_path / "tablet")
    page = tablet.new_page()
    sign_in(page, server, "demo-volunteer")
    existing = trader_id_on_device(page, server, EXISTING, EXISTING)
    api = Api(server)
    visits_before = api.visits(existing)

    tablet.set_offline(True)
    record_visit(page, server, existing, EXISTING)
    page.goto(f"{server.url}/outbox")
    tablet.clear_cookies()  # the session ends while the visit waits
    tablet.set_offline(False)
    expect(page.locator("#device-notice")).to_contain_text("Phiên đăng nhập đã hết hạn", timeout=SEND_WAIT)
    expect(page.locator("#outbox li.outbox-item")).to_contain_text("Cần đăng nhập lại")
    assert api.visits(existing) == visits_before

    # Someone else signs in on this tablet: the visit is not theirs to send.
    page.click("#sign-in-again")
    page.fill("#username", "tnv-1-2")
    page.fill("#password", "demo-password")
    page.click("main form button[type=submit]")
    ready(page)
    expect(page.locator("#outbox-others")).to_contain_text("1 mục của người dùng khác")
    page.reload()
    ready(page)
    assert api.visits(existing) == visits_before
    page.click("form[action='/logout'] button")
    expect(page).to_have_url(re.compile(r"/login$"))

    sign_in(page, server, "demo-volunteer", next_path="/outbox")
    expect(badge(page)).to_have_text("0 chờ gửi", timeout=SEND_WAIT)
    assert api.visits(existing) == visits_before + 1
    tablet.close()


def test_a_qr_photo_taken_offline_waits_size_capped_and_its_account_is_checked_then_saved(
    browser, server: Server, tmp_path: Path
) -> None:
    picture = tmp_path / "qr-cua-tieu-thuong.jpg"
    picture.write_bytes(phone_photo(encode(VietQR(bank_bin="970436", account="0071000654321"))))
    too_large = tmp_path / "anh-qua-lon.jpg"
    too_large.write_bytes(picture.read_bytes() + bytes(6 * 1024 * 1024))
    tablet = open_tablet(browser, tmp_path / "tablet")
    page = tablet.new_page()
    sign_in(page, server, "demo-volunteer")
    existing = trader_id_on_device(page, server, EXISTING, EXISTING)
    api = Api(server)
    before = api.accounts(existing)

    tablet.set_offline(True)
    page.goto(f"{server.url}/merchants/{existing}/payment-accounts/import")
    expect(page.locator(f"main a[href='/merchants/{existing}']")).to_have_text(EXISTING)
    page.set_input_files("#image", str(too_large))
    page.get_by_role("button", name="Đọc mã từ ảnh").click()
    expect(page.locator("#device-notice")).to_contain_text("Ảnh quá lớn")
    expect(badge(page)).to_have_text("0 chờ gửi")
    page.set_input_files("#image", str(picture))
    page.get_by_role("button", name="Đọc mã từ ảnh").click()
    expect(page).to_have_url(re.compile(r"/outbox\?saved="))
    item = page.locator("#outbox li.outbox-item[data-kind=qr_photo]")
    expect(item).to_contain_text(f"Ảnh mã QR chờ đọc · {EXISTING}")
    expect(item.locator("img.outbox-photo")).to_be_visible()
    expect(badge(page)).to_have_text("1 chờ gửi")
    shot(page, "outbox-photo")

    tablet.set_offline(False)  # the server reads the photo; the volunteer checks what it found
    item = page.locator("#outbox li.outbox-item[data-kind=payment_account]")
    expect(item).to_contain_text("Cần kiểm tra rồi lưu", timeout=SEND_WAIT)
    assert api.accounts(existing) == before
    item.locator("a.fix").click()
    expect(page.locator("#outbox-fix")).to_contain_text("Đã đọc mã QR từ ảnh")
    expect(page.locator("#bank_bin")).to_have_value("970436")
    expect(page.locator("#account")).to_have_value("0071000654321")
    page.click("#save-account")
    expect(badge(page)).to_have_text("0 chờ gửi", timeout=SEND_WAIT)
    assert sorted(api.accounts(existing)) == sorted([*before, "0071000654321"])
    tablet.close()
