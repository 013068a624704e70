"""Caseport benchmarks (issue #2). Run them all with ``.venv/bin/python bench/run.py``; see README.md."""
