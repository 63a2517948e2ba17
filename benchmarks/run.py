"""Run every tcpviz benchmark and print one table: timings, ratios, and the targets met or missed.

    .venv/bin/python benchmarks/run.py            # the full run (under two minutes)
    .venv/bin/python benchmarks/run.py --quick    # small counts, a few seconds
    .venv/bin/python benchmarks/run.py --markdown # the table as Markdown, for benchmarks/README.md

Exits 1 when a target is missed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

if __package__ in (None, ""):  # run as a script: make the sibling modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result


def _modules() -> dict[str, ModuleType]:
    """Each benchmark's module: its ``run(**counts)`` has the full counts as defaults, and its
    ``QUICK`` holds the small ones."""
    import bench_browser
    import bench_connection
    import bench_export
    import bench_live
    import bench_replay
    import bench_step

    return {
        "step": bench_step,
        "export": bench_export,
        "browser": bench_browser,
        "live": bench_live,
        "connection": bench_connection,
        "replay": bench_replay,
    }


def run_all(names: Sequence[str] | None = None, *, quick: bool = False) -> list[Result]:
    """Run the benchmarks called ``names`` (all by default) and return their results."""
    modules = _modules()
    names = list(modules) if not names else list(names)
    unknown = sorted(set(names) - set(modules))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown} (must be among {sorted(modules)})")
    results = []
    for name in names:
        module = modules[name]
        results.append(module.run(**module.QUICK) if quick else module.run())
    return results


def _ms(value: float) -> str:
    return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"


def _table(results: Sequence[Result], markdown: bool) -> list[str]:
    header = ("benchmark", "measurement", "median", "p95", "n")
    cells = [
        (r.name, x.label, _ms(x.median_ms), _ms(x.p95_ms), str(x.n), x.note)
        for r in results
        for x in r.rows
    ]
    if markdown:
        out = ["| " + " | ".join((*header, "how")) + " |", "|" + "---|" * (len(header) + 1)]
        out += ["| " + " | ".join(c) + " |" for c in cells]
        return out
    cells = [c[:-1] for c in cells]  # the notes make the terminal table too wide
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'>' if i >= 2 else '<'}{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [
        fmt.format(*c) for c in cells
    ]


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:,.0f}x"


def _heading(text: str, markdown: bool) -> list[str]:
    return ["", f"{text}:", ""] if markdown else ["", f"{text.lower()}:"]


def format_results(results: Sequence[Result], *, markdown: bool = False) -> str:
    """The results as one table, then the ratios, the targets and the notes."""
    bullet = "- " if markdown else "  "
    lines = _table([r for r in results if not r.skipped], markdown)
    ratios = [(r.name, label, value) for r in results for label, value in r.ratios.items()]
    if ratios:
        lines += _heading("Ratios (each from two rows of this same run)", markdown)
        lines += [f"{bullet}{name}: {label} = {_ratio(value)}" for name, label, value in ratios]
    checks = [(r.name, c) for r in results for c in r.checks]
    if checks:
        lines += _heading("Targets", markdown)
        lines += [
            f"{bullet}{'met' if c.ok else 'MISSED'}: {name}: {c.name} {c.target} (measured {c.value})"
            for name, c in checks
        ]
    notes = [(r.name, n) for r in results for n in r.notes]
    skipped = [(r.name, f"skipped: {r.skipped}") for r in results if r.skipped]
    if notes or skipped:
        lines += _heading("Notes", markdown)
        lines += [f"{bullet}{name}: {n}" for name, n in skipped + notes]
    return "\n".join(lines)


def print_results(results: Sequence[Result], *, markdown: bool = False) -> None:
    """Print :func:`format_results`."""
    print(format_results(results, markdown=markdown))


def machine_summary() -> str:
    """One line naming this machine, Python, Graphviz and the transitions version."""
    try:
        dot = subprocess.run(["dot", "-V"], capture_output=True, text=True, timeout=10).stderr
        dot = dot.strip().removeprefix("dot - ")
    except (OSError, subprocess.SubprocessError):
        dot = "no dot"
    try:
        from importlib.metadata import version

        transitions = f"transitions {version('transitions')}"
    except Exception:
        transitions = "no transitions"
    cpus = os.cpu_count() or 0
    # Other work on the machine moves every number here; say how busy it was.
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs{load}, Python "
        f"{platform.python_version()}, {dot}, {transitions}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        help="benchmarks to run: step, export, browser, live, connection, replay",
    )
    parser.add_argument("--quick", action="store_true", help="small counts, a few seconds")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run_all(args.names, quick=args.quick)
    elapsed = time.perf_counter() - start
    print_results(results, markdown=args.markdown)
    print(f"\n{machine_summary()}; {elapsed:.0f} s in all{' (--quick)' if args.quick else ''}")
    if args.json:
        # Written beside the target and moved into place, so a failure leaves no half file.
        target = Path(args.json)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(
            json.dumps([r.as_dict() for r in results], indent=2) + "\n", encoding="utf-8"
        )
        os.replace(temporary, target)
    return 0 if all(c.ok for r in results for c in r.checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
