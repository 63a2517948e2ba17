// tcpviz: the widget's loader, the only module each widget carries (a few hundred bytes).
//
// anywidget sends a widget's `_esm` and `_css` with every widget, and saves them in the
// notebook's widget state. The real module (widget.js, 60 kB) and its style sheet instead come
// from Python once per page, on request, and are kept here for every later widget of the same
// version (`_module_hash`). Until they come, and where no kernel answers (a notebook opened
// without running it), the widget shows its laid-out diagram as a still picture.

const STILL_AFTER_MS = 3000;
const shared = globalThis.__tcpvizModules || (globalThis.__tcpvizModules = new Map());

// One entry per version of the module: a promise of it, settled by the first answer.
function entryFor(hash) {
  let entry = shared.get(hash);
  if (!entry) {
    let resolve;
    const promise = new Promise((done) => (resolve = done));
    entry = { promise, resolve, done: false, asked: false };
    shared.set(hash, entry);
  }
  return entry;
}

function addStyle(hash, css) {
  const id = `tcpviz-css-${hash}`;
  if (document.getElementById(id)) return;
  const style = document.createElement("style");
  style.id = id;
  style.textContent = css;
  document.head.appendChild(style);
}

// Ask Python (through this widget's model) for the module; the answer settles the entry.
function ask(model, hash, entry) {
  entry.asked = true;
  const onMessage = (msg) => {
    if (!msg || msg.type !== "module" || msg.hash !== hash || entry.done) return;
    entry.done = true;
    model.off("msg:custom", onMessage);
    addStyle(hash, msg.css || "");
    const url = URL.createObjectURL(new Blob([msg.esm], { type: "text/javascript" }));
    import(/* webpackIgnore: true */ url)
      .then((mod) => entry.resolve(mod))
      .catch((error) => console.error("tcpviz: the widget module did not load", error))
      .finally(() => URL.revokeObjectURL(url));
  };
  model.on("msg:custom", onMessage);
  model.send({ type: "module", hash });
}

function showStill(model, el) {
  const note = document.createElement("p");
  note.textContent = "The interactive diagram needs its Python kernel: run this cell to use it.";
  const picture = document.createElement("div");
  picture.innerHTML = model.get("svg") || ""; // tcpviz's own laid-out SVG, from Python
  el.replaceChildren(note, picture);
}

async function render({ model, el }) {
  const hash = model.get("_module_hash");
  const entry = entryFor(hash);
  if (!entry.done && !entry.asked) ask(model, hash, entry);
  const still = setTimeout(() => {
    showStill(model, el);
    // The widget that asked may be gone (its cell ran again): ask through this one too.
    if (!entry.done) ask(model, hash, entry);
  }, STILL_AFTER_MS);
  const mod = await entry.promise;
  clearTimeout(still);
  return mod.default.render({ model, el });
}

export default { render };
