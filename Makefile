.PHONY: run test lint bench

run:  ## the whole product, embedded, with demo data
	scripts/run.sh

test:  ## lint and tests on real PostgreSQL and Redis
	scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	scripts/bench.sh
