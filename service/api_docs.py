"""The API documentation page at /schema: Swagger UI served from /static, so that it opens without
internet (Litestar's own render plugins load it from a CDN) and runs under the site's
Content-Security-Policy like every other page (no inline script)."""

from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin
from markupsafe import escape

ASSETS = "/static/vendor/swagger-ui"


class ApiDocsRenderPlugin(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path="/swagger")  # also at /schema itself: the first plugin is the default

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = escape(openapi_schema["info"]["title"])
        spec = escape(self.get_openapi_json_route(request))
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script>
</body>
</html>
""".encode()
