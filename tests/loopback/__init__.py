"""Loopback HTTP servers that behave like real APIs, for tests and the demo."""
