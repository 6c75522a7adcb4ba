"""The headline of an area: the few figures an officer reads first, at the top of the dashboard and
of their home page, each leading to the list of merchants (or sub-areas) behind it.

Households supported lead to the merchant list; using QR, QR held but not used (under 30 days,
30 days or more) and online storefronts to the onboarding lists of merchants holding those stages
(`/lists/{figure}`, which count what the report counters count); the sub-areas behind a target to
the dashboard's own sub-area table.
"""

from urllib.parse import urlencode

import msgspec
from babel.numbers import format_decimal

from service.accounts.schemas import CurrentUser
from service.i18n import current_locale
from service.reports.summaries import Area, Summary

LIST_FIGURES = ("using_qr", "qr_held_not_used", "qr_just_started", "installed_not_using", "listed")


def number(value: float | int | None) -> str:
    """A figure as the reader's locale writes it (1.234,5 in Vietnamese); a dash when unknown."""
    if value is None:
        return "—"
    locale = "vi_VN" if current_locale.get() == "vi" else "en_GB"
    return format_decimal(value, format="#,##0.#", locale=locale)


class Headline(msgspec.Struct, kw_only=True):
    level: str
    name: str
    merchants: int
    using_qr: int
    using_qr_percent: float
    qr_held_not_used: int
    qr_just_started: int
    installed_not_using: int
    listed: int  # holding `listed`: a published storefront with products
    has_sub_areas: bool  # a village or a team has none
    sub_areas: int  # sub-areas with merchants: those that can be behind
    sub_areas_behind: int
    has_targets: bool
    links: dict[str, str | None]  # figure → the list behind it
    dashboard: str  # the area's dashboard


def area_query(place: Area) -> dict[str, str]:
    """The query that names the area on the dashboard and on the lists."""
    if place.level in ("province", "commune"):
        return {"area": place.code or ""}
    if place.level in ("village", "team"):
        return {place.level: place.code or ""}
    return {}


def merchant_list(by: CurrentUser, place: Area) -> str | None:
    """The merchant list filtered to the area; the country only for those who see all of it."""
    if place.level == "province":
        return f"/merchants/?province_code={place.code}"
    if place.level == "commune":
        return f"/merchants/?commune_code={place.code}"
    if place.level == "village":
        return f"/merchants/?village_id={place.code}"
    if place.level == "team":
        return f"/merchants/?team_id={place.code}"
    return "/merchants/?" if by.scope.level == "all" else None


def headline(summary: Summary, place: Area, *, by: CurrentUser) -> Headline:
    query = urlencode(area_query(place))
    dashboard = "/reports" + (f"?{query}" if query else "")
    links: dict[str, str | None] = {
        figure: f"/lists/{figure}" + (f"?{query}" if query else "") for figure in LIST_FIGURES
    }
    merchants = merchant_list(by, place)
    links["merchants"] = merchants.removesuffix("?") if merchants else None
    links["sub_areas_behind"] = f"{dashboard}#sub-areas"
    return Headline(
        level=summary.level,
        name=summary.name,
        merchants=summary.merchants,
        using_qr=summary.using_qr,
        using_qr_percent=summary.using_qr_percent,
        qr_held_not_used=summary.qr_held_not_used,
        qr_just_started=summary.qr_just_started,
        installed_not_using=summary.installed_not_using,
        listed=summary.holding.get("listed", 0),
        has_sub_areas=bool(summary.children),
        sub_areas=sum(1 for child in summary.children if child.merchants),
        sub_areas_behind=summary.sub_areas_behind,
        has_targets=bool(summary.targets),
        links=links,
        dashboard=dashboard,
    )
