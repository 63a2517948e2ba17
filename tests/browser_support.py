"""Support for the real-browser tests: Debian's Chromium, free ports, quiet Jupyter servers,
screenshots, and a driver that reads and clicks a tcpviz diagram the way a student would.

The browser is the system one (``/usr/bin/chromium``), launched by Playwright with
``executable_path``: ``playwright install`` downloads a browser and is never needed. Without
the browser the tests skip with the reason, except under CI (``CI`` set), where they fail, since
the CI set-up installs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tcpviz import Machine, Table

REPO = Path(__file__).resolve().parents[1]
#: Screenshots of key steps land here (git-ignored), for a human to look at after a run.
ARTIFACTS = REPO / "test-artifacts"
#: Jupyter settings that keep servers quiet in tests (no news toast, no update check).
JUPYTER_SETTINGS = Path(__file__).resolve().parent / "jupyter-settings"

CHROMIUM = Path(os.environ.get("TCPVIZ_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",  # the tests may run as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]
#: Playwright's own waits (clicks, expect), in milliseconds: generous for a slow CI box, but
#: short enough that a broken page fails in seconds rather than hanging.
WAIT_MS = 5_000
#: How long a Jupyter server may take to answer HTTP (seconds).
SERVER_START_S = 60
#: How long a server may take to stop after SIGTERM before it is killed (seconds).
SERVER_STOP_S = 10


def require_chromium() -> Path:
    """The browser's path; skip (or, under CI, fail) with the reason when it is missing."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = (
        f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` "
        "(or set TCPVIZ_CHROMIUM to a Chromium/Chrome binary)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


def launch_options() -> dict[str, object]:
    """Keyword arguments for ``playwright.chromium.launch``."""
    return {"executable_path": str(require_chromium()), "headless": True, "args": LAUNCH_ARGS}


def artifact_path(test_name: str, step: str) -> Path:
    """Where a screenshot of ``step`` of a test goes: ``test-artifacts/<test>/<step>.png``."""
    folder = ARTIFACTS / re.sub(r"[^0-9A-Za-z_.-]+", "_", test_name).strip("_")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{re.sub(r'[^0-9A-Za-z_.-]+', '_', step)}.png"


# -- Jupyter servers --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def quiet_jupyter_env(home: Path) -> dict[str, str]:
    """An environment for a Jupyter server whose configuration, runtime files, user settings and
    workspaces all live under ``home``, so that neither the user's own Jupyter set-up leaks into
    a test nor a test into it. The user settings start as a copy of ``tests/jupyter-settings``."""
    settings = home / "lab-user-settings"
    shutil.copytree(JUPYTER_SETTINGS, settings, dirs_exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "JUPYTER_PLATFORM_DIRS": "1",
            # The kernel imports tcpviz from this checkout, however pytest was started.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    env.pop("JUPYTER_TOKEN", None)
    return env


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def serve(
    argv: Sequence[str],
    ready_url: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    timeout: float = SERVER_START_S,
) -> Iterator[subprocess.Popen]:
    """Start a server, wait (at most ``timeout`` seconds) until ``ready_url`` answers 200, and
    always stop it (and the kernels it started) on the way out.

    The server runs in its own process group, so the kernels it spawns are stopped with it even
    if it dies without cleaning up.
    """
    with open(log, "wb") as out:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:  # bounded by the deadline
            if process.poll() is not None:
                raise AssertionError(
                    f"{argv[2] if len(argv) > 2 else argv[0]} exited with {process.returncode} "
                    f"before it served {ready_url}; its log:\n{_log_tail(log)}"
                )
            try:
                with urllib.request.urlopen(ready_url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no answer from {ready_url} within {timeout:.0f} s; server log:\n"
                    f"{_log_tail(log)}"
                )
            time.sleep(0.25)
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=SERVER_STOP_S)
    # Kernels live in the same group and may outlive a server that stopped on its own.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=SERVER_STOP_S)


@contextlib.contextmanager
def voila(notebook: Path, home: Path, *, theme: str = "light") -> Iterator[str]:
    """Serve ``notebook`` with Voila on 127.0.0.1; yields the page's URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    argv = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",  # a taken port must fail loudly, not move elsewhere
        f"--theme={theme}",
        "--show_tracebacks=True",
    ]
    # Voila runs the notebook when the page is requested, so "ready" is its static files.
    ready = f"{url}voila/static/voila.js"
    with serve(
        argv,
        ready,
        cwd=notebook.parent,
        env=quiet_jupyter_env(home),
        log=home / "voila.log",
    ):
        yield url


@contextlib.contextmanager
def jupyterlab(root: Path, home: Path) -> Iterator[str]:
    """Serve JupyterLab on 127.0.0.1 over ``root``, without a token; yields the base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        # No update check on the server side; the news feed is off in the user settings.
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--allow-root",
    ]
    with serve(
        argv,
        f"{url}lab",
        cwd=root,
        env=quiet_jupyter_env(home),
        log=home / "jupyterlab.log",
    ):
        yield url


# -- reading and clicking a diagram -----------------------------------------------------------


class Expected:
    """What the page must show after each step: a machine on the same table, fired in Python."""

    def __init__(self, table: Table):
        self.table = table
        self.machine = Machine(table)

    def fire(self, event: str) -> str:
        """Fire ``event`` and return the edge id the page must mark as last."""
        transition = self.machine.fire(event)
        return self.table.edge_ids[transition]

    @property
    def state_id(self) -> str:
        return self.table.state_ids[self.machine.state]

    @property
    def last_edge(self) -> str | None:
        last = self.machine.last
        return None if last is None else self.table.edge_ids[last]

    @property
    def enabled_edges(self) -> set[str]:
        return {self.table.edge_ids[t] for t in self.machine.enabled()}


def wait_for_connected_kernel(url: str, timeout: float = 2 * SERVER_START_S) -> None:
    """Poll the server's REST API (bounded) until a kernel is idle with a page connected."""
    deadline = time.monotonic() + timeout
    kernels: object = "no answer yet"
    while True:  # bounded by the deadline
        try:
            with urllib.request.urlopen(f"{url}api/kernels", timeout=5) as response:
                kernels = json.load(response)
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as error:
            # A busy server answers 500 now and then (HTTPError is a URLError), or half a
            # body: ask again until the deadline rather than fail the test on one bad answer.
            kernels = f"{type(error).__name__}: {error}"
        else:
            if any(k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels):
                return
        assert time.monotonic() < deadline, (
            f"no connected, idle kernel after {timeout} s: {kernels}"
        )
        time.sleep(0.25)


def code_notebook(path: Path, *sources: str) -> Path:
    """Write a notebook of code cells at ``path`` for the Python 3 kernel, as a student's."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return path
