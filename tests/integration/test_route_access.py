"""Every route the app serves, read from its router, called by every role and by nobody.

A new route is covered without editing this file: its path parameters are filled from
PARAMETERS (a route whose parameter is unknown fails the test until one is added there), and
unless it is listed in PUBLIC_ROUTES it must refuse a caller who is not signed in. For each role,
records of another area (another commune for volunteers, leaders and commune officers, another
province for a province officer) are asked for: the answer is 403 or 404 and never carries that
area's trader names or phone numbers; writes with an empty body are refused before they write.
"""

import re
import uuid
from dataclasses import dataclass, field

from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Team, User
from service.db import create_engine, session_maker
from service.merchants.models import Merchant
from service.onboarding.models import StageEvent, Visit
from service.payments.models import PaymentAccount, PaymentCheckin, Poster
from service.places.models import Village
from service.reports.models import Feedback, Target
from service.settings import Settings
from service.storefronts.models import EditLink, Product, Storefront, StorefrontSlug
from tests.helpers import api_token, browser_login

# Reachable without signing in: (method, path as the router spells it, parameters without types).
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/account/activate"),
    ("POST", "/account/activate"),
    ("POST", "/api/v1/account/activate"),
    ("GET", "/sw.js"),
    ("GET", "/v"),
    ("GET", "/v/{code}"),
    ("GET", "/s"),
    ("GET", "/s/{slug}"),
    ("GET", "/s/{slug}/link.png"),
    ("GET", "/s/{slug}/poster.pdf"),
    ("GET", "/s/{slug}/qr.png"),
    ("GET", "/s/{slug}/qr.svg"),
    ("GET", "/t/{token}"),
    ("POST", "/t/{token}/products"),
    ("POST", "/t/{token}/checkin"),
    ("POST", "/t/{token}/hours"),
    ("POST", "/t/{token}/prices"),
    ("POST", "/api/v1/session"),
    ("GET", "/api/v1/areas/provinces"),
    ("GET", "/api/v1/areas/provinces/{code}/communes"),
    ("GET", "/api/v1/banks"),
    ("GET", "/static/{file_path}"),
    ("HEAD", "/static/{file_path}"),
    ("GET", "/media/{file_path}"),
    ("HEAD", "/media/{file_path}"),
    ("GET", "/schema"),
    ("GET", "/schema/swagger"),
    ("GET", "/schema/openapi.json"),
    ("GET", "/schema/{path}"),
}

# How to fill a path parameter, by the segment before it and its name. A name found here is a record
# of an area (filled from the caller's own area, then from an area outside it); a fixed string is
# reference data, the same for everyone.
PARAMETERS: dict[str, str] = {
    "teams/{team_id}": "team",
    "members/{user_id}": "member",
    "users/{user_id}": "member",
    "merchants/{merchant_id}": "merchant",
    "payment-accounts/{account_id}": "account",
    "products/{product_id}": "product",
    "links/{link_id}": "link",
    "posters/{code}": "poster",
    "v/{code}": "poster",
    "communes/{code}": "commune",
    "targets/{target_id}": "target",
    "feedback/{feedback_id}": "feedback",
    "s/{slug}": "slug",
}
REFERENCE: dict[str, str] = {
    "provinces/{code}": "46",
    "stages/{stage}": "identity",
    "lists/{figure}": "using_qr",
    "t/{token}": "not-a-valid-edit-link-token",
    "static/{file_path}": "css/app.css",
    "media/{file_path}": "no-such-photo.webp",
    "schema/{path}": "openapi.yaml",
}

# Routes whose scoped-looking parameter names reference data any signed-in user may read.
UNSCOPED_ROUTES = {
    "/api/v1/areas/communes/{code}/villages",  # the names of a commune's villages (thôn, tổ dân phố)
}

HOME = "Mè xửng Thiên Hương"  # Đông Ba team, Phường Phú Xuân (19753), Huế (46)
OTHER_COMMUNE = "Rau sạch Kim Long"  # Kim Long team, commune 19774, Huế
OTHER_PROVINCE = "Lụa Hàng Đào"  # Đồng Xuân team, commune 00070, Hà Nội
ROLES = {
    "demo-volunteer": OTHER_COMMUNE,
    "demo-leader": OTHER_COMMUNE,
    "demo-commune": OTHER_COMMUNE,
    "demo-province": OTHER_PROVINCE,
    "demo-admin": None,  # the whole country is theirs
}
REFUSED = {400, 403, 404, 405, 409, 422}


@dataclass
class Area:
    """The records of one trader's area that fill path parameters, and what must not leak from it."""

    values: dict[str, str]
    secrets: list[str] = field(default_factory=list)


def _template(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def _parameters(path: str) -> list[str]:
    return re.findall(r"([^/]+)/\{(\w+)\}", path)


def routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path template) of every HTTP route handler the app serves, OPTIONS aside."""
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found += [(m, _template(route.path)) for m in sorted(route.methods) if m != "OPTIONS"]
    return found


def fill(path: str, area: Area) -> str:
    for segment, name in _parameters(path):
        key = f"{segment}/{{{name}}}"
        if key in REFERENCE:
            value = REFERENCE[key]
        else:
            assert key in PARAMETERS, (
                f"{path}: path parameter {key} is unknown to the access test; add it to PARAMETERS "
                "(a record of an area) or REFERENCE (the same for everyone) in tests/integration/"
                "test_route_access.py"
            )
            value = area.values[PARAMETERS[key]]
        path = path.replace(f"{{{name}}}", value, 1)
    return path


def scoped(path: str) -> bool:
    return path not in UNSCOPED_ROUTES and any(f"{s}/{{{n}}}" in PARAMETERS for s, n in _parameters(path))


async def _area(session: AsyncSession, business_name: str) -> Area:
    merchant = (await session.scalars(select(Merchant).where(Merchant.business_name == business_name))).one()
    storefront = await session.scalar(select(Storefront).where(Storefront.merchant_id == merchant.id))

    async def first(query):
        return (await session.scalars(query.limit(1))).first()

    member = await first(select(User.id).where(User.team_id == merchant.team_id, User.role == "volunteer"))
    account = await first(select(PaymentAccount.id).where(PaymentAccount.merchant_id == merchant.id))
    poster = await first(select(Poster.code).where(Poster.merchant_id == merchant.id))
    product = slug = link = None
    if storefront is not None:
        product = await first(select(Product.id).where(Product.storefront_id == storefront.id))
        slug = await first(select(StorefrontSlug.slug).where(StorefrontSlug.storefront_id == storefront.id))
        link = await first(select(EditLink.id).where(EditLink.storefront_id == storefront.id))
    target = await first(
        select(Target.id)
        .where(
            Target.province_code == merchant.province_code,
            or_(Target.commune_code.is_(None), Target.commune_code == merchant.commune_code),
        )
        .order_by(Target.commune_code.is_(None))
    )
    feedback = await first(select(Feedback.id).where(Feedback.team_id == merchant.team_id))
    # A record the area lacks in the demo data is asked for by an id nobody has: still refused.
    nobody = str(uuid.uuid4())
    values = {
        "merchant": str(merchant.id),
        "team": str(merchant.team_id),
        "member": str(member or nobody),
        "account": str(account or nobody),
        "product": str(product or nobody),
        "link": str(link or nobody),
        "poster": poster or "ZZZZZZZZ",
        "commune": merchant.commune_code,
        "target": str(target or nobody),
        "feedback": str(feedback or nobody),
        "slug": slug or "no-such-storefront",
    }
    local = "0" + merchant.owner_phone.removeprefix("+84")
    spaced = f"{local[:4]} {local[4:7]} {local[7:]}"
    return Area(values, [merchant.business_name, merchant.owner_name, merchant.owner_phone, local, spaced])


async def _fingerprint(session: AsyncSession) -> dict[str, object]:
    """What an accepted write would change."""
    counts: dict[str, object] = {}
    for model in (
        Merchant,
        PaymentAccount,
        PaymentCheckin,
        Poster,
        Storefront,
        Product,
        EditLink,
        StageEvent,
        Visit,
        Village,
        Team,
        User,
        Target,
        Feedback,
    ):
        counts[model.__tablename__] = await session.scalar(select(func.count()).select_from(model))
    counts["merchant versions"] = await session.scalar(select(func.sum(Merchant.version)))
    counts["deleted merchants"] = await session.scalar(
        select(func.count()).where(Merchant.deleted_at.is_not(None))
    )
    counts["published"] = await session.scalar(select(func.count()).where(Storefront.published.is_(True)))
    counts["active users"] = await session.scalar(select(func.count()).where(User.active.is_(True)))
    counts["active teams"] = await session.scalar(select(func.count()).where(Team.active.is_(True)))
    counts["handled feedback"] = await session.scalar(
        select(func.count()).where(Feedback.handled_at.is_not(None))
    )
    return counts


async def _read_database(settings: Settings):
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            areas = {name: await _area(session, name) for name in (HOME, OTHER_COMMUNE, OTHER_PROVINCE)}
            return areas, await _fingerprint(session)
    finally:
        await engine.dispose()


async def _fingerprint_now(settings: Settings) -> dict[str, object]:
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            return await _fingerprint(session)
    finally:
        await engine.dispose()


async def _call(client, method: str, path: str, bearer: dict[str, str]):
    headers = {"x-csrftoken": client.cookies.get("csrftoken", "")}
    if path.startswith("/api/"):
        headers.update(bearer)
    kwargs: dict[str, object] = {"headers": headers, "follow_redirects": False}
    if method in ("POST", "PATCH", "PUT"):
        if path.startswith("/api/"):
            kwargs["json"] = {}
        else:
            kwargs["data"] = {}
    return await client.request(method, path, **kwargs)


def _to_login(response) -> bool:
    """The page's answer to a caller who is not signed in (the sign-in page, to come back after)."""
    return response.status_code in (302, 303) and response.headers["location"].startswith("/login?next=")


def _refused_stranger(path: str, response) -> bool:
    """401 from the API; a page sends the browser to sign in (a 401 page is the sign-in form's own
    answer to a wrong password)."""
    return response.status_code == 401 if path.startswith("/api/") else _to_login(response)


def _leaks(response, area: Area) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    return [secret for secret in area.secrets if secret in text]


async def test_every_route_is_closed_to_strangers_and_to_other_areas(client, settings) -> None:
    app = client.app
    all_routes = routes(app)
    assert len(all_routes) > 100, "the router was not read"
    areas, before = await _read_database(settings)
    home = areas[HOME]
    for _method, path in all_routes:  # unknown parameters fail here, before any request
        fill(path, home)
    problems: list[str] = []

    # Nobody signed in: a CSRF cookie (so a form post is refused for want of a user, not of a token).
    await client.get("/login")
    reachable = set()
    for method, path in all_routes:
        response = await _call(client, method, fill(path, home), {})
        if response.status_code >= 500:
            problems.append(f"anonymous {method} {path}: {response.status_code}")
        elif not _refused_stranger(path, response):
            reachable.add((method, path))
    for method, path in sorted(reachable - PUBLIC_ROUTES):
        problems.append(f"anonymous {method} {path} is answered without signing in (not in PUBLIC_ROUTES)")
    for method, path in sorted(PUBLIC_ROUTES - reachable):
        problems.append(f"PUBLIC_ROUTES lists {method} {path}, which is closed or gone")

    for username, outside_name in ROLES.items():
        client.cookies.clear()
        await browser_login(client, username)
        bearer = await api_token(client, username)
        outside = areas[outside_name] if outside_name else None
        for method, path in all_routes:
            if (method, path) in PUBLIC_ROUTES or method == "HEAD":
                continue
            if method == "GET":
                response = await _call(client, method, fill(path, home), bearer)
                if response.status_code >= 500 or response.status_code == 401 or _to_login(response):
                    problems.append(f"{username} GET {path} in their area: {response.status_code}")
                if outside is not None and (leaked := _leaks(response, outside)):
                    problems.append(f"{username} GET {path} shows another area's trader: {leaked}")
            if outside is None or not scoped(path):
                continue
            response = await _call(client, method, fill(path, outside), bearer)
            if response.status_code not in REFUSED:
                problems.append(f"{username} {method} {path} outside their area: {response.status_code}")
            if leaked := _leaks(response, outside):
                problems.append(f"{username} {method} {path} outside their area shows {leaked}")

    assert not problems, "\n".join(problems)
    assert await _fingerprint_now(settings) == before, "a refused request changed the database"


def test_a_route_with_an_unknown_parameter_is_named_for_the_developer() -> None:
    try:
        fill("/api/v1/merchants/{merchant_id}/gadgets/{gadget_id}", Area({"merchant": "x"}))
    except AssertionError as exc:
        assert "gadgets/{gadget_id}" in str(exc) and "PARAMETERS" in str(exc)
    else:
        raise AssertionError("an unknown parameter was filled")
