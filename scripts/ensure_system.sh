#!/usr/bin/env bash
# What `make test` needs beyond Python: the machine's PostgreSQL and Redis running, Debian's
# chromium for the browser tests, GNU gettext for the catalogue test, and Debian's prometheus for the metrics tests and prometheus-alertmanager for the silence tests (started by the
# tests themselves on loopback; its packaged service is never used). Starts or installs what is missing (as root);
# otherwise says what to run. Playwright never downloads a browser here.
set -uo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  # A machine where the package's service never ran may lack its folders.
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
if ! command -v xgettext >/dev/null || ! command -v msgfmt >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    # GNU gettext: `make messages` and the catalogue test (tests/core/test_languages.py).
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext
  else
    echo "The translation tests need Debian's gettext: sudo apt-get install gettext" >&2
    exit 1
  fi
fi
if ! command -v prometheus >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    # Whatever service the package may start is left alone: the tests use a free port.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
  else
    echo "The metrics tests need Debian's prometheus: sudo apt-get install prometheus" >&2
    exit 1
  fi
fi
if ! command -v prometheus-alertmanager >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    # For the alertmanager channel tests, which start their own on a free port.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager
  else
    echo "The alertmanager tests need Debian's prometheus-alertmanager: sudo apt-get install prometheus-alertmanager" >&2
    exit 1
  fi
fi
