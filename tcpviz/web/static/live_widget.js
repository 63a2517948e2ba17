// tcpviz: the live sockets widget. Python reads the sockets and decides every mark of the heat
// map (each state's shade, label, badge box: tcpviz.drawing.heat_marks) and what to list; this
// module only applies it (DESIGN.md, decision 7) and sends Stop / Start. The diagram arrives
// once; each refresh changes classes, styles and the badges' layer.

const SVG_NS = "http://www.w3.org/2000/svg";
const LEVELS = [1, 2, 3, 4, 5];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// The heat marks on the diagram: shade and label each state, redraw the layer of badges.
function applyHeat(svg, heat, colours) {
  if (!svg) return;
  const graph = svg.querySelector("g.graph") || svg;
  let layer = graph.querySelector(":scope > g.tcpviz-counts");
  if (!layer) {
    layer = svgElement("g", { class: "tcpviz-counts" });
    graph.append(layer); // last: above every arrow
  }
  layer.replaceChildren();
  for (const [id, mark] of Object.entries(heat)) {
    const node = svg.querySelector(`g[id="${id}"]`); // ids are letters, digits, underscores
    if (!node) continue;
    node.classList.remove("heat", ...LEVELS.map((l) => `heat-${l}`));
    if (mark.level) node.classList.add("heat", `heat-${mark.level}`);
    const shape = node.querySelector("path, polygon, ellipse");
    if (shape) shape.style.fill = mark.fill || "";
    for (const text of node.querySelectorAll("text")) text.style.fill = mark.ink || "";
    node.setAttribute("aria-label", mark.label);
    const title = node.querySelector("title");
    if (title) title.textContent = mark.label;
    const b = mark.badge;
    if (!b) continue;
    const badge = svgElement("g", { class: "tcpviz-count", "data-state-id": id, "aria-hidden": "true" });
    const rect = svgElement("rect", {
      x: b.x, y: b.y, width: b.width, height: b.height, rx: b.height / 2,
      fill: colours.fill, stroke: colours.ring, "stroke-width": 1.5,
    });
    rect.style.fill = colours.fill;
    rect.style.stroke = colours.ring;
    const number = svgElement("text", {
      x: b.x + b.width / 2, y: b.baseline, "text-anchor": "middle",
      "font-family": "Helvetica,Arial,sans-serif", "font-size": b.font, "font-weight": "bold",
      fill: colours.text,
    });
    number.style.fill = colours.text;
    number.textContent = String(mark.count);
    badge.append(rect, number);
    layer.append(badge);
  }
}

function render({ model, el: root }) {
  const box = el("div", "tcpviz-live");
  const head = el("div", "tl-head");
  const heading = el("span", "tl-heading");
  const button = el("button", "tl-button");
  button.type = "button";
  head.append(heading, button);
  const status = el("div", "tl-status");
  status.setAttribute("role", "status");
  const error = el("div", "tl-error");
  error.setAttribute("role", "alert");
  const changes = el("div", "tl-changes");
  changes.setAttribute("aria-live", "polite");
  const diagram = el("div", "tl-diagram");
  const states = el("dl", "tl-states");
  const sockets = el("table", "tl-sockets");
  const more = el("div", "tl-more");
  box.append(head, status, error, changes, diagram, states, sockets, more);
  root.append(box);

  const paintTheme = () => {
    box.dataset.theme = model.get("theme");
  };
  const paintHeat = () => {
    applyHeat(diagram.querySelector("svg"), model.get("heat"), model.get("badge_colours"));
  };
  const paintSvg = () => {
    diagram.innerHTML = model.get("svg"); // made by Python from the packaged layout
    paintHeat();
  };
  const paintStatus = () => {
    heading.textContent = model.get("heading");
    status.textContent = model.get("status");
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
    const running = model.get("running");
    button.textContent = running ? "Stop" : "Start";
    button.setAttribute("aria-pressed", running ? "true" : "false");
  };
  const paintStates = () => {
    states.replaceChildren();
    const counted = model.get("states").filter((s) => s.count > 0);
    if (!counted.length) {
      states.append(el("dd", "tl-none", "No TCP sockets match."));
    }
    for (const s of counted) {
      const name = el("dt", `tl-state tl-heat-${s.level}`);
      name.append(el("span", "tl-name", s.state), el("span", "tl-count", String(s.count)));
      states.append(name, el("dd", "tl-description", s.description));
    }
  };
  const paintSockets = () => {
    sockets.replaceChildren();
    const rows = model.get("sockets");
    if (rows.length) {
      const header = el("tr");
      for (const title of ["state", "local", "remote", "timer", "process"]) {
        const cell = el("th", "", title);
        cell.scope = "col";
        header.append(cell);
      }
      sockets.append(header);
    }
    for (const r of rows) {
      const row = el("tr");
      for (const key of ["state", "local", "remote", "timer", "process"]) {
        row.append(el("td", `tl-col-${key}`, r[key]));
      }
      sockets.append(row);
    }
    const hidden = model.get("hidden");
    more.textContent = hidden ? `… and ${hidden} more sockets (counted on the diagram)` : "";
  };

  const paintChanges = () => {
    changes.replaceChildren();
    const moved = model.get("changes");
    if (!moved.length) return;
    changes.append(el("span", "tl-changes-title", "Since the last refresh: "));
    const list = el("ul");
    for (const line of moved) list.append(el("li", "", line));
    changes.append(list);
  };

  button.addEventListener("click", () => {
    model.send({ action: model.get("running") ? "stop" : "start" });
  });

  paintTheme();
  paintSvg();
  paintStatus();
  paintStates();
  paintSockets();
  paintChanges();
  const listeners = [
    ["change:theme", paintTheme],
    ["change:svg", paintSvg],
    ["change:heat change:badge_colours", paintHeat],
    ["change:status change:error change:running change:heading", paintStatus],
    ["change:states", paintStates],
    ["change:sockets change:hidden", paintSockets],
    ["change:changes", paintChanges],
  ];
  for (const [events, paint] of listeners) model.on(events, paint);
  return () => {
    for (const [events, paint] of listeners) model.off(events, paint);
  };
}

export { render };
export default { render };
