"""Benchmarks: `make bench` prints figures; no test asserts a time.

Each module exposes `run() -> list[tuple[str, str]]` (label, figure) and runs inside a
process whose database was created fresh for it (see __main__).
"""
