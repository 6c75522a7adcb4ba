"""The service worker, served from the site root so that it controls the staff pages."""

from pathlib import Path

from litestar import Response, get

SERVICE_WORKER = Path(__file__).parent.parent / "static" / "js" / "sw.js"


@get("/sw.js", name="offline.service_worker", include_in_schema=False, cache_control=None)
async def service_worker() -> Response[bytes]:
    """From the root, so its scope covers every page; never cached, so an update reaches tablets."""
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )
