"""Instrumentation of third-party client libraries: each sends a signal when something records."""
