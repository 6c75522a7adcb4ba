"""Accounts: sign-in, tokens, teams and members, each query scoped to the caller's jurisdiction."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.accounts import codes
from service.accounts.models import ApiToken, SignInCode, Team, User
from service.accounts.passwords import burn_verification, hash_password, verify_password
from service.accounts.schemas import (
    CurrentUser,
    MemberForm,
    MemberRow,
    MeOut,
    TeamDetail,
    TeamForm,
    TeamRef,
    TeamRow,
)
from service.errors import DomainError, FieldErrors, Forbidden, NotFound
from service.i18n import N_, gettext
from service.places.models import Commune
from service.text import nfc


class UsernameTaken(DomainError):
    status_code = 409


USER = "user"  # audit entity type
# A password hash no password matches (Argon2 refuses to read it): the account waits for its code.
NO_PASSWORD = "!no-password"
# Whom a manager may reset: members of teams. Officers' are reset on the command line
# (`onboard users reset-code`).
RESETTABLE = ("volunteer", "team_leader")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- sign-in -------------------------------------------------------------------------------

    async def authenticate(self, *, username: str, password: str) -> User | None:
        """The active user with these credentials, or None, taking the same time either way."""
        user = await self.session.scalar(select(User).where(User.username == nfc(username).lower()))
        if user is None or not user.active:
            await burn_verification(password)
            return None
        return user if await verify_password(user.password_hash, password) else None

    async def issue_token(self, *, user_id: uuid.UUID, now: datetime, max_age: int) -> tuple[str, datetime]:
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(seconds=max_age)
        self.session.add(
            ApiToken(token_hash=_token_hash(token), user_id=user_id, created_at=now, expires_at=expires_at)
        )
        await self.session.flush()
        return token, expires_at

    async def revoke_token(self, *, token: str) -> None:
        row = await self.session.get(ApiToken, _token_hash(token))
        if row is not None:
            await self.session.delete(row)

    async def user_for_token(self, *, token: str, now: datetime) -> CurrentUser | None:
        row = await self.session.get(ApiToken, _token_hash(token))
        if row is None or row.expires_at <= now:
            return None
        return await self.current_user(user_id=row.user_id)

    async def current_user(self, *, user_id: uuid.UUID) -> CurrentUser | None:
        row = (
            await self.session.execute(
                select(User, Team.name).outerjoin(Team, Team.id == User.team_id).where(User.id == user_id)
            )
        ).first()
        if row is None or not row[0].active:
            return None
        user, team_name = row
        return CurrentUser(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,  # type: ignore[arg-type]
            locale=user.locale,
            team_id=user.team_id,
            team_name=team_name,
            province_code=user.province_code,
            commune_code=user.commune_code,
        )

    async def commune_codes(self, *, user: CurrentUser) -> list[str]:
        stmt = select(Commune.code).where(
            user.scope.where(province=Commune.province_code, commune=Commune.code)
        )
        if user.scope.level == "team":
            stmt = select(Commune.code).where(Commune.code == user.commune_code)
        return list(await self.session.scalars(stmt.order_by(Commune.code)))

    async def me(self, *, user: CurrentUser) -> MeOut:
        return MeOut(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            locale=user.locale,
            team=TeamRef(id=user.team_id, name=user.team_name or "") if user.team_id else None,
            province_code=user.province_code,
            commune_codes=await self.commune_codes(user=user),
        )

    async def set_locale(self, *, user: CurrentUser, locale: str) -> None:
        row = await self.session.get(User, user.id)
        if row is not None:
            row.locale = locale

    # --- users -----------------------------------------------------------------------------------

    async def create_user(
        self,
        *,
        username: str,
        password: str,
        full_name: str,
        role: str,
        at: datetime,
        team_id: uuid.UUID | None = None,
        province_code: str | None = None,
        commune_code: str | None = None,
        phone: str | None = None,
        password_hash: str | None = None,
    ) -> User:
        username = nfc(username).lower()
        if await self.session.scalar(select(User.id).where(User.username == username)):
            raise UsernameTaken(N_("Tên đăng nhập này đã có người dùng."), field="username")
        if team_id is not None:
            team = await self.session.get(Team, team_id)
            if team is None:
                raise NotFound()
            province_code, commune_code = team.province_code, team.commune_code
        elif commune_code is not None:
            commune = await self.session.get(Commune, commune_code)
            if commune is None:
                raise FieldErrors([("commune_code", gettext("Mã xã/phường không tồn tại."))])
            province_code = commune.province_code
        user = User(
            username=username,
            password_hash=password_hash or await hash_password(password),
            full_name=nfc(full_name),
            phone=phone or None,
            role=role,
            team_id=team_id,
            province_code=province_code,
            commune_code=commune_code,
            locale="vi",
            active=True,
            created_at=at,
        )
        self.session.add(user)
        await self.session.flush()
        return user

    async def set_active(self, *, username: str, active: bool) -> User:
        user = await self.session.scalar(select(User).where(User.username == nfc(username).lower()))
        if user is None:
            raise NotFound()
        user.active = active
        if not active:  # every session and token ends; enabling the account again starts afresh
            await self._end_sessions(user.id)
        return user

    async def deactivate_member(self, *, by: CurrentUser, user_id: uuid.UUID) -> User:
        """A leader deactivates a member of their team; officers any member inside their jurisdiction."""
        user = await self.session.scalar(
            select(User).where(
                User.id == user_id,
                User.role.in_(("volunteer", "team_leader")),
                by.scope.where(province=User.province_code, commune=User.commune_code, team=User.team_id),
            )
        )
        if user is None:
            raise NotFound()
        if user.id == by.id:
            raise DomainError(N_("Bạn không thể tự khóa tài khoản của mình."))
        user.active = False
        await self._end_sessions(user.id)
        return user

    # --- passwords -------------------------------------------------------------------------------

    async def _end_sessions(self, user_id: uuid.UUID, *, keep: str | None = None) -> None:
        """End every browser session and API token of the user, except the one named by `keep`."""
        stmt = delete(ApiToken).where(ApiToken.user_id == user_id)
        if keep:
            stmt = stmt.where(ApiToken.token_hash != _token_hash(keep))
        await self.session.execute(stmt)

    async def change_password(
        self, *, user: CurrentUser, current: str, new: str, keep_token: str | None, at: datetime
    ) -> None:
        """The signed-in user's own password. Every other session and token of theirs ends (a
        password changed because it leaked must shut out whoever had it); the one in use stays."""
        row = await self.session.get(User, user.id)
        if row is None or not await verify_password(row.password_hash, current):
            raise FieldErrors([("current_password", gettext("Mật khẩu hiện tại không đúng."))])
        if new == current:
            raise FieldErrors([("new_password", gettext("Mật khẩu mới phải khác mật khẩu hiện tại."))])
        row.password_hash = await hash_password(new)
        await self._end_sessions(row.id, keep=keep_token)
        await audit.record(
            self.session,
            entity_type=USER,
            entity_id=row.id,
            action="password_change",
            actor_id=user.id,
            at=at,
            changes={},
            province_code=row.province_code,
        )

    async def issue_code(
        self, *, user: User, purpose: str, at: datetime, by: uuid.UUID | None = None
    ) -> tuple[str, datetime]:
        """A new one-time sign-in code for the user (replacing any earlier one): (code, expiry).

        The code is returned once, to be shown once; only its hash is kept."""
        code = codes.new_code()
        expires_at = at + codes.LIFETIME
        await self.session.execute(delete(SignInCode).where(SignInCode.user_id == user.id))
        self.session.add(
            SignInCode(
                user_id=user.id,
                code_hash=await hash_password(code),
                purpose=purpose,
                created_by=by,
                created_at=at,
                expires_at=expires_at,
            )
        )
        await self.session.flush()
        return code, expires_at

    async def reset_password(
        self, *, by: CurrentUser, user_id: uuid.UUID, at: datetime, team_id: uuid.UUID | None = None
    ) -> tuple[User, str, datetime]:
        """A manager resets a member's password inside their jurisdiction: the old password stops
        working, every session and token of the member ends, and a one-time code lets the member
        choose a new one. Team leaders reset their team's volunteers; officers any team member in
        their area."""
        if not by.manages_teams:
            raise Forbidden()
        roles = ("volunteer",) if by.role == "team_leader" else RESETTABLE
        user = await self.session.scalar(
            select(User).where(
                User.id == user_id,
                User.team_id == team_id if team_id is not None else true(),
                User.role.in_(roles),
                by.scope.where(province=User.province_code, commune=User.commune_code, team=User.team_id),
            )
        )
        if user is None:
            raise NotFound()
        if user.id == by.id:
            raise DomainError(N_("Hãy đổi mật khẩu của chính bạn ở trang Đổi mật khẩu."))
        return await self._reset(user, by=by.id, at=at)

    async def reset_by_operator(self, *, username: str, at: datetime) -> tuple[User, str, datetime]:
        """The command line's reset, for any account (officers included)."""
        user = await self.session.scalar(select(User).where(User.username == nfc(username).lower()))
        if user is None:
            raise NotFound()
        return await self._reset(user, by=None, at=at)

    async def _reset(self, user: User, *, by: uuid.UUID | None, at: datetime) -> tuple[User, str, datetime]:
        if not user.active:
            raise DomainError(N_("Tài khoản này đang bị khóa. Hãy mở khóa trước khi đặt lại mật khẩu."))
        user.password_hash = NO_PASSWORD
        await self._end_sessions(user.id)
        code, expires_at = await self.issue_code(user=user, purpose="reset", at=at, by=by)
        await audit.record(
            self.session,
            entity_type=USER,
            entity_id=user.id,
            action="password_reset",
            actor_id=by,
            at=at,
            changes={},
            province_code=user.province_code,
        )
        return user, code, expires_at

    async def redeem_code(self, *, username: str, code: str, new_password: str, at: datetime) -> User | None:
        """Set the password of `username` with their one-time code, which is then used up. None when
        the user, the code or its validity does not match, taking the same time either way."""
        user = await self.session.scalar(select(User).where(User.username == nfc(username).lower()))
        row = await self.session.get(SignInCode, user.id) if user is not None and user.active else None
        canonical = codes.normalize(code) or ""
        if user is None or row is None or row.expires_at <= at:
            await burn_verification(canonical)
            return None
        if not await verify_password(row.code_hash, canonical):
            return None
        # Used once: of two requests racing with the same code, only one deletes the row.
        used = await self.session.execute(
            delete(SignInCode).where(SignInCode.user_id == user.id, SignInCode.code_hash == row.code_hash)
        )
        if used.rowcount != 1:
            return None
        user.password_hash = await hash_password(new_password)
        await self._end_sessions(user.id)
        await audit.record(
            self.session,
            entity_type=USER,
            entity_id=user.id,
            action="password_code_used",
            actor_id=user.id,
            at=at,
            changes={"purpose": [None, row.purpose]},
            province_code=user.province_code,
        )
        return user

    # --- teams -----------------------------------------------------------------------------------

    def _team_filter(self, by: CurrentUser):
        return by.scope.where(province=Team.province_code, commune=Team.commune_code, team=Team.id)

    async def list_teams(self, *, by: CurrentUser, team_id: uuid.UUID | None = None) -> list[TeamRow]:
        leader = User.__table__.alias("leader")
        members = (
            select(func.count(User.id))
            .where(User.team_id == Team.id, User.active.is_(True))
            .correlate(Team)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Team, Commune.name, leader.c.full_name, members)
            .join(Commune, Commune.code == Team.commune_code)
            .outerjoin(leader, leader.c.id == Team.leader_id)
            .where(self._team_filter(by), Team.id == team_id if team_id else true())
            .order_by(Team.commune_code, Team.name, Team.id)
        )
        return [
            TeamRow(
                id=t.id,
                name=t.name,
                commune_code=t.commune_code,
                commune_name=commune_name,
                province_code=t.province_code,
                leader_name=leader_name,
                members=count,
                active=t.active,
            )
            for t, commune_name, leader_name, count in rows
        ]

    async def team_detail(self, *, by: CurrentUser, team_id: uuid.UUID) -> TeamDetail:
        teams = await self.list_teams(by=by, team_id=team_id)
        if not teams:
            raise NotFound()
        members = await self.session.scalars(
            select(User).where(User.team_id == team_id).order_by(User.active.desc(), User.full_name, User.id)
        )
        return TeamDetail(
            team=teams[0],
            members=[
                MemberRow(
                    id=u.id,
                    username=u.username,
                    full_name=u.full_name,
                    role=u.role,
                    phone=u.phone,
                    active=u.active,
                )  # type: ignore[arg-type]
                for u in members
            ],
        )

    async def create_team(self, *, by: CurrentUser, form: TeamForm, at: datetime) -> Team:
        if not by.is_officer:
            raise Forbidden()
        commune = await self.session.get(Commune, form.commune_code)
        if commune is None:
            raise FieldErrors([("commune_code", gettext("Mã xã/phường không tồn tại."))])
        if not by.scope.allows_area(province_code=commune.province_code, commune_code=commune.code):
            raise Forbidden(N_("Xã/phường này nằm ngoài phạm vi quản lý của bạn."))
        team = Team(
            name=nfc(form.name),
            province_code=commune.province_code,
            commune_code=commune.code,
            active=True,
            created_at=at,
        )
        self.session.add(team)
        await self.session.flush()
        return team

    async def add_member(
        self, *, by: CurrentUser, team_id: uuid.UUID, form: MemberForm, at: datetime
    ) -> User:
        team = await self.session.scalar(select(Team).where(Team.id == team_id, self._team_filter(by)))
        if team is None:
            raise NotFound()
        if not by.manages_teams or (by.role == "team_leader" and form.role != "volunteer"):
            raise Forbidden()
        user = await self.create_user(
            username=form.username,
            password=form.password,
            full_name=form.full_name,
            role=form.role,
            team_id=team.id,
            phone=form.phone or None,
            at=at,
        )
        if form.role == "team_leader":
            team.leader_id = user.id
        return user

    async def set_team_active(self, *, by: CurrentUser, team_id: uuid.UUID, active: bool) -> Team:
        if not by.is_officer:
            raise Forbidden()
        team = await self.session.scalar(select(Team).where(Team.id == team_id, self._team_filter(by)))
        if team is None:
            raise NotFound()
        team.active = active
        return team
