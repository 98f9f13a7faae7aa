"""The baseline of :mod:`benchmarks.hub_latency`: a bare FastAPI app under the hub's uvicorn.

It is served by :func:`zslab.hub.server.make_server` on a socket from
:func:`zslab.hub.server.bind_socket`, exactly as ``zslab hub`` serves the hub (one process,
loop and HTTP implementation ``auto``, no access log), so the difference between the two is
the hub's own per-request work.

Run: ``python -m benchmarks._baseline_app --port 8000``.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI
from pydantic import BaseModel

from zslab.hub.server import bind_socket, make_server

app = FastAPI(title="zslab benchmark baseline")


class Item(BaseModel):
    """A small JSON body, about the size of the hub's creating POSTs."""

    name: str
    slug: str
    tags: list[str]
    description: str


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.post("/echo", status_code=201)
async def echo(item: Item) -> Item:
    return item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    sock = bind_socket(args.host, args.port)
    make_server(app, log_level=args.log_level).run(sockets=[sock])


if __name__ == "__main__":
    main()
