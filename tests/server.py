"""The app served by `onboard serve` in a subprocess, for tests that need a real server: one that can
be killed without warning, fuzzed over the network, or fed bodies an in-process client would not send."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import SECRET, clone_database, drop_database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """Same port and database across restarts, so a client can carry on after a crash."""

    def __init__(self, database_url: str, tmp_path: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "ONBOARD_DATABASE_URL": database_url,
            "ONBOARD_SECRET_KEY": SECRET,
            "ONBOARD_MEDIA_DIR": str(tmp_path / "media"),
            "ONBOARD_UPLOAD_DIR": str(tmp_path / "uploads"),
            "ONBOARD_LOG_REQUESTS": "0",
            "PORT": str(self.port),
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve"], env=self.env, stdout=log, stderr=log
            )
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text())
            time.sleep(0.1)  # polling a process that starts: there is nothing to wait on instead
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, open transactions die with the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None

    def memory_kib(self) -> int:
        """Resident memory of the server process, from /proc."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def serving(template_url: str, tmp_path: Path) -> Iterator[Server]:
    """A server on its own copy of the demo database, for a module's tests (`yield from` it)."""
    database_url = clone_database(template_url, tmp_path)
    live = Server(database_url, tmp_path)
    live.start()
    try:
        yield live
    finally:
        live.stop()
        drop_database(database_url)
