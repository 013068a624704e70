"""Intake: CSV/XLSX imports of cases (validation over the whole file, then one commit)."""
