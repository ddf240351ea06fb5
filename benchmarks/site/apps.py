from __future__ import annotations

from django.apps import AppConfig


class BenchSiteConfig(AppConfig):
    name = "benchmarks.site"
    # "site" alone would read like Python's own site module.
    label = "benchsite"
    verbose_name = "Benchmark site"
