"""Colour themes: the palettes, the CSS style sheet every SVG embeds, and theme checks.

Each theme's rules are scoped under ``svg.tcpviz-diagram.tcpviz-theme-<name>``, so diagrams with
different themes can share a page. The palette is Okabe and Ito's, safe for colour-blind
readers, and no meaning rests on colour alone: the current state also has a thick border and
bold name, the last transition a thick line and bold label, rows beyond RFC 9293 Figure 5 are
dashed. The DOT attributes and the colours baked into exports derive from the same styles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..errors import RenderError

__all__ = [
    "THEMES",
    "check_theme",
    "style_sheet",
]

#: Colour themes. ``auto`` follows JupyterLab's light or dark theme (and the system's
#: colour scheme outside Jupyter); ``print`` is black and white.
THEMES: tuple[str, ...] = ("light", "dark", "print", "auto")
#: The root class that shows every row beyond Figure 5 at once (otherwise: the current
#: state's rows, and those taken).
ALL_ROWS = ".tcpviz-all-rows"


@dataclass(frozen=True)
class _Palette:
    """The colours and line widths of one theme; CSS, DOT and baked SVG all derive from it."""

    background: str
    text: str
    node_fill: str
    node_line: str
    edge_line: str
    muted: str  # rows beyond Figure 5: their lines and labels
    visited_fill: str
    visited_text: str
    current_fill: str
    current_text: str
    current_line: str
    taken_line: str
    last_line: str
    last_text: str
    focus: str
    node_width: str = "1.3"
    current_width: str = "3"
    edge_width: str = "1"
    taken_width: str = "2"
    last_width: str = "3"


# Okabe-Ito: orange #E69F00 and vermillion #D55E00 mean "now" (the current state and the step
# into it), blue #0072B2 / sky blue #56B4E9 mean "before" (visited states, earlier steps).
# Orange against blue stays distinct for every common colour-vision deficiency.
_PALETTES: dict[str, _Palette] = {
    "light": _Palette(
        background="#ffffff",
        text="#1a1a1a",
        node_fill="#ffffff",
        node_line="#1a1a1a",
        edge_line="#3c3c3c",
        muted="#6b6b6b",
        visited_fill="#d3e8f6",
        visited_text="#000000",
        current_fill="#e69f00",
        current_text="#000000",
        current_line="#000000",
        taken_line="#0072b2",
        last_line="#d55e00",
        last_text="#a63f00",
        focus="#0072b2",
    ),
    "dark": _Palette(
        background="#1e1e1e",
        text="#e8e8e8",
        node_fill="#2b2b2b",
        node_line="#e8e8e8",
        edge_line="#c4c4c4",
        muted="#9e9e9e",
        visited_fill="#1c4a68",
        visited_text="#ffffff",
        current_fill="#e69f00",
        current_text="#000000",
        current_line="#ffffff",
        taken_line="#56b4e9",
        last_line="#e69f00",
        last_text="#f0b73c",
        focus="#56b4e9",
    ),
    # Black and white: line weight, fill and dashes carry the meaning.
    "print": _Palette(
        background="#ffffff",
        text="#000000",
        node_fill="#ffffff",
        node_line="#000000",
        edge_line="#000000",
        muted="#555555",
        visited_fill="#d9d9d9",
        visited_text="#000000",
        current_fill="#000000",
        current_text="#ffffff",
        current_line="#000000",
        taken_line="#000000",
        last_line="#000000",
        last_text="#000000",
        focus="#000000",
        taken_width="2.2",
        last_width="4",
    ),
}

# "auto" draws with CSS custom properties: JupyterLab's variables when the page defines them,
# then VS Code's, then fixed light or dark colours chosen by the page's or system's scheme.
_AUTO_SOURCES: dict[str, tuple[str, ...]] = {
    "background": ("--jp-layout-color0", "--vscode-editor-background"),
    "text": ("--jp-content-font-color1", "--vscode-editor-foreground"),
    "node_fill": ("--jp-layout-color1", "--vscode-editor-background"),
    "node_line": ("--jp-content-font-color1", "--vscode-editor-foreground"),
    "edge_line": ("--jp-content-font-color1", "--vscode-editor-foreground"),
    "muted": ("--jp-content-font-color2", "--vscode-descriptionForeground"),
    "focus": ("--jp-brand-color1", "--vscode-focusBorder"),
}
_COLOUR_FIELDS = tuple(
    name for name in _Palette.__dataclass_fields__ if not name.endswith("_width")
)
_AUTO = _Palette(**{name: f"var(--tcpviz-{name.replace('_', '-')})" for name in _COLOUR_FIELDS})

# What each kind of element looks like, as (element role, flag) -> SVG presentation properties.
# The flags overlay the base style in this order, so a later flag wins over an earlier one;
# the CSS rules are emitted in the same order with the same specificity.
_NODE_FLAGS = ("visited", "current")
_EDGE_FLAGS = ("extended", "taken", "last")
_ROLES: dict[str, tuple[str, ...]] = {
    "node-shape": ("path", "polygon", "ellipse"),
    "node-text": ("text",),
    "edge-line": ("path",),
    "edge-head": ("polygon",),  # arrowheads, and the rule between event and action
    "edge-text": ("text",),
}


def _styles(p: _Palette) -> dict[tuple[str, str], dict[str, str]]:
    return {
        ("node-shape", ""): {
            "fill": p.node_fill,
            "stroke": p.node_line,
            "stroke-width": p.node_width,
        },
        ("node-text", ""): {"fill": p.text},
        ("edge-line", ""): {"stroke": p.edge_line, "stroke-width": p.edge_width},
        ("edge-head", ""): {"fill": p.edge_line, "stroke": p.edge_line},
        ("edge-text", ""): {"fill": p.text},
        ("node-shape", "visited"): {"fill": p.visited_fill},
        ("node-text", "visited"): {"fill": p.visited_text},
        ("node-shape", "current"): {
            "fill": p.current_fill,
            "stroke": p.current_line,
            "stroke-width": p.current_width,
        },
        ("node-text", "current"): {"fill": p.current_text, "font-weight": "bold"},
        ("edge-line", "extended"): {"stroke": p.muted, "stroke-dasharray": "5,3"},
        ("edge-head", "extended"): {"fill": p.muted, "stroke": p.muted},
        ("edge-text", "extended"): {"fill": p.muted},
        ("edge-line", "taken"): {"stroke": p.taken_line, "stroke-width": p.taken_width},
        ("edge-head", "taken"): {"fill": p.taken_line, "stroke": p.taken_line},
        ("edge-text", "taken"): {"fill": p.text},
        ("edge-line", "last"): {"stroke": p.last_line, "stroke-width": p.last_width},
        ("edge-head", "last"): {"fill": p.last_line, "stroke": p.last_line},
        ("edge-text", "last"): {"fill": p.last_text, "font-weight": "bold"},
    }


def _rules(scope: str, palette: _Palette) -> list[str]:
    rules = [f"{scope} polygon.tcpviz-background {{ fill: {palette.background}; }}"]
    for (role, flag), properties in _styles(palette).items():
        kind = role.split("-")[0]
        group = f"g.{kind}.{flag}" if flag else f"g.{kind}"
        selectors = ", ".join(f"{scope} {group} {tag}" for tag in _ROLES[role])
        body = " ".join(f"{name}: {value};" for name, value in properties.items())
        rules.append(f"{selectors} {{ {body} }}")
    rules.append(f"{scope} g.node:focus-visible {{ outline-color: {palette.focus}; }}")
    # The band naming the rows beyond Figure 5 (the graph's own label).
    rules.append(f"{scope} text.tcpviz-band {{ fill: {palette.muted}; }}")
    return rules


def _auto_variables(palette: _Palette) -> str:
    declarations = []
    for name in _COLOUR_FIELDS:
        value = getattr(palette, name)
        for variable in reversed(_AUTO_SOURCES.get(name, ())):
            value = f"var({variable}, {value})"
        declarations.append(f"--tcpviz-{name.replace('_', '-')}: {value};")
    return " ".join(declarations)


def _themed(root: str, rules: Callable[[str, _Palette], list[str]]) -> list[str]:
    """The rule sets of every theme for the SVGs matched by ``root`` (``svg.tcpviz-diagram``,
    ``svg.tcpviz-ladder``): ``rules(scope, palette)`` under ``root.tcpviz-theme-NAME``, and the
    auto theme's colours as variables that follow the system's scheme or the page's theme."""
    lines: list[str] = []
    for name, palette in _PALETTES.items():
        lines.extend(rules(f"{root}.tcpviz-theme-{name}", palette))
    auto = f"{root}.tcpviz-theme-auto"
    light, dark = _auto_variables(_PALETTES["light"]), _auto_variables(_PALETTES["dark"])
    lines.append(f"{auto} {{ {light} }}")
    lines.append(f"@media (prefers-color-scheme: dark) {{ {auto} {{ {dark} }} }}")
    # A page that says which theme it shows overrides the system's scheme: JupyterLab and
    # Notebook 7 mark <body>, VS Code gives <body> a class, Colab marks <html>.
    dark_pages = ('body[data-jp-theme-light="false"]', "body.vscode-dark", 'html[theme="dark"]')
    light_pages = ('body[data-jp-theme-light="true"]', "body.vscode-light", 'html[theme="light"]')
    lines.append(f"{', '.join(f'{page} {auto}' for page in dark_pages)} {{ {dark} }}")
    lines.append(f"{', '.join(f'{page} {auto}' for page in light_pages)} {{ {light} }}")
    lines.extend(rules(auto, _AUTO))
    return lines


def _build_style_sheet() -> str:
    lines = [
        "/* tcpviz: one rule set per theme, each scoped to svg.tcpviz-diagram.tcpviz-theme-NAME */"
    ]
    lines.extend(_themed("svg.tcpviz-diagram", _rules))
    # Theme-independent: a hover hint and a focus ring for keyboard users (colour per theme).
    lines.extend(
        [
            # The rows beyond Figure 5 (two dozen arrows, nearly all into CLOSED) are shown
            # for the current state only (the page marks its rows "enabled", a static export
            # "leaving"), and where taken; the root class tcpviz-all-rows shows them all.
            f"svg.tcpviz-diagram:not({ALL_ROWS}) g.edge.extended:not(.enabled):not(.leaving)"
            ":not(.last):not(.taken) { display: none; }",
            "svg.tcpviz-diagram g.node:hover path, svg.tcpviz-diagram g.node:hover polygon, "
            "svg.tcpviz-diagram g.node:hover ellipse { stroke-width: 2.5; }",
            "svg.tcpviz-diagram g.edge:hover path { stroke-width: 2; }",
            "svg.tcpviz-diagram g.node:focus { outline: none; }",
            "svg.tcpviz-diagram g.node:focus-visible { outline: 3px solid #0072b2; "
            "outline-offset: 3px; }",
        ]
    )
    return "\n".join(lines)


_STYLE_SHEET = _build_style_sheet()


def style_sheet() -> str:
    """The CSS every tcpviz SVG embeds: all themes, highlight classes, hover and focus rules."""
    return _STYLE_SHEET


def check_theme(theme: str, error: type[Exception] = RenderError) -> str:
    """``theme`` if it is one of :data:`THEMES`; else ``error`` (the caller's own error class:
    a diagram's, a page's or a widget's) naming it and listing the themes. The one verifier
    of the one constant, as graphviz checks its engines."""
    if theme not in THEMES:
        raise error(f"unknown theme: {theme!r} (must be one of {list(THEMES)})")
    return theme


_check_theme = check_theme


def _overlay(
    styles: Mapping[tuple[str, str], Mapping[str, str]], kind: str, flags: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The properties of each role of a node or edge carrying ``flags`` (later flags win)."""
    result = {}
    for role in _ROLES:
        if not role.startswith(kind):
            continue
        merged = dict(styles[(role, "")])
        for flag in flags:
            merged.update(styles.get((role, flag), {}))
        result[role] = merged
    return result
