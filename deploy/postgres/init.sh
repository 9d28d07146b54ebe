#!/usr/bin/env bash
# Run by PostgreSQL's image once, on an empty data directory: the store's and Rasa's tracker
# store's roles, each owning its database; their passwords come from deploy/.env.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set webhooks_password="$WEBHOOKS_DB_PASSWORD" --set rasa_password="$RASA_DB_PASSWORD" <<'SQL'
CREATE ROLE webhooks LOGIN PASSWORD :'webhooks_password';
CREATE DATABASE webhooks OWNER webhooks;
CREATE ROLE rasa LOGIN PASSWORD :'rasa_password';
CREATE DATABASE rasa OWNER rasa;
SQL
