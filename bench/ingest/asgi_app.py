"""The contender: the same `Ingest` service behind Starlette, served by uvicorn (uvloop, httptools).

Used only by the bench to compare HTTP stacks; the product serves with aiohttp (processor/ingest/app.py).
Run: python -m bench.ingest.asgi_app PORT (settings from the environment, as `caliper-processor ingest`).
"""

from __future__ import annotations

import contextlib
import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from processor.config import load
from processor.ingest.service import JSON, Ingest


def build(ingest: Ingest) -> Starlette:
    async def deliver(request: Request) -> Response:
        started = time.perf_counter()
        size = request.headers.get("content-length")
        if size is not None and int(size) > ingest.max_body_bytes:
            status, body = ingest.refuse_too_large(started, int(size))
        else:
            data = await request.body()
            status, body = await ingest.deliver(data, request.headers, request.query_params, started)
        return Response(body, status, media_type=JSON)

    async def readyz(_request: Request) -> Response:
        ok, why = ingest.ready()
        return Response(why + "\n", 200 if ok else 503)

    async def metrics(_request: Request) -> Response:
        return Response(ingest.metrics.render(), 200, media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        await ingest.start()
        yield
        ingest.close(10)

    return Starlette(
        routes=[
            Route(ingest.settings["path"], deliver, methods=["POST"]),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    cfg = load()
    ingest = Ingest(cfg)
    uvicorn.run(
        build(ingest),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
