"""Demo data: a registry of seeders that each app fills from its own ``demo.py``.

``manage.py seed_demo`` builds a :class:`DemoContext` (seeded random generator, target
counts, "now") and runs every registered seeder in order. Seeders share what they made
through ``ctx.made`` (e.g. ``ctx.made["customers"]``), so later apps build on earlier ones.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules


@dataclass
class DemoContext:
    seed: int = 20261123
    customers: int = 500
    applications: int = 2000
    now: datetime = field(default_factory=timezone.now)
    log: Callable[[str], None] = print
    made: dict = field(default_factory=dict)
    rng: np.random.Generator = field(init=False)

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)

    def child_rng(self, name: str) -> np.random.Generator:
        """An independent stream per seeder, so adding one never shifts another's data."""
        return np.random.default_rng([self.seed, *name.encode()])


@dataclass(frozen=True)
class _Seeder:
    order: int
    name: str
    func: Callable[[DemoContext], None]


_SEEDERS: dict[str, _Seeder] = {}


def demo_seeder(*, order: int, name: str | None = None):
    """Register ``func(ctx)`` to run at ``order`` (customers 10, loans 20, risk 30, scoring 40)."""

    def register(func):
        key = name or f"{func.__module__}.{func.__name__}"
        _SEEDERS[key] = _Seeder(order, key, func)
        return func

    return register


def demo_seeders() -> list[_Seeder]:
    autodiscover_modules("demo")
    return sorted(_SEEDERS.values(), key=lambda s: (s.order, s.name))


def demo_run(ctx: DemoContext) -> None:
    for seeder in demo_seeders():
        ctx.log(f"seeding {seeder.name} ...")
        seeder.func(ctx)
