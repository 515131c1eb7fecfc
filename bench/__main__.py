"""`python -m bench` runs every benchmark; `python -m bench entries dispatch` runs those."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

# Modules of the package that are not benchmarks themselves.
_NOT_BENCHMARKS = {"common"}


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(here)])
        if not module.name.startswith("_") and module.name not in _NOT_BENCHMARKS
    )


def main(argv: list[str]) -> int:
    known = available()
    unknown = [name for name in argv if name not in known]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    failed = []
    ran = 0
    for name in argv or known:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if not callable(run):
            continue
        print(f"# bench {name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            run()
            ran += 1
        except Exception:
            # One broken benchmark should not hide the others' figures.
            traceback.print_exc()
            failed.append(name)
        print(f"# bench {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    if not ran:
        print("no benchmark ran", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
