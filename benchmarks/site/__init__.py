"""A small Django site that serves the concurrency benchmark's views.

The panel variant it shows is chosen by the ``DJDT_BENCH_PANEL`` environment
variable (see ``settings.py``), so each variant runs in a server of its own.
"""
