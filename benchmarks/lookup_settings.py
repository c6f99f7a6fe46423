"""Benchmark-only settings (benchmarks/lookup.py): the product's own settings, with the URLconf
that adds the baseline route. Never used by the product itself."""

from certportal.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.lookup_urls"
