"""Benchmarks for djdt-signalpanels; see README.md."""
