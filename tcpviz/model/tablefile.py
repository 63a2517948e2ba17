"""Teachers' own transition tables: load them from TOML, JSON or CSV files, and write them back.

A table file describes a state machine the way :class:`~tcpviz.model.table.Table` does, so every
command, diagram and widget of tcpviz works on it (``tcpviz step --table my.toml ...``). The
format is chosen by the file's suffix: ``.toml``, ``.json`` or ``.csv``.

TOML (and JSON, with the same keys)::

    name = "Simplified TCP"        # optional: a title
    initial = "CLOSED"             # optional: the state a machine starts in (default: the first)

    [states.CLOSED]                # optional: the states, in order, with what they mean
    description = "No connection exists."
    aliases = ["CLOSE"]            # optional: other spellings accepted as input

    [events."rcv SYN"]             # optional: friendlier input names for an event
    words = "receive SYN"          # what a button says
    aliases = ["SYN"]

    [[transitions]]                # one per arrow; only source, event and target are required
    source = "LISTEN"
    event = "rcv SYN"
    target = "SYN-RECEIVED"
    sent = "SYN,ACK"               # the segment sent on the way ("snd SYN,ACK" in the label)
    action = ""                    # anything else done on the way ("create TCB")
    kind = "segment"               # user (the default), segment or timeout
    side = "server"                # client, server or either (the default)
    section = "3.10.7.2"           # where the RFC specifies it
    via = ""                       # a state: only when the source was entered from it
    extended = false               # true: shown only with --extended
    note = ""                      # one sentence for the curious

Without ``[states]``, the states are those the transitions name, in order of appearance, and
the initial state is the source of the first transition. With it, the states listed there are
all the states, and a transition naming another one is an error. A state's entry may be just its
description (``CLOSED = "No connection exists."`` under ``[states]``); in JSON, ``"states"`` may
also be a plain list of names. A JSON file may be a bare list of transitions, which is what
``tcpviz table --json`` prints.

CSV: a header row naming at least the columns ``source``, ``event`` and ``target`` (any of the
other transition keys may follow, in any order), then one row per transition. Commas, semicolons
or tabs separate the cells, as the header shows; an empty cell takes the default; ``extended``
accepts ``true``/``false``, ``yes``/``no`` or ``1``/``0``. CSV holds transitions only: the states
come from the rows and have no descriptions.

Only regular files of up to 2 MiB (:data:`MAX_TABLE_BYTES`) are read: a FIFO, a device or a
larger file is refused at once, with a message saying so. Names (of states and events) and the
text drawn on arrows are one line of at most 1,000 characters; no text may hold what XML cannot
(control characters but tab and newline, lone surrogates, U+FFFE, U+FFFF), since every table
ends up in an SVG or HTML file. A state's alias may not be another state's name or alias.

Loading checks everything and loads nothing when something is wrong: the :class:`TableError`
names the file and the line (for CSV the physical line, for TOML the line of the
``[[transitions]]`` header or of the key at fault, for JSON the line of the object or key).
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import difflib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ..errors import TableError
from .states import alias_clash, alias_index, state_key
from .table import (
    KINDS,
    SIDES,
    Event,
    Table,
    Transition,
    _alias_clash_message,
    _shown,
    _some,
    event_key,
    text_problem,
)

__all__ = [
    "FORMATS",
    "MAX_TABLE_BYTES",
    "ROW_KEYS",
    "dump_table",
    "dumps_table",
    "load_table",
    "parse_table",
]

#: The largest table file :func:`load_table` reads (2 MiB: some 20,000 rows of TOML). A larger
#: file is refused before it is read, so a mistaken path (a log, a capture, ``/dev/zero``)
#: cannot fill the memory.
MAX_TABLE_BYTES = 2 * 1024 * 1024
#: The file formats, each named by its suffix.
FORMATS: tuple[str, ...] = ("toml", "json", "csv")
#: The keys of one transition, in the order files are written in.
ROW_KEYS: tuple[str, ...] = (
    "source",
    "event",
    "target",
    "sent",
    "action",
    "kind",
    "side",
    "section",
    "via",
    "extended",
    "note",
)
_REQUIRED = ("source", "event", "target")
_TOP_KEYS = ("name", "initial", "states", "events", "transitions")
_STATE_KEYS = ("description", "aliases")
_EVENT_KEYS = ("words", "aliases")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}

_Path = tuple[Any, ...]


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise TableError(
            f"unknown table file type {path.suffix or '(no suffix)'!r} "
            f"(must be one of {['.' + f for f in FORMATS]})",
            source=str(path),
        )
    return fmt


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise TableError(f"unknown table format: {fmt!r} (must be one of {list(FORMATS)})")
    return fmt


# -- loading ----------------------------------------------------------------------------------


def load_table(path: str | os.PathLike[str], *, max_bytes: int = MAX_TABLE_BYTES) -> Table:
    """Load the table in ``path`` (``.toml``, ``.json`` or ``.csv``), checking every row.

    Only a regular file (or a symlink to one) of at most ``max_bytes`` bytes is read: a FIFO,
    a device or a directory is refused at once, without waiting on it.

    Raises :class:`~tcpviz.errors.TableError` naming the file and line at fault.
    """
    if str(path) == "":
        raise TableError("an empty file name: give the path of a .toml, .json or .csv file")
    path = Path(path)
    source = str(path)
    fmt = _format_of(path)
    return parse_table(_decode(_read(path, source, max_bytes), source), fmt, source=source)


_KINDS_OF_FILE = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _read(path: Path, source: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them."""
    # O_NONBLOCK: opening a FIFO nobody writes to would otherwise wait for ever. It has no
    # effect on reading a regular file, the only kind read.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise TableError("no such file", source=source) from None
    except IsADirectoryError:
        raise TableError("is a directory, not a table file", source=source) from None
    except OSError as error:
        raise TableError(
            f"cannot read the file: {error.strerror or error}", source=source
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS_OF_FILE if test(info.st_mode)), "special")
            raise TableError(
                f"is {kind}, not a regular file: a table is read from a .toml, .json or .csv file",
                source=source,
            )
        if info.st_size > max_bytes:
            raise TableError(_too_large(info.st_size, max_bytes), source=source)
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(max_bytes + 1)  # + 1: a file that grew since fstat is caught too
    except OSError as error:
        raise TableError(
            f"cannot read the file: {error.strerror or error}", source=source
        ) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise TableError(_too_large(len(data), max_bytes), source=source)
    return data


def _too_large(size: int, limit: int) -> str:
    def amount(n: int) -> str:
        return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"

    return (
        f"the file is larger than {amount(limit)} ({amount(size)}), too large for a table "
        "file: is it the right file? (load_table's max_bytes= raises the limit)"
    )


def _decode(data: bytes, source: str) -> str:
    try:
        # utf-8-sig: spreadsheets ("CSV UTF-8" in Excel) start the file with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise TableError(
            f"the file is not UTF-8 text: byte {data[error.start]:#04x} at column {column} "
            "(save it again as UTF-8)",
            source=source,
            line=line,
        ) from None


def parse_table(text: str, format: str, *, source: str | None = None) -> Table:
    """Build a table from the text of a table file in ``format`` (``'toml'``, ``'json'``, ``'csv'``).

    ``source`` names the text in error messages (``load_table`` passes the file's path).
    """
    fmt = _check_format(format)
    if not text.strip():
        raise TableError("the file is empty", source=source, line=1)
    parse = {"toml": _parse_toml, "json": _parse_json, "csv": _parse_csv}[fmt]
    data, lines = parse(text, source)
    return _Builder(source, lines).build(data)


def _parse_toml(text: str, source: str | None) -> tuple[Any, dict[_Path, int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line = getattr(error, "lineno", None)  # Python 3.14 has it; older ones only the message
        match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if match:
            line = line or int(match[1])
            message = f"{message[: match.start()]} (column {match[2]})"
        elif message.endswith("(at end of document)"):
            line = line or text.count("\n") + 1
        raise TableError(f"TOML syntax error: {message}", source=source, line=line) from None
    except RecursionError:
        raise TableError("TOML nested too deeply", source=source) from None
    except ValueError as error:  # an integer of more digits than int() converts (4,300)
        raise TableError(_number_problem(error), source=source) from None
    # Only the headers at first (the rows' lines); the lines of keys, which only an error
    # message needs, are found when one is written.
    return data, _LazyLines(_toml_lines(text, keys=False), lambda: _toml_lines(text))


class _LazyLines(dict[_Path, int]):
    """The lines found so far, completed by ``complete()`` the first time one is missing."""

    def __init__(self, found: dict[_Path, int], complete: Callable[[], dict[_Path, int]]):
        super().__init__(found)
        self._complete: Callable[[], dict[_Path, int]] | None = complete

    def _missing(self) -> None:
        if self._complete is not None:
            complete, self._complete = self._complete, None
            for path, line in complete().items():
                self.setdefault(path, line)

    # dict.get is overloaded; this is the one form the builder calls.
    def get(self, path: _Path, default: int | None = None) -> int | None:  # type: ignore[override]
        if not super().__contains__(path):
            self._missing()
        return super().get(path, default)

    def __contains__(self, path: object) -> bool:
        if not super().__contains__(path):
            self._missing()
        return super().__contains__(path)


def _number_problem(error: ValueError) -> str:
    return (
        "a number too large to read (more than "
        f"{getattr(sys, 'get_int_max_str_digits', lambda: 4300)()} digits): "
        f"put it in quotes if it is a name ({str(error).splitlines()[0][:80]})"
    )


def _parse_json(text: str, source: str | None) -> tuple[Any, dict[_Path, int]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TableError(
            f"JSON syntax error: {error.msg} (column {error.colno})",
            source=source,
            line=error.lineno,
        ) from None
    except RecursionError:
        raise TableError("JSON nested too deeply", source=source) from None
    except ValueError as error:  # an integer of more digits than int() converts (4,300)
        raise TableError(_number_problem(error), source=source) from None
    lines: dict[_Path, int]
    lines, duplicates = _json_lines(text)
    if duplicates:
        path, line = duplicates[0]
        where = _dotted(path[:-1]) or "the top level"
        raise TableError(f"duplicate key {_shown(path[-1])} in {where}", source=source, line=line)
    if isinstance(data, list):
        # A bare list of transitions, as ``tcpviz table --json`` prints.
        data = {"transitions": data}
        lines = {("transitions", *path): line for path, line in lines.items()}
        lines[()] = lines[("transitions",)]
    return data, lines


def _parse_csv(text: str, source: str | None) -> tuple[Any, dict[_Path, int]]:
    first = next(line for line in text.splitlines() if line.strip())
    # The header decides the separator: European spreadsheets write ';', some tools a tab.
    delimiter = max((",", ";", "\t"), key=first.count)
    # strict: a stray quote is an error to report, not something to guess around.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[dict[str, Any]] = []
    lines: dict[_Path, int] = {(): 1}
    end = 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num  # a quoted cell may span several lines
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = _csv_header(record, source, start)
                lines[("transitions",)] = start
                continue
            if len(record) > len(header) and any(c.strip() for c in record[len(header) :]):
                raise TableError(
                    f"this row has {len(record)} cells but the header names {len(header)} "
                    f"columns {header}",
                    source=source,
                    line=start,
                )
            row: dict[str, Any] = {}
            for column, cell in zip(header, record, strict=False):  # short rows: the rest is empty
                cell = cell.strip()
                if not cell:
                    continue  # an empty cell takes the default
                if column == "extended":
                    if cell.lower() not in _BOOLEANS:
                        raise TableError(
                            f"'extended' must be one of {list(_BOOLEANS)}, not {_shown(cell)}",
                            source=source,
                            line=start,
                        )
                    row[column] = _BOOLEANS[cell.lower()]
                else:
                    row[column] = cell
            lines[("transitions", len(rows))] = start
            rows.append(row)
    except csv.Error as error:
        hint = " (a quote opened here is never closed)" if "end of data" in str(error) else ""
        # end + 1: the line the broken row starts on, not where the reader gave up.
        raise TableError(f"CSV syntax error: {error}{hint}", source=source, line=end + 1) from None
    if not rows:
        raise TableError("the file has a header row but no transitions", source=source, line=end)
    return {"transitions": rows}, lines


def _csv_header(record: list[str], source: str | None, line: int) -> list[str]:
    header = [cell.strip().lower() for cell in record]
    for column in header:
        if column not in ROW_KEYS:
            raise TableError(
                f"unknown column {_shown(column)} in the header row{_did_you_mean(column, ROW_KEYS)} "
                f"(must be among {list(ROW_KEYS)})",
                source=source,
                line=line,
            )
        if header.count(column) > 1:
            raise TableError(
                f"column {_shown(column)} appears twice in the header row", source=source, line=line
            )
    missing = [column for column in _REQUIRED if column not in header]
    if missing:
        raise TableError(
            f"the header row has no {missing} column (the first row of a CSV table names the "
            f"columns; required: {list(_REQUIRED)}, optional: {list(ROW_KEYS[3:])})",
            source=source,
            line=line,
        )
    return header


# -- where things are in the text -------------------------------------------------------------

_TOML_KEY_PART = re.compile(r"[ \t]*(?:([A-Za-z0-9_-]+)|\"((?:[^\"\\]|\\.)*)\"|'([^']*)')[ \t]*")


def _toml_key(text: str, position: int = 0, end: str = "") -> tuple[tuple[str, ...], int] | None:
    """Read a TOML dotted key (``states."SYN-SENT"``) from ``position`` into its parts.

    Returns the parts and the position after the key, which must be the end of ``text`` or
    (with ``end``) the start of ``end``; ``None`` when there is no such key. Linear time: each
    part is matched once, with no pattern that could backtrack over a run of spaces.
    """
    parts: list[str] = []
    while True:
        match = _TOML_KEY_PART.match(text, position)
        if not match:
            return None
        if match[1] is not None:
            parts.append(match[1])
        elif match[2] is not None:
            try:  # the escapes of TOML's basic strings are JSON's, but for \U and \e
                parts.append(json.loads(f'"{match[2]}"'))
            except json.JSONDecodeError:
                return None
        else:
            parts.append(match[3])
        position = match.end()
        if position == len(text) or (end and text.startswith(end, position)):
            return tuple(parts), position
        if text[position] != ".":
            return None
        position += 1


def _toml_header(raw: str) -> tuple[str, tuple[str, ...]] | None:
    """``('[[', key)`` or ``('[', key)`` for a table header line, else ``None``."""
    line = raw.strip()
    if not line.startswith("["):
        return None
    opening = "[[" if line.startswith("[[") else "["
    closing = "]" * len(opening)
    found = _toml_key(line, len(opening), closing)
    if found is None or not line.startswith(closing, found[1]):
        return None
    rest = line[found[1] + len(closing) :].lstrip()
    if rest and not rest.startswith("#"):
        return None
    return opening, found[0]


def _toml_key_line(raw: str) -> tuple[str, ...] | None:
    """The key of a ``key = value`` line, or ``None``."""
    # The text before the first '=' (a quoted key holding '=' is not found: the line is then
    # just not mapped, and errors name the table instead). No '#' before it: a comment.
    equals = raw.find("=")
    if equals < 0:
        return None
    head = raw[:equals]
    if "#" in head:
        return None
    head = head.strip()
    if not head or head[0] == "[":
        return None
    found = _toml_key(head)
    return None if found is None else found[0]


def _toml_lines(text: str, *, keys: bool = True) -> dict[_Path, int]:
    """Map each table header and key of a TOML text to its line: ``('transitions', 2)`` -> 31.

    A light scan rather than a parser: the text has already parsed, so only headers, keys and
    multi-line strings (which could hold a line looking like a header) need recognising.
    Without ``keys``, only the headers.
    """
    lines: dict[_Path, int] = {(): 1}
    table: _Path = ()
    counts: dict[_Path, int] = {}
    in_string: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if raw.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _toml_header(raw)
        if header is not None:
            opening, key = header
            if opening == "[[":
                counts[key] = counts.get(key, -1) + 1
                table = (*key, counts[key])
            else:
                table = key
            lines.setdefault(table, number)
            continue
        line_key = _toml_key_line(raw) if keys else None
        if line_key:
            lines.setdefault((*table, *line_key), number)
        for delimiter in ('"""', "'''"):
            if raw.count(delimiter) % 2 == 1:
                in_string = delimiter
                break
    return lines


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_lines(text: str) -> tuple[dict[_Path, int], list[tuple[_Path, int]]]:
    """Map each key and array element of a JSON text to its line, and list duplicate keys.

    Walks the (already valid) text with the standard decoder's ``raw_decode`` for the scalars,
    so positions come from the same scanner that parsed the file.
    """
    decoder = json.JSONDecoder()
    newlines = [i for i, char in enumerate(text) if char == "\n"]
    lines: dict[_Path, int] = {}
    duplicates: list[tuple[_Path, int]] = []

    def line_of(position: int) -> int:
        return bisect.bisect_left(newlines, position) + 1

    def skip(position: int) -> int:
        return _JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]

    def walk(position: int, path: _Path) -> int:
        position = skip(position)
        lines.setdefault(path, line_of(position))
        opening = text[position]
        if opening not in "[{":
            return decoder.raw_decode(text, position)[1]
        position = skip(position + 1)
        closing = "]" if opening == "[" else "}"
        index = 0
        seen: set[str] = set()
        while text[position] != closing:
            if opening == "{":
                key, after = decoder.raw_decode(text, position)
                here = (*path, key)
                if key in seen:
                    duplicates.append((here, line_of(position)))
                seen.add(key)
                lines[here] = line_of(position)
                position = walk(skip(after) + 1, here)  # + 1 steps over the ':'
            else:
                position = walk(position, (*path, index))
                index += 1
            position = skip(position)
            if text[position] == ",":
                position = skip(position + 1)
        return position + 1

    # Absurdly deep nesting: keep the lines found so far; error messages just get vaguer.
    with contextlib.suppress(RecursionError):
        walk(0, ())
    return lines, duplicates


def _dotted(path: _Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def _did_you_mean(word: object, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word).lower(), valid, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(value: object) -> str:
    return {dict: "a table", list: "a list", bool: "a boolean", str: "a string"}.get(
        type(value), type(value).__name__
    )


# -- checking what was parsed -----------------------------------------------------------------


class _Builder:
    """Check parsed data key by key and build the :class:`Table`, naming lines in errors."""

    def __init__(self, source: str | None, lines: Mapping[_Path, int]):
        self.source = source
        self.lines = lines

    def fail(self, path: _Path, message: str) -> NoReturn:
        line = None
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                break
        # Without the line of the row itself (a TOML inline array), say which row it is.
        if path and (line is None or end < min(len(path), 2)):
            message = f"{_dotted(path)}: {message}"
        raise TableError(message, source=self.source, line=line)

    def check_keys(self, path: _Path, value: object, valid: tuple[str, ...], what: str) -> dict:
        if not isinstance(value, dict):
            self.fail(
                path, f"{what} must be a table of keys {list(valid)}, not {_type_name(value)}"
            )
        for key in value:
            if key not in valid:
                self.fail(
                    (*path, key),
                    f"unknown key {_shown(key)} in {what}{_did_you_mean(key, valid)} "
                    f"(must be among {list(valid)})",
                )
        return value

    def string(self, path: _Path, value: object, what: str, *, label: bool = False) -> str:
        if not isinstance(value, str):
            hint = " (put it in quotes)" if isinstance(value, (int, float)) else ""
            self.fail(path, f"{what} must be a string{hint}, not {_shown(value)}")
        self.text(path, value, what, label=label)
        return value

    def text(self, path: _Path, value: str, what: str, *, label: bool = False) -> None:
        """Fail when ``value`` holds what XML cannot, or is a ``label`` too long to draw."""
        problem = text_problem(value, label=label)
        if problem is not None:
            self.fail(path, f"{what} {_shown(value)} {problem}")

    def strings(
        self, path: _Path, value: object, what: str, *, label: bool = False
    ) -> tuple[str, ...]:
        if isinstance(value, str):
            return (self.string(path, value, what, label=label),)
        if not isinstance(value, list):
            self.fail(path, f"{what} must be a list of strings, not {_shown(value)}")
        return tuple(self.string((*path, i), v, what, label=label) for i, v in enumerate(value))

    # -- the parts of a table --

    def build(self, data: object) -> Table:
        data = self.check_keys((), data, _TOP_KEYS, "the top level")
        name = self.string(("name",), data.get("name", ""), "'name'")
        if "transitions" not in data:
            self.fail((), "no transitions: add [[transitions]] tables (a 'transitions' list)")
        raw_rows = data["transitions"]
        if not isinstance(raw_rows, list):
            self.fail(("transitions",), f"'transitions' must be a list, not {_type_name(raw_rows)}")
        if not raw_rows:
            self.fail(("transitions",), "'transitions' is empty")

        states, descriptions, aliases = self.states(data.get("states"))
        index = None if states is None else alias_index(states, aliases)
        rows = [self.row(n, raw, index) for n, raw in enumerate(raw_rows)]
        if states is None:
            states = self.states_of_rows(rows)
        initial = self.initial(data.get("initial"), states, aliases)
        events = self.events(data.get("events"), rows)
        self.check_reachable(rows, states, initial)
        return Table(
            rows,
            states=states,
            initial=initial,
            descriptions=descriptions,
            state_aliases=aliases,
            events=events,
            name=name,
            source=self.source,
        )

    def states(
        self, raw: object
    ) -> tuple[list[str] | None, dict[str, str], dict[str, tuple[str, ...]]]:
        if raw is None:
            return None, {}, {}
        path: _Path = ("states",)
        if isinstance(raw, list):
            names = [self.string((*path, i), s, "a state name") for i, s in enumerate(raw)]
            raw = dict.fromkeys(names, "")
            if len(raw) < len(names):
                self.fail(path, "a state is listed twice")
        if not isinstance(raw, dict):
            self.fail(path, f"'states' must be a table of states, not {_type_name(raw)}")
        if not raw:
            self.fail(path, "'states' is empty (leave it out to take the states from the rows)")
        descriptions: dict[str, str] = {}
        aliases: dict[str, tuple[str, ...]] = {}
        seen: dict[str, str] = {}
        for state, spec in raw.items():
            where = (*path, state)
            if not state.strip():
                self.fail(where, "a state name must not be empty")
            self.text(where, state, "the state name", label=True)
            key = state_key(state)
            if key in seen:
                self.fail(
                    where,
                    f"states {_shown(seen[key])} and {_shown(state)} differ only in case or punctuation, "
                    "so input could not tell them apart",
                )
            seen[key] = state
            if isinstance(spec, str):
                descriptions[state] = spec
                continue
            spec = self.check_keys(where, spec, _STATE_KEYS, f"state {_shown(state)}")
            descriptions[state] = self.string(
                (*where, "description"), spec.get("description", ""), "'description'"
            )
            aliases[state] = self.strings(
                (*where, "aliases"), spec.get("aliases", []), "'aliases'", label=True
            )
            for i, alias in enumerate(aliases[state]):
                if not alias.strip():
                    self.fail((*where, "aliases", i), "an alias must not be empty")
        clash = alias_clash(list(raw), aliases)
        if clash is not None:
            alias, state, other, is_name = clash
            self.fail(
                ("states", state, "aliases", aliases[state].index(alias)),
                _alias_clash_message(alias, state, other, is_name),
            )
        return list(raw), descriptions, aliases

    def row(self, n: int, raw: object, index: Mapping[str, str] | None) -> Transition:
        """Check one transition; ``index`` maps the listed states' keys (None: not listed)."""
        path: _Path = ("transitions", n)
        raw = self.check_keys(path, raw, ROW_KEYS, "a transition")
        for key in _REQUIRED:
            if raw.get(key) in (None, ""):
                self.fail(path, f"the transition has no {key!r} (each needs source, event, target)")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if value is None or (key == "via" and value == ""):
                continue  # JSON null (``tcpviz table --json`` writes it for 'via'), TOML's ""
            if key == "extended":
                if not isinstance(value, bool):
                    self.fail(
                        (*path, key), f"'extended' must be true or false, not {_shown(value)}"
                    )
                values[key] = value
            else:
                drawn = key in ("source", "event", "target", "sent", "action", "via")
                values[key] = self.string((*path, key), value, repr(key), label=drawn)
        for key, valid in (("kind", KINDS), ("side", SIDES)):
            if key in values and values[key] not in valid:
                self.fail(
                    (*path, key),
                    f"unknown {key} {_shown(values[key])}{_did_you_mean(values[key], valid)} "
                    f"(must be one of {list(valid)})",
                )
        if index is not None:
            for key in ("source", "target", "via"):
                if key in values:
                    state = index.get(state_key(values[key]))
                    if state is None:
                        states = list(dict.fromkeys(index.values()))
                        self.fail(
                            (*path, key),
                            f"unknown {key} state {_shown(values[key])} (must be one of {_some(states)}; "
                            "every state must be listed under 'states')",
                        )
                    values[key] = state  # any case or punctuation of a listed state
        return Transition(**values, line=self.lines.get(path))

    def states_of_rows(self, rows: list[Transition]) -> list[str]:
        states: dict[str, str] = {}
        names: set[str] = set()  # states.values(), for a lookup in constant time
        for n, row in enumerate(rows):
            for key in ("source", "target", "via"):
                state = getattr(row, key)
                if state is None or state in names:
                    continue
                other = states.get(state_key(state))
                if other is not None:
                    self.fail(
                        ("transitions", n, key),
                        f"state {_shown(state)} differs from {_shown(other)} only in case or punctuation: "
                        "spell each state the same way everywhere",
                    )
                if key != "via":
                    states[state_key(state)] = state
                    names.add(state)
        return list(states.values())

    def initial(
        self, raw: object, states: list[str], aliases: Mapping[str, tuple[str, ...]]
    ) -> str:
        if raw is None:
            return states[0]
        raw = self.string(("initial",), raw, "'initial'")
        state = alias_index(states, aliases).get(state_key(raw))
        if state is None:
            self.fail(
                ("initial",),
                f"unknown initial state {_shown(raw)} (must be one of {_some(states)})",
            )
        return state

    def events(self, raw: object, rows: list[Transition]) -> list[Event]:
        if raw is None:
            return []
        if not isinstance(raw, dict):
            self.fail(("events",), f"'events' must be a table of events, not {_type_name(raw)}")
        used = {event_key(row.event): row for row in rows}
        events = []
        for name, spec in raw.items():
            where = ("events", name)
            self.text(where, name, "the event name")
            row = used.get(event_key(name))
            if row is None:
                names = list(dict.fromkeys(r.event for r in rows))
                self.fail(
                    where, f"no transition has the event {_shown(name)} (events: {_some(names)})"
                )
            if isinstance(spec, str):
                spec = {"words": spec}
            spec = self.check_keys(where, spec, _EVENT_KEYS, f"event {_shown(name)}")
            events.append(
                Event(
                    row.event,
                    row.kind,
                    self.string((*where, "words"), spec.get("words", ""), "'words'"),
                    self.strings((*where, "aliases"), spec.get("aliases", []), "'aliases'"),
                )
            )
        return events

    def check_reachable(self, rows: list[Transition], states: list[str], initial: str) -> None:
        # Table checks this too, but cannot say where the lonely state is written.
        targets: dict[str, list[str]] = {}
        for row in rows:  # indexed once: a scan of every row per state was quadratic
            targets.setdefault(row.source, []).append(row.target)
        reached = {initial}
        frontier = [initial]
        while frontier:  # bounded: each state enters the frontier at most once
            for target in targets.get(frontier.pop(), ()):
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        missing = [s for s in states if s not in reached]
        if not missing:
            return
        first = missing[0]
        where: _Path = ("states", first)
        if where not in self.lines:
            n = next(
                (n for n, row in enumerate(rows) if first in (row.source, row.target, row.via)), 0
            )
            where = ("transitions", n)
        others = f" (nor {_some(missing[1:])})" if len(missing) > 1 else ""
        self.fail(
            where,
            f"no transition reaches state {_shown(first)}{others} from the initial state {_shown(initial)}: "
            "add a transition into it, or remove it",
        )


# -- writing ----------------------------------------------------------------------------------


def dumps_table(table: Table, format: str) -> str:
    """The text of ``table`` as a table file in ``format`` (``'toml'``, ``'json'`` or ``'csv'``).

    TOML and JSON keep everything :func:`load_table` reads. CSV keeps the transitions only
    (no descriptions or aliases), and moves a transition from the initial state to the top if
    needed, since in CSV the first row's source is the initial state.
    """
    fmt = _check_format(format)
    if fmt == "csv":
        return _dumps_csv(table)
    if fmt == "json":
        return json.dumps(_as_data(table), indent=2, ensure_ascii=False) + "\n"
    return _dumps_toml(_as_data(table))


def dump_table(table: Table, path: str | os.PathLike[str], format: str | None = None) -> None:
    """Write ``table`` to ``path`` atomically, in ``format`` or the one its suffix names."""
    from ..files import write_atomic

    path = Path(path)
    text = dumps_table(table, _format_of(path) if format is None else format)
    # A teacher's table is source data, not a regenerable export: make it survive a power cut.
    write_atomic(path, text, durable=True)


def _row_data(t: Transition) -> dict[str, object]:
    row: dict[str, object] = {"source": t.source, "event": t.event, "target": t.target}
    for key, default in (
        ("sent", ""),
        ("action", ""),
        ("kind", None),  # always written: 'segment' or 'timeout' is worth reading
        ("side", "either"),
        ("section", ""),
        ("via", None),
        ("extended", False),
        ("note", ""),
    ):
        value = getattr(t, key)
        if value != default or key == "kind":
            row[key] = value
    return row


def _as_data(table: Table) -> dict[str, object]:
    states: dict[str, dict[str, object]] = {}
    for state in table.states:
        spec: dict[str, object] = {}
        if table.descriptions.get(state):
            spec["description"] = table.descriptions[state]
        if table.state_aliases.get(state):
            spec["aliases"] = list(table.state_aliases[state])
        states[state] = spec
    events: dict[str, dict[str, object]] = {}
    for name, event in table.events.items():
        spec = {}
        if event.words:
            spec["words"] = event.words
        if event.aliases:
            spec["aliases"] = list(event.aliases)
        if spec:
            events[name] = spec
    data: dict[str, object] = {}
    if table.name:
        data["name"] = table.name
    data["initial"] = table.initial
    data["states"] = states
    if events:
        data["events"] = events
    data["transitions"] = [_row_data(t) for t in table.transitions]
    return data


def _toml_string(value: str) -> str:
    # JSON's escapes are all valid in TOML basic strings; TOML also forbids a raw DEL.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key_text(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_string(str(v)) for v in value) + "]"
    return _toml_string(str(value))


def _dumps_toml(data: dict[str, Any]) -> str:
    out = ["# A tcpviz transition table: use it with --table FILE (format: tcpviz/tablefile.py)."]
    for key in ("name", "initial"):
        if key in data:
            out.append(f"{key} = {_toml_value(data[key])}")
    for section in ("states", "events"):
        for name, spec in data.get(section, {}).items():
            out.append(f"\n[{section}.{_toml_key_text(name)}]")
            out.extend(f"{key} = {_toml_value(value)}" for key, value in spec.items())
    for row in data["transitions"]:
        out.append("\n[[transitions]]")
        out.extend(f"{key} = {_toml_value(value)}" for key, value in row.items())
    return "\n".join(out) + "\n"


def _dumps_csv(table: Table) -> str:
    rows = list(table.transitions)
    if rows[0].source != table.initial:
        first = next((t for t in rows if t.source == table.initial), None)
        if first is not None:
            rows.remove(first)
            rows.insert(0, first)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ROW_KEYS)
    for t in rows:
        writer.writerow(_csv_cell(t, key) for key in ROW_KEYS)
    return buffer.getvalue()


def _csv_cell(t: Transition, key: str) -> str:
    value = getattr(t, key)
    if key == "extended":
        return "true" if value else ""
    return value or ""
