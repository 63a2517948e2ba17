"""The JupyterLite site: the lock rewriting (unit), a real build (offline, from the cache that
``scripts/setup.sh --test`` fills), and notebook 01 run in Chromium from a static server on
127.0.0.1, with a click on the widget checked against Python's machine."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import REPO, Expected, artifact_path, launch_options

spec = importlib.util.spec_from_file_location("build_lite", REPO / "scripts" / "build_lite.py")
build_lite = importlib.util.module_from_spec(spec)
sys.modules["build_lite"] = build_lite  # dataclasses look their module up by name
spec.loader.exec_module(build_lite)

NOTEBOOK = "01-three-way-handshake.ipynb"
#: A whole build from the cache took 13-16 s here; a first load and run of notebook 01 in
#: Chromium 45 s. The bounds leave room for a loaded CI machine.
BUILD_TIMEOUT_S = 300
RUN_ALL_TIMEOUT_MS = 240_000


def make_wheel(folder: Path, name: str, version: str, requires: list[str], top: str) -> Path:
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
        whl.writestr(f"{name}-{version}.dist-info/METADATA", meta)
        whl.writestr(f"{top}/__init__.py", "")
    return path


# -- the lock, without a build ----------------------------------------------------------------


def test_depends_follow_the_browser_markers_and_extras(tmp_path: Path) -> None:
    wheel = build_lite.Wheel.read(
        make_wheel(
            tmp_path,
            "demo",
            "1.0",
            [
                "alpha>=1",
                "pexpect>4.3; sys_platform != 'win32' and sys_platform != 'emscripten'",
                "tomli; python_version < '3.11'",
                "anywidget>=0.9; extra == 'widget'",
                "widgetsnbextension~=4.0",
            ],
            "demo",
        )
    )
    assert wheel.imports == ("demo",)
    assert wheel.depends() == ["alpha"]  # no pexpect in the browser, no tomli on 3.14
    assert wheel.depends(["widget"]) == ["alpha", "anywidget"]  # and the dropped front end


def test_lock_names_only_shipped_wheels_with_their_hashes(tmp_path: Path) -> None:
    a = make_wheel(tmp_path, "alpha", "2.0", [], "alpha")
    b = make_wheel(tmp_path, "beta_pkg", "0.1", ["alpha", "gamma; extra == 'more'"], "beta")
    wheels = {w.name.replace("_", "-"): w for w in map(build_lite.Wheel.read, (a, b))}
    lock = {"info": {"python": "3.14.2"}, "packages": {"numpy": {"file_name": "numpy.whl"}}}
    new = build_lite.rewrite_lock(lock, wheels, {})
    assert new["info"] == lock["info"]
    assert sorted(new["packages"]) == ["alpha", "beta-pkg"]  # numpy is not in the site: gone
    entry = new["packages"]["beta-pkg"]
    assert entry["file_name"] == b.name
    assert entry["sha256"] == build_lite.sha256(b)
    assert entry["depends"] == ["alpha"]
    assert entry["imports"] == ["beta"]
    with pytest.raises(build_lite.BuildError, match="beta-pkg needs gamma"):
        build_lite.rewrite_lock(lock, wheels, {"beta-pkg": ("more",)})


def test_trimmed_wheels_keep_the_code_and_a_true_record(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    path = source / "demo-1.0-py3-none-any.whl"
    files = {
        "demo/__init__.py": "x = 1\n",
        "demo/testing.py": "",  # a module the package imports: kept
        "demo/tests/test_x.py": "",
        "demo/sub/tests/__init__.py": "",
        "demo-1.0.data/data/share/jupyter/labextensions/demo/package.json": "{}",
        "demo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    }
    record = "".join(f"{name},sha256=x,1\n" for name in files) + "demo-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as whl:
        for name, text in {**files, "demo-1.0.dist-info/RECORD": record}.items():
            whl.writestr(zipfile.ZipInfo(name, (2020, 2, 2, 0, 0, 0)), text)
    out = [tmp_path / "a", tmp_path / "b"]
    for folder in out:
        folder.mkdir()
        build_lite.trim_wheel(path, folder)
    one, two = (folder / path.name for folder in out)
    assert one.read_bytes() == two.read_bytes()  # deterministic
    with zipfile.ZipFile(one) as whl:
        names = whl.namelist()
        kept_record = whl.read("demo-1.0.dist-info/RECORD").decode()
    assert names == [
        "demo/__init__.py",
        "demo/testing.py",
        "demo-1.0.dist-info/METADATA",
        "demo-1.0.dist-info/RECORD",
    ]
    assert [line.split(",")[0] for line in kept_record.splitlines()] == names
    assert build_lite.Wheel.read(one).imports == ("demo",)


def test_only_pure_wheels_and_well_formed_pins(tmp_path: Path) -> None:
    compiled = tmp_path / "psygnal-0.16.1-cp311-cp311-manylinux_2_28_x86_64.whl"
    compiled.write_bytes(b"")
    with pytest.raises(build_lite.BuildError, match="not a pure-Python wheel"):
        build_lite.Wheel.read(compiled)
    bad = tmp_path / "requirements.txt"
    bad.write_text("# fine\nnetworkx>=3\n")
    with pytest.raises(build_lite.BuildError, match=r"requirements.txt:2: expected"):
        build_lite.read_requirements(bad)


def test_pins_cover_every_dependency_of_the_site() -> None:
    """lite/requirements.txt is closed: every wheel's browser dependencies are pinned too."""
    pins = build_lite.read_requirements()
    assert {build_lite.canonical(r) for r in build_lite.ROOTS} <= set(pins)
    assert "tcpviz" not in pins  # built from this tree
    for dropped in build_lite.DROPPED:
        assert dropped not in pins


def test_site_notebooks_name_the_pyodide_kernel(tmp_path: Path) -> None:
    dest = tmp_path / NOTEBOOK
    build_lite.copy_notebook(REPO / "notebooks" / NOTEBOOK, dest)
    copied, original = (json.loads(p.read_text()) for p in (dest, REPO / "notebooks" / NOTEBOOK))
    assert copied["metadata"]["kernelspec"]["name"] == "python"
    assert copied["cells"] == original["cells"]
    (tmp_path / "broken.ipynb").write_text("{")
    with pytest.raises(build_lite.BuildError, match=r"broken.ipynb is not a notebook"):
        build_lite.copy_notebook(tmp_path / "broken.ipynb", tmp_path / "out.ipynb")


def test_a_build_never_replaces_a_folder_it_did_not_build(tmp_path: Path) -> None:
    precious = tmp_path / "course"
    precious.mkdir()
    (precious / "syllabus.pdf").write_bytes(b"%PDF")
    with pytest.raises(build_lite.BuildError, match="not empty and not a site built"):
        build_lite.build(precious)
    assert (precious / "syllabus.pdf").read_bytes() == b"%PDF"
    (tmp_path / "file").write_text("x")
    with pytest.raises(build_lite.BuildError, match="is a file"):
        build_lite.build(tmp_path / "file")
    assert build_lite.main(["-o", str(precious)]) == 1  # one line on stderr, no traceback


def test_the_start_page_says_which_notebooks_need_a_real_machine(tmp_path: Path) -> None:
    plain, live = tmp_path / "01-plain.ipynb", tmp_path / "05-live.ipynb"
    plain.write_text(json.dumps({"cells": [{"source": ["# 1 · Plain"]}], "metadata": {}}))
    meta = {"tcpviz": {"browser": False, "why": "it reads <this> machine's sockets"}}
    live.write_text(json.dumps({"cells": [{"source": ["# 5 · Live"]}], "metadata": meta}))
    assert build_lite.browser_limit(plain) is None
    page = build_lite.landing_page([plain, live], [])
    first, second = (line for line in page.splitlines() if line.startswith("<li>"))
    assert "not in the browser" not in first
    assert "not in the browser: it reads &lt;this&gt; machine&#x27;s sockets" in second


# -- a real build ---------------------------------------------------------------------------------


def _cache_ready() -> bool:
    cache = build_lite.DEFAULT_CACHE
    return (cache / "npm" / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file() and (
        len(list((cache / "wheels").glob("*.whl"))) >= len(build_lite.read_requirements())
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module by the command a teacher runs, with the network
    shut for pip and npm: once fetched, the build needs none."""
    if not _cache_ready():
        reason = "the JupyterLite cache is empty: run python scripts/build_lite.py --fetch-only"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (scripts/setup.sh --test does)", pytrace=False)
        pytest.skip(reason)
    output = tmp_path_factory.mktemp("lite") / "site"
    env = {**os.environ, "PIP_NO_INDEX": "1", "npm_config_offline": "true"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_lite.py"), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    print(f"site built in {time.monotonic() - started:.1f} s: {done.stderr.strip()}")
    return output


def test_site_holds_every_notebook_page_and_wheel(site: Path) -> None:
    files = site / "files"
    assert sorted(p.name for p in (files / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in (REPO / "notebooks").glob("*.ipynb")
    )
    assert (files / "examples" / "simplified-tcp.toml").is_file()  # notebook 03 reads it
    pages = sorted(p.name for p in (site / "pages").glob("*.html"))
    assert pages == ["tcp-state-machine-extended.html", "tcp-state-machine.html"]
    assert "tcpviz-widget" in (site / "pages" / "tcp-state-machine.html").read_text()

    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert kernel["disablePyPIFallback"] is True
    extensions = {e["name"] for e in config["federated_extensions"]}
    assert extensions == set(build_lite.SITE_EXTENSIONS)  # nothing else from the build's Python
    # The widget front ends come from the pinned wheels (the page's half of each widget
    # library matches the kernel's), not from whatever the building Python has installed.
    for project, (name, pins) in {
        "anywidget": ("anywidget", build_lite.REQUIREMENTS),
        "jupyterlab-widgets": (
            "@jupyter-widgets/jupyterlab-manager",
            build_lite.EXTENSION_REQUIREMENTS,
        ),
    }.items():
        version = build_lite.read_requirements(pins)[project][0]
        wheel = build_lite.wheel_in(build_lite.DEFAULT_CACHE / "wheels", project, version)
        with zipfile.ZipFile(wheel) as whl:
            member = next(
                n for n in whl.namelist() if n.endswith(f"labextensions/{name}/package.json")
            )
            assert json.loads(whl.read(member)) == json.loads(
                (site / "extensions" / name / "package.json").read_text()
            )

    lock = json.loads((site / "static" / "pyodide" / "pyodide-lock.json").read_text())
    tcpviz = lock["packages"]["tcpviz"]
    assert tcpviz["imports"] == ["tcpviz"]
    assert set(tcpviz["depends"]) >= {"networkx", "graphviz", "anywidget", "ipywidgets"}
    assert "numpy" not in lock["packages"]
    with zipfile.ZipFile(site / "static" / "pyodide" / tcpviz["file_name"]) as whl:
        assert "tcpviz/web/static/widget.js" in whl.namelist()  # built from this tree
    with zipfile.ZipFile(
        site / "static" / "pyodide" / lock["packages"]["networkx"]["file_name"]
    ) as whl:
        assert not [n for n in whl.namelist() if "/tests/" in n]  # trimmed, as Pyodide does
    assert not list(site.rglob("*.map"))
    marker = json.loads((site / build_lite.SITE_MARKER).read_text())
    assert tcpviz["file_name"] in marker["wheels"]


def test_start_page_links_every_notebook_and_page(site: Path) -> None:
    import re
    import urllib.parse

    start = (site / "start.html").read_text()
    links = re.findall(r'href="([^"]+)"', start)
    for link in links:
        parsed = urllib.parse.urlparse(link)
        assert not parsed.scheme and not parsed.netloc, link  # relative: works on any host
        target = site / parsed.path
        assert target.is_file(), link
        for path in urllib.parse.parse_qs(parsed.query).get("path", []):
            assert (site / "files" / path).is_file(), link
    notebooks = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    for name in notebooks:
        assert f"notebooks/index.html?path=notebooks/{name}" in links
        assert f"lab/index.html?path=notebooks/{name}" in links
    assert "pages/tcp-state-machine.html" in links
    assert "The three-way handshake" in start  # notebook 01's title, not its file name


def test_site_loads_nothing_from_another_host(site: Path) -> None:
    build_lite.check_site(site)  # the same check the build ran, on the finished folder
    config = (site / "jupyter-lite.json").read_text()
    assert "cdn.jsdelivr" not in config
    assert "pypi.org" not in config


# -- in the browser ---------------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    # What a static host sends; Python's table lacks .mjs on 3.10 and 3.11.
    extensions_map = {  # noqa: RUF012 - the base class's own attribute, extended
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 from a thread, as any static web host would; stopped after."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


FIRST_RUN_JS = """() => {
  const prompt = document.querySelector('.jp-Notebook .jp-CodeCell .jp-InputPrompt');
  return prompt !== null && /\\[\\d+\\]/.test(prompt.textContent);
}"""
ALL_RUN_JS = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every((p) => /\\[\\d+\\]/.test(p.textContent));
}"""


KERNEL_READY_JS = """() => {
  const bar = document.querySelector('#jp-main-statusbar');
  return bar !== null && /\\|\\s*Idle/.test(bar.textContent);
}"""
STARTED_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
  .some((p) => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


def run_all_cells(page, request) -> None:
    """Run > Run All Cells, as a student does, once the Pyodide kernel is up.

    Clicked while the session has no kernel yet (a loaded machine, a cold cache), JupyterLab
    asks to start one instead of queueing the cells, so the click can do nothing: wait for the
    status bar's "Idle" first, check that a cell was queued, and click again if not (bounded).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(KERNEL_READY_JS, timeout=RUN_ALL_TIMEOUT_MS)
    except PlaywrightTimeout:
        page.screenshot(path=artifact_path(request.node.name, "kernel-not-ready"))
        status = page.locator("#jp-main-statusbar").all_text_contents()
        dialogs = page.locator(".jp-Dialog").all_text_contents()
        pytest.fail(f"the Pyodide kernel was not idle in time: status {status}, dialogs {dialogs}")
    for _attempt in range(3):
        # No "Select Kernel" dialog: the site's copy names the Pyodide kernel.
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(STARTED_JS, timeout=20_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")  # close a menu left open, then try again
    page.screenshot(path=artifact_path(request.node.name, "run-all-did-nothing"))
    dialogs = page.locator(".jp-Dialog").all_text_contents()
    pytest.fail(f"Run All Cells queued no cell in three tries; dialogs: {dialogs}")


@pytest.mark.browser
def test_notebook_01_runs_in_the_browser_and_a_click_lights_the_state(site, request) -> None:
    from playwright import sync_api

    options = launch_options()  # skips (or fails under CI) without Chromium
    loaded: dict[str, int] = {}
    with static_server(site) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(30_000)
            context.on(
                "response",
                lambda r: loaded.__setitem__(r.url, int(r.headers.get("content-length") or 0)),
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            foreign: list[str] = []
            context.on(
                "request",
                lambda r: (
                    None if r.url.startswith((url, "data:", "blob:")) else foreign.append(r.url)
                ),
            )
            started = time.monotonic()
            # As a student: the course page links to start.html; open notebook 01 from there.
            page.goto(f"{url}start.html", timeout=60_000)
            page.locator(f'a[href="lab/index.html?path=notebooks/{NOTEBOOK}"]').click()
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            run_all_cells(page, request)
            page.wait_for_function(FIRST_RUN_JS, timeout=RUN_ALL_TIMEOUT_MS)
            kernel_ready = time.monotonic() - started  # the install cell ran: Python is up
            page.wait_for_function(ALL_RUN_JS, timeout=RUN_ALL_TIMEOUT_MS)
            ran = time.monotonic() - started
            first_load = sum(loaded.values())

            failures = page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            ).all_text_contents()
            assert failures == [], failures
            assert page.locator(".jp-Dialog").count() == 0
            roots = page.locator(".tcpviz-widget")
            assert roots.count() >= 2
            root = roots.first
            root.scroll_into_view_if_needed()

            # The first widget starts in CLOSED: "active open" must light SYN-SENT.
            expected = Expected(build_lite_table())
            edge = expected.fire("active open")
            root.locator(f'[data-testid="event-button"][data-edge="{edge}"]').click()
            state_id = expected.state_id
            page.wait_for_function(
                """([root, state, edge]) =>
                     root.querySelector(`svg #${state}.current`) !== null &&
                     root.querySelector(`svg #${edge}.last`) !== null &&
                     root.querySelector('[data-testid="state-name"]').textContent === 'SYN-SENT'""",
                arg=[root.element_handle(), state_id, edge],
                timeout=30_000,
            )
            current = root.evaluate("(r) => [...r.querySelectorAll('svg .current')].map(e => e.id)")
            assert current == [state_id]
            page.screenshot(path=artifact_path(request.node.name, "syn-sent"))
            assert not errors, errors
            assert not foreign, f"the site reached another host: {foreign[:5]}"
        finally:
            browser.close()
    gzipped = sum(
        len(gzip.compress((site / u.removeprefix(url).split("?")[0]).read_bytes(), 6))
        for u in loaded
        if u.startswith(url) and (site / u.removeprefix(url).split("?")[0]).is_file()
    )
    print(
        f"first load of {NOTEBOOK}: first cell done after {kernel_ready:.1f} s, all cells after "
        f"{ran:.1f} s; {len(loaded)} requests, "
        f"{first_load / 1e6:.1f} MB ({gzipped / 1e6:.1f} MB gzipped); "
        f"site {build_lite.folder_size(site) / 1e6:.1f} MB"
    )


def build_lite_table():
    from tcpviz import tcp_table

    return tcp_table()
