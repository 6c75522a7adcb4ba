"""Settings: built once from the environment (ONBOARD_*) and passed in; nothing else reads os.environ."""

import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR / 'onboard.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    # The address shoppers and traders reach; used for share links, QR codes and cookie security.
    public_url: str = "http://127.0.0.1:8000"
    media_dir: Path = DEFAULT_VAR_DIR / "media"
    # Files kept for their uploader only (an import between its preview and its commit): never
    # served. None: "uploads" beside the media directory.
    upload_dir: Path | None = None
    templates_dir: Path = PROJECT_ROOT / "templates"
    debug: bool = False
    log_requests: bool = True
    sql_echo: bool = False
    session_max_age: int = 12 * 3600
    api_token_max_age: int = 30 * 24 * 3600
    login_attempts: int = 5  # failures per username and address before a pause
    login_attempts_per_address: int = 30  # failures from one address, whatever the usernames
    login_window: int = 15 * 60  # seconds
    # Addresses (IPs or CIDR networks) of the reverse proxies in front of the app. Only a request
    # whose socket peer is one of them has its X-Forwarded-For read; any other client is known by
    # its own address, whatever it sends.
    trusted_proxies: tuple[str, ...] = ()
    # Rendered public storefront pages kept in the process (off: every request queries and renders).
    storefront_cache: bool = True
    # Seconds between writes of the storefront view and QR fetch counts kept in memory (0: only when
    # the app stops).
    reach_flush_seconds: float = 5.0
    # The moment requests are handled at (an aware datetime); None: the system clock. Not from the
    # environment: tests pin it to check figures that depend on "today".
    clock: Callable[[], datetime] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret_key) < 16:
            raise ValueError("secret_key must be at least 16 characters")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {proxy!r} is not an IP address or network") from None

    @property
    def private_dir(self) -> Path:
        return self.upload_dir or self.media_dir.parent / "uploads"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_default_database(self) -> bool:
        return self.database_url == DEFAULT_DATABASE_URL

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        port = int(env.get("PORT") or env.get("ONBOARD_PORT") or 8000)
        host = env.get("ONBOARD_HOST", "127.0.0.1")
        database_url = env.get("ONBOARD_DATABASE_URL") or DEFAULT_DATABASE_URL
        return cls(
            database_url=database_url,
            secret_key=env.get("ONBOARD_SECRET_KEY") or _local_secret(DEFAULT_VAR_DIR),
            host=host,
            port=port,
            public_url=(env.get("ONBOARD_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
            media_dir=Path(env.get("ONBOARD_MEDIA_DIR") or DEFAULT_VAR_DIR / "media"),
            upload_dir=Path(env["ONBOARD_UPLOAD_DIR"]) if env.get("ONBOARD_UPLOAD_DIR") else None,
            debug=env.get("ONBOARD_DEBUG", "") == "1",
            log_requests=env.get("ONBOARD_LOG_REQUESTS", "1") == "1",
            sql_echo=env.get("ONBOARD_SQL_ECHO", "") == "1",
            storefront_cache=env.get("ONBOARD_STOREFRONT_CACHE", "1") == "1",
            reach_flush_seconds=float(env.get("ONBOARD_REACH_FLUSH_SECONDS") or 5.0),
            trusted_proxies=tuple(
                part.strip() for part in env.get("ONBOARD_TRUSTED_PROXIES", "").split(",") if part.strip()
            ),
        )


def _local_secret(var_dir: Path) -> str:
    """A random key kept under var/, so a development server keeps its sessions across restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
