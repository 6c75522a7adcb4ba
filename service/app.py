"""The application factory: plugins, routes, templates, stores and error handlers."""

import hashlib
from pathlib import Path

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore

from service import __version__
from service.accounts.api import SessionApi
from service.accounts.middleware import AuthMiddleware
from service.accounts.pages import AccountPages, SessionPages, TeamPages
from service.accounts.throttle import LoginThrottle
from service.api_docs import ApiDocsRenderPlugin
from service.bodies import check_body
from service.db import session_maker, sqlalchemy_config
from service.errors import EXCEPTION_HANDLERS
from service.headers import SecurityHeadersMiddleware
from service.health import health
from service.housekeeping import Housekeeping
from service.logs import RequestLog, configure_logging
from service.merchants.api import MerchantApi
from service.merchants.pages import MerchantManagerPages, MerchantPages
from service.offline.api import DeviceApi
from service.offline.pages import DevicePages
from service.offline.public import service_worker
from service.onboarding.api import FigureListApi, OnboardingApi
from service.onboarding.pages import FigureListPages, OnboardingPages
from service.openapi import document_api_errors
from service.payments.api import PaymentAccountApi, PaymentCheckinApi, PaymentQrApi
from service.payments.pages import PaymentAccountPages, PaymentImportPages, PosterPages, market_pdf
from service.payments.public import VerifyPages
from service.places.api import AreasApi
from service.places.pages import VillagePages
from service.proxies import TrustedProxies
from service.reports.api import FeedbackApi, ReportsApi
from service.reports.pages import FeedbackPages, ReportPages
from service.settings import Settings
from service.storefronts import cache as storefront_cache
from service.storefronts.pages import StorefrontPages, TeamStorefrontPages
from service.storefronts.public import PublicStorefronts, TraderPages, media_router
from service.storefronts.reach import Reach
from service.web import ClockMiddleware, LocaleMiddleware, SessionConfig, template_config

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings) -> Litestar:
    db_config = sqlalchemy_config(settings)
    templates = template_config(settings)
    session_key = hashlib.sha256(settings.secret_key.encode()).digest()
    sessions = SessionConfig(
        secret=session_key,
        key="onboard_session",
        max_age=settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    middleware = [
        ClockMiddleware(clock=settings.clock) if settings.clock is not None else None,
        SecurityHeadersMiddleware(https=settings.secure_cookies),
        sessions.middleware,
        AuthMiddleware(),
        LocaleMiddleware(secure=settings.secure_cookies),
    ]
    if settings.log_requests:
        configure_logging()
    app = Litestar(
        # Area by area, in the order of the folders (accounts, merchants, offline, onboarding, payments,
        # places, reports, storefronts): each area's JSON API (api.py), its staff pages (pages.py)
        # and the pages anyone may open (public.py).
        route_handlers=[
            health,
            SessionApi,
            MerchantApi,
            DeviceApi,
            OnboardingApi,
            FigureListApi,
            PaymentAccountApi,
            PaymentCheckinApi,
            PaymentQrApi,
            AreasApi,
            ReportsApi,
            FeedbackApi,
            # HTML for browsers: kept out of the OpenAPI document, which describes the JSON API.
            Router(
                path="/",
                include_in_schema=False,
                route_handlers=[
                    SessionPages,
                    AccountPages,
                    TeamPages,
                    MerchantPages,
                    MerchantManagerPages,
                    DevicePages,
                    service_worker,
                    OnboardingPages,
                    FigureListPages,
                    PaymentAccountPages,
                    PaymentImportPages,
                    PosterPages,
                    market_pdf,
                    VerifyPages,
                    VillagePages,
                    ReportPages,
                    FeedbackPages,
                    StorefrontPages,
                    TeamStorefrontPages,
                    PublicStorefronts,
                    TraderPages,
                ],
            ),
            create_static_files_router(path="/static", directories=[STATIC_DIR], name="static"),
            media_router(settings),
        ],
        plugins=[SQLAlchemyPlugin(config=db_config)],
        middleware=[m for m in middleware if m is not None],
        template_config=templates,
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="csrftoken",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            exclude=["/api/", "/health"],
        ),
        stores={"login": MemoryStore()},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Onboard API",
            version=__version__,
            path="/schema",
            render_plugins=[ApiDocsRenderPlugin()],
        ),
        debug=settings.debug,
        before_request=check_body,
        on_startup=[_start_reach, _start_housekeeping],
        on_shutdown=[_stop_housekeeping, _stop_reach],
    )
    document_api_errors(app)
    app.state.settings = settings
    app.state.proxies = TrustedProxies(settings.trusted_proxies)
    if settings.log_requests:
        app.asgi_handler = RequestLog(app.asgi_handler, address=app.state.proxies.client_address)
    app.state.session_maker = session_maker(db_config.get_engine())
    app.state.storefront_pages = storefront_cache.install(
        db_config.get_engine(), enabled=settings.storefront_cache
    )
    app.state.storefront_reach = Reach(db_config.get_engine(), interval=settings.reach_flush_seconds)
    app.state.housekeeping = Housekeeping(db_config.get_engine(), settings)
    app.state.login_throttle = LoginThrottle(
        app.stores.get("login"),
        limit=settings.login_attempts,
        address_limit=settings.login_attempts_per_address,
        window=settings.login_window,
    )
    return app


async def _start_reach(app: Litestar) -> None:
    await app.state.storefront_reach.start()


async def _stop_reach(app: Litestar) -> None:
    await app.state.storefront_reach.stop()


async def _start_housekeeping(app: Litestar) -> None:
    await app.state.housekeeping.start()


async def _stop_housekeeping(app: Litestar) -> None:
    await app.state.housekeeping.stop()


def create_app_from_env() -> Litestar:
    """Entry point for uvicorn's --factory and `onboard serve`."""
    return create_app(Settings.from_env())
