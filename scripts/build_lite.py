#!/usr/bin/env python3
"""Build the tcpviz JupyterLite site: a folder of static files that runs the notebooks in the
browser (Python compiled to WebAssembly by Pyodide), with nothing to install and no server.

    python scripts/build_lite.py -o site/        # fetch what is missing (once), then build
    python scripts/build_lite.py --fetch-only    # only fill the cache (scripts/setup.sh --test)
    python scripts/build_lite.py --relock        # maintainers: re-pin lite/requirements.txt

Put the output folder on any static web host (a course page, GitHub Pages, a university web
space) and link to ``<site>/lab/index.html?path=notebooks/01-three-way-handshake.ipynb``.

Everything comes from the registries, pinned in ``lite/``: Pyodide from npm
(``lite/package.json`` and ``lite/package-lock.json``), the build tools from PyPI (the ``lite``
extra), and the pure-Python wheels the browser runs from PyPI (``lite/requirements.txt``, with
hashes). Once fetched into the cache (``.cache/lite`` by default) a build needs no network, and
the site itself loads nothing from any other host.

Pyodide's ``pyodide-lock.json`` names Pyodide's own rebuilt wheels, which the npm package does not
carry. The build therefore rewrites the lock: one entry per wheel the site ships (file name,
version, sha256, the imports it provides and its dependencies, read from the wheel's own
metadata), and drops every entry whose file is not in the site, so a missing package is a plain
``ModuleNotFoundError`` instead of a failed download.
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LITE = REPO / "lite"
DEFAULT_CACHE = REPO / ".cache" / "lite"
REQUIREMENTS = LITE / "requirements.txt"
#: The packages the site's Python needs at first: the kernel's own (micropip, IPython, jedi,
#: comm) and tcpviz's with its widget extra. Their dependencies follow from their metadata.
ROOTS = ("micropip", "ipython", "jedi", "comm", "networkx", "graphviz", "ipywidgets", "anywidget")
#: Dependencies that the wheels declare but that make no sense in the browser kernel, and why.
DROPPED = {
    "jupyterlab-widgets": "the browser side of ipywidgets: the site carries it as a lab extension",
    "widgetsnbextension": "the classic-notebook side of ipywidgets: not used by JupyterLite",
}
#: The lab extension of the kernel, taken from jupyterlite-pyodide-kernel (pinned in the
#: ``lite`` extra) as installed in the building Python.
KERNEL_EXTENSION = "@jupyterlite/pyodide-kernel-extension"
#: The widget front ends, taken from pinned wheels (``anywidget`` from requirements.txt, the
#: one the kernel runs; ``jupyterlab-widgets`` from extensions.txt), never from whatever the
#: building Python has installed: the page's half and the kernel's half always match.
EXTENSION_WHEELS = ("anywidget", "jupyterlab-widgets")
#: The lab extensions in a built site, by name.
SITE_EXTENSIONS = (KERNEL_EXTENSION, "@jupyter-widgets/jupyterlab-manager", "anywidget")
EXTENSION_REQUIREMENTS = LITE / "extensions.txt"
#: Pyodide files a site never loads (types, the REPL pages, source maps).
PYODIDE_UNUSED = ("*.d.ts", "*.map", "console*.html", "README.md", "package.json")
#: The markers of the browser: what a wheel's ``Requires-Dist`` markers see there.
BROWSER = {
    "implementation_name": "cpython",
    "implementation_version": "3.14.2",
    "os_name": "posix",
    "platform_machine": "wasm32",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Emscripten",
    "platform_version": "",
    "python_full_version": "3.14.2",
    "python_version": "3.14",
    "sys_platform": "emscripten",
}
NPM_TIMEOUT_S = 300
PIP_TIMEOUT_S = 600
BUILD_TIMEOUT_S = 600


class BuildError(Exception):
    """Something the build cannot do; the message says what and what to do instead."""


# -- small helpers -----------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"build_lite: {message}", file=sys.stderr, flush=True)


def canonical(name: str) -> str:
    """PEP 503's normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(command: Sequence[str], *, timeout: float, cwd: Path | None = None) -> None:
    """Run a command, bounded in time; its failure becomes one BuildError with its output."""
    try:
        done = subprocess.run(
            list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as error:
        raise BuildError(f"{command[0]} is not installed ({error.strerror})") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{' '.join(command[:3])} ... took over {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise BuildError(f"{' '.join(command[:4])} ... failed:\n" + "\n".join(tail))


def folder_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# -- the wheels the browser runs ------------------------------------------------------------------


@dataclass(frozen=True)
class Wheel:
    """One pure-Python wheel and what its metadata says."""

    path: Path
    name: str  # as the wheel spells it
    version: str
    requires: tuple[str, ...]  # Requires-Dist lines
    imports: tuple[str, ...]  # top-level importable names

    @classmethod
    def read(cls, path: Path) -> Wheel:
        if not path.name.endswith("-none-any.whl"):
            raise BuildError(
                f"{path.name} is not a pure-Python wheel: the browser can only take "
                "py3-none-any wheels from PyPI"
            )
        with zipfile.ZipFile(path) as whl:
            names = whl.namelist()
            meta_name = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
            if meta_name is None:
                raise BuildError(f"{path.name} has no METADATA: not a wheel")
            meta = email.parser.Parser().parsestr(whl.read(meta_name).decode("utf-8"))
            top = next((n for n in names if n.endswith(".dist-info/top_level.txt")), None)
            if top is not None:
                imports = whl.read(top).decode("utf-8").split()
            else:
                imports = sorted(
                    {
                        n.split("/")[0].removesuffix(".py")
                        for n in names
                        if ".dist-info/" not in n
                        and ".data/" not in n
                        and (n.endswith(".py") or "/" in n)
                    }
                )
        return cls(
            path=path,
            name=meta["Name"],
            version=meta["Version"],
            requires=tuple(meta.get_all("Requires-Dist") or ()),
            imports=tuple(i for i in imports if i.isidentifier() and not i.startswith("_")),
        )

    def depends(self, extras: Iterable[str] = ()) -> list[str]:
        """The projects this wheel needs in the browser (canonical names, markers evaluated)."""
        from packaging.requirements import Requirement

        out: list[str] = []
        for line in self.requires:
            req = Requirement(line)
            wanted = req.marker is None or any(
                req.marker.evaluate({**BROWSER, "extra": extra}) for extra in ("", *extras)
            )
            name = canonical(req.name)
            if wanted and name not in DROPPED and name not in out:
                out.append(name)
        return out


def read_requirements(path: Path = REQUIREMENTS) -> dict[str, tuple[str, str]]:
    """``lite/requirements.txt`` as {canonical name: (version, sha256)}."""
    pins: dict[str, tuple[str, str]] = {}
    pattern = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s+--hash=sha256:([0-9a-f]{64})$")
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = pattern.match(line)
        if match is None:
            raise BuildError(
                f"{path.name}:{number}: expected 'name==version --hash=sha256:<64 hex>', "
                f"got {raw!r}"
            )
        pins[canonical(match[1])] = (match[2], match[3])
    return pins


def pip_download(specs: Sequence[str], dest: Path, *, hashes: bool) -> None:
    """Download pure-Python wheels for the browser's Python (3.14) without their dependencies."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(specs) + "\n")
    try:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--platform", "any", "--python-version", "3.14",
            "--implementation", "py", "--abi", "none", "--dest", str(dest), "-r", f.name,
        ]  # fmt: skip
        if hashes:
            command.append("--require-hashes")
        run(command, timeout=PIP_TIMEOUT_S)
    finally:
        os.unlink(f.name)


def wheel_in(folder: Path, name: str, version: str) -> Path | None:
    for path in folder.glob("*.whl"):
        stem = path.name.split("-")
        if canonical(stem[0]) == name and stem[1] == version:
            return path
    return None


def fetch_wheels(cache: Path, requirements: Path = REQUIREMENTS) -> dict[str, Wheel]:
    """The pinned wheels, downloaded once into ``cache/wheels`` and checked against their hashes."""
    pins = read_requirements(requirements)
    folder = cache / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [
        f"{name}=={version} --hash=sha256:{digest}"
        for name, (version, digest) in pins.items()
        if (path := wheel_in(folder, name, version)) is None or sha256(path) != digest
    ]
    if missing:
        say(f"downloading {len(missing)} wheels from PyPI into {folder}")
        pip_download(missing, folder, hashes=True)
    wheels = {}
    for name, (version, digest) in pins.items():
        path = wheel_in(folder, name, version)
        if path is None or sha256(path) != digest:
            raise BuildError(f"{name}=={version}: no wheel with the pinned sha256 in {folder}")
        wheels[name] = Wheel.read(path)
    return wheels


def relock(cache: Path) -> None:
    """Re-pin ``lite/requirements.txt``: the roots and everything they need, resolved one by one.

    Versions: Pyodide's own where its lock has the project (tested there), else this Python's
    installed one (tested by tcpviz's suite), else PyPI's newest.
    """
    from importlib import metadata

    lock = json.loads((fetch_pyodide(cache) / "pyodide-lock.json").read_text(encoding="utf-8"))
    in_pyodide = {canonical(k): v["version"] for k, v in lock["packages"].items()}
    folder = Path(tempfile.mkdtemp(prefix="tcpviz-relock-"))
    pinned: dict[str, Wheel] = {}
    todo = [canonical(r) for r in ROOTS]
    while todo:  # bounded: each project is resolved once
        name = todo.pop(0)
        if name in pinned:
            continue
        version = in_pyodide.get(name)
        if version is None:
            with contextlib.suppress(metadata.PackageNotFoundError):
                version = metadata.version(name)
        pip_download([f"{name}=={version}" if version else name], folder, hashes=False)
        path = next(p for p in folder.glob("*.whl") if canonical(p.name.split("-")[0]) == name)
        pinned[name] = wheel = Wheel.read(path)
        todo.extend(d for d in wheel.depends() if d not in pinned)
    lines = [
        "# The wheels the JupyterLite site ships (pure Python, from PyPI), pinned with hashes.",
        "# Written by `python scripts/build_lite.py --relock`; see that script for the choice",
        "# of versions. tcpviz itself is built from this tree.",
    ]
    for name in sorted(pinned):
        wheel = pinned[name]
        lines.append(f"{name}=={wheel.version} --hash=sha256:{sha256(wheel.path)}")
    REQUIREMENTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    say(f"pinned {len(pinned)} wheels in {REQUIREMENTS.relative_to(REPO)}")

    # ipywidgets' page side: the version it asks for, as installed here if that fits.
    from packaging.requirements import Requirement

    wants = next(
        Requirement(r) for r in pinned["ipywidgets"].requires if r.startswith("jupyterlab")
    )
    with contextlib.suppress(metadata.PackageNotFoundError):
        here = metadata.version("jupyterlab-widgets")
        if here in wants.specifier:
            wants = Requirement(f"jupyterlab-widgets=={here}")
    pip_download([str(wants)], folder, hashes=False)
    path = next(p for p in folder.glob("jupyterlab_widgets-*.whl"))
    EXTENSION_REQUIREMENTS.write_text(
        "# The page side of ipywidgets (its JupyterLab extension), pinned with its hash; the\n"
        "# site takes the extension from this wheel. Written by --relock.\n"
        f"jupyterlab-widgets=={Wheel.read(path).version} --hash=sha256:{sha256(path)}\n",
        encoding="utf-8",
    )
    shutil.rmtree(folder, ignore_errors=True)


# -- Pyodide from npm --------------------------------------------------------------------------------


def fetch_pyodide(cache: Path) -> Path:
    """Pyodide's core files, installed once from npm (``npm ci``: exactly the committed lock)."""
    npm = cache / "npm"
    installed = npm / "node_modules" / "pyodide"
    wanted = json.loads((LITE / "package-lock.json").read_text(encoding="utf-8"))
    version = wanted["packages"]["node_modules/pyodide"]["version"]
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
        have = json.loads((installed / "package.json").read_text(encoding="utf-8"))["version"]
        if have == version and (installed / "pyodide.asm.wasm").is_file():
            return installed
    if shutil.which("npm") is None:
        raise BuildError("npm is not installed: apt-get install npm (or ./scripts/setup.sh --test)")
    say(f"installing pyodide@{version} from npm into {npm}")
    npm.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(LITE / name, npm / name)
    run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev"],
        cwd=npm,
        timeout=NPM_TIMEOUT_S,
    )
    if not (installed / "pyodide.asm.wasm").is_file():
        raise BuildError(f"npm ci finished but {installed} has no pyodide.asm.wasm")
    return installed


def _unused_in_the_kernel(member: str) -> bool:
    """Wheel members a kernel never imports: test suites, and ``.data`` (lab extensions and
    other files for a real environment's ``share/``; the site serves its extensions itself)."""
    parts = member.split("/")
    return ".dist-info" not in parts[0] and (
        parts[0].endswith(".data") or "tests" in parts[1:-1] or "test" in parts[1:-1]
    )


def trim_wheel(source: Path, folder: Path) -> Path:
    """Copy a wheel into ``folder`` without what the kernel never uses (as Pyodide's own
    builds unvendor tests); its RECORD is rewritten to match. Deterministic: same input, same
    bytes (member order and times are kept)."""
    dest = folder / source.name
    with zipfile.ZipFile(source) as whl:
        members = [i for i in whl.infolist() if not _unused_in_the_kernel(i.filename)]
        if len(members) == len(whl.infolist()):
            shutil.copy2(source, dest)
            return dest
        kept = {i.filename for i in members}
        with zipfile.ZipFile(dest, "w") as out:
            for info in members:
                data = whl.read(info)
                if info.filename.endswith(".dist-info/RECORD"):
                    rows = data.decode("utf-8").splitlines(keepends=True)
                    data = "".join(r for r in rows if r.split(",", 1)[0] in kept).encode()
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return dest


def rewrite_lock(lock: dict, wheels: dict[str, Wheel], extras: dict[str, tuple[str, ...]]) -> dict:
    """Pyodide's lock with one entry per shipped wheel, and nothing else.

    ``extras`` maps a project to the extras the site installs it with (tcpviz: the widget).
    """
    missing = {
        dep: name
        for name, wheel in wheels.items()
        for dep in wheel.depends(extras.get(name, ()))
        if dep not in wheels
    }
    if missing:
        dep, name = next(iter(missing.items()))
        raise BuildError(
            f"{name} needs {dep}, which lite/requirements.txt does not pin: run "
            "python scripts/build_lite.py --relock"
        )
    packages = {}
    for name, wheel in sorted(wheels.items()):
        packages[name] = {
            "name": name,
            "version": wheel.version,
            "file_name": wheel.path.name,
            "install_dir": "site",
            "sha256": sha256(wheel.path),
            "package_type": "package",
            "imports": list(wheel.imports),
            "depends": wheel.depends(extras.get(name, ())),
            "unvendored_tests": False,
        }
    return {"info": lock["info"], "packages": packages}


# -- tcpviz and the site's contents -------------------------------------------------------------


def build_tcpviz_wheel(dest: Path) -> Wheel:
    """tcpviz's wheel, built from this tree (no build isolation: hatchling is in the lite extra)."""
    run(
        [
            sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
            "--no-build-isolation", "--wheel-dir", str(dest), str(REPO),
        ],
        timeout=PIP_TIMEOUT_S,
    )  # fmt: skip
    found = sorted(dest.glob("tcpviz-*.whl"))
    if not found:
        raise BuildError(f"pip wheel wrote no tcpviz wheel into {dest}")
    return Wheel.read(found[-1])


def notebooks() -> list[Path]:
    """Every notebook in notebooks/, whoever added it."""
    return sorted((REPO / "notebooks").glob("*.ipynb"))


def browser_limit(notebook: Path) -> str | None:
    """Why a notebook cannot run in the browser, if its metadata says so.

    A notebook that needs what Pyodide has not (sockets, other processes, ``dot``) says so in
    its metadata, ``"tcpviz": {"browser": false, "why": "it reads this machine's sockets"}``;
    the site still holds it, and the start page says where to run it instead.
    """
    with contextlib.suppress(json.JSONDecodeError, OSError, AttributeError):
        meta = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("tcpviz", {})
        if meta.get("browser") is False:
            return str(meta.get("why") or "it uses what a browser cannot do")
    return None


def landing_page(notebooks: Sequence[Path], pages: Sequence[Path]) -> str:
    """``start.html``: one page of links a teacher can put on the course page, or send."""
    import html

    def title(nb: Path) -> str:
        with contextlib.suppress(json.JSONDecodeError, KeyError, IndexError, OSError):
            cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
            first = "".join(cells[0]["source"]).splitlines()[0]
            if first.startswith("#"):
                return first.lstrip("# ").strip()
        return nb.stem

    def note(nb: Path) -> str:
        why = browser_limit(nb)
        if why is None:
            return ""
        return (
            f" <em>(not in the browser: {html.escape(why)}; open it on Binder or with "
            "<code>./run.sh</code>)</em>"
        )

    rows = "\n".join(
        f"<li>{html.escape(title(nb))}: "
        f'<a href="notebooks/index.html?path=notebooks/{html.escape(nb.name)}">notebook</a> · '
        f'<a href="lab/index.html?path=notebooks/{html.escape(nb.name)}">JupyterLab</a>'
        f"{note(nb)}</li>"
        for nb in notebooks
    )
    standalone = "\n".join(
        f'<li><a href="pages/{html.escape(p.name)}">{html.escape(p.stem.replace("-", " "))}</a>'
        "</li>"
        for p in pages
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tcpviz: the TCP state machine, in your browser</title>
<style>
body {{ font: 18px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }}
li {{ margin: 0.4rem 0; }}
</style>
</head>
<body>
<h1>The TCP state machine, in your browser</h1>
<p>Nothing to install: Python runs inside this browser tab. The first visit downloads about
30 MB and takes up to a minute before the first cell runs; later visits are faster.
Your changes stay in this browser only: use <em>File → Download</em> to keep a notebook.</p>
<h2>Notebooks</h2>
<ul>
{rows}
</ul>
<h2>Without Python (a single page each)</h2>
<ul>
{standalone}
</ul>
</body>
</html>
"""


#: The kernel the site runs every notebook with (jupyterlite-pyodide-kernel's name for it).
PYODIDE_KERNELSPEC = {"display_name": "Python (Pyodide)", "language": "python", "name": "python"}


def copy_notebook(source: Path, dest: Path) -> None:
    """Copy a notebook into the site, naming the site's kernel instead of ``python3``.

    The repository's notebooks name ``python3`` (so JupyterLab opens them without asking);
    JupyterLite has no kernel of that name and would ask each student to pick one.
    """
    try:
        notebook = json.loads(source.read_text(encoding="utf-8"))
        notebook["metadata"]["kernelspec"] = dict(PYODIDE_KERNELSPEC)
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise BuildError(f"{source.name} is not a notebook ({error})") from None
    dest.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def standalone_pages(dest: Path) -> list[Path]:
    """The pages ``tcpviz html`` writes: the classic and the extended machine."""
    dest.mkdir(parents=True, exist_ok=True)
    pages = [
        (dest / "tcp-state-machine.html", []),
        (dest / "tcp-state-machine-extended.html", ["--extended"]),
    ]
    for path, flags in pages:
        run(
            [sys.executable, "-m", "tcpviz", "html", *flags, "-o", str(path)],
            timeout=120,
            cwd=REPO,
        )
    return [p for p, _ in pages]


def kernel_extension() -> Path:
    """The Pyodide kernel's lab extension, as jupyterlite-pyodide-kernel installed it here."""
    for prefix in (Path(sys.prefix), Path(sys.base_prefix)):
        folder = prefix / "share" / "jupyter" / "labextensions" / KERNEL_EXTENSION
        if (folder / "package.json").is_file():
            return folder
    raise BuildError(
        f"{KERNEL_EXTENSION} is not installed in {sys.prefix}: pip install -e '.[lite]'"
    )


def check_widget_versions(wheels: dict[str, Wheel], page: dict[str, Wheel]) -> None:
    """ipywidgets (in the kernel) must accept the jupyterlab-widgets the page runs."""
    from packaging.requirements import Requirement

    ipywidgets, lab = wheels["ipywidgets"], page["jupyterlab-widgets"]
    for line in ipywidgets.requires:
        req = Requirement(line)
        if canonical(req.name) == "jupyterlab-widgets" and lab.version not in req.specifier:
            raise BuildError(
                f"ipywidgets {ipywidgets.version} wants {req}, but lite/extensions.txt pins "
                f"jupyterlab-widgets {lab.version}: run python scripts/build_lite.py --relock"
            )


# -- the build --------------------------------------------------------------------------------------


@dataclass
class Report:
    output: Path
    seconds: float
    size: int
    notebooks: list[str]
    pages: list[str]
    wheels: list[str]


def fetch(cache: Path) -> tuple[Path, dict[str, Wheel], dict[str, Wheel]]:
    """Pyodide, the wheels the kernel runs, and the wheels the page's extensions come from."""
    wheels = fetch_wheels(cache)
    page = fetch_wheels(cache, EXTENSION_REQUIREMENTS)
    page["anywidget"] = wheels["anywidget"]
    return fetch_pyodide(cache), wheels, page


def build(output: Path, cache: Path = DEFAULT_CACHE, *, apps: Sequence[str] = ()) -> Report:
    """Build the site into ``output`` (replaced whole, and only once the build succeeded)."""
    started = time.monotonic()
    output = output.resolve()
    check_replaceable(output)
    pyodide, wheels, page = fetch(cache)
    check_widget_versions(wheels, page)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tcpviz-lite-", dir=output.parent) as tmp:
        work = Path(tmp)
        stage = work / "lite"
        shutil.copytree(LITE / "site", stage)

        # Pyodide: its core files, the wheels beside them, and the lock rewritten to them.
        static = stage / "static" / "pyodide"
        shutil.copytree(pyodide, static, ignore=shutil.ignore_patterns(*PYODIDE_UNUSED))
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(static / "node_modules")
        tcpviz = build_tcpviz_wheel(work / "dist")
        shipped = {**wheels, "tcpviz": tcpviz}
        shipped = {name: Wheel.read(trim_wheel(w.path, static)) for name, w in shipped.items()}
        lock = json.loads((pyodide / "pyodide-lock.json").read_text(encoding="utf-8"))
        new_lock = rewrite_lock(lock, shipped, {"tcpviz": ("widget",)})
        (static / "pyodide-lock.json").write_text(
            json.dumps(new_lock, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )

        # The lab extensions the notebooks need, and nothing else from this Python.
        extensions = [str(kernel_extension())]
        extensions += [str(page[name].path) for name in EXTENSION_WHEELS]

        # Contents: notebooks/ and examples/ side by side, as in the repository.
        contents = stage / "content"
        found = notebooks()
        if not found:
            raise BuildError(f"no notebooks in {REPO / 'notebooks'}")
        (contents / "notebooks").mkdir(parents=True)
        for nb in found:
            copy_notebook(nb, contents / "notebooks" / nb.name)
        readme = REPO / "notebooks" / "README.md"
        if readme.is_file():
            shutil.copy2(readme, contents / "notebooks" / readme.name)
        shutil.copytree(
            REPO / "examples", contents / "examples", ignore=shutil.ignore_patterns("__pycache__")
        )

        site = work / "site"
        config_path = stage / "jupyter_lite_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        build_config = config.setdefault("LiteBuildConfig", {})
        build_config.update(
            contents=[str(contents)],
            output_dir=str(site),
            cache_dir=str(work / "doit-cache"),
            federated_extensions=extensions,
        )
        if apps:
            build_config["apps"] = list(apps)
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(stage)]
        run(command, timeout=BUILD_TIMEOUT_S, cwd=stage)
        for leftover in site.glob(".jupyterlite.doit.db*"):
            leftover.unlink()
        pages = standalone_pages(site / "pages")
        (site / "start.html").write_text(landing_page(found, pages), encoding="utf-8")
        check_site(site)
        (site / SITE_MARKER).write_text(
            json.dumps(
                {
                    "built_by": "scripts/build_lite.py",
                    "notebooks": [nb.name for nb in found],
                    "wheels": sorted(w.path.name for w in shipped.values()),
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )

        # Replace the old site only now, in one rename where the platform allows.
        old = work / "old"
        if output.exists():
            output.rename(old)
        site.rename(output)
    return Report(
        output=output,
        seconds=time.monotonic() - started,
        size=folder_size(output),
        notebooks=[nb.name for nb in found],
        pages=[p.name for p in pages],
        wheels=sorted(w.path.name for w in shipped.values()),
    )


#: What marks a folder as a site this script built (and may therefore replace).
SITE_MARKER = "tcpviz-lite.json"


def check_replaceable(output: Path) -> None:
    """Refuse to replace a folder that is not empty and not a site built here before."""
    if not output.exists():
        return
    if not output.is_dir():
        raise BuildError(f"{output} is a file: give a folder for the site")
    if any(output.iterdir()) and not (output / SITE_MARKER).is_file():
        raise BuildError(
            f"{output} is not empty and not a site built by this script (no {SITE_MARKER}): "
            "give a new or empty folder"
        )


def check_site(site: Path) -> None:
    """The built site loads nothing from another host and finds every file its lock names."""
    config = json.loads((site / "jupyter-lite.json").read_text(encoding="utf-8"))
    settings = config["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"
    ]
    url = settings.get("pyodideUrl", "")
    if not url.startswith("./"):
        raise BuildError(f"the site's pyodideUrl is {url!r}, not a file of the site")
    lock_path = (site / url).parent / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    for name, entry in lock["packages"].items():
        path = lock_path.parent / entry["file_name"]
        if not path.is_file() or sha256(path) != entry["sha256"]:
            raise BuildError(f"lock entry {name}: {entry['file_name']} missing or wrong sha256")
        for dep in entry["depends"]:
            if dep not in lock["packages"]:
                raise BuildError(f"lock entry {name} depends on {dep}, which the site lacks")
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        if re.search(r"""(src|href)\s*=\s*["']https?://""", text):
            raise BuildError(f"{page.relative_to(site)} loads something from another host")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="build_lite.py", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    parser.add_argument("-o", "--output", type=Path, help="the site's folder (replaced whole)")
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="downloads (default: .cache/lite)"
    )
    parser.add_argument(
        "--apps",
        nargs="+",
        default=["lab", "notebooks", "tree"],
        help="JupyterLite apps to include (default: lab notebooks tree)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--fetch-only", action="store_true", help="only download into the cache")
    what.add_argument("--relock", action="store_true", help="re-pin lite/requirements.txt")
    args = parser.parse_args(argv)
    try:
        if args.relock:
            relock(args.cache)
            return 0
        if args.fetch_only:
            pyodide, wheels, page = fetch(args.cache)
            say(f"cache ready: {pyodide} and {len(wheels) + len(page) - 1} wheels")
            return 0
        if args.output is None:
            parser.error("give -o FOLDER (or --fetch-only / --relock)")
        report = build(args.output, args.cache, apps=args.apps)
    except BuildError as error:
        say(f"error: {error}")
        return 1
    say(
        f"built {report.output} in {report.seconds:.1f} s: {report.size / 1e6:.1f} MB, "
        f"{len(report.notebooks)} notebooks, {len(report.pages)} standalone pages, "
        f"{len(report.wheels)} wheels"
    )
    say(f"put {report.output} on any static web host; students open its start.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
