"""Account pages: sign-in and sign-out, one's settings and password, the one-time-code page, and the
teams (members, leaders, password resets) of the caller's area."""

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.codes import display as display_code
from service.accounts.guards import managers, officers, requires_user
from service.accounts.schemas import (
    ActivateForm,
    CurrentUser,
    MemberForm,
    PasswordChangeForm,
    TeamForm,
)
from service.accounts.services import AccountService
from service.accounts.signin import attempt, redeem, session_token, sign_in, succeeded
from service.errors import DomainError, FieldErrors, NotFound
from service.i18n import LOCALES, gettext, pick_locale
from service.onboarding.overview import OverviewService
from service.onboarding.schemas import template_labels
from service.places.services import PlaceService
from service.reports.headline import headline, number
from service.reports.summaries import SummaryService
from service.web import LANG_COOKIE, Form, flash, parse_form, safe_next, utcnow


async def _start_browser_session(request: Request, db: AsyncSession, user_id: uuid.UUID) -> None:
    # The cookie carries a server-side session (a token row): signing out or disabling the
    # account ends it everywhere, and a copied cookie stops working with it.
    session_token, _ = await AccountService(db).issue_token(
        user_id=user_id, now=utcnow(), max_age=request.app.state.settings.session_max_age
    )
    request.clear_session()
    request.set_session({"sid": session_token})


def _mismatch(form: PasswordChangeForm | ActivateForm) -> dict[str, str]:
    if form.new_password != form.new_password_confirm:
        return {"new_password_confirm": gettext("Hai lần nhập mật khẩu mới không giống nhau.")}
    return {}


def _safe_next(target: str | None) -> str:
    return safe_next(target) or "/"


class SessionPages(Controller):
    @get("/login", name="accounts.login")
    async def login_form(self, request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
        if request.user is not None:
            return Redirect(_safe_next(next))
        return Template("accounts/login.html.j2", context={"values": {}, "next": _safe_next(next)})

    @post("/login", name="accounts.login_submit")
    async def login(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        username = str(data.get("username", "")).strip()
        target = _safe_next(data.get("next"))
        try:
            user = await sign_in(request, db_session, username, str(data.get("password", "")))
        except DomainError as exc:
            return Template(
                "accounts/login.html.j2",
                context={"values": {"username": username}, "error": exc.text(), "next": target},
                status_code=exc.status_code,
            )
        await _start_browser_session(request, db_session, user.id)
        response = Redirect(target, status_code=303)
        if user.locale in LOCALES and not request.query_params.get("lang"):
            response.set_cookie(
                LANG_COOKIE,
                user.locale,
                max_age=365 * 86400,
                samesite="lax",
                secure=request.app.state.settings.secure_cookies,
            )
        return response

    @post("/logout", name="accounts.logout")
    async def logout(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Redirect:
        session = request.session if isinstance(request.session, dict) else {}
        if session.get("sid"):
            await AccountService(db_session).revoke_token(token=str(session["sid"]))
        request.clear_session()
        flash(request, gettext("Bạn đã đăng xuất."), "info")
        return Redirect("/login", status_code=303)

    @get("/", name="home", guards=[requires_user])
    async def home(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
        user: CurrentUser = request.user
        teams = await AccountService(db_session).list_teams(by=user) if user.manages_teams else []
        places = PlaceService(db_session)
        area = await places.area_names(province_code=user.province_code, commune_code=user.commune_code)
        context: dict[str, Any] = {"teams": teams, "area": area}
        if user.role == "volunteer":  # a volunteer's day starts from their worklist
            work = await OverviewService(db_session).worklist(by=user, now=utcnow())
            context.update(work=work, **template_labels())
        if user.role == "team_leader":  # a leader's from what waits for them
            context.update(lead=await OverviewService(db_session).leader_home(by=user, now=utcnow()))
        if user.is_officer:  # an officer's starts from their area's headline figures
            reports = SummaryService(db_session)
            place = await reports.resolve(by=user)
            summary = await reports.of(place, now=utcnow())
            context.update(h=headline(summary, place, by=user), number=number)
        return Template(f"home/{user.role}.html.j2", context=context)

    @get("/settings", name="accounts.settings", guards=[requires_user])
    async def settings_form(self) -> Template:
        return Template("accounts/settings.html.j2")

    @post("/settings", name="accounts.settings_submit", guards=[requires_user])
    async def save_settings(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Redirect:
        locale = pick_locale(data.get("locale"))
        await AccountService(db_session).set_locale(user=request.user, locale=locale)
        response = Redirect(f"/settings?lang={locale}", status_code=303)
        flash(request, gettext("Đã lưu cài đặt.") if locale == "vi" else "Settings saved.", "success")
        return response


RESET_CODE = "password_reset_code"  # session key: a member's one-time code, shown once on the next page


class AccountPages(Controller):
    path = "/account"

    @get("/password", name="accounts.password", guards=[requires_user])
    async def password_form(self) -> Template:
        return Template("accounts/password.html.j2", context={"errors": {}})

    @post("/password", name="accounts.password_submit", guards=[requires_user])
    async def change_password(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        form, errors = parse_form(data, PasswordChangeForm)
        if form is not None and not (errors := _mismatch(form)):
            try:
                await attempt(request, request.user.username)
                await AccountService(db_session).change_password(
                    user=request.user,
                    current=form.current_password,
                    new=form.new_password,
                    keep_token=session_token(request),
                    at=utcnow(),
                )
            except FieldErrors as exc:
                errors = dict(exc.errors)
            else:
                await succeeded(request, request.user.username)
        if errors:
            return Template("accounts/password.html.j2", context={"errors": errors}, status_code=422)
        flash(request, gettext("Đã đổi mật khẩu. Các phiên đăng nhập khác của bạn đã kết thúc."), "success")
        return Redirect(request.app.route_reverse("accounts.settings"), status_code=303)

    @get("/activate", name="accounts.activate")
    async def activate_form(self, username: FromQuery[str | None] = None) -> Template:
        return Template(
            "accounts/activate.html.j2",
            context={"values": {"username": (username or "")[:64]}, "errors": {}, "error": None},
        )

    @post("/activate", name="accounts.activate_submit")
    async def activate(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        form, errors = parse_form(data, ActivateForm)
        error, status = None, 422
        if form is not None and not (errors := _mismatch(form)):
            try:
                user = await redeem(request, db_session, form)
            except DomainError as exc:
                error, status = exc.text(), exc.status_code
        if errors or error or form is None:
            values = {k: str(data.get(k, ""))[:64] for k in ("username", "code")}
            return Template(
                "accounts/activate.html.j2",
                context={"values": values, "errors": errors, "error": error},
                status_code=status,
            )
        await _start_browser_session(request, db_session, user.id)
        flash(request, gettext("Đã đặt mật khẩu mới. Bạn đã đăng nhập."), "success")
        return Redirect("/", status_code=303)


class TeamPages(Controller):
    path = "/teams"
    guards = [managers]

    @get("/", name="teams.list")
    async def list(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
        teams = await AccountService(db_session).list_teams(by=request.user)
        return Template("teams/list.html.j2", context={"teams": teams})

    @get("/new", name="teams.new", guards=[officers])
    async def new(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
        communes = await PlaceService(db_session).communes_in_scope(scope=request.user.scope)
        return Template("teams/new.html.j2", context={"values": {}, "errors": {}, "communes": communes})

    @post("/new", name="teams.create", guards=[officers])
    async def create(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        form, errors = parse_form(data, TeamForm)
        if form is not None:
            try:
                team = await AccountService(db_session).create_team(by=request.user, form=form, at=utcnow())
            except FieldErrors as exc:
                errors = dict(exc.errors)
        if errors or form is None:
            communes = await PlaceService(db_session).communes_in_scope(scope=request.user.scope)
            return Template(
                "teams/new.html.j2",
                context={"values": data, "errors": errors, "communes": communes},
                status_code=422,
            )
        flash(request, gettext("Đã tạo tổ {name}.", name=team.name), "success")
        return Redirect(request.app.route_reverse("teams.detail", team_id=team.id), status_code=303)

    @get("/{team_id:uuid}", name="teams.detail")
    async def detail(
        self, request: Request, db_session: NamedDependency[AsyncSession], team_id: FromPath[uuid.UUID]
    ) -> Template:
        detail = await AccountService(db_session).team_detail(by=request.user, team_id=team_id)
        return Template("teams/detail.html.j2", context={"detail": detail, "values": {}, "errors": {}})

    @post("/{team_id:uuid}/members", name="teams.add_member")
    async def add_member(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        team_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        accounts = AccountService(db_session)
        form, errors = parse_form(data, MemberForm)
        if form is not None:
            try:
                user = await accounts.add_member(by=request.user, team_id=team_id, form=form, at=utcnow())
            except DomainError as exc:
                if not exc.field:
                    raise
                errors = {exc.field: exc.text()}
        if errors or form is None:
            detail = await accounts.team_detail(by=request.user, team_id=team_id)
            values = {k: v for k, v in data.items() if k != "password"}
            return Template(
                "teams/detail.html.j2",
                context={"detail": detail, "values": values, "errors": errors},
                status_code=422,
            )
        flash(request, gettext("Đã thêm thành viên {name}.", name=user.full_name), "success")
        return Redirect(request.app.route_reverse("teams.detail", team_id=team_id), status_code=303)

    @post("/{team_id:uuid}/members/{user_id:uuid}/deactivate", name="teams.deactivate_member")
    async def deactivate_member(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        team_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
    ) -> Redirect:
        user = await AccountService(db_session).deactivate_member(by=request.user, user_id=user_id)
        flash(request, gettext("Đã khóa tài khoản {name}.", name=user.full_name), "success")
        return Redirect(request.app.route_reverse("teams.detail", team_id=team_id), status_code=303)

    @post("/{team_id:uuid}/members/{user_id:uuid}/reset-password", name="teams.reset_password")
    async def reset_password(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        team_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
    ) -> Redirect:
        user, code, expires_at = await AccountService(db_session).reset_password(
            by=request.user, user_id=user_id, team_id=team_id, at=utcnow()
        )
        # The code exists only now: it rides in the (encrypted) session cookie to the next page.
        request.session[RESET_CODE] = {
            "user_id": str(user.id),
            "full_name": user.full_name,
            "username": user.username,
            "code": code,
            "expires_at": expires_at.isoformat(),
        }
        return Redirect(
            request.app.route_reverse("teams.reset_code", team_id=team_id, user_id=user_id), status_code=303
        )

    @get("/{team_id:uuid}/members/{user_id:uuid}/reset-code", name="teams.reset_code")
    async def reset_code(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        team_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
    ) -> Template:
        if not await AccountService(db_session).list_teams(by=request.user, team_id=team_id):
            raise NotFound()  # a team outside the caller's area is not there for them
        session = request.scope.get("session")
        fresh = session.pop(RESET_CODE, None) if isinstance(session, dict) else None
        if not fresh or fresh.get("user_id") != str(user_id):
            fresh = None
        return Template(
            "teams/reset_code.html.j2",
            context={
                "team_id": team_id,
                "fresh": fresh,
                "code": display_code(fresh["code"]) if fresh else None,
                "expires_at": datetime.fromisoformat(fresh["expires_at"]) if fresh else None,
            },
            headers={"Cache-Control": "no-store"},
        )

    @post("/{team_id:uuid}/deactivate", name="teams.deactivate", guards=[officers])
    async def deactivate(
        self, request: Request, db_session: NamedDependency[AsyncSession], team_id: FromPath[uuid.UUID]
    ) -> Redirect:
        team = await AccountService(db_session).set_team_active(
            by=request.user, team_id=team_id, active=False
        )
        flash(request, gettext("Đã ngừng hoạt động tổ {name}.", name=team.name), "success")
        return Redirect(request.app.route_reverse("teams.list"), status_code=303)
