#!/usr/bin/env bash
# `make run`: set up and start everything that exists so far, on embedded defaults.
#
# Today: a SQLite store under .data/, a generated encryption key (0600), the migrations, a demo
# tenant with its skill on and an admin operator (a fresh token printed at every start), and the
# admin API on 127.0.0.1:5056. The action server and the demo bot come with their issues; this
# script grows with them. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
port=${ADMIN_PORT:-5056}

export DATABASE_URL=${DATABASE_URL:-sqlite:///.data/webhooks.db}
mkdir -p .data

token=$($py - <<'PY'
from webhooks import AlreadyExists, Settings, open_store
settings = Settings.from_environ()
store = open_store(settings, create_key=True, upgrade=True)
try:
    store.create_tenant("demo", actor="make run")
except AlreadyExists:
    pass
store.set_skill("demo", True, actor="make run")
admin = next((o for o in store.list_operators("demo") if o.name == "demo-admin"), None)
if admin is None:
    admin, token = store.create_operator("demo", "demo-admin", admin=True, actor="make run")
else:
    token = store.issue_token("demo", admin.id, actor="make run")
print(token)
PY
)

$py -m admin serve --port "$port" &
admin_pid=$!
stop() { kill "$admin_pid" 2>/dev/null || true; wait "$admin_pid" 2>/dev/null || true; echo "stopped"; }
trap stop EXIT
trap 'exit 0' INT TERM

for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/api/v1/health" >/dev/null

cat <<MSG

Admin API: http://127.0.0.1:$port/api/v1   (OpenAPI: /api/v1/openapi.json)
Demo tenant 'demo', admin token (new at every start, shown once):

  export TOKEN=$token

Create an action:
  curl -s -X POST http://127.0.0.1:$port/api/v1/webhooks -H "Authorization: Bearer \$TOKEN" \\
    -H 'Content-Type: application/json' -d '{"name": "order_status",
    "description": "Look up the status of an order", "url": "https://api.example.com/orders",
    "parameters": [{"name": "order_id", "type": "integer", "description": "the order number"}],
    "headers": {"X-Api-Key": "secret"}}'

Check a URL against the SSRF guard:
  .venv/bin/python -m webhooks check-url https://169.254.169.254/latest

Not built yet: the action server and the demo Rasa bot (see README, 'Status').
Ctrl-C stops.
MSG
wait $admin_pid
