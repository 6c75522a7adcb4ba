"""A real server keeps answering while it checks a large import: the CSV's rows are read and checked
in a worker thread, not in the event loop every request shares."""

import importlib
import re
import threading
import time

import httpx

from tests.e2e.conftest import LiveServer
from tests.helpers import DEMO_PASSWORD, csrf_from

LEADER = "totruong-2"  # a team in Phường Phú Xuân (19753) without demo traders
ROWS = 40_000


def test_health_answers_quickly_while_a_large_csv_is_previewed(live_server: LiveServer) -> None:
    data = importlib.import_module("bench.import").generate(ROWS)  # distinct traders, one commune
    with httpx.Client(base_url=live_server.url, timeout=300) as leader:
        page = leader.get("/login")
        signed_in = leader.post(
            "/login",
            data={"username": LEADER, "password": DEMO_PASSWORD, "_csrf_token": csrf_from(page.text)},
        )
        assert signed_in.status_code == 303
        token = csrf_from(leader.get("/merchants/import").text)

        seen: list[float] = []
        statuses: set[int] = set()
        stop = threading.Event()

        def watch() -> None:
            with httpx.Client(base_url=live_server.url, timeout=300) as client:
                while not stop.is_set():
                    started = time.perf_counter()
                    statuses.add(client.get("/health").status_code)
                    seen.append(time.perf_counter() - started)
                    time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            started = time.perf_counter()
            preview = leader.post(
                "/merchants/import", data={"_csrf_token": token}, files={"file": ("ds.csv", data, "text/csv")}
            )
            took = time.perf_counter() - started
        finally:
            stop.set()
            watcher.join()

    assert preview.status_code == 200, preview.text[-2000:]
    assert re.search(rf"{ROWS} dòng · {ROWS} dòng hợp lệ · 0 dòng lỗi · 0 dòng trùng", preview.text)
    assert took > 1, f"the preview took {took:.2f} s: too short to tell anything"
    # In the event loop, the check held every request for most of the preview (the longest /health
    # wait was about the preview's own duration). Off the loop, /health waits at most for a slice.
    assert len(seen) >= 5, seen
    assert statuses == {200}, statuses  # 503: the database check itself timed out behind the import
    assert max(seen) < max(1.0, took / 4), f"/health waited {max(seen):.2f} s during a {took:.2f} s preview"
