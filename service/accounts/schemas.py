import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from service.accounts.scope import Scope
from service.i18n import N_

ROLE_NAMES = {
    "volunteer": N_("Tình nguyện viên"),
    "team_leader": N_("Tổ trưởng"),
    "commune_officer": N_("Cán bộ xã/phường"),
    "province_officer": N_("Cán bộ tỉnh/thành phố"),
    "admin": N_("Quản trị hệ thống"),
}

Role = Literal["volunteer", "team_leader", "commune_officer", "province_officer", "admin"]
Username = Annotated[str, Meta(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Password = Annotated[str, Meta(min_length=10, max_length=200)]
Name = Annotated[str, Meta(min_length=2, max_length=120)]


class CurrentUser(Struct, frozen=True):
    """The signed-in user as the request sees it (never an ORM row)."""

    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    locale: str
    team_id: uuid.UUID | None = None
    team_name: str | None = None
    province_code: str | None = None
    commune_code: str | None = None

    @property
    def scope(self) -> Scope:
        if self.role == "admin":
            return Scope("all")
        if self.role == "province_officer":
            return Scope("province", province_code=self.province_code)
        if self.role == "commune_officer":
            return Scope("commune", province_code=self.province_code, commune_code=self.commune_code)
        return Scope("team", self.province_code, self.commune_code, self.team_id)

    @property
    def is_officer(self) -> bool:
        return self.role in ("commune_officer", "province_officer", "admin")

    @property
    def manages_teams(self) -> bool:
        return self.role in ("team_leader", "commune_officer", "province_officer", "admin")


class SessionIn(Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=200)]


class SessionOut(Struct):
    token: str
    expires_at: str
    user: "MeOut"


class TeamRef(Struct):
    id: uuid.UUID
    name: str


class MeOut(Struct):
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    locale: str
    team: TeamRef | None
    province_code: str | None
    commune_codes: list[str]


class TeamForm(Struct, forbid_unknown_fields=False):
    name: Name
    commune_code: Annotated[str, Meta(pattern=r"^\d{5}$")]


class MemberForm(Struct, forbid_unknown_fields=False):
    full_name: Name
    username: Username
    password: Password
    phone: Annotated[str, Meta(max_length=30)] = ""
    role: Literal["volunteer", "team_leader"] = "volunteer"


CurrentPassword = Annotated[str, Meta(min_length=1, max_length=200)]


class PasswordChangeIn(Struct, forbid_unknown_fields=True):
    current_password: CurrentPassword
    new_password: Password


class PasswordChangeForm(Struct, forbid_unknown_fields=False):
    current_password: CurrentPassword
    new_password: Password
    new_password_confirm: CurrentPassword


class ActivateIn(Struct, forbid_unknown_fields=True):
    """Sign in with a one-time code and choose a password."""

    username: Annotated[str, Meta(min_length=1, max_length=64)]
    code: Annotated[str, Meta(min_length=1, max_length=32)]
    new_password: Password


class ActivateForm(Struct, forbid_unknown_fields=False):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    code: Annotated[str, Meta(min_length=1, max_length=32)]
    new_password: Password
    new_password_confirm: CurrentPassword


class ResetCodeOut(Struct):
    """A member's one-time code, shown once to the manager who reset the password."""

    user_id: uuid.UUID
    username: str
    code: str
    expires_at: str


class TeamRow(Struct):
    id: uuid.UUID
    name: str
    commune_code: str
    commune_name: str
    province_code: str
    leader_name: str | None
    members: int
    active: bool


class MemberRow(Struct):
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    phone: str | None
    active: bool


class TeamDetail(Struct):
    team: TeamRow
    members: list[MemberRow]


def to_builtins(value: object) -> object:
    return msgspec.to_builtins(value)
