"""The benchmark harness (issue 9): `make bench`, or `.venv/bin/python -m bench --help`.

Every figure is measured against a baseline in the same run, on the embedded default (SQLite) and on
PostgreSQL when one is reachable, and the report goes to bench/results/ (Markdown and JSON).
docs/performance.md explains each figure, its baseline and what limits it.
"""
