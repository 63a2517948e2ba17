"""Click-to-paint latency in a real browser, and the Python cost of one widget step.

Three measurements of the same loop (a client's life, then a server's, CLOSED back to CLOSED):

- in headless Chromium (Playwright, Debian's ``/usr/bin/chromium``), the standalone page of
  ``tcpviz.html.save_html``: a real mouse click on the event button, timed inside the page from
  the click event (its ``timeStamp``) to the end of the first frame rendered after the new
  state's ``<g>`` got the class ``current`` (``requestAnimationFrame``, then a message posted
  from it, which runs once that frame's style, layout and paint are done);
- in Python, one step of :class:`tcpviz.widget.TCPWidget` as the page drives it: the message
  ``{"type": "fire", "edge": ...}`` through ipywidgets' ``_handle_custom_msg`` (what the comm
  calls), the machine firing, the traits updated and serialised; no front end attached;
- beside them, transitions' ``GraphMachine`` showing the same step (``trigger`` then
  ``get_graph().pipe(format="svg")``), measured in this run.

Every program started while stepping is counted (``subprocess.Popen`` patched): tcpviz must
start none, so Graphviz never runs per step.

Run it alone with ``.venv/bin/python benchmarks/bench_browser.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the sibling helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Check,
    ProcessCounter,
    Result,
    count_processes,
    handshake_and_close,
    row,
    time_calls,
    transitions_machine,
)

from tcpviz import tcp_table
from tcpviz.html import save_html
from tcpviz.widget import TCPWidget

#: The system browser (Playwright launches it; ``playwright install`` is never needed).
CHROMIUM = os.environ.get("TCPVIZ_CHROMIUM", "/usr/bin/chromium")
#: The launch arguments checked on this kind of machine (see ECOSYSTEM.md).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]
PAINT = "browser: click to painted frame (standalone page)"
HANDLER = "browser: click to class 'current' set (page's click handler)"
WIDGET = "widget step in Python (fire message -> traits)"
TRANSITIONS = "transitions GraphMachine trigger + pipe(svg)"
#: One frame at 60 Hz: the target for a click to show.
FRAME_MS = 16.0
#: Every wait in the page and for Playwright is bounded by this.
TIMEOUT_MS = 5000

# Installed once in the page. A capture-phase listener notes the click before the widget's own
# handler runs; a MutationObserver notes when the expected state's <g> gets "current" (it runs
# right after the handler that changed the class); requestAnimationFrame then waits for the next
# frame, and a message posted from inside that callback is delivered only after the frame's
# rendering steps (style, layout, paint), so its time is when the change has been painted.
# A rAF loop counts frames, to tell whether the change made the first frame after the click.
_PROBE = r"""
() => {
  const b = { target: null };
  let frames = 0;
  const tick = () => { frames += 1; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  document.addEventListener("click", (e) => {
    if (b.target !== null && b.click === null) {
      b.click = e.timeStamp;
      b.frames = frames;
    }
  }, true);
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    b.result = { click: b.click, changed: b.changed, painted: performance.now(),
                 frames: b.paintFrames - b.frames };
    if (b.resolve) b.resolve(b.result);
  };
  new MutationObserver(() => {
    if (b.target === null || b.click === null || b.changed !== null) return;
    const g = document.getElementById(b.target);
    if (g && g.classList.contains("current")) {
      b.changed = performance.now();
      requestAnimationFrame(() => { b.paintFrames = frames; channel.port2.postMessage(0); });
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["class"] });
  window.__tcpvizBench = {
    arm(id) {
      Object.assign(b, { target: id, click: null, changed: null, frames: 0, paintFrames: 0,
                         result: null, resolve: null });
    },
    wait(ms) {
      if (b.result) return b.result;
      return new Promise((resolve, reject) => {
        b.resolve = resolve;
        setTimeout(() => reject(new Error(`state ${b.target} not painted within ${ms} ms`)), ms);
      });
    },
  };
}
"""


def browser_available() -> str:
    """Why the browser part cannot run here, or ``""`` when it can."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (install it with: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    return ""


def _measure_widget(steps: int, loop, table) -> tuple[list[float], ProcessCounter]:
    widget = TCPWidget()
    position = 0

    def step() -> None:
        nonlocal position
        transition = loop[position % len(loop)]
        position += 1
        widget._handle_custom_msg({"type": "fire", "edge": table.edge_ids[transition]}, [])

    for transition in loop:  # warm-up, and a check that each message moved the widget
        step()
        if widget.state != transition.target or widget.error:
            raise AssertionError(
                f"widget in {widget.state} ({widget.error!r}), expected {transition.target}"
            )
    with count_processes() as counted:
        samples = time_calls(step, steps)
    if widget.machine.state != loop[(position - 1) % len(loop)].target or widget.error:
        raise AssertionError(f"widget ended in {widget.state} ({widget.error!r})")
    widget.close()
    return samples, counted


def _measure_transitions(steps: int, loop) -> tuple[list[float], ProcessCounter]:
    _, model, triggers = transitions_machine()
    position = 0

    def step() -> None:
        nonlocal position
        model.trigger(triggers[loop[position % len(loop)].event])
        position += 1
        model.get_graph().pipe(format="svg")

    for _ in loop:
        step()
    with count_processes() as counted:
        samples = time_calls(step, steps)
    return samples, counted


def _measure_browser(clicks: int, loop, table) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    paint, changed, frames = [], [], []
    with tempfile.TemporaryDirectory(prefix="tcpviz-bench-") as folder:
        page_path = save_html(Path(folder) / "tcp.html", table=table, theme="light")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS, timeout=60_000
            )
            version = browser.version
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(TIMEOUT_MS)
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(page_path.as_uri())
                page.wait_for_selector('[data-testid="event-button"]')
                page.evaluate(_PROBE)
                counter = ProcessCounter()
                warmup = len(loop)
                for number in range(warmup + clicks):
                    transition = loop[number % len(loop)]
                    page.evaluate(
                        "id => window.__tcpvizBench.arm(id)", table.state_ids[transition.target]
                    )
                    button = page.locator(
                        f'[data-testid="event-button"][data-edge="{table.edge_ids[transition]}"]'
                    )
                    with count_processes() as counted:
                        button.click()
                        result = page.evaluate(f"() => window.__tcpvizBench.wait({TIMEOUT_MS})")
                    counter.commands += counted.commands
                    if number < warmup:
                        continue
                    paint.append((result["painted"] - result["click"]) / 1e3)
                    changed.append((result["changed"] - result["click"]) / 1e3)
                    frames.append(int(result["frames"]))
                shown = page.locator('[data-testid="state-name"]').inner_text()
                if errors:
                    raise AssertionError(f"the page raised: {errors}")
            finally:
                browser.close()
    return {
        "paint": paint,
        "changed": changed,
        "frames": frames,
        "processes": counter,
        "shown": shown,
        "version": version,
    }


def run(*, clicks: int = 300, widget_steps: int = 2000, graphviz_steps: int = 60) -> Result:
    """Measure ``clicks`` browser clicks, ``widget_steps`` widget steps in Python and
    ``graphviz_steps`` transitions steps."""
    table = tcp_table()
    loop = handshake_and_close(table)
    result = Result("browser", "Click to paint in Chromium; one widget step in Python")

    widget_times, widget_processes = _measure_widget(widget_steps, loop, table)
    transitions_times, transitions_processes = _measure_transitions(graphviz_steps, loop)
    widget_row = row(WIDGET, widget_times, "no front end attached")
    transitions_row = row(TRANSITIONS, transitions_times, "runs dot every step")

    reason = browser_available()
    if reason and os.environ.get("CI"):
        raise RuntimeError(f"the browser benchmark cannot run in CI: {reason}")
    if reason:
        result.notes.append(f"browser part skipped: {reason}")
        result.rows += [widget_row, transitions_row]
    else:
        measured = _measure_browser(clicks, loop, table)
        paint_row = row(PAINT, measured["paint"], "rAF after the class change")
        handler_row = row(HANDLER, measured["changed"])
        result.rows += [paint_row, handler_row, widget_row, transitions_row]
        result.ratios["transitions step / browser click to paint (median)"] = (
            transitions_row.median_ms / paint_row.median_ms
        )
        frames = measured["frames"]
        first = sum(f <= 1 for f in frames)
        browser_processes: ProcessCounter = measured["processes"]
        result.checks += [
            Check(
                "click to paint, median",
                f"< {FRAME_MS:g} ms",
                f"{paint_row.median_ms:.1f} ms",
                paint_row.median_ms < FRAME_MS,
            ),
            Check(
                "click to paint, p95",
                f"< {FRAME_MS:g} ms",
                f"{paint_row.p95_ms:.1f} ms",
                paint_row.p95_ms < FRAME_MS,
            ),
            Check(
                "programs started while clicking",
                "0",
                f"{browser_processes.count} in {len(frames)} clicks",
                browser_processes.count == 0,
            ),
        ]
        expected = loop[(len(loop) + clicks - 1) % len(loop)].target
        if measured["shown"].strip() != expected:
            raise AssertionError(f"the page shows {measured['shown']!r}, expected {expected}")
        result.notes += [
            f"{first} of {len(frames)} clicks ({100 * first / len(frames):.0f}%) were painted in "
            f"the first frame after the click; the rest in the second (max {max(frames)} frames)",
            f"Chromium {measured['version']}, headless, software rendering (--disable-gpu); "
            "a click waits for the next frame (up to 16.7 ms at 60 Hz) whatever the page does",
        ]
    result.ratios["transitions step / widget step in Python (median)"] = (
        transitions_row.median_ms / widget_row.median_ms
    )
    result.checks.append(
        Check(
            "programs started by widget steps",
            "0",
            f"{widget_processes.count} in {len(widget_times)} steps",
            widget_processes.count == 0,
        )
    )
    result.notes.append(
        f"transitions started dot {transitions_processes.named('dot')} times in "
        f"{len(transitions_times)} steps"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a quick look")
    args = parser.parse_args(argv)
    counts = {"clicks": 24, "widget_steps": 200, "graphviz_steps": 12} if args.quick else {}
    result = run(**counts)
    from run import print_results

    print_results([result])
    return 0 if all(c.ok for c in result.checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
