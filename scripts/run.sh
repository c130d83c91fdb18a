#!/usr/bin/env bash
# `make run`: migrate, seed the demo cast, then start every process of the stack through honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

python manage.py migrate --no-input -v0
python manage.py seed_demo

cat <<MSG

  VE.AI custom domains is starting.
  Portal:  http://127.0.0.1:${PORT:-8000}/   (sign in as alice / ve-demo-2026)
  Admin:   http://127.0.0.1:${PORT:-8000}/admin/   (support / ve-demo-2026)
  Ctrl-C stops everything.

MSG
exec honcho start -f Procfile
