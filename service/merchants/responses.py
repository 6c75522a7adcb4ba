"""What the JSON API and the pages both answer with: the jurisdiction's export as a file, a merged
record's address under its survivor, the size of a page of a list."""

import uuid

from litestar import Request
from litestar.response import Stream

from service.accounts.schemas import CurrentUser
from service.errors import Forbidden
from service.merchants import exports
from service.web import utcnow

PAGE_SIZE = 25


def survivor_path(request: Request, survivor_id: uuid.UUID) -> str:
    """The same address with the merged record's id replaced by its survivor's."""
    old = str(request.path_params.get("merchant_id", ""))
    path = request.url.path.replace(old, str(survivor_id), 1) if old else request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def export_stream(request: Request, fmt: str) -> Stream:
    """The caller's jurisdiction as a file, streamed with its own session (the request's session
    closes when the response starts)."""
    by: CurrentUser = request.user
    if not exports.allowed(by):
        raise Forbidden()
    sessions = request.app.state.session_maker

    async def body():
        async with sessions() as session:
            service = exports.ExportService(session)
            if fmt == "csv":
                chunks = exports.csv_chunks(service, by=by)
            else:
                chunks = exports.xlsx_chunks(service, by=by)
            async for chunk in chunks:
                yield chunk

    name = f"tieu-thuong-{utcnow():%Y%m%d-%H%M}.{fmt}"
    return Stream(
        body(),
        media_type=exports.CSV_TYPE if fmt == "csv" else exports.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
