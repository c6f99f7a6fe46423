"""The demo-data protocol: each app may have a ``demo.py`` with ``seed(ctx: DemoContext)``.

``seed_demo`` calls them in INSTALLED_APPS order (lower layers first), so a higher app can use
what a lower one seeded through ``ctx.objects`` without any lower app importing a higher one.
Every ``seed`` must be idempotent: running the command twice leaves the same records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DemoContext:
    password: str
    users: list[dict[str, str]] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)

    def add_user(self, role: str, username: str) -> None:
        self.users.append({"role": role, "username": username, "password": self.password})

    def summary(self) -> dict[str, Any]:
        return {"users": self.users, "certificates": self.certificates}
