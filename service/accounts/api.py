"""Accounts over JSON: tablets sign in for a bearer token and out again, change their password or
choose one with a one-time code; leaders and officers reset a member's password; `/me` and teams."""

import uuid

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Response
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.codes import display as display_code
from service.accounts.guards import managers, requires_user
from service.accounts.schemas import (
    ActivateIn,
    MeOut,
    PasswordChangeIn,
    ResetCodeOut,
    SessionIn,
    SessionOut,
    TeamDetail,
    TeamRow,
)
from service.accounts.services import AccountService
from service.accounts.signin import attempt, redeem, session_token, sign_in, succeeded
from service.web import utcnow


class SessionApi(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @post("/session", name="api.session.create", status_code=201)
    async def create_session(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: JSONBody[SessionIn]
    ) -> SessionOut:
        user = await sign_in(request, db_session, data.username, data.password)
        accounts = AccountService(db_session)
        token, expires_at = await accounts.issue_token(
            user_id=user.id, now=utcnow(), max_age=request.app.state.settings.api_token_max_age
        )
        current = await accounts.current_user(user_id=user.id)
        return SessionOut(
            token=token, expires_at=expires_at.isoformat(), user=await accounts.me(user=current)
        )

    @delete("/session", name="api.session.delete", guards=[requires_user], status_code=204)
    async def delete_session(self, request: Request, db_session: NamedDependency[AsyncSession]) -> None:
        authorization = request.headers.get("authorization", "")
        await AccountService(db_session).revoke_token(token=authorization[7:].strip())

    @post("/account/password", name="api.account.password", guards=[requires_user], status_code=204)
    async def change_password(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: JSONBody[PasswordChangeIn]
    ) -> None:
        """Change one's own password. Every other session and token of the user ends; the token
        this request came with keeps working."""
        await attempt(request, request.user.username)
        await AccountService(db_session).change_password(
            user=request.user,
            current=data.current_password,
            new=data.new_password,
            keep_token=session_token(request),
            at=utcnow(),
        )
        await succeeded(request, request.user.username)

    @post("/account/activate", name="api.account.activate", status_code=201)
    async def activate(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: JSONBody[ActivateIn]
    ) -> SessionOut:
        """Sign in with a one-time code (after a password reset) and choose a password: answers as
        `POST /session` does."""
        user = await redeem(request, db_session, data)
        accounts = AccountService(db_session)
        token, expires_at = await accounts.issue_token(
            user_id=user.id, now=utcnow(), max_age=request.app.state.settings.api_token_max_age
        )
        current = await accounts.current_user(user_id=user.id)
        return SessionOut(
            token=token, expires_at=expires_at.isoformat(), user=await accounts.me(user=current)
        )

    @post(
        "/users/{user_id:uuid}/password-reset",
        name="api.users.password_reset",
        guards=[managers],
        status_code=201,
    )
    async def reset_password(
        self, request: Request, db_session: NamedDependency[AsyncSession], user_id: FromPath[uuid.UUID]
    ) -> Response[ResetCodeOut]:
        """Reset a team member's password (leaders: their volunteers; officers: members in their
        area). The member's sessions and tokens end; the one-time code in the answer, valid 72
        hours and once, lets them choose a new password (`POST /account/activate`)."""
        user, code, expires_at = await AccountService(db_session).reset_password(
            by=request.user, user_id=user_id, at=utcnow()
        )
        out = ResetCodeOut(
            user_id=user.id,
            username=user.username,
            code=display_code(code),
            expires_at=expires_at.isoformat(),
        )
        return Response(out, status_code=201, headers={"Cache-Control": "no-store"})

    @get("/me", name="api.me", guards=[requires_user])
    async def me(self, request: Request, db_session: NamedDependency[AsyncSession]) -> MeOut:
        return await AccountService(db_session).me(user=request.user)

    @get("/teams", name="api.teams.list", guards=[requires_user])
    async def teams(self, request: Request, db_session: NamedDependency[AsyncSession]) -> list[TeamRow]:
        return await AccountService(db_session).list_teams(by=request.user)

    @get("/teams/{team_id:uuid}", name="api.teams.detail", guards=[requires_user])
    async def team(
        self, request: Request, db_session: NamedDependency[AsyncSession], team_id: FromPath[uuid.UUID]
    ) -> TeamDetail:
        return await AccountService(db_session).team_detail(by=request.user, team_id=team_id)
