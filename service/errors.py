"""Errors: DomainError for rules; JSON problem details under /api, friendly HTML pages elsewhere."""

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from service.i18n import N_, gettext

log = logging.getLogger("service.errors")


class DomainError(Exception):
    """A rule refused the request. `message` is a catalog msgid, translated when shown."""

    status_code = 400

    def __init__(
        self, message: str, *, status_code: int | None = None, field: str | None = None, **params: Any
    ):
        super().__init__(message)
        self.message = message
        self.params = params
        self.field = field
        if status_code is not None:
            self.status_code = status_code

    def text(self) -> str:
        return gettext(self.message, **self.params)


class NotFound(DomainError):
    status_code = 404

    def __init__(self, message: str = N_("Không tìm thấy trang hoặc bản ghi này.")):
        super().__init__(message)


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, message: str = N_("Bạn không có quyền xem hoặc sửa nội dung này.")):
        super().__init__(message)


class FieldErrors(DomainError):
    """Field-level validation errors: 422 with {"errors": [{"field", "message"}]}."""

    status_code = 422

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__(N_("Dữ liệu chưa hợp lệ."))
        self.errors = errors  # (field, translated message)


class ApiFieldError(msgspec.Struct):
    field: str
    message: str


class ApiError(msgspec.Struct):
    """The JSON problem details every /api error carries, as the handlers below write them."""

    status_code: int
    detail: str
    errors: list[ApiFieldError] | None = None


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


_MSGSPEC_PATH = re.compile(r"at `\$\.([A-Za-z0-9_]+)")
_LENGTH = re.compile(r"length (>=|<=) (\d+)")


def explain_msgspec(message: str) -> str:
    """A short localized reading of a msgspec validation message."""
    if "missing required field" in message:
        return gettext("Bắt buộc.")
    if match := _LENGTH.search(message):
        op, n = match.groups()
        return gettext("Cần ít nhất {n} ký tự.", n=n) if op == ">=" else gettext("Tối đa {n} ký tự.", n=n)
    if "Expected `int`" in message:
        return gettext("Phải là một số nguyên.")
    if "Expected `str` matching regex" in message:
        return gettext("Sai định dạng.")
    if "Invalid enum value" in message or "Expected `str`" in message:
        return gettext("Giá trị không hợp lệ.")
    if "unknown field" in message:
        return gettext("Trường không được hỗ trợ.")
    return gettext("Giá trị không hợp lệ.")


def _field_errors_from_validation(exc: ValidationException) -> list[dict[str, str]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "")) if isinstance(item, dict) else str(item)
        key = item.get("key") if isinstance(item, dict) else None
        if match := _MSGSPEC_PATH.search(message):
            key = match.group(1)
        elif m := re.search(r"field `([^`]+)`", message):  # missing or unknown field
            key = m.group(1)
        errors.append({"field": key or "body", "message": explain_msgspec(message)})
    if not errors:
        errors.append(
            {"field": "body", "message": gettext("Dữ liệu gửi lên không đọc được (cần JSON hợp lệ).")}
        )
    return errors


def error_page(status: int, message: str) -> Template:
    """An error page in the tablet layout, titled by its status."""
    return Template(
        "errors/error.html.j2",
        context={"status": status, "title": gettext(_TITLES.get(status, _TITLES[400])), "message": message},
        status_code=status,
    )


_TITLES = {
    400: N_("Yêu cầu không hợp lệ"),
    401: N_("Cần đăng nhập"),
    403: N_("Không có quyền"),
    404: N_("Không tìm thấy"),
    405: N_("Không hỗ trợ thao tác này"),
    409: N_("Xung đột dữ liệu"),
    410: N_("Không còn nữa"),
    413: N_("Tệp quá lớn"),
    422: N_("Dữ liệu chưa hợp lệ"),
    429: N_("Quá nhiều yêu cầu"),
    500: N_("Lỗi hệ thống"),
    503: N_("Dịch vụ tạm thời gián đoạn"),
}


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    if is_api(request):
        body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.text()}
        if isinstance(exc, FieldErrors):
            body["errors"] = [{"field": f, "message": m} for f, m in exc.errors]
        elif exc.field:
            body["errors"] = [{"field": exc.field, "message": exc.text()}]
        return Response(body, status_code=exc.status_code, media_type=MediaType.JSON)
    return error_page(exc.status_code, exc.text())


def handle_http_exception(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RecursionError) and "deserializing" in str(exc):  # the body's JSON, too deep
        return handle_domain_error(
            request, DomainError(N_("Dữ liệu gửi lên lồng nhau quá sâu."), field="body")
        )
    status = exc.status_code if isinstance(exc, HTTPException) else HTTP_500_INTERNAL_SERVER_ERROR
    if status >= 500:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if isinstance(exc, ValidationException) and is_api(request):
        errors = _field_errors_from_validation(exc)
        return Response(
            {"status_code": 422, "detail": gettext("Dữ liệu chưa hợp lệ."), "errors": errors},
            status_code=422,
            media_type=MediaType.JSON,
        )
    if isinstance(exc, NotAuthorizedException) and not is_api(request):
        return Redirect(f"/login?next={request.url.path}")
    if isinstance(exc, NotFoundException):
        message = gettext("Không tìm thấy trang hoặc bản ghi này.")
    elif isinstance(exc, PermissionDeniedException):
        message = gettext("Bạn không có quyền xem hoặc sửa nội dung này.")
    elif isinstance(exc, NotAuthorizedException):
        message = gettext("Cần đăng nhập.")
    elif status >= 500:
        message = gettext("Đã có lỗi xảy ra. Vui lòng thử lại sau.")
    else:
        message = (
            gettext(str(exc.detail)) if isinstance(exc, HTTPException) else gettext("Yêu cầu không hợp lệ.")
        )
    if is_api(request):
        headers = getattr(exc, "headers", None) or {}
        return Response(
            {"status_code": status, "detail": message},
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    return error_page(status, message)


EXCEPTION_HANDLERS = {DomainError: handle_domain_error, Exception: handle_http_exception}
