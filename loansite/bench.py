"""The benchmark registry. Apps register benchmarks in their ``benchmarks.py``.

A benchmark is ``func(ctx) -> list[Figure]``; each figure carries a baseline measured in
the same run (the plain way of doing the same work), so the ratio means something on
whatever machine runs it. Benchmarks build their own data in the bench database.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.utils.module_loading import autodiscover_modules


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline_value: float | None = None
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value


@dataclass
class BenchContext:
    scale: float
    workdir: Path
    log: Callable[[str], None] = print

    def n(self, full_size: int, minimum: int = 100) -> int:
        """``full_size`` (the size an issue asks for) times the scale."""
        return max(minimum, int(full_size * self.scale))


@dataclass(frozen=True)
class _Benchmark:
    order: int
    name: str
    func: Callable[[BenchContext], list[Figure]]


_BENCHMARKS: dict[str, _Benchmark] = {}


def benchmark(*, name: str, order: int = 100):
    def register(func):
        _BENCHMARKS[name] = _Benchmark(order, name, func)
        return func

    return register


def benchmarks() -> list[_Benchmark]:
    autodiscover_modules("benchmarks")
    return sorted(_BENCHMARKS.values(), key=lambda b: (b.order, b.name))


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def figures_table(figures: list[Figure]) -> str:
    head = "| figure | value | unit | baseline (same run) | baseline value | ratio | target |\n"
    head += "|---|---:|---|---|---:|---:|---|\n"
    rows = [
        f"| {f.name} | {_fmt(f.value)} | {f.unit} | {f.baseline_name} | {_fmt(f.baseline_value)} | "
        f"{_fmt(f.ratio)} | {f.target} |"
        for f in figures
    ]
    return head + "\n".join(rows) + "\n"


def bench_client_login(client, user) -> None:
    """Sign ``client`` in as ``user`` for a page benchmark, past the second factor where the
    user's role requires one (an authenticator enrolled for the benchmark's own account)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from loansite.two_factor.selectors import two_factor_enrolled, two_factor_required

    client.force_login(user)
    if two_factor_required(user) or two_factor_enrolled(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="Benchmark authenticator", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
