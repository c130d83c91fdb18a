#!/usr/bin/env bash
# `make run`: prepare the database and demo data, then start every process through honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m devstack
