// tcpviz connection widget: both ends' state diagrams, the ladder between them, the segments in
// flight, the clock. Python decides everything; this file only draws what Python sent.
//
// Python sends, in traits: `diagram` (the laid-out state diagram, once), `ladder` (the ladder
// SVG of the whole recorded story, when it changes), `position` (where the story stands),
// `lookahead` (sent just after it: for every button, the position it leads to, computed by
// Python one step ahead) and `scenarios`. A click paints `position.next[key]` at once, sends the key, and Python confirms
// by sending the new position. The page holds no TCP rules: it compares step numbers that
// Python wrote into the ladder (data-sent-step, data-end-step) with the position's index.
//
// A replayed capture (Python's ReplayView) sends positions with `replay: true`: nothing can be
// called, delivered or dropped, so those controls are hidden; `ladder_step` is the ladder row of
// the moment and `segment` the segment it shows (Python says which; the page only looks up).
// A click on the ladder sends `ladder:ROW`, and Python finds the moment of that row.
//
// The standalone page passes a small model of its own that serves recorded positions.

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

// -- one end: its name and state, its state diagram zoomed on the current state, its TCB, the
//    user calls it can make now.
function endView(root, which, onKey) {
  const el = h("section", { class: `tvc-end tvc-end-${which}`, "data-testid": `end-${which}` });
  const title = h("h3", { class: "tvc-end-title" });
  const name = h("span", { class: "tvc-end-name", "data-testid": `end-${which}-name` });
  const state = h("span", { class: "tvc-state", "data-testid": `end-${which}-state` });
  // How the capture knows the state (a replay): "seen: ..." or "inferred: ...".
  const evidence = h("p", { class: "tvc-evidence", "data-testid": `end-${which}-evidence` });
  title.append(name, state);
  // The zoom button in the panel's header row, after the name and state (on a line of its own
  // when they leave no room): never on the diagram, where it would hide a label.
  const zoom = h("button", {
    class: "tvc-zoom",
    type: "button",
    "data-testid": `end-${which}-zoom`,
    title: "Show the whole state diagram, or zoom back on the current state",
    text: "whole",
  });
  const viewport = h("div", { class: "tvc-diagram", "data-testid": `end-${which}-diagram` });
  const head = h("div", { class: "tvc-end-head" }, title, zoom);
  const box = h("div", { class: "tvc-diagram-box" }, viewport);
  const tcb = h("dl", { class: "tvc-tcb", "data-testid": `end-${which}-tcb` });
  const timers = h("p", { class: "tvc-timers", "data-testid": `end-${which}-timers` });
  const calls = h("div", { class: "tvc-calls", role: "group", "aria-label": `${which} calls` });
  // The calls right under the diagram: what a student does next stays in view in a short panel.
  el.append(head, evidence, box, calls, tcb, timers);
  let whole = false;
  let svg = null;
  zoom.addEventListener("click", () => {
    whole = !whole;
    zoom.textContent = whole ? "zoom" : "whole";
    place();
  });

  function setDiagram(text) {
    viewport.innerHTML = text;
    svg = viewport.querySelector("svg");
    if (!svg) return;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    for (const g of svg.querySelectorAll("g.node")) g.removeAttribute("tabindex");
  }

  // The box to centre on: the current state, or, where the diagram draws it more than once
  // (CLOSED at the top and the bottom), the copy nearest the head of the arrow that led there.
  function focus(current) {
    const copies = [...current.querySelectorAll("text")];
    const head = svg.querySelector("g.edge.last polygon, g.edge.last path");
    if (copies.length < 2) return current.getBoundingClientRect();
    if (!head) return copies[0].getBoundingClientRect();
    const a = head.getBoundingClientRect();
    const distance = (t) => {
      const b = t.getBoundingClientRect();
      return Math.hypot(b.x + b.width / 2 - a.x - a.width / 2, b.y + b.height / 2 - a.y - a.height / 2);
    };
    return copies.reduce((best, t) => (distance(t) < distance(best) ? t : best)).getBoundingClientRect();
  }

  // Geometry only: scale so that the arrow labels are at least 12 px (or fit the whole figure),
  // and scroll the current state into the middle of the viewport.
  function place() {
    if (!svg) return;
    const box = svg.viewBox.baseVal;
    if (!box || !box.width) return;
    const fit = Math.min(viewport.clientWidth / box.width, viewport.clientHeight / box.height);
    const sizes = [...svg.querySelectorAll("g.edge text")].map((t) =>
      parseFloat(t.getAttribute("font-size") || "10"),
    );
    const smallest = sizes.length ? Math.min(...sizes) : 10;
    const scale = whole ? fit : Math.max(fit, 12.5 / smallest);
    svg.style.width = `${box.width * scale}px`;
    svg.style.height = `${box.height * scale}px`;
    const current = svg.querySelector("g.node.current");
    if (!current || whole) {
      viewport.scrollTo({ left: 0, top: 0 });
      return;
    }
    const r = focus(current);
    const v = viewport.getBoundingClientRect();
    viewport.scrollTo({
      left: viewport.scrollLeft + r.left + r.width / 2 - v.left - viewport.clientWidth / 2,
      top: viewport.scrollTop + r.top + r.height / 2 - v.top - viewport.clientHeight / 2,
      behavior: "instant",
    });
  }

  function paint(end, pending) {
    name.textContent = end.name;
    state.textContent = end.state;
    const inferred = end.evidence === "inferred";
    state.classList.toggle("tvc-inferred", inferred);
    evidence.textContent = end.evidence_text || "";
    evidence.hidden = !end.evidence_text;
    if (svg) {
      const visited = new Set(end.visited);
      const taken = new Set(end.taken);
      for (const g of svg.querySelectorAll("g.node")) {
        const here = g.id === end.state_id;
        g.classList.toggle("current", here);
        g.classList.toggle("inferred", here && inferred);
        g.classList.toggle("visited", visited.has(g.id) && !here);
        if (here) g.setAttribute("aria-current", "true");
        else g.removeAttribute("aria-current");
      }
      for (const g of svg.querySelectorAll("g.edge")) {
        g.classList.toggle("last", g.id === end.last_edge);
        g.classList.toggle("taken", taken.has(g.id) && g.id !== end.last_edge);
      }
    }
    // Each name and value in a group of its own, so that a pair wraps whole in a narrow panel.
    tcb.replaceChildren(
      ...end.tcb.map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: v }))),
    );
    timers.textContent =
      end.timers_text || (end.timers.length ? `timers: ${end.timers.join(", ")}` : "no timer running");
    calls.replaceChildren(
      ...end.calls.map((c) => {
        const b = h("button", {
          type: "button",
          class: "tvc-call",
          "data-testid": "call-button",
          "data-key": c.key,
          title: c.title || c.label,
          disabled: pending,
          text: c.label,
        });
        b.addEventListener("click", () => onKey(c.key));
        return b;
      }),
    );
    if (!end.calls.length && !end.evidence)
      calls.append(h("span", { class: "tvc-none", text: "no call possible" }));
    requestAnimationFrame(place);
  }
  return { el, viewport, setDiagram, paint, place };
}

// -- the ladder: Python's SVG; the page fades what comes after the moment shown, marks the
//    last step's segments, and keeps the moment in view.
function ladderView(onKey) {
  const el = h("section", { class: "tvc-ladder", "data-testid": "ladder" });
  const pane = h("div", { class: "tvc-ladder-pane" });
  el.append(pane);
  let svg = null;
  let rows = {};
  const go = (target) => {
    const g = target.closest && target.closest("g.ladder-segment, g.ladder-state");
    if (!g) return false;
    const step = g.dataset.sentStep ?? g.dataset.step;
    if (step !== undefined) onKey(`ladder:${step}`);
    return step !== undefined;
  };
  pane.addEventListener("click", (e) => go(e.target));
  pane.addEventListener("keydown", (e) => {
    // Enter or Space on a focused segment; stopped here so JupyterLab's shortcuts do not fire.
    if ((e.key === "Enter" || e.key === " ") && go(e.target)) {
      e.preventDefault();
      e.stopPropagation();
    }
  });
  function setLadder(text) {
    pane.innerHTML = text;
    svg = pane.querySelector("svg");
    rows = svg ? JSON.parse(svg.dataset.rows || "{}") : {};
    if (svg) {
      svg.removeAttribute("height");
      svg.style.maxWidth = "100%";
      svg.style.height = "auto";
      for (const g of svg.querySelectorAll("g.ladder-segment")) {
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button"); // its aria-label says what it is; a click goes there
      }
    }
  }
  function paint(position) {
    if (!svg) return;
    const m = position.ladder_step ?? position.index;
    // A replay names the segment it shows, and the rows since the moment before (the states
    // that segment's sending and arrival wrote): Python's numbers, compared here.
    const lit = position.segment;
    const since = position.ladder_since;
    for (const g of svg.querySelectorAll("g[data-sent-step], g[data-step]")) {
      const start = Number(g.dataset.sentStep ?? g.dataset.step);
      const end = g.dataset.endStep === undefined ? null : Number(g.dataset.endStep);
      g.classList.toggle("later", start > m);
      g.classList.toggle("flying", start <= m && end !== null && end > m);
      let selected = start === m || end === m;
      if (lit !== undefined && g.dataset.segment !== undefined) selected = g.dataset.segment === String(lit);
      else if (since !== undefined && g.dataset.segment === undefined) selected = since < start && start <= m;
      g.classList.toggle("selected", selected);
    }
    // Keep the moment in view (geometry from the rows Python wrote).
    const y = rows[String(m)];
    if (y !== undefined) {
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width || 1;
      const target = y * scale - pane.clientHeight / 2;
      pane.scrollTo({ top: Math.max(0, target), behavior: "instant" });
    }
  }
  return { el, setLadder, paint };
}

// -- the wire: every segment in flight as a card with deliver / drop / duplicate.
function wireView(onKey) {
  const el = h("section", { class: "tvc-wire", "data-testid": "wire" });
  const head = h("h3", { text: "In flight", "data-testid": "wire-title" });
  const cards = h("div", { class: "tvc-cards" });
  el.append(head, cards);
  function paint(position, pending) {
    head.textContent = position.wire_title || "In flight";
    const list = position.flight.map((s) => {
      const card = h("div", {
        class: "tvc-card",
        "data-testid": "segment-card",
        "data-segment": s.id,
      });
      const arrow = s.from === 0 ? "→" : "←";
      card.append(
        h("div", { class: "tvc-card-label", text: s.label }),
        h("div", { class: "tvc-card-route", text: `${s.route} ${arrow}` }),
      );
      const buttons = h("div", { class: "tvc-card-buttons" });
      for (const [what, key] of Object.entries(s.keys)) {
        const b = h("button", {
          type: "button",
          "data-testid": `${what}-button`,
          "data-key": key,
          disabled: pending,
          text: what,
          title: `${what} ${s.label}`,
        });
        b.addEventListener("click", () => onKey(key));
        buttons.append(b);
      }
      card.append(buttons);
      return card;
    });
    if (!list.length)
      list.push(h("p", { class: "tvc-none", text: position.wire_empty || "nothing on the wire" }));
    cards.replaceChildren(...list);
  }
  return { el, paint };
}

// -- the clock, what just happened and why, undo / redo, history and scenarios.
const STEP_WORDS = {
  simulation: [
    { text: "◀ undo", title: "Undo the last step (←)" },
    { text: "redo ▶", title: "Redo the step undone (→)" },
  ],
  replay: [
    { text: "◀ back", title: "Back one segment of the capture (←)" },
    { text: "forward ▶", title: "Forward one segment of the capture (→)" },
  ],
};
function controlsView(onKey) {
  const el = h("section", { class: "tvc-controls" });
  const clock = h("p", { class: "tvc-clock", "data-testid": "clock" });
  const advance = h("button", { type: "button", "data-testid": "advance-button" });
  const why = h("p", { class: "tvc-why", "data-testid": "why", "aria-live": "polite" });
  const undo = h("button", { type: "button", "data-testid": "undo-button", text: "◀ undo" });
  const redo = h("button", { type: "button", "data-testid": "redo-button", text: "redo ▶" });
  const history = h("select", { "data-testid": "history", "aria-label": "history" });
  const scenarios = h("select", { "data-testid": "scenarios", "aria-label": "scenario" });
  const error = h("p", { class: "tvc-error", "data-testid": "error", role: "alert" });
  const row = h("div", { class: "tvc-row tvc-steps" }, undo, redo, history, scenarios);
  el.append(h("div", { class: "tvc-row" }, clock, advance), why, row, error);
  advance.addEventListener("click", () => advance.dataset.key && onKey(advance.dataset.key));
  undo.addEventListener("click", () => onKey("undo"));
  redo.addEventListener("click", () => onKey("redo"));
  history.addEventListener("change", () => onKey(`goto:${history.value}`));
  scenarios.addEventListener("change", () => {
    if (scenarios.value) onKey(`scenario:${scenarios.value}`);
  });
  function setScenarios(list) {
    scenarios.hidden = !list.length; // the standalone page plays one recorded story
    scenarios.replaceChildren(
      h("option", { value: "", text: "scenario…" }),
      ...list.map((s) => h("option", { value: s.name, text: s.title || s.name })),
    );
  }
  function paint(position, pending) {
    clock.textContent = position.clock.text || `clock ${position.clock.now}`;
    advance.textContent = position.clock.next
      ? `advance to next timer (${position.clock.next})`
      : "no timer running";
    advance.dataset.key = position.clock.key || "";
    advance.disabled = pending || !position.clock.key;
    why.textContent = position.why;
    undo.disabled = pending || !position.can_undo;
    redo.disabled = pending || !position.can_redo;
    // A simulation undoes and redoes what was done; a replay moves through a recording.
    const [back, forward] = position.replay ? STEP_WORDS.replay : STEP_WORDS.simulation;
    undo.textContent = back.text;
    undo.title = back.title;
    redo.textContent = forward.text;
    redo.title = forward.title;
    history.replaceChildren(
      ...position.history.map(([i, text]) =>
        h("option", { value: i, text: `${i}. ${text}`, selected: i === position.index }),
      ),
    );
    scenarios.value = position.scenario || "";
    error.textContent = position.error || "";
    error.hidden = !position.error;
  }
  return { el, setScenarios, paint };
}

function render({ model, el }) {
  const root = h("div", { class: "tcpviz-conn", "data-testid": "connection-widget" });
  let shown = null; // the position painted (maybe a lookahead, until Python confirms)
  let pending = false;
  const onKey = (key) => {
    if (pending) return;
    // Python's lookahead for the position shown (sent just after it): what `key` leads to.
    const ahead = model.get("lookahead") || {};
    const next = shown && ahead.version === shown.version && ahead.next ? ahead.next[key] : undefined;
    if (next) paint({ ...next, version: null }, true); // at once, from Python's lookahead
    else pending = true;
    model.send({ action: key });
  };
  const ends = [endView(root, "client", onKey), endView(root, "server", onKey)];
  const ladder = ladderView(onKey);
  const wire = wireView(onKey);
  const controls = controlsView(onKey);
  // One grid, laid out by the CSS for the width the widget has: the ends either side of the
  // ladder (wide), or in a column of their own beside it (narrow: JupyterLab with the file
  // browser open). `tvc-ends` is no box of its own in the wide layout (display: contents).
  const main = h(
    "div",
    { class: "tvc-main" },
    h("div", { class: "tvc-ends" }, ends[0].el, ends[1].el),
    ladder.el,
    h("div", { class: "tvc-bottom" }, wire.el, controls.el),
  );
  root.append(main);
  el.append(root);
  // Keys inside the widget are the widget's: ← and → step back and forward, Enter and Space
  // press the focused button. Stopped here so JupyterLab's notebook shortcuts (Enter, arrows
  // move between cells) do not also act on them.
  root.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("select")) return;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      e.stopPropagation();
      const back = e.key === "ArrowLeft";
      if (shown && (back ? shown.can_undo : shown.can_redo)) onKey(back ? "undo" : "redo");
    } else if ((e.key === "Enter" || e.key === " ") && e.target.closest("button")) {
      e.stopPropagation();
    }
  });

  function paint(position, isPreview) {
    shown = position;
    pending = !!isPreview;
    root.classList.toggle("tvc-pending", pending);
    root.dataset.index = position.index;
    root.classList.toggle("tvc-replay", !!position.replay);
    position.ends.forEach((end, i) => ends[i].paint(end, pending));
    ladder.paint(position);
    wire.paint(position, pending);
    controls.paint(position, pending);
  }
  const theme = () => {
    for (const cls of [...root.classList]) if (cls.startsWith("tcpviz-theme-")) root.classList.remove(cls);
    root.classList.add(`tcpviz-theme-${model.get("theme") || "auto"}`);
  };
  const onDiagram = () => ends.forEach((e) => e.setDiagram(model.get("diagram")));
  const onLadder = () => {
    ladder.setLadder(model.get("ladder"));
    if (shown) ladder.paint(shown);
  };
  const onPosition = () => paint(model.get("position"), false);
  const onScenarios = () => controls.setScenarios(model.get("scenarios") || []);
  theme();
  onDiagram();
  onLadder();
  onScenarios();
  onPosition();
  const listeners = [
    ["change:theme", theme],
    ["change:diagram", onDiagram],
    ["change:ladder", onLadder],
    ["change:position", onPosition],
    ["change:scenarios", onScenarios],
  ];
  for (const [name, f] of listeners) model.on(name, f);
  // Each diagram takes the room its panel leaves, which changes with what the panel shows
  // (more calls, a longer note): zoom again whenever a viewport changes size.
  const resize = new ResizeObserver(() => ends.forEach((e) => e.place()));
  resize.observe(root);
  for (const e of ends) resize.observe(e.viewport);
  return () => {
    for (const [name, f] of listeners) model.off(name, f);
    resize.disconnect();
  };
}

export default { render };
