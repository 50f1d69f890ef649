# Missive developer workflow. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PG_ENV := .pg-env

.PHONY: help run test test-pg soak browser clients asyncapi sdk screenshots lint fmt doc fuzz bench bench-sqlite migrate db-up db-down docker compose-up compose-down ci

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-13s\033[0m %s\n", $$1, $$2}'

run: ## Serve on 127.0.0.1:8000 with SQLite (missive.db), release build
	cargo run --release

test: ## Run the whole suite on SQLite (PostgreSQL tests say they are skipped)
	cargo test --workspace

test-pg: ## Run the whole suite against a throwaway PostgreSQL cluster
	@set -euo pipefail; \
	eval "$$(scripts/pg-throwaway.sh start)"; \
	trap 'scripts/pg-throwaway.sh stop "$$MISSIVE_PG_DIR"' EXIT; \
	cargo test --workspace

lint: ## cargo fmt --check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

doc: ## Build the API docs (warnings are errors)
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --features missive-domain/testkit,missive-domain/mocks

browser: ## The web client in Chromium against a release server (installs chromium and Playwright if missing)
	bash scripts/browser-tests.sh

clients: ## Generate Python and TypeScript clients from /openapi.json and run a journey through each (tools pinned under target/)
	bash scripts/client-journeys.sh

asyncapi: ## Validate /asyncapi.json with the AsyncAPI parser against a release server
	bash scripts/asyncapi-check.sh

sdk: ## The JavaScript SDK (/sdk/missive.js) in Node's test runner against a release server
	bash scripts/sdk-tests.sh

screenshots: ## Screenshots of the web client with a seeded conversation, into docs/screenshots/
	bash scripts/screenshots.sh

soak: ## The sync proof with many seeds and long storms, on SQLite then PostgreSQL (SEEDS=1..200 STEPS=400)
	@set -euo pipefail; \
	export MISSIVE_SYNC_PROOF_SEEDS="$${SEEDS:-1..200}" MISSIVE_SYNC_PROOF_STEPS="$${STEPS:-400}"; \
	cargo test -p missive-api --test api -- sync_proof --nocapture; \
	eval "$$(scripts/pg-throwaway.sh start)"; \
	trap 'scripts/pg-throwaway.sh stop "$$MISSIVE_PG_DIR"' EXIT; \
	cargo test -p missive-api --test api -- sync_proof --nocapture

bench: ## Benchmark a release server on a throwaway PostgreSQL (durable settings)
	bash scripts/bench.sh postgres

bench-sqlite: ## Benchmark a release server on SQLite
	bash scripts/bench.sh sqlite

fuzz: ## Fuzz the HTTP API from its OpenAPI document (schemathesis, in a venv)
	bash scripts/fuzz-api.sh

migrate: ## Apply pending migrations to the configured database
	cargo run --release -- migrate up

db-up: ## Start a throwaway PostgreSQL; prints the DATABASE_URL to use
	@set -euo pipefail; \
	if [ -f $(PG_ENV) ]; then echo "already running: $$(cat $(PG_ENV))"; exit 0; fi; \
	scripts/pg-throwaway.sh start --durable > $(PG_ENV); \
	source $(PG_ENV); \
	echo "DATABASE_URL=$$MISSIVE_TEST_DATABASE_URL"; \
	echo "e.g.  DATABASE_URL=$$MISSIVE_TEST_DATABASE_URL cargo run --release"

db-down: ## Stop the throwaway PostgreSQL started by db-up
	@set -euo pipefail; \
	if [ ! -f $(PG_ENV) ]; then echo "not running"; exit 0; fi; \
	source $(PG_ENV); scripts/pg-throwaway.sh stop "$$MISSIVE_PG_DIR"; rm -f $(PG_ENV)

docker: ## Build the container image missive:latest
	docker build -f docker/Dockerfile -t missive:latest .

compose-up: ## Start PostgreSQL and Missive with Docker Compose
	docker compose -f deploy/docker-compose.yml up --build -d

compose-down: ## Stop the Compose stack
	docker compose -f deploy/docker-compose.yml down

ci: ## Run what CI runs
	bash .ci/run
