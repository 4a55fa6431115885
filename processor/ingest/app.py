"""The aiohttp application: the delivery path, /healthz, /readyz and /metrics on one port.

aiohttp was chosen over an ASGI stack (uvicorn + Starlette) by measuring both on the same
handler (docs/performance.md, "Ingest"); it also reads the body with a size limit of its own.
"""

from __future__ import annotations

import logging
import time

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from processor.ingest.service import JSON, Ingest

log = logging.getLogger("processor.ingest")


def build_app(ingest: Ingest) -> web.Application:
    app = web.Application(client_max_size=ingest.max_body_bytes)
    limit = ingest.max_body_bytes

    async def deliver(request: web.Request) -> web.Response:
        started = time.perf_counter()
        ingest.metrics.in_flight.inc()
        try:
            size = request.content_length
            if size is not None and size > limit:
                status, body = ingest.refuse_too_large(started, size)
            else:
                try:
                    data = await request.read()
                except web.HTTPRequestEntityTooLarge:  # chunked, no Content-Length: counted as read
                    status, body = ingest.refuse_too_large(started, None)
                else:
                    status, body = await ingest.deliver(data, request.headers, request.query, started)
        except Exception as exc:  # a bug: answer 500 (Canvas retries it) and say what happened
            log.exception("delivery failed")
            ingest.metrics.answered(500, "internal", time.perf_counter() - started)
            status, body = 500, orjson.dumps({"error": "internal", "detail": type(exc).__name__})
        finally:
            ingest.metrics.in_flight.dec()
        return web.Response(status=status, body=body, content_type=JSON)

    async def healthz(_request: web.Request) -> web.Response:
        ok, why = ingest.healthy()
        return web.Response(status=200 if ok else 503, text=why + "\n")

    async def readyz(_request: web.Request) -> web.Response:
        ok, why = ingest.ready()
        return web.Response(status=200 if ok else 503, text=why + "\n")

    async def metrics(_request: web.Request) -> web.Response:
        resp = web.Response(body=ingest.metrics.render())
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    app.router.add_post(ingest.settings["path"], deliver)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
