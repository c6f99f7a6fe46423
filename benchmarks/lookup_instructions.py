"""Instructions per public lookup, counted by valgrind: the figure that does not move with the
machine's load.

Run: ``.venv/bin/python benchmarks/lookup_instructions.py [--endpoints page_get,api_get]``
after ``benchmarks/lookup.py`` has seeded its database (valgrind from Debian's package).

Requests per second on a shared 2-core machine move by 10–30 % from one run to the next, and
CPU time per request (``benchmarks/lookup_cpu.py``) with them. ``valgrind --tool=callgrind``
counts the instructions a process executes, which is the same for the same code, inputs and
database however busy the machine is: what a change to a lookup's code saves shows as a
difference of a few per cent, run after run. For each lookup, ``lookup_cpu.py`` runs under
callgrind twice, with ``--short`` and with ``--long`` requests after the same warm-up, and the
difference of the two counts over the difference of the requests is what one request costs,
start-up excluded. The baseline (the minimal view running the same indexed query) is counted
in the same run; each lookup is shown as its count over the baseline's. Work done by
PostgreSQL and Redis is theirs, not counted. About a minute of machine time per lookup.

Prints JSON, then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.lookup import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, ENDPOINTS  # noqa: E402

SHORT, LONG, WARM_UP = 20, 120, 30
COLLECTED = re.compile(r"Collected : (\d+)")


def count(endpoint: str, requests: int, args, workdir: Path) -> int:
    """Instructions of one ``lookup_cpu.py`` process serving ``requests`` requests."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={workdir / f'{endpoint}.{requests}.out'}",
        sys.executable,
        str(ROOT / "benchmarks" / "lookup_cpu.py"),
        f"--endpoints={endpoint}",
        f"--requests={requests}",
        f"--warm-up={args.warm_up}",
        f"--database-url={args.database_url}",
        f"--redis-url={args.redis_url}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode or not found:
        raise SystemExit(
            f"{endpoint}: valgrind 运行失败\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--short", type=int, default=SHORT)
    parser.add_argument("--long", type=int, default=LONG)
    parser.add_argument("--warm-up", type=int, default=WARM_UP)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("需要 valgrind（apt-get install valgrind）")
    endpoints = args.endpoints.split(",")
    if "baseline" not in endpoints:
        endpoints.insert(0, "baseline")

    with tempfile.TemporaryDirectory(prefix="certportal-bench-instructions-") as tmp:
        runs = [(endpoint, n) for endpoint in endpoints for n in (args.short, args.long)]
        # Counts do not depend on what else runs: the processes may share the cores.
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            counts = dict(
                zip(runs, pool.map(lambda run: count(*run, args, Path(tmp)), runs), strict=True)
            )
    per_request = {
        endpoint: round(
            (counts[endpoint, args.long] - counts[endpoint, args.short]) / (args.long - args.short)
        )
        for endpoint in endpoints
    }
    base = per_request["baseline"]
    result = {
        "requests": [args.short, args.long],
        "endpoints": {
            endpoint: {"instructions": n, "over_baseline": round(n / base, 2)}
            for endpoint, n in per_request.items()
        },
    }
    print(json.dumps(result, indent=2))
    print(f"\ninstructions per request ({args.long} − {args.short} requests, callgrind)")
    print(f"{'lookup':<10} {'millions':>9} {'÷ base':>7}")
    for endpoint, figures in result["endpoints"].items():
        print(f"{endpoint:<10} {figures['instructions'] / 1e6:>9.2f} {figures['over_baseline']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
