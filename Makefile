# Two commands: `make run` (app on demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# Only this machine by default: demo mode prints its password. `make run HOST=0.0.0.0`.
HOST ?= 127.0.0.1

.PHONY: run test lint bench clean-db help

help:
	@echo "make run   - set up .venv, migrate, seed demo data if empty, start http://$(HOST):$(PORT)"
	@echo "             (HOST=0.0.0.0 to serve the network; the demo password is printed)"
	@echo "make test  - set up .venv with dev requirements and run the whole suite"
	@echo "make lint  - ruff"

$(VENV)/.run-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.run-installed $@

run: $(VENV)/.run-installed
	$(PY) -m crm init-db
	$(PY) -m crm seed-demo --if-empty
	$(PY) -m crm demo-logins
	@echo "Qifu is starting on http://$(HOST):$(PORT) (demo mode: the password above works for every demo login)"
	CRM_DEMO_MODE=1 $(PY) -m streamlit run streamlit_app.py --server.address $(HOST) --server.port $(PORT)

test: $(VENV)/.dev-installed
	$(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean-db:
	rm -f data/qifu.db data/qifu.db-wal data/qifu.db-shm
