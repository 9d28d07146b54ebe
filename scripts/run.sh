#!/usr/bin/env bash
# `make run`: set up and start the whole product on embedded defaults, stop it on Ctrl-C.
#
# A SQLite store under .data/ with a generated key (0600); the demo HTTPS service with its own
# CA (.data/demo-ca); the admin API (5056), the action server (5055) and the MCP tools server
# (5057); the demo tenant with its skill on, an admin whose fresh token is printed (the last
# run's is revoked), a fresh action token for Rasa and a fresh tools token for MCP clients
# (printed too) and the demo actions loaded through the admin API; the bot synced and trained
# (the model cached by fingerprint beside the environments); Rasa on 5005 with the REST and
# socket.io channels; the web chat's demo page on 8000. A second run reuses everything.
# The terminal shows our progress; each program's own output goes to logs/. Ports: ADMIN_PORT,
# ACTIONS_PORT, TOOLS_PORT, RASA_PORT, DEMO_PORT, WEB_PORT; LOG_DIR for another folder than logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
admin_port=${ADMIN_PORT:-5056}
actions_port=${ACTIONS_PORT:-5055}
tools_port=${TOOLS_PORT:-5057}
rasa_port=${RASA_PORT:-5005}
demo_port=${DEMO_PORT:-8443}
web_port=${WEB_PORT:-8000}
logs=${LOG_DIR:-logs}
cache=${WEBHOOKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/webhook-actions}

export DATABASE_URL=${DATABASE_URL:-sqlite:///.data/webhooks.db}
# The demo service lives on this machine: allow loopback explicitly (logged as a warning) and
# trust the demo's own CA. Production leaves both unset.
export WEBHOOKS_EGRESS_ALLOW=${WEBHOOKS_EGRESS_ALLOW:-127.0.0.1/32}
export WEBHOOKS_CA_FILE=${WEBHOOKS_CA_FILE:-.data/demo-ca/ca.pem}
export WEBHOOKS_DEFAULT_TENANT=${WEBHOOKS_DEFAULT_TENANT:-demo}
export RASA_TELEMETRY_ENABLED=false
# A port in use (most often: make run is already running) is said before anything starts.
for port in "$demo_port" "$admin_port" "$actions_port" "$tools_port" "$rasa_port" "$web_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "run.sh: port $port on 127.0.0.1 is already in use (is make run already running?):" \
            "stop it, or choose other ports with DEMO_PORT, ADMIN_PORT, ACTIONS_PORT, TOOLS_PORT," \
            "RASA_PORT, WEB_PORT" >&2
        exit 2
    fi
done

mkdir -p .data "$logs"
# The store, its key and the demo CA's key are the owner's alone (migrate makes the database
# 0600); an older .data made readable to others is tightened too.
chmod 700 .data
# Trained models are kept beside the environments, by fingerprint: a fresh clone of an
# unchanged bot reuses the model instead of training for a minute.
if [ ! -e models ]; then
    mkdir -p "$cache/models"
    ln -s "$cache/models" models
fi

pids=()
stop() {
    trap - EXIT INT TERM
    if ((${#pids[@]})); then
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    echo "stopped"
}
trap stop EXIT
trap 'exit 0' INT TERM

wait_for() {  # URL SECONDS [curl options...]
    local url=$1 seconds=$2
    shift 2
    for _ in $(seq 1 $((seconds * 5))); do
        # The URL goes in on stdin: it may carry a token, and command lines are public (ps).
        if curl -fsS "$@" --config - <<<"url = \"$url\"" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "run.sh: $url did not come up (see $logs/)" >&2
    return 1
}

echo "starting the demo webhook service on https://127.0.0.1:$demo_port ($logs/demo.log)"
$py -m demo serve --port "$demo_port" >"$logs/demo.log" 2>&1 &
pids+=($!)
wait_for "https://127.0.0.1:$demo_port/health" 30 --cacert .data/demo-ca/ca.pem

echo "preparing the store (.data/webhooks.db) and the demo tenant"
read -r token action_token tools_token < <($py - <<'PY'
from webhooks import AlreadyExists, Settings, open_store
settings = Settings.from_environ()
store = open_store(settings, create_key=True, upgrade=True)
try:
    store.accounts.create_tenant("demo", actor="make run")
except AlreadyExists:
    pass
if not store.accounts.get_tenant("demo").skill_enabled:
    store.accounts.set_skill("demo", True, actor="make run")
admin = next((o for o in store.accounts.list_operators("demo") if o.name == "demo-admin"), None)
if admin is None:
    admin, token = store.accounts.create_operator("demo", "demo-admin", admin=True, actor="make run")
else:
    # One live token at a time: the one printed now replaces the last run's.
    store.accounts.revoke_tokens("demo", admin.id, actor="make run")
    token = store.accounts.issue_token("demo", admin.id, actor="make run")
# Rasa is started below with this one; a Rasa of an earlier run is gone. So are MCP clients.
print(
    token,
    store.accounts.issue_action_token("demo", actor="make run", replace=True),
    store.accounts.issue_tools_token("demo", actor="make run", replace=True),
)
PY
)
export ACTION_TOKEN=$action_token
# Rasa's live router reads the demo tenant's actions here (with ACTION_TOKEN).
export WEBHOOKS_ROUTING_URL=http://127.0.0.1:$actions_port/tenants/demo/routing

echo "starting the admin API on 127.0.0.1:$admin_port, the action server on 127.0.0.1:$actions_port" \
    "and the MCP tools server on 127.0.0.1:$tools_port"
$py -m admin serve --port "$admin_port" >"$logs/admin.log" 2>&1 &
pids+=($!)
$py -m actions serve --port "$actions_port" >"$logs/actions.log" 2>&1 &
pids+=($!)
$py -m mcp_server serve --port "$tools_port" >"$logs/tools.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$admin_port/api/v1/health" 30
wait_for "http://127.0.0.1:$actions_port/health" 30
wait_for "http://127.0.0.1:$tools_port/health" 30

# The demo actions, through the admin API as an operator would (kept when already there).
# The token in the environment, not the command line (which every local user can read).
ADMIN_TOKEN=$token $py - "$admin_port" "$demo_port" <<'PY'
import json, os, sys, urllib.error, urllib.request
port, demo_port = sys.argv[1:3]
token = os.environ["ADMIN_TOKEN"]
for definition in json.load(open("demo/actions.json")):
    definition["url"] = definition["url"].replace(":8443/", f":{demo_port}/")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/webhooks", method="POST",
        data=json.dumps(definition).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(request).read()
        print(f"loaded demo action {definition['name']}")
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise SystemExit(f"loading {definition['name']}: {error.read().decode()}")
PY

echo "training the demo bot, or reusing its model (a minute the first time; $logs/train.log)"
$py -m bot sync --tenant demo >"$logs/train.log" 2>&1 || { echo "run.sh: bot sync failed (see $logs/train.log)" >&2; exit 1; }
$py -m bot train >>"$logs/train.log" 2>&1 || { echo "run.sh: training failed (see $logs/train.log)" >&2; exit 1; }
# The model of the bot as it is now (trained or reused by fingerprint), not merely the newest.
model=$(awk '/^trained /{print $2} /^unchanged bot/{print $NF}' "$logs/train.log" | tail -1)
rasa_token=$($py -c 'import secrets; print(secrets.token_hex(16))')

# endpoints.yml names the action server's default port; this run's may differ.
sed "s#//127.0.0.1:5055/#//127.0.0.1:$actions_port/#" endpoints.yml >.data/endpoints.yml
echo "starting Rasa on 127.0.0.1:$rasa_port with $model (about 30 s; $logs/rasa.log)"
# `rasa run` with the token from RASA_TOKEN: Rasa takes it only as --auth-token, which ps shows.
RASA_TOKEN=$rasa_token .venv-bot/bin/python scripts/rasa_run.py --enable-api -i 127.0.0.1 \
    -p "$rasa_port" --cors "*" -m "$model" --endpoints .data/endpoints.yml \
    --credentials credentials.yml >"$logs/rasa.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$rasa_port/status?token=$rasa_token" 180
echo "starting the web chat on 127.0.0.1:$web_port ($logs/web.log)"
$py -m web serve --port "$web_port" --rasa-url "http://127.0.0.1:$rasa_port" >"$logs/web.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$web_port/health" 30

cat <<MSG

Everything is up. Chat with the assistant in a browser: http://127.0.0.1:$web_port/
or over the REST channel:

  curl -s http://127.0.0.1:$rasa_port/webhooks/rest/webhook \\
    -d '{"sender": "me", "message": "where is my order #4521?"}'

Operator console: http://127.0.0.1:$admin_port/  (sign in with the admin token below)
Admin API: http://127.0.0.1:$admin_port/api/v1/openapi.json describes it. The demo tenant's
admin token and the action token Rasa was started with (both new at every start):

  export TOKEN=$token
  export ACTION_TOKEN=$action_token
  curl -s "http://127.0.0.1:$actions_port/tenants/demo/actions?token=\$ACTION_TOKEN"   # what is served

Add an action: the bot uses it within a second, no training, no restart:

  curl -s -X POST http://127.0.0.1:$admin_port/api/v1/webhooks -H "Authorization: Bearer \$TOKEN" \\
    -H 'Content-Type: application/json' -d '{"name": "gift_card_balance",
    "description": "Check the balance of a gift card",
    "url": "https://127.0.0.1:$demo_port/giftcards/balance",
    "examples": ["what is left on my gift card", "gift card balance"],
    "parameters": [{"name": "card_number", "type": "integer", "description": "the gift card number"}]}'
  curl -s http://127.0.0.1:$rasa_port/webhooks/rest/webhook \\
    -d '{"sender": "ann", "message": "how much money is left on my gift card?"}'

Training still helps recognition (optional):

  .venv/bin/python -m bot sync && .venv/bin/python -m bot train && \\
    RASA_URL=http://127.0.0.1:$rasa_port RASA_TOKEN=$rasa_token .venv/bin/python -m bot reload

LLM agents use the same actions as MCP tools (streamable HTTP), with this tools token:

  export TOOLS_TOKEN=$tools_token
  # an MCP client's server entry: {"url": "http://127.0.0.1:$tools_port/tenants/demo/mcp",
  #   "headers": {"Authorization": "Bearer \$TOOLS_TOKEN"}}
  curl -s "http://127.0.0.1:$admin_port/api/v1/tools?shape=openai" -H "Authorization: Bearer \$TOKEN"

Check a URL against the SSRF guard:
  .venv/bin/python -m webhooks check-url https://169.254.169.254/latest

Logs are in $logs/. Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
