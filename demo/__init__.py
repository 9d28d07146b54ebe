"""A small demo HTTPS service for the demo assistant: order status, store hours, daily offers.

``python -m demo serve`` starts it on ``https://127.0.0.1:8443`` with its own certificate
authority, generated on first start under ``.data/demo-ca/`` (``ca.pem`` is what
``WEBHOOKS_CA_FILE`` must name; the keys never leave ``.data/``). ``demo/actions.json`` holds the
matching webhook definitions, to load through the admin API. Development only.
"""

#: Nothing to import: the command line (``python -m demo``) is the interface.
__all__: list[str] = []
