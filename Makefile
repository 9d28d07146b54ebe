# Webhook Actions for Rasa. `make run` starts it; `make test` sets up and runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON311 ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
VENV_BOT := .venv-bot

.PHONY: help venv venv-bot web browser deploy-tools test lint typecheck typecheck-bot unit bench run migrate lock clean image image-test

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

venv: $(VENV)/.complete  ## create or reuse the plugin environment (.venv, Python 3.11)

$(VENV)/.complete: requirements.lock requirements-dev.lock scripts/venv.sh
	@scripts/venv.sh $(VENV) $(PYTHON311) requirements.lock requirements-dev.lock

venv-bot: $(VENV_BOT)/.complete  ## create or reuse the bot environment (.venv-bot, Python 3.10, rasa 3.6.21)

$(VENV_BOT)/.complete: requirements-bot.lock scripts/venv.sh scripts/python310.sh
	@scripts/venv.sh $(VENV_BOT) "$(shell scripts/python310.sh)" requirements-bot.lock

WEB_MODULES := web/node_modules/.package-lock.json

web: $(WEB_MODULES)  ## install the chat widget's socket.io client (npm ci from web/package-lock.json)

$(WEB_MODULES): web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

browser:  ## install Debian's chromium for the browser tests, when missing
	@scripts/chromium.sh

deploy-tools:  ## install Debian's promtool, nginx and shellcheck for the deploy/ checks, when missing
	@scripts/deploy-tools.sh

lint: venv  ## ruff lint + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv  ## mypy strict on the packages
	$(VENV)/bin/mypy

typecheck-bot: venv venv-bot  ## mypy strict on the live router (routing/), with Rasa's environment
	$(VENV)/bin/mypy --python-executable $(VENV_BOT)/bin/python --python-version 3.10 -p routing

COVERAGE := COVERAGE_FILE=$(CURDIR)/.coverage $(PY) -m coverage

test: venv venv-bot web browser deploy-tools lint typecheck typecheck-bot  ## set up and run all tests (SQLite, PostgreSQL, real Rasa); print the coverage
	@rm -f .coverage .coverage.*
	@# combine also meets the partial data of a server a fault test killed: it is left out.
	status=0; $(COVERAGE) run -m pytest $(PYTEST_ARGS) || status=$$?; \
	$(COVERAGE) combine -q 2>/dev/null || true; rm -f .coverage.*; \
	echo "coverage of webhooks, actions, admin, mcp_server, bot, demo and web (servers included): $$($(COVERAGE) report --format=total)%"; \
	exit $$status

unit: venv web browser deploy-tools lint typecheck  ## every test that needs no Rasa environment (no .venv-bot built)
	$(PY) -m pytest -m "not rasa" $(PYTEST_ARGS)

bench: venv  ## run the benchmarks and print the figures
	$(PY) -m bench

migrate: venv  ## apply the database migrations to DATABASE_URL (SQLite file by default)
	$(PY) -m webhooks migrate

run: venv venv-bot web  ## set up and start everything: demo service, admin API, action server, Rasa, web chat
	@scripts/run.sh

IMAGE ?= localhost/webhook-actions:latest

image:  ## build the OCI image (Containerfile) with podman; installs podman, runc, debootstrap when missing
	@WEBHOOKS_IMAGE=$(IMAGE) scripts/image.sh

image-test: image venv venv-bot  ## build the image, then run its servers against PostgreSQL and the trained bot
	WEBHOOKS_IMAGE=$(IMAGE) $(PY) -m pytest tests/image $(PYTEST_ARGS)

lock:  ## re-resolve requirements.in, requirements-dev.in and requirements-bot(-data).in into their locks, with hashes
	scripts/lock.sh $(PYTHON311)
	scripts/lock-bot.sh "$(shell scripts/python310.sh)"

clean:  ## remove the local links and data (the cached environments stay)
	rm -rf $(VENV) $(VENV_BOT) .data web/node_modules tests/console/screenshots tests/e2e/screenshots .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
