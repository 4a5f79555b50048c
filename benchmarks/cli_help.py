"""How long `guestnet --help` takes, against `python -c pass` as the floor.

Run: .venv/bin/python benchmarks/cli_help.py [N]   (default N=15). The target is ≤ 0.3 s.
It also lists the heavy modules that `--help` must not import.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("httpx", "textual", "ruamel", "yaml", "tui.vsphere.client", "ssl", "asyncio")


def median_seconds(argv: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    bindir = Path(sys.executable).parent
    script = bindir / "guestnet"
    if script.exists():
        help_argv = [str(script), "--help"]
    else:
        help_argv = [sys.executable, "-m", "tui", "--help"]
    floor = median_seconds([sys.executable, "-c", "pass"], n)
    helped = median_seconds(help_argv, n)
    probe = (
        "import contextlib, io, sys, tui.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    tui.cli.main(['--help'])\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().rsplit("HEAVY:", 1)[-1]
    print(f"python -c pass   median of {n}: {floor * 1000:7.1f} ms")
    print(f"guestnet --help  median of {n}: {helped * 1000:7.1f} ms  (target ≤ 300 ms)")
    print(f"heavy modules imported by --help: {loaded or 'none'}")
    return 0 if helped <= 0.3 and not loaded else 1


if __name__ == "__main__":
    sys.exit(main())
