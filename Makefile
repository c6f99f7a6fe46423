# certportal — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PASSWORD ?= Demo-2026-pass

# Development defaults; the environment (or .env) overrides them.
export DEBUG ?= true

.PHONY: run test lint format messages worker clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11 ($(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --password "$(DEMO_PASSWORD)"
	@echo ""
	@echo "  certportal: http://$(HOST):$(PORT)/        管理后台: http://$(HOST):$(PORT)/admin/"
	@echo "  演示账号（密码均为 $(DEMO_PASSWORD)）: 13800000001 申报人 · institution 机构 · authority 发证机关 · admin 超级管理员"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l en --ignore ".venv/*" --ignore "tests/*"
	$(BIN)/python manage.py compilemessages -l en --ignore ".venv/*"

worker: $(STAMP)
	$(BIN)/celery -A certportal worker -B --loglevel INFO

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
