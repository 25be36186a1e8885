"""Benchmarks of the loansite package (found by ``loansite.bench.benchmarks``)."""

from loansite.dashboard import (
    benchmarks,  # noqa: F401
    reports_benchmarks,  # noqa: F401
)
