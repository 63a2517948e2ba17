// tcpviz: the live sockets widget. Python reads the sockets, draws the heat map and sends
// what to list; this module only shows it (DESIGN.md, decision 7) and sends Stop / Start.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
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
  const diagram = el("div", "tl-diagram");
  const states = el("dl", "tl-states");
  const sockets = el("table", "tl-sockets");
  const more = el("div", "tl-more");
  box.append(head, status, error, diagram, states, sockets, more);
  root.append(box);

  const paintTheme = () => {
    box.dataset.theme = model.get("theme");
  };
  const paintSvg = () => {
    diagram.innerHTML = model.get("svg"); // made by Python from the packaged layout
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

  button.addEventListener("click", () => {
    model.send({ action: model.get("running") ? "stop" : "start" });
  });

  paintTheme();
  paintSvg();
  paintStatus();
  paintStates();
  paintSockets();
  const listeners = [
    ["change:theme", paintTheme],
    ["change:svg", paintSvg],
    ["change:status change:error change:running change:heading", paintStatus],
    ["change:states", paintStates],
    ["change:sockets change:hidden", paintSockets],
  ];
  for (const [events, paint] of listeners) model.on(events, paint);
  return () => {
    for (const [events, paint] of listeners) model.off(events, paint);
  };
}

export { render };
export default { render };
