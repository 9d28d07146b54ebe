"""A stand-in for one Rasa replica behind the proxy, run with the bot environment's Python.

It serves socket.io with the library Rasa 3.6.21 serves it with (python-socketio 5.9.0 from
.venv-bot, engine.io sessions in this process's memory, exactly what makes sticky sessions
necessary), and a REST channel; every answer names the replica that gave it.

    .venv-bot/bin/python tests/deploy/rasa_stub.py NAME PORT
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
from aiohttp import web


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])
    app = web.Application()
    sio.attach(app, socketio_path="/socket.io/")

    @sio.on("user_uttered")
    async def uttered(sid: str, data: dict[str, Any]) -> None:
        await sio.emit("bot_uttered", {"text": f"{name}: {data.get('message')}"}, room=sid)

    async def rest(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response([{"recipient_id": body["sender"], "text": name}])

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"Hello from {name}")

    app.router.add_post("/webhooks/rest/webhook", rest)
    app.router.add_get("/", hello)
    app.router.add_get("/status", hello)
    web.run_app(app, host="127.0.0.1", port=port, print=None, shutdown_timeout=1)


if __name__ == "__main__":
    main()
