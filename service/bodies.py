"""Request bodies checked before any handler reads them (app-wide `before_request`).

JSON and URL-encoded bodies must be UTF-8 and hold no NUL character: no field of this service may
contain one, PostgreSQL refuses it in text and SQLite would store it. Either is a clear 400 in the
caller's language, never a 500 and never a stored NUL. (JSON nested too deep for the decoder is
answered 400 by the error handler.) Multipart bodies carry files and are checked by their readers.
"""

from litestar import Request

from service.errors import DomainError
from service.i18n import N_

CHECKED = ("application/json", "application/x-www-form-urlencoded")


class BadBody(DomainError):
    status_code = 400


async def check_body(request: Request) -> None:
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if not request.headers.get("content-type", "").lower().startswith(CHECKED):
        return
    body = await request.body()  # kept by the request: the handler reads it again
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody(N_("Dữ liệu gửi lên không phải văn bản UTF-8 hợp lệ."), field="body") from exc
    if "\x00" in text or "\\u0000" in text.lower() or "%00" in text:
        raise BadBody(N_("Dữ liệu gửi lên chứa ký tự NUL, không trường nào nhận ký tự này."), field="body")
