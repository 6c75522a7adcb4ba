"""Bodies, files and images no honest client sends, replayed against a running server: each is
refused with a 4xx, while another client's /health keeps answering quickly and the server's memory
stays bounded."""

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator

import httpx
import openpyxl
import pytest
from PIL import Image

from tests.helpers import DEMO_PASSWORD, csrf_from
from tests.server import Server, serving

MERCHANT = {
    "kind": "market_stall",
    "business_name": "Bún bò Hẻm",
    "category": "food_drink",
    "owner_name": "Lê Thị Hẻm",
    "owner_phone": "0987 654 321",
    "commune_code": "19753",
    "consent_purposes": ["storefront"],
}
HEALTH_LIMIT = 3.0  # seconds: /health while the server chews on the corpus (a loaded 2-core machine)
MEMORY_LIMIT_KIB = 100 * 1024  # growth of the server's resident memory while one item is handled


def deep_json() -> bytes:
    return b'{"business_name": ' + b"[" * 1000 + b"]" * 1000 + b"}"


def invalid_utf8() -> bytes:
    return json.dumps(MERCHANT, ensure_ascii=False).encode().replace("Hẻm".encode(), b"H\xff\xfem", 1)


def nul_in_text() -> bytes:
    return json.dumps({**MERCHANT, "business_name": "Bún\u0000bò"}).encode()


def oversized_json() -> bytes:
    return json.dumps({**MERCHANT, "notes": "x" * (11 * 1024 * 1024)}).encode()


def blank_png() -> bytes:
    """6300×6300 RGBA, all zeros: ~150 KB on the wire, ~150 MB once decoded."""
    out = io.BytesIO()
    Image.new("RGBA", (6300, 6300)).save(out, "PNG", optimize=True)
    return out.getvalue()


def xlsx_last_row() -> bytes:
    """One cell, at the last row a sheet can have (1,048,576): a reader that fills the gap walks a
    million empty rows."""
    book = openpyxl.Workbook()
    book.active.cell(row=1, column=1, value="Tên cơ sở")
    book.active.cell(row=1_048_576, column=1, value="Sạp cuối cùng")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_whitespace_bomb() -> bytes:
    """A small file whose sheet XML inflates to 200 MB of spaces between two rows."""
    book = openpyxl.Workbook()
    book.active.append(["Tên cơ sở", "Số điện thoại"])
    book.active.append(["Sạp A", "0987654321"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, tail = data.split(b"</row>", 1)
                with bomb.open(info.filename, "w", force_zip64=True) as sheet:
                    sheet.write(head + b"</row>")
                    chunk = b" " * (1024 * 1024)
                    for _ in range(200):
                        sheet.write(chunk)
                    sheet.write(tail)
            else:
                bomb.writestr(info, data)
    return out.getvalue()


class Watch(threading.Thread):
    """Another client's /health, and the server's memory, sampled while the corpus is sent."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server = server
        self.stopped = threading.Event()
        self.failures: list[str] = []
        self.reset()

    def reset(self) -> None:
        """Measure from now: the slowest /health and the memory's peak above its present size."""
        self.slowest = 0.0
        self.base_kib = self.peak_kib = self.server.memory_kib()

    def run(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=60) as client:
            while not self.stopped.wait(0.2):
                began = time.monotonic()
                try:
                    status = client.get("/health").status_code
                except httpx.TransportError as exc:
                    self.failures.append(repr(exc))
                    continue
                self.slowest = max(self.slowest, time.monotonic() - began)
                if status != 200:
                    self.failures.append(f"/health answered {status}")
                self.peak_kib = max(self.peak_kib, self.server.memory_kib())


@pytest.fixture(scope="module")
def server(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(template_url, tmp_path_factory.mktemp("hostile"))


def _bearer(server: Server) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/api/v1/session", json={"username": "demo-leader", "password": DEMO_PASSWORD}
    )
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _browser(server: Server) -> httpx.Client:
    """Signed in through the form, like a browser (the import is a page)."""
    client = httpx.Client(base_url=server.url, timeout=120)
    with httpx.Client(base_url=server.url) as sign_in:
        page = sign_in.get("/login")
        sign_in.post(
            "/login",
            data={"username": "demo-leader", "password": DEMO_PASSWORD, "_csrf_token": csrf_from(page.text)},
        )
        client.cookies = sign_in.cookies
    return client


def _json(path: str, body: Callable[[], bytes]):
    def send(api: httpx.Client, browser: httpx.Client) -> httpx.Response:
        return api.post(path, content=body(), headers={"content-type": "application/json"})

    return send


def _photo(body: Callable[[], bytes]):
    def send(api: httpx.Client, browser: httpx.Client) -> httpx.Response:
        return api.post("/api/v1/payment-qr/decode", files={"image": ("qr.png", body(), "image/png")})

    return send


def _import(body: Callable[[], bytes]):
    def send(api: httpx.Client, browser: httpx.Client) -> httpx.Response:
        token = csrf_from(browser.get("/merchants/import").text)
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return browser.post(
            "/merchants/import", data={"_csrf_token": token}, files={"file": ("ds.xlsx", body(), xlsx)}
        )

    return send


CORPUS = {
    "JSON nested 1,000 deep": _json("/api/v1/merchants", deep_json),
    "invalid UTF-8": _json("/api/v1/merchants", invalid_utf8),
    "NUL in a text field": _json("/api/v1/merchants", nul_in_text),
    "JSON body over the size limit": _json("/api/v1/merchants", oversized_json),
    "photo over the size limit": _photo(lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * (12 * 1024 * 1024)),
    "PNG of 6300×6300 RGBA zeros": _photo(blank_png),
    "XLSX with a cell at row 1,048,576": _import(xlsx_last_row),
    "whitespace-bomb XLSX": _import(xlsx_whitespace_bomb),
}


def test_the_hostile_corpus_is_refused_while_others_are_served(server: Server) -> None:
    watch = Watch(server)
    answers: dict[str, tuple[int, float, float, int]] = {}  # status, seconds, slowest /health, MB grown
    browser = _browser(server)
    with httpx.Client(base_url=server.url, headers=_bearer(server), timeout=120) as api, browser:
        watch.start()
        try:
            for name, send in CORPUS.items():
                watch.reset()
                began = time.monotonic()
                response = send(api, browser)
                time.sleep(0.3)  # one more sample after the answer
                answers[name] = (
                    response.status_code,
                    round(time.monotonic() - began, 1),
                    round(watch.slowest, 1),
                    (watch.peak_kib - watch.base_kib) // 1024,
                )
        finally:
            watch.stopped.set()
            watch.join()
    report = "\n".join(f"{name}: {answer}" for name, answer in answers.items())
    assert all(400 <= status < 500 for status, *_ in answers.values()), report
    assert not watch.failures, watch.failures
    for name, (_, _, slowest, grown) in answers.items():
        assert slowest < HEALTH_LIMIT, f"/health took {slowest} s during {name}\n{report}"
        assert grown * 1024 < MEMORY_LIMIT_KIB, f"the server grew by {grown} MB during {name}\n{report}"
    assert httpx.get(f"{server.url}/health").status_code == 200
