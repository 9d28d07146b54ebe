"""The demo service's routes and its certificate authority (trustme, a development dependency)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import trustme
from aiohttp import web

__all__ = ["CA_DIR", "DEFAULT_PORT", "create_app", "server_context"]

CA_DIR = Path(".data/demo-ca")
DEFAULT_PORT = 8443

_STATUSES = (  # by order_id % 4, so #4521 has shipped
    ("delivered", "-", "Order #{id} was delivered yesterday."),
    ("shipped", "2 days", "Order #{id} has shipped and arrives in 2 days."),
    ("processing", "4 days", "Order #{id} is being packed and should arrive in 4 days."),
    ("shipped", "tomorrow", "Order #{id} has shipped and arrives tomorrow."),
)
_HOURS = {
    "berlin": ("Berlin", "09:00", "20:00"),
    "lisbon": ("Lisbon", "10:00", "22:00"),
    "paris": ("Paris", "09:30", "19:30"),
    "london": ("London", "08:00", "21:00"),
}
_OFFERS = {
    "shoes": [{"item": "Trail runners", "price": 59.0, "discount": "25%"}],
    "books": [{"item": "Rasa in Action", "price": 19.9, "discount": "10%"}],
    "garden": [{"item": "Watering can", "price": 9.5, "discount": "30%"}],
}


#: The API key the order service expects in X-Api-Key (a demo value, not a secret).
ORDER_API_KEY = "demo-key-not-secret"


async def order_status(request: web.Request) -> web.Response:
    """POST {"order_id": 4521}: the order's status (orders below 1000 do not exist).

    Like a real API it checks its key: a missing or wrong X-Api-Key is a 401.
    """
    if request.headers.get("X-Api-Key") != ORDER_API_KEY:
        return web.json_response({"error": "missing or wrong X-Api-Key"}, status=401)
    try:
        body = await request.json()
        order_id = int(body["order_id"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "order_id (an integer) is required"}, status=400)
    if order_id < 1000:
        return web.json_response({"error": f"no order #{order_id}"}, status=404)
    status, eta, text = _STATUSES[order_id % len(_STATUSES)]
    return web.json_response(
        {"order_id": order_id, "status": status, "eta": eta, "text": text.format(id=order_id)}
    )


async def opening_hours(request: web.Request) -> web.Response:
    """GET ?city=Berlin: today's opening hours of the store in that city."""
    city = request.query.get("city", "").strip()
    known = _HOURS.get(city.lower())
    if known is None:
        cities = ", ".join(name for name, _, _ in _HOURS.values())
        return web.json_response(
            {"city": city, "open": None, "text": f"We have no store in {city or 'that city'}. "
             f"Our stores are in {cities}."}
        )  # fmt: skip
    name, opens, closes = known
    return web.json_response(
        {
            "city": name,
            "open": opens,
            "close": closes,
            "text": f"Our {name} store is open today from {opens} to {closes}.",
        }
    )


async def daily_offers(request: web.Request) -> web.Response:
    """GET [?category=shoes]: today's offers, all or of one category."""
    category = request.query.get("category", "").strip().lower()
    offers = _OFFERS.get(category) if category else [o for v in _OFFERS.values() for o in v]
    if not offers:
        return web.json_response({"offers": [], "text": f"No offers on {category} today."})
    listed = "; ".join(f"{o['item']} at {o['price']:.2f} EUR ({o['discount']} off)" for o in offers)
    return web.json_response({"offers": offers, "text": f"Today's offers: {listed}."})


async def gift_card_balance(request: web.Request) -> web.Response:
    """POST {"card_number": 123456}: what is left on a gift card (the README's example of an
    action added while the bot runs)."""
    try:
        number = int((await request.json())["card_number"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "card_number (an integer) is required"}, status=400)
    balance = (number % 9000) / 100
    return web.json_response(
        {"card_number": number, "balance": balance,
         "text": f"Gift card {number} has {balance:.2f} EUR left."}
    )  # fmt: skip


async def slow(request: web.Request) -> web.Response:
    """GET/POST ?seconds=N: answers after N seconds (for timeout demos and tests)."""
    await asyncio.sleep(min(float(request.query.get("seconds", "35")), 60.0))
    return web.json_response({"text": "Finally!"})


async def broken(request: web.Request) -> web.Response:
    """Always 500, as a failing service does."""
    return web.json_response({"error": "internal error"}, status=500)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/orders/status", order_status)
    app.router.add_get("/stores/hours", opening_hours)
    app.router.add_get("/offers", daily_offers)
    app.router.add_post("/giftcards/balance", gift_card_balance)
    app.router.add_route("*", "/slow", slow)
    app.router.add_route("*", "/broken", broken)
    app.router.add_get("/health", health)
    return app


def server_context(directory: Path = CA_DIR) -> ssl.SSLContext:
    """A TLS context for 127.0.0.1 signed by the demo CA, generated once under ``directory``.

    ``directory/ca.pem`` is the CA certificate clients trust (``WEBHOOKS_CA_FILE``).
    """
    ca_pem, cert_pem, key_pem = (directory / n for n in ("ca.pem", "server.pem", "server.key"))
    if not (ca_pem.is_file() and cert_pem.is_file() and key_pem.is_file()):
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="Webhook Actions demo")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        key_pem.touch(mode=0o600)
        leaf.private_key_pem.write_to_path(str(key_pem))
        leaf.cert_chain_pems[0].write_to_path(str(cert_pem))
        ca.cert_pem.write_to_path(str(ca_pem))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_pem, key_pem)
    return context
