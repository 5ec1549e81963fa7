"""Fail fast, with the fix, when the PostgreSQL or Redis that the second test pass needs is down."""

import socket
import sys
import time
from urllib.parse import urlparse

START_HINTS = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
}


def reachable(url: str, attempts: int = 10) -> bool:
    parsed = urlparse(url)
    default_port = 5432 if parsed.scheme.startswith("postgres") else 6379
    for _ in range(attempts):
        try:
            with socket.create_connection((parsed.hostname, parsed.port or default_port), 1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def main(urls: list[str]) -> int:
    down = [url for url in urls if not reachable(url)]
    for url in down:
        kind = "postgres" if url.startswith("postgres") else "redis"
        print(f"{url} is not reachable. Start it with:\n  {START_HINTS[kind]}", file=sys.stderr)
    return 1 if down else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
