import asyncio

from litestar import Request, Response, get
from sqlalchemy import text

from service import __version__


@get("/health", name="health", tags=["operations"])
async def health(request: Request) -> Response:
    try:
        async with request.app.state.session_maker() as db:
            await asyncio.wait_for(db.execute(text("SELECT 1")), timeout=3)
        database = "ok"
    except Exception:  # any failure to reach the database is reported, not raised
        database = "unreachable"
    status = 200 if database == "ok" else 503
    return Response(
        {"status": "ok" if status == 200 else "error", "database": database, "version": __version__},
        status_code=status,
    )
