#!/usr/bin/env bash
# Install the system programs the stack and the tests need, when they are missing:
# redis-server (broker), chromium (browser tests), pebble (the ACME test CA the local
# CloudFront stand-in gets certificates from), and PostgreSQL when asked (CI).
# Uses apt-get on Debian/Ubuntu (as root, or through sudo); elsewhere says what to install.
set -euo pipefail

want=("$@")
missing=()
for program in "${want[@]}"; do
  case "$program" in
    redis-server) command -v redis-server >/dev/null || missing+=(redis-server) ;;
    # Fonts too, so the screenshots the browser tests save show real text.
    chromium) command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium fonts-liberation) ;;
    # Debian installs it as /usr/bin/pebble (2.4.0 in bookworm/trixie).
    pebble) command -v pebble >/dev/null || [ -x /usr/bin/pebble ] || missing+=(pebble) ;;
    postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql) ;;
    *) echo "system-packages.sh: unknown program $program" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing with apt-get: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Please install these programs and run the command again: ${missing[*]}" >&2
  echo "(macOS: brew install redis chromium pebble postgresql)" >&2
  exit 1
fi
