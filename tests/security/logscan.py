"""Every log line the test run writes, kept in test-artifacts/test-run.log and read at the end
for ID numbers (SPEC 7: never in logs). Wired into the root conftest's session hooks; worker
and server logs the tests keep under pytest's temporary directory are read too."""

from __future__ import annotations

import logging
import re
from pathlib import Path

# 18 characters standing alone: 17 digits and a check character.
CANDIDATE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


def id_numbers_in(text: str) -> set[str]:
    """The valid ID numbers (region, birth date and check character all right) in ``text``."""
    from django.core.exceptions import ValidationError

    from applicants.idcard import parse_id_number

    found = set()
    for match in CANDIDATE.findall(text):
        try:
            found.add(parse_id_number(match).number)
        except ValidationError:
            continue
    return found


class RunLog:
    def __init__(self, path: Path):
        self.path = path
        self.handler: logging.Handler | None = None

    def start(self) -> None:
        self.path.parent.mkdir(exist_ok=True)
        self.handler = logging.FileHandler(self.path, mode="w", encoding="utf-8")
        self.handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        logging.getLogger().addHandler(self.handler)

    def stop(self) -> None:
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)
            self.handler.close()
            self.handler = None

    def leaks(self, other_logs: list[Path]) -> dict[str, set[str]]:
        """{log file: ID numbers found in it}, for the run log and ``other_logs``."""
        found = {}
        for path in [self.path, *other_logs]:
            if path.is_file():
                numbers = id_numbers_in(path.read_text("utf-8", errors="replace"))
                if numbers:
                    found[str(path)] = numbers
        return found
