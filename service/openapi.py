"""The OpenAPI document (/schema/openapi.json) describes the JSON API, and every error it can answer.

Pages are HTML for browsers and stay out of it. Every /api operation may answer the problem details of
service/errors.py with the statuses below, whatever its handler raises: a body refused before the
handler (400, 413), no or an expired token (401), a role or an area outside the caller's reach
(403, 404), a stale version or a duplicate (409), field errors (422), too many attempts (429). An
operation that documents one of these itself keeps its own, more precise description.
"""

from dataclasses import dataclass, replace

from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.routes import HTTPRoute

from service.errors import ApiError

API_PREFIX = "/api/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COMMON_ERRORS = {
    400: "Body not readable: not UTF-8, a NUL character, or JSON nested too deep",
    401: "Not signed in: no bearer token, or an expired or revoked one",
    403: "Your role may not do this",
    404: "No such record in your jurisdiction",
    409: "Changed concurrently, or already recorded",
    413: "Body too large, not read",
    422: "Field errors: `errors` lists each field with its message",
    429: "Too many attempts: wait the seconds of the Retry-After header",
}


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(ApiError, description=description, generate_examples=False)


def document_api_errors(app: Litestar) -> None:
    """Add the common error responses to every /api operation (before the document is first built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(API_PREFIX):
            continue
        for handler in route.route_handlers:
            responses = {status: _spec(description) for status, description in COMMON_ERRORS.items()}
            for status, spec in (handler.responses or {}).items():
                # A handler's own description of an error without a body: the body is still ApiError.
                if status >= 400 and spec.data_container is None:
                    spec = replace(spec, data_container=ApiError, generate_examples=False)
                responses[status] = spec
            handler.responses = responses


@dataclass
class FileDownload(Operation):
    """An operation whose 200 is a CSV or an XLSX file (chosen by its `format` query parameter)."""

    def __post_init__(self) -> None:
        ok = self.responses.get("200") if self.responses else None
        if isinstance(ok, OpenAPIResponse):
            ok.description = "The file, as CSV (UTF-8 with BOM) or XLSX"
            ok.content = {
                "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                XLSX: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)),
            }
