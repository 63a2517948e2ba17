#!/usr/bin/env bash
# Set up tcpviz on a fresh machine: Graphviz's dot, a virtual environment in .venv with tcpviz
# installed (editable) with its classroom extra (the widget, JupyterLab, Notebook and Voila),
# and with --test also the test tools, Debian's Chromium for the real-browser tests, npm and
# the pinned downloads the JupyterLite site is built from (scripts/build_lite.py --fetch).
# Safe to run again: it only installs what is missing.
#
# Works as root (apt-get), as a user with sudo, or without either (then it says what to run).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
python=${PYTHON:-python3}

say() { printf 'tcpviz setup: %s\n' "$*" >&2; }

# -- system packages -------------------------------------------------------------------------
packages=()
command -v dot >/dev/null 2>&1 || packages+=(graphviz)
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi
if [ "$want_test" = 1 ] && [ ! -x /usr/bin/chromium ]; then
    packages+=(chromium)
fi
# The replay tests capture their own loopback traffic with tcpdump and read sockets with ss.
if [ "$want_test" = 1 ] && ! command -v tcpdump >/dev/null 2>&1; then
    packages+=(tcpdump)
fi
if [ "$want_test" = 1 ] && ! command -v ss >/dev/null 2>&1; then
    packages+=(iproute2)
fi
# npm fetches Pyodide (pinned in lite/package-lock.json) for the JupyterLite site.
if [ "$want_test" = 1 ] && ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
fi

if [ "${#packages[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            sudo=""
        elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            sudo="none"
        fi
        if [ "$sudo" != none ]; then
            say "installing ${packages[*]} with apt-get"
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
                "${packages[@]}" >/dev/null
        else
            say "missing: ${packages[*]}. Install them with:"
            say "    sudo apt-get install ${packages[*]}"
        fi
    else
        say "missing: ${packages[*]}. Install them with your platform's package manager, e.g."
        say "    macOS:   brew install graphviz        (and a Chromium/Chrome for browser tests)"
        say "    conda:   conda install -c conda-forge graphviz"
        say "    Windows: winget install graphviz"
    fi
fi
if ! command -v dot >/dev/null 2>&1; then
    say "Graphviz's dot is not installed: the built-in TCP diagrams still work (they ship laid out),"
    say "but custom tables and PNG/PDF export need it."
fi

# -- Python environment ----------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
    say "creating the virtual environment .venv"
    "$python" -m venv .venv
fi
extras="[classroom]"
[ "$want_test" = 1 ] && extras="[classroom,test,bench]"
say "installing tcpviz${extras} into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check --editable ".${extras}"
if [ "$want_test" = 1 ]; then
    say "fetching what the JupyterLite site is built from (Pyodide, pinned wheels) into .cache/lite"
    .venv/bin/python scripts/build_lite.py --fetch-only
fi
say "ready"
