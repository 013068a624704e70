"""Litigation (诉讼催收): matters, filings and packets arrive with the litigation issue."""
