"""Route guards: who may call a handler. What rows they see is decided by `Scope` in the queries."""

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

Guard = Callable[[ASGIConnection, BaseRouteHandler], None]


def requires_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.user is None:
        raise NotAuthorizedException("Cần đăng nhập.")


def requires_role(*roles: str) -> Guard:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        requires_user(connection, handler)
        if connection.user.role not in roles:
            raise PermissionDeniedException("Bạn không có quyền xem hoặc sửa nội dung này.")

    return guard


managers = requires_role("team_leader", "commune_officer", "province_officer", "admin")
officers = requires_role("commune_officer", "province_officer", "admin")
