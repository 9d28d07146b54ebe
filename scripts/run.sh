#!/usr/bin/env bash
# `make run`: set up and start everything that exists so far, on embedded defaults.
#
# Today: a SQLite store under .data/, a generated encryption key (0600), the migrations, a demo
# tenant with its skill on and an admin operator (a fresh token printed at every start, the old
# one revoked), the admin API on 127.0.0.1:5056 and the action server on 127.0.0.1:5055. The demo
# bot comes with its issue; this script grows with it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
port=${ADMIN_PORT:-5056}
actions_port=${ACTIONS_PORT:-5055}

export DATABASE_URL=${DATABASE_URL:-sqlite:///.data/webhooks.db}
mkdir -p .data

read -r token action_token < <($py - <<'PY'
from webhooks import AlreadyExists, Settings, open_store
settings = Settings.from_environ()
store = open_store(settings, create_key=True, upgrade=True)
try:
    store.create_tenant("demo", actor="make run")
except AlreadyExists:
    pass
if not store.get_tenant("demo").skill_enabled:
    store.set_skill("demo", True, actor="make run")
admin = next((o for o in store.list_operators("demo") if o.name == "demo-admin"), None)
if admin is None:
    admin, token = store.create_operator("demo", "demo-admin", admin=True, actor="make run")
else:
    # One live token at a time: the one printed now replaces the last run's.
    store.revoke_tokens("demo", admin.id, actor="make run")
    token = store.issue_token("demo", admin.id, actor="make run")
print(token, store.issue_action_token("demo", actor="make run"))
PY
)
export WEBHOOKS_DEFAULT_TENANT=${WEBHOOKS_DEFAULT_TENANT:-demo}

$py -m admin serve --port "$port" &
admin_pid=$!
$py -m actions serve --port "$actions_port" &
actions_pid=$!
stop() {
    kill "$admin_pid" "$actions_pid" 2>/dev/null || true
    wait "$admin_pid" "$actions_pid" 2>/dev/null || true
    echo "stopped"
}
trap stop EXIT
trap 'exit 0' INT TERM

for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/api/v1/health" >/dev/null
for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:$actions_port/health" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$actions_port/health" >/dev/null

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

Action server: http://127.0.0.1:$actions_port/tenants/demo/webhook (and /webhook)
For Rasa's endpoints.yml (new at every start):
  action_endpoint:
    url: http://127.0.0.1:$actions_port/tenants/demo/webhook
    token: $action_token

Not built yet: the demo Rasa bot and its tooling (see README, 'Status').
Ctrl-C stops.
MSG
wait -n "$admin_pid" "$actions_pid"
