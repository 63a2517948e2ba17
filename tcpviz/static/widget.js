// tcpviz: the interactive TCP state diagram.
//
// One ES module serves the Jupyter widget (anywidget calls render({ model, el })) and the
// standalone HTML page (which passes localModel(data), a model that steps from the table
// payload itself). In a notebook Python is the authority: a click is painted at once from the
// table payload, sent to Python, and the synced traits that come back win.
//
// The SVG is inserted once; every later change only toggles classes on its <g> elements.

const BASE_DELAY_MS = 1800; // one scenario step at speed 1
const ANSWER_TIMEOUT_MS = 5000; // after this, an unanswered message is reported, not lost
const PREVIEW = "tv-preview";

// ---- the table payload: stepping without Python ------------------------------------------

function indexTable(table) {
  const edges = new Map();
  const byName = new Map();
  const byId = new Map();
  for (const s of table.states) {
    byName.set(s.name, s);
    byId.set(s.id, s);
  }
  for (const t of table.transitions) edges.set(t.id, t);
  return { table, edges, byName, byId };
}

// RFC 9293 Figure 5, Note 1: an arrow with `via` leaves only a state entered from `via`.
const enabledIn = (ix, state, from) =>
  ix.table.transitions.filter((t) => t.source === state && (t.via == null || t.via === from));

const item = (t) => ({ edge: t.id, label: t.label, source: t.source, target: t.target });
const eventKey = (name) =>
  String(name).toLowerCase().replace(/[^0-9a-z]+/g, " ").trim();
const pyList = (items) => `[${items.map((x) => `'${x}'`).join(", ")}]`;

class StepError extends Error {}

// A position: the start state, the transitions taken (oldest first), and those undone (next first).
function positionOf(ix, v) {
  const first = v.visited && v.visited.length ? ix.byId.get(v.visited[0]) : null;
  return {
    start: first ? first.name : ix.table.initial,
    hist: (v.history || []).map((h) => ix.edges.get(h.edge)).filter(Boolean),
    fut: (v.future || []).map((h) => ix.edges.get(h.edge)).filter(Boolean),
  };
}

function hereOf(pos) {
  const last = pos.hist[pos.hist.length - 1];
  return { state: last ? last.target : pos.start, from: last ? last.source : null, last };
}

// The machine's synced traits for a position (the same keys and values Python sends).
function viewOf(ix, pos) {
  const { state, from, last } = hereOf(pos);
  const names = [...new Set([pos.start, ...pos.hist.map((t) => t.target)])];
  return {
    state,
    description: ix.byName.get(state).description,
    last: last ? last.id : "",
    visited: names.map((n) => ix.byName.get(n).id),
    history: pos.hist.map(item),
    future: pos.fut.map(item),
    enabled: enabledIn(ix, state, from).map((t) => t.id),
  };
}

// Apply one machine message to a position; returns the new position, or null when `msg` is
// not a machine message. Errors read like the Python machine's.
function move(ix, pos, msg) {
  const hist = pos.hist.slice();
  let fut = pos.fut.slice();
  const { state, from } = hereOf(pos);
  if (msg.type === "fire") {
    const options = enabledIn(ix, state, from);
    const allowed = pyList(options.map((t) => t.event));
    let t;
    if (msg.edge != null) {
      t = options.find((o) => o.id === msg.edge);
      const known = ix.edges.get(msg.edge);
      if (!t && known) {
        throw new StepError(
          `transition '${known.label}' from ${known.source} not allowed in ${state} (allowed: ${allowed})`,
        );
      }
      if (!t) throw new StepError(`unknown transition: '${msg.edge}'`);
    } else {
      const key = eventKey(msg.event);
      t = options.find((o) => eventKey(o.event) === key || eventKey(o.words) === key);
      if (!t) throw new StepError(`event '${msg.event}' not allowed in ${state} (allowed: ${allowed})`);
    }
    hist.push(t);
    fut = [];
  } else if (msg.type === "undo") {
    if (!hist.length) throw new StepError(`nothing to undo: ${state} is where the machine started`);
    fut.unshift(hist.pop());
  } else if (msg.type === "redo") {
    if (!fut.length) {
      throw new StepError(`nothing to redo in ${state}: no step was undone since the last fire`);
    }
    hist.push(fut.shift());
  } else if (msg.type === "reset") {
    hist.length = 0;
    fut = [];
  } else if (msg.type === "jump") {
    const n = msg.index;
    const total = hist.length + fut.length;
    if (!Number.isInteger(n) || n < 0 || n > total) {
      throw new StepError(`cannot jump to step ${n}: steps run from 0 to ${total}`);
    }
    while (hist.length > n) fut.unshift(hist.pop());
    while (hist.length < n) hist.push(fut.shift());
  } else {
    return null;
  }
  return { start: pos.start, hist, fut };
}

// The fewest enabled transitions from `start` to `goal` (a scenario may start elsewhere).
function pathTo(ix, start, goal) {
  const queue = [[start, null, []]];
  const seen = new Set([`${start}|`]);
  while (queue.length) {
    const [state, from, path] = queue.shift();
    if (state === goal) return path;
    for (const t of enabledIn(ix, state, from)) {
      const key = `${t.target}|${t.source}`;
      if (!seen.has(key)) {
        seen.add(key);
        queue.push([t.target, t.source, [...path, t]]);
      }
    }
  }
  return null;
}

// ---- the quiz, for the standalone page (in a notebook, tcpviz.quiz.Quiz grades) ----------

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(rng, list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

const orList = (items) =>
  items.length === 1 ? items[0] : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;

class LocalQuiz {
  constructor(ix, whys, seed, length = 10) {
    Object.assign(this, { ix, whys, seed, length });
    this.rng = mulberry32(seed);
    this.here = ix.table.initial;
    this.from = null;
    this.asked = new Map();
    this.history = [];
    this.ask();
  }

  ask() {
    const number = this.history.length + 1;
    const t = number <= this.length ? this.next() : null;
    this.transition = t;
    this.question = t && {
      state: t.source,
      event: t.event,
      event_words: t.words,
      choices: this.choices(t),
      number,
      total: this.length,
      entered_from: this.from,
    };
  }

  next() {
    const ix = this.ix;
    let options = enabledIn(ix, this.here, this.from);
    if (!options.length) {
      [this.here, this.from] = [ix.table.initial, null]; // a dead end: a new connection
      options = enabledIn(ix, this.here, this.from);
      if (!options.length) return null;
    }
    const prev = this.history.length ? this.history[this.history.length - 1].t : null;
    if (prev && options.length > 1) {
      const fresh = options.filter((t) => !(t.source === prev.source && t.event === prev.event));
      if (fresh.length) options = fresh;
    }
    // Least asked first, then arrows into states not shown yet (as tcpviz.quiz does).
    const shown = new Set([...this.history.map((f) => f.question.state), this.here]);
    const dullness = (t) => 2 * (this.asked.get(t.id) || 0) + (shown.has(t.target) ? 1 : 0);
    const best = Math.min(...options.map(dullness));
    const pool = options.filter((t) => dullness(t) === best);
    return pool[Math.floor(this.rng() * pool.length)];
  }

  choices(t) {
    const all = this.ix.table.transitions;
    const tiers = [
      all.filter((o) => o.event === t.event).map((o) => o.target),
      all.filter((o) => o.source === t.source).map((o) => o.target),
      [
        t.source,
        ...all.filter((o) => o.source === t.target).map((o) => o.target),
        ...all.filter((o) => o.target === t.target).map((o) => o.source),
      ],
      this.ix.table.states.map((s) => s.name),
    ].map((tier) => shuffle(this.rng, [...new Set(tier)].filter((s) => s !== t.target)));
    const wrong = [];
    const plausible = tiers.slice(0, -1);
    while (wrong.length < 3 && plausible.some((p) => p.length)) {
      for (const pool of plausible) {
        while (pool.length && wrong.includes(pool[0])) pool.shift();
        if (pool.length && wrong.length < 3) wrong.push(pool.shift());
      }
    }
    wrong.push(...tiers[3].filter((s) => !wrong.includes(s)).slice(0, 3 - wrong.length));
    return shuffle(this.rng, [t.target, ...wrong]);
  }

  answer(given) {
    if (!this.question) {
      throw new StepError("the quiz is finished; start a new one to play again");
    }
    if (!this.ix.byName.has(given)) {
      const names = this.ix.table.states.map((s) => s.name);
      throw new StepError(`unknown state: '${given}' (must be one of ${pyList(names)})`);
    }
    const [question, t] = [this.question, this.transition];
    const correct = given === t.target;
    this.history.push({ correct, given, question, t, text: this.explain(question, t, given, correct) });
    [this.here, this.from] = [t.target, t.source];
    this.asked.set(t.id, (this.asked.get(t.id) || 0) + 1);
    this.ask();
  }

  explain(q, t, given, correct) {
    const where = `In ${q.state}${t.via ? ` (entered from ${q.entered_from})` : ""}`;
    const sent = t.sent ? `sends ${t.sent}` : "sends nothing";
    const happens = `${where}, the arrow is "${t.label}": this end ${sent} and goes to ${t.target}.`;
    const note = t.note ? `${t.note[0].toUpperCase()}${t.note.slice(1)}.` : "";
    const reason = this.whys.get(`${t.source}|${t.event}`) || note;
    if (correct) return [`Right. ${happens}`, reason].filter(Boolean).join(" ");
    const description = this.ix.byName.get(t.target).description;
    return [
      `Not ${given}: ${this.whyNot(q, given)}`,
      happens,
      reason,
      description ? `${t.target}: ${description}` : "",
    ]
      .filter(Boolean)
      .join(" ");
  }

  whyNot(q, given) {
    const all = this.ix.table.transitions;
    if (given === q.state) return `the connection does not stay in ${q.state} on ${q.event}.`;
    const others = enabledIn(this.ix, q.state, q.entered_from).filter((t) => t.target === given);
    if (others.length) {
      return `${q.state} goes to ${given} on ${orList(others.map((t) => t.event))}, not on ${q.event}.`;
    }
    const cond = all.find((t) => t.source === q.state && t.target === given && t.via);
    if (cond) {
      return `${cond.event} leads from ${q.state} to ${given} only when ${q.state} was entered from ${cond.via}, and this time it was entered from ${q.entered_from}.`;
    }
    const sources = [
      ...new Set(all.filter((t) => t.event === q.event && t.target === given).map((t) => t.source)),
    ];
    if (sources.length) return `${q.event} leads to ${given} only from ${orList(sources)}.`;
    const into = all.filter((t) => t.target === given);
    if (!into.length) return `no event leads to ${given} at all.`;
    const ways = into.slice(0, 3).map((t) => `from ${t.source} on ${t.event}`);
    const more = into.length > 3 ? `, and ${into.length - 3} more ways` : "";
    return `no single event leads from ${q.state} to ${given} (${given} is reached ${ways.join(", ")}${more}).`;
  }

  payload() {
    const last = this.history[this.history.length - 1];
    return {
      question: this.question,
      score: [this.history.filter((f) => f.correct).length, this.history.length],
      total: this.length,
      finished: !this.question,
      scenario: null,
      seed: this.seed,
      last: last && {
        correct: last.correct,
        expected: last.t.target,
        given: last.given,
        explanation: last.text,
        number: last.question.number,
        state: last.question.state,
        event: last.question.event,
        label: last.t.label,
        edge: last.t.id,
      },
    };
  }
}

// ---- a model without Python, for the standalone page -------------------------------------

const IDLE_SCENARIO = { name: "", index: 0, total: 0, playing: false, speed: 1, on_track: true };

/** A model with anywidget's interface (get/set/on/off/send/save_changes) that does in the page
 * what tcpviz.widget.TCPWidget does in Python: the machine, scenarios and the quiz. */
export function localModel(data) {
  const ix = indexTable(data.table);
  const traits = {
    svg: data.svg,
    table: data.table,
    scenarios: data.scenarios || [],
    theme: data.theme || "auto",
    mode: "explore",
    error: "",
    quiz: {},
    scenario: { ...IDLE_SCENARIO },
    ...viewOf(ix, { start: data.table.initial, hist: [], fut: [] }),
  };
  const listeners = new Map();
  const whys = new Map();
  for (const sc of traits.scenarios) {
    for (const s of sc.steps) if (!whys.has(`${s.source}|${s.event}`)) whys.set(`${s.source}|${s.event}`, s.why);
  }
  let play = null; // the scenario being played: { data, base, prefix }
  let quiz = null;

  const emit = (name, ...args) => {
    for (const cb of [...(listeners.get(name) || [])]) cb(...args);
  };
  const here = () => positionOf(ix, traits);

  function scenarioIndex(pos) {
    if (!play) return null;
    const ids = pos.hist.map((t) => t.id);
    if (ids.length < play.base || play.prefix.some((id, i) => ids[i] !== id)) return null;
    const rest = ids.slice(play.base);
    const steps = play.data.steps.map((s) => s.edge);
    if (rest.length > steps.length || rest.some((id, i) => steps[i] !== id)) return null;
    return rest.length;
  }

  function scenarioTrait(pos, extra = {}) {
    if (!play) return { ...IDLE_SCENARIO, speed: traits.scenario.speed, ...extra };
    const k = scenarioIndex(pos);
    const s = { ...traits.scenario, ...extra, name: play.data.name, total: play.data.steps.length };
    s.on_track = k !== null;
    if (k !== null) s.index = k;
    if (!s.on_track || s.index >= s.total) s.playing = false;
    return s;
  }

  // Back to the scenario's start: reset, then (if the machine starts elsewhere) the way there.
  function restart() {
    let pos = { start: here().start, hist: [], fut: [] };
    const path = pathTo(ix, pos.start, play.data.start);
    if (!path) throw new StepError(`scenario '${play.data.name}' starts in ${play.data.start}, which cannot be reached from ${pos.start}`);
    pos = { ...pos, hist: path };
    play.base = path.length;
    play.prefix = path.map((t) => t.id);
    return pos;
  }

  // Put a scenario that left its track back on it; returns the position.
  function recover(pos) {
    const ids = pos.hist.map((t) => t.id);
    if (ids.length < play.base || play.prefix.some((id, i) => ids[i] !== id)) return restart();
    const steps = play.data.steps.map((s) => s.edge);
    let k = 0;
    while (k < steps.length && ids[play.base + k] === steps[k]) k++;
    return move(ix, pos, { type: "jump", index: play.base + k });
  }

  function handleScenario(msg) {
    let pos = here();
    const action = msg.action;
    if (action === "select" || action === "play" && msg.name) {
      const data = traits.scenarios.find((s) => s.name === msg.name);
      if (!data) {
        throw new StepError(`unknown scenario: '${msg.name}' (must be one of ${pyList(traits.scenarios.map((s) => s.name).sort())})`);
      }
      play = { data, base: 0, prefix: [] };
      pos = restart();
      return { pos, mode: "scenario", scenario: { playing: action === "play" } };
    }
    if (action === "speed") {
      const value = Number(msg.value);
      if (!(value >= 0.25 && value <= 4)) throw new StepError(`speed must be from 0.25 to 4, not ${msg.value}`);
      return { pos, scenario: { speed: value } };
    }
    if (action === "pause") return { pos, scenario: { playing: false } };
    if (!play) throw new StepError("choose a scenario first");
    const k = scenarioIndex(pos);
    if (action === "play") {
      if (k === null) pos = recover(pos);
      else if (k >= play.data.steps.length) pos = restart();
      return { pos, mode: "scenario", scenario: { playing: true } };
    }
    if (action === "step") {
      // A timer's step carries the index it saw: a second view of the same model must not
      // step twice.
      if (msg.index != null && msg.index !== k) return { pos };
      if (k === null) return { pos: recover(pos) };
      if (k >= play.data.steps.length) {
        throw new StepError(`scenario '${play.data.name}' is finished; press Play to watch it again`);
      }
      return { pos: move(ix, pos, { type: "fire", edge: play.data.steps[k].edge }) };
    }
    throw new StepError(`unknown scenario action: '${action}' (must be one of ['pause', 'play', 'select', 'speed', 'step'])`);
  }

  function handle(msg) {
    const pos = here();
    const moved = move(ix, pos, msg);
    if (moved) return { ...viewOf(ix, moved), scenario: scenarioTrait(moved) };
    if (msg.type === "scenario") {
      const r = handleScenario(msg);
      const patch = { ...viewOf(ix, r.pos), scenario: scenarioTrait(r.pos, r.scenario || {}) };
      if (r.mode) patch.mode = r.mode;
      return patch;
    }
    if (msg.type === "mode") {
      if (!["explore", "scenario", "quiz"].includes(msg.mode)) {
        throw new StepError(`unknown mode: '${msg.mode}' (must be one of ['explore', 'quiz', 'scenario'])`);
      }
      const patch = { mode: msg.mode };
      if (msg.mode !== "scenario") patch.scenario = { ...traits.scenario, playing: false };
      if (msg.mode === "quiz" && !quiz) {
        quiz = new LocalQuiz(ix, whys, Math.floor(Math.random() * 2 ** 32));
        patch.quiz = quiz.payload();
      }
      return patch;
    }
    if (msg.type === "quiz_start") {
      const seed = Number.isInteger(msg.seed) ? msg.seed : Math.floor(Math.random() * 2 ** 32);
      quiz = new LocalQuiz(ix, whys, seed);
      return { mode: "quiz", quiz: quiz.payload() };
    }
    if (msg.type === "quiz_answer") {
      if (!quiz) throw new StepError("no quiz is running: start one first");
      quiz.answer(msg.state);
      return { quiz: quiz.payload() };
    }
    if (msg.type === "dismiss") return {};
    throw new StepError(`unknown message type: '${msg.type}'`);
  }

  return {
    get: (key) => traits[key],
    set(key, value) {
      traits[key] = value;
      emit(`change:${key}`, value);
    },
    save_changes() {},
    on(name, cb) {
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name).add(cb);
    },
    off(name, cb) {
      if (!name) listeners.clear();
      else if (!cb) listeners.delete(name);
      else listeners.get(name)?.delete(cb);
    },
    send(msg) {
      let patch;
      try {
        patch = { ...handle(msg), error: "" };
      } catch (error) {
        if (!(error instanceof StepError)) console.error(error);
        patch = { error: error.message };
      }
      for (const [key, value] of Object.entries(patch)) traits[key] = value;
      for (const key of Object.keys(patch)) emit(`change:${key}`, patch[key]);
      emit("msg:custom", { type: "ack", id: msg.id });
    },
  };
}

// ---- the view -----------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

const MACHINE_KEYS = ["state", "description", "last", "visited", "history", "future", "enabled"];
const VIEW_KEYS = [...MACHINE_KEYS, "error", "mode", "quiz", "scenario", "theme"];
let viewCount = 0;

function render({ model, el }) {
  const viewId = `tv${++viewCount}-${Math.random().toString(36).slice(2, 8)}`;
  let ix = indexTable(model.get("table"));
  let nodes = new Map(); // state id -> <g>
  let edges = new Map(); // edge id -> <g>
  let pending = null; // the optimistic view, until Python answers
  const waiting = new Map(); // message id -> timer
  let sent = 0;
  let frame = 0;
  let timer = 0;
  let localError = "";
  let animatedKey = "";
  let announcedKey = null;
  let hideLabels = true;
  const rendered = {};

  const send = (msg) => {
    const id = `${viewId}-${++sent}`;
    waiting.set(
      id,
      setTimeout(() => {
        waiting.delete(id);
        pending = null;
        localError =
          "Python did not answer: is the kernel still running? (the diagram shows its last known state)";
        schedule();
      }, ANSWER_TIMEOUT_MS),
    );
    model.send({ ...msg, id });
  };

  const traits = () => Object.fromEntries(VIEW_KEYS.map((k) => [k, model.get(k)]));
  const current = () => (pending ? { ...traits(), ...pending } : traits());

  // Optimistic: paint the step from the table now; Python's traits replace it when they come.
  function act(msg) {
    localError = "";
    const v = current();
    if (v.mode !== "quiz") {
      try {
        const moved = move(ix, positionOf(ix, v), msg);
        if (moved) pending = { ...viewOf(ix, moved), error: "" };
      } catch (error) {
        if (!(error instanceof StepError)) throw error;
      }
    }
    send(msg);
    paint();
  }

  // -- the skeleton ---------------------------------------------------------------------------
  const tip = h("div", { class: "tv-tip", role: "tooltip", id: `${viewId}-tip`, "data-testid": "tooltip", hidden: true });
  const svgHolder = h("div", { class: "tv-svg" });
  const diagram = h("div", { class: "tv-diagram", "data-testid": "diagram" }, svgHolder, tip);
  const modeButtons = ["explore", "scenario", "quiz"].map((mode) =>
    h("button", {
      type: "button",
      class: "tv-mode",
      "data-testid": `mode-${mode}`,
      "data-mode": mode,
      text: mode[0].toUpperCase() + mode.slice(1),
      onclick: () => send({ type: "mode", mode }),
    }),
  );
  const stateName = h("h3", { class: "tv-state", "data-testid": "state-name" });
  const description = h("p", { class: "tv-description", "data-testid": "description" });
  const lastStep = h("p", { class: "tv-last", "data-testid": "last-step" });
  const lastLabel = h("p", { class: "tv-rfc", "data-testid": "last-label" });
  const errorText = h("span", { "data-testid": "error" });
  const errorBox = h(
    "div",
    { class: "tv-error", role: "alert", "data-testid": "error-box", hidden: true },
    errorText,
    h("button", {
      type: "button",
      class: "tv-dismiss",
      "aria-label": "Dismiss the message",
      text: "×",
      onclick: () => {
        localError = "";
        if (model.get("error")) send({ type: "dismiss" });
        paint();
      },
    }),
  );
  const events = h("div", { class: "tv-events", "data-testid": "events", role: "group", "aria-label": "Events that can happen now" });
  const control = (name, label, key, msg) =>
    h("button", {
      type: "button",
      class: `tv-control tv-${name}`,
      "data-testid": name,
      title: `${label} (${key})`,
      text: label,
      onclick: () => act(msg),
    });
  const undoButton = control("undo", "Undo", "←", { type: "undo" });
  const redoButton = control("redo", "Redo", "→", { type: "redo" });
  const resetButton = control("reset", "Reset", "Esc", { type: "reset" });
  const historyList = h("ol", { class: "tv-history", "data-testid": "history", start: "0" });

  const scenarioSelect = h("select", {
    "data-testid": "scenario-select",
    "aria-label": "Scenario",
    onchange: () => scenarioSelect.value && send({ type: "scenario", action: "select", name: scenarioSelect.value }),
  });
  const scenarioSummary = h("p", { class: "tv-summary", "data-testid": "scenario-summary" });
  const scenarioButton = (name, label, extra = {}) =>
    h("button", {
      type: "button",
      class: `tv-control tv-${name}`,
      "data-testid": name,
      text: label,
      onclick: () => send({ type: "scenario", action: name, ...extra }),
    });
  const playButton = scenarioButton("play", "▶ Play");
  const pauseButton = scenarioButton("pause", "❚❚ Pause");
  const stepButton = scenarioButton("step", "Step ▸");
  const speedLabel = h("span", { class: "tv-speed-value" });
  const speed = h("input", {
    type: "range",
    min: "0.25",
    max: "4",
    step: "0.25",
    value: "1",
    "data-testid": "speed",
    "aria-label": "Playback speed",
    oninput: () => (speedLabel.textContent = `${speed.value}×`),
    onchange: () => send({ type: "scenario", action: "speed", value: Number(speed.value) }),
  });
  const scenarioProgress = h("p", { class: "tv-progress", "data-testid": "scenario-progress" });
  const scenarioWhy = h("p", { class: "tv-why", "data-testid": "scenario-why" });
  const scenarioSteps = h("ol", { class: "tv-steps", "data-testid": "scenario-steps" });

  const quizQuestion = h("p", { class: "tv-question", "data-testid": "quiz-question" });
  const quizChoices = h("div", { class: "tv-choices", role: "group", "aria-label": "Where does the connection go?" });
  const quizScore = h("p", { class: "tv-score", "data-testid": "quiz-score" });
  const quizFeedback = h("div", { class: "tv-feedback", "data-testid": "quiz-feedback", hidden: true });
  const hideBox = h("input", {
    type: "checkbox",
    checked: true,
    "data-testid": "quiz-hide-labels",
    onchange: () => {
      hideLabels = hideBox.checked;
      paint();
    },
  });
  const newQuiz = h("button", {
    type: "button",
    class: "tv-control",
    "data-testid": "quiz-restart",
    text: "New quiz",
    onclick: () => send({ type: "quiz_start" }),
  });
  const announce = h("div", { class: "tv-sr", "aria-live": "polite", "data-testid": "announce" });

  const historyPanel = h("section", { class: "tv-panel tv-history-panel" },
    h("div", { class: "tv-controls" }, undoButton, redoButton, resetButton),
    h("h4", { text: "History (click a step to go back)" }),
    historyList,
  );
  const explorePanel = h("section", { class: "tv-panel tv-explore" },
    h("h4", { text: "What can happen now" }),
    events,
  );
  const scenarioPanel = h("section", { class: "tv-panel tv-scenario" },
    scenarioSelect,
    scenarioSummary,
    h("div", { class: "tv-controls" }, playButton, pauseButton, stepButton,
      h("label", { class: "tv-speed" }, "Speed ", speed, speedLabel)),
    scenarioProgress,
    scenarioWhy,
    scenarioSteps,
  );
  const quizPanel = h("section", { class: "tv-panel tv-quiz" },
    quizFeedback,
    quizQuestion,
    quizChoices,
    quizScore,
    h("div", { class: "tv-controls" }, newQuiz,
      h("label", { class: "tv-check" }, hideBox, " Hide arrow labels")),
  );
  const side = h("div", { class: "tv-side" },
    h("section", { class: "tv-now", "aria-label": "Current state" },
      h("div", { class: "tv-caption", text: "Current state" }),
      stateName,
      description,
      lastStep,
      lastLabel,
    ),
    errorBox,
    explorePanel,
    scenarioPanel,
    quizPanel,
    historyPanel,
    announce,
  );
  const root = h("div", {
    class: "tcpviz-widget",
    tabindex: "0",
    role: "group",
    "aria-label": "TCP connection state machine. Keys: 1 to 9 events, arrows undo and redo, Escape resets.",
  },
  h("div", { class: "tv-bar" },
    h("div", { class: "tv-modes", role: "group", "aria-label": "Mode" }, ...modeButtons),
    h("span", { class: "tv-keys", text: "Keys: 1–9 events · ← → undo/redo · Esc reset" }),
  ),
  h("div", { class: "tv-main" }, diagram, side),
  );
  el.replaceChildren(root);

  // -- the diagram ----------------------------------------------------------------------------
  function insertSvg() {
    svgHolder.innerHTML = model.get("svg") || "";
    nodes = new Map();
    edges = new Map();
    animatedKey = "";
    const svg = svgHolder.querySelector("svg");
    if (!svg) return;
    svg.removeAttribute("width"); // scale with the page; the viewBox keeps the proportions
    svg.removeAttribute("height");
    for (const s of ix.table.states) {
      const g = svg.querySelector(`g[id="${s.id}"]`);
      if (!g) continue;
      g.querySelector(":scope > title")?.remove(); // our tooltip replaces the native one
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", `${s.name}: ${s.description}`);
      g.dataset.state = s.name;
      nodes.set(s.id, g);
    }
    for (const t of ix.table.transitions) {
      const g = svg.querySelector(`g[id="${t.id}"]`);
      if (!g) continue;
      g.querySelector(":scope > title")?.remove();
      const path = g.querySelector("path");
      if (path) {
        // A wide invisible twin of the path, so a thin arrow is easy to hit.
        const hit = path.cloneNode(false);
        hit.setAttribute("class", "tv-hit");
        hit.removeAttribute("stroke-dasharray");
        g.insertBefore(hit, g.firstChild);
      }
      g.setAttribute("aria-label", `${t.button}: from ${t.source} to ${t.target}`);
      g.dataset.edge = t.id;
      edges.set(t.id, g);
    }
  }

  function showTip(target) {
    const g = target.closest("g[data-state], g[data-edge]");
    if (!g) return;
    tip.replaceChildren();
    if (g.dataset.state) {
      const s = ix.byName.get(g.dataset.state);
      tip.append(h("strong", { text: s.name }), h("span", { text: s.description }));
    } else {
      const t = ix.edges.get(g.dataset.edge);
      const quizHidden = model.get("mode") === "quiz" && hideLabels;
      tip.append(h("strong", { text: quizHidden ? t.words : t.button }));
      if (!quizHidden) {
        tip.append(h("span", { text: `${t.source} → ${t.target} (${t.label})` }));
        if (t.note) tip.append(h("span", { text: `${t.note[0].toUpperCase()}${t.note.slice(1)}.` }));
      }
      if (t.section) tip.append(h("span", { class: "tv-section", text: `RFC 9293 section ${t.section}` }));
    }
    tip.hidden = false;
    // Below the state or the arrow's label if it fits in what can be seen of the diagram
    // (its frame scrolls and clips, the window may end first), else above, else where it fits.
    const box = (g.dataset.edge && g.querySelector("text") || g).getBoundingClientRect();
    const frame = diagram.getBoundingClientRect();
    const [top0, bottom] = [Math.max(frame.top, 0), Math.min(frame.bottom, innerHeight)];
    const [left0, right] = [Math.max(frame.left, 0), Math.min(frame.right, innerWidth)];
    const [width, height] = [tip.offsetWidth, tip.offsetHeight];
    let top = box.bottom + 6;
    if (top + height > bottom) {
      top = box.top - 6 - height >= top0 ? box.top - 6 - height : Math.max(top0, bottom - height);
    }
    const left = Math.max(left0 + 2, Math.min(box.left, right - width - 2));
    tip.style.left = `${left - frame.left + diagram.scrollLeft}px`;
    tip.style.top = `${top - frame.top + diagram.scrollTop}px`;
    g.setAttribute("aria-describedby", tip.id);
  }

  function hideTip(target) {
    const g = target && target.closest ? target.closest("g[data-state], g[data-edge]") : null;
    if (g) g.removeAttribute("aria-describedby");
    tip.hidden = true;
  }

  function clickDiagram(target) {
    const v = current();
    const g = target.closest("g[data-state], g[data-edge]");
    if (!g) return;
    if (g.dataset.state) {
      if (v.mode === "quiz") answer(g.dataset.state);
      else showTip(g);
      return;
    }
    if (v.mode === "quiz") return;
    const t = ix.edges.get(g.dataset.edge);
    if (v.enabled.includes(t.id)) {
      act({ type: "fire", edge: t.id });
    } else {
      localError =
        t.source === v.state
          ? `"${t.words}" is not possible now: ${t.note || `this arrow needs ${t.source} entered from ${t.via}`}.`
          : `That arrow starts in ${t.source}, but the connection is in ${v.state}: only arrows leaving ${v.state} can be taken.`;
      paint();
    }
  }

  function answer(state) {
    const q = model.get("quiz");
    if (q && q.question) send({ type: "quiz_answer", state });
  }

  // -- painting: classes and text only ---------------------------------------------------------
  function schedule() {
    if (!frame) frame = requestAnimationFrame(paint);
  }

  function setClasses(map, wanted, cls) {
    for (const [id, g] of map) g.classList.toggle(cls, wanted.has(id));
  }

  function animate(edgeId) {
    const g = edges.get(edgeId);
    const path = g && g.querySelector("path:not(.tv-hit)");
    if (!path || !path.animate || !path.getTotalLength) return;
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
    const length = path.getTotalLength();
    const dash = `${length} ${length}`;
    path.animate(
      [
        { strokeDasharray: dash, strokeDashoffset: length },
        { strokeDasharray: dash, strokeDashoffset: 0 },
      ],
      { duration: 600, easing: "ease-out" },
    );
  }

  function keyOf(value) {
    return JSON.stringify(value);
  }

  function paintEvents(v) {
    const key = keyOf(v.enabled);
    if (rendered.events === key) return;
    rendered.events = key;
    const hadFocus = events.contains(document.activeElement);
    events.replaceChildren(
      ...v.enabled.map((id, i) => {
        const t = ix.edges.get(id);
        return h(
          "button",
          {
            type: "button",
            class: `tv-event kind-${t.kind}`,
            "data-testid": "event-button",
            "data-edge": t.id,
            "data-event": t.event,
            title: `RFC 9293: ${t.label}${t.section ? ` (section ${t.section})` : ""}`,
            onclick: () => act({ type: "fire", edge: t.id }),
            onmouseenter: () => edges.get(t.id)?.classList.add(PREVIEW),
            onmouseleave: () => edges.get(t.id)?.classList.remove(PREVIEW),
            onfocus: () => edges.get(t.id)?.classList.add(PREVIEW),
            onblur: () => edges.get(t.id)?.classList.remove(PREVIEW),
          },
          i < 9 ? h("kbd", { text: String(i + 1) }) : null,
          h("span", { text: t.button }),
        );
      }),
    );
    if (!v.enabled.length) {
      events.append(h("p", { class: "tv-none", text: "Nothing can happen in this state: undo or reset." }));
    }
    for (const g of edges.values()) g.classList.remove(PREVIEW);
    // Keep the keyboard inside the widget when the focused button went away.
    if (hadFocus) (events.querySelector("button") || root).focus({ preventScroll: true });
  }

  function paintHistory(v) {
    const key = keyOf([v.history, v.future, v.visited[0]]);
    if (rendered.history === key) return;
    rendered.history = key;
    const hadFocus = historyList.contains(document.activeElement);
    const start = v.visited.length ? ix.byId.get(v.visited[0]).name : ix.table.initial;
    const entry = (index, step, testid, extra) =>
      h("li", { class: extra },
        h("button", {
          type: "button",
          "data-testid": testid,
          "data-index": String(index),
          "aria-current": index === v.history.length ? "step" : false,
          title: step ? `RFC 9293: ${step.label}` : false,
          text: step ? `${ix.edges.get(step.edge)?.event || step.label} → ${step.target}` : `${start} (start)`,
          onclick: () => act({ type: "jump", index }),
        }));
    historyList.replaceChildren(
      entry(0, null, "history-start", v.history.length ? "" : "tv-here"),
      ...v.history.map((s, i) =>
        entry(i + 1, s, "history-item", i + 1 === v.history.length ? "tv-here" : "")),
      ...v.future.map((s, i) => entry(v.history.length + i + 1, s, "history-future", "tv-future")),
    );
    if (hadFocus) (historyList.querySelector(".tv-here button") || root).focus({ preventScroll: true });
  }

  function paintScenario(v) {
    const list = model.get("scenarios") || [];
    const sc = v.scenario || IDLE_SCENARIO;
    const optionsKey = keyOf(list.map((s) => s.name));
    if (rendered.scenarios !== optionsKey) {
      rendered.scenarios = optionsKey;
      scenarioSelect.replaceChildren(
        h("option", { value: "", text: "Choose a scenario…" }),
        ...list.map((s) => h("option", { value: s.name, text: s.title })),
      );
    }
    scenarioSelect.value = sc.name || "";
    const data = list.find((s) => s.name === sc.name);
    if (document.activeElement !== speed) {
      speed.value = String(sc.speed || 1);
      speedLabel.textContent = `${sc.speed || 1}×`;
    }
    playButton.disabled = !data || sc.playing;
    pauseButton.disabled = !sc.playing;
    stepButton.disabled = !data || (sc.on_track && sc.index >= sc.total);
    scenarioSummary.textContent = data ? data.summary : "Pick a scenario to watch a connection step by step.";
    if (!data) {
      scenarioProgress.textContent = "";
      scenarioWhy.textContent = "";
      scenarioSteps.replaceChildren();
      return;
    }
    if (!sc.on_track) {
      scenarioProgress.textContent = "You left the scenario's path.";
      scenarioWhy.textContent = "Press Step or Play to go back to it.";
    } else {
      scenarioProgress.textContent =
        sc.index >= sc.total ? `Done: all ${sc.total} steps.` : `Step ${sc.index} of ${sc.total}`;
      scenarioWhy.textContent =
        sc.index > 0 ? data.steps[sc.index - 1].why : "Press Play, or Step to go one step at a time.";
    }
    scenarioSteps.replaceChildren(
      ...data.steps.map((s, i) =>
        h("li", {
          "data-testid": "scenario-step-item",
          class: sc.on_track && i < sc.index ? (i === sc.index - 1 ? "tv-now-step" : "tv-done") : "",
          "aria-current": sc.on_track && i === sc.index - 1 ? "step" : false,
          text: `${ix.edges.get(s.edge)?.button || s.label} → ${s.target}`,
        }),
      ),
    );
  }

  function paintQuiz(v) {
    const quiz = v.quiz || {};
    const q = quiz.question;
    const [right, asked] = quiz.score || [0, 0];
    quizScore.textContent = `Score: ${right} of ${asked}${quiz.total ? ` (quiz of ${quiz.total})` : ""}`;
    const key = keyOf([q, quiz.finished]);
    if (rendered.quiz !== key) {
      rendered.quiz = key;
      const hadFocus = quizChoices.contains(document.activeElement);
      quizQuestion.replaceChildren();
      if (q) {
        quizQuestion.append(
          `Question ${q.number} of ${q.total}: the connection is in `,
          h("strong", { text: q.state }),
          // Where it came from matters only where an arrow has a `via` (Figure 5, Note 1).
          q.entered_from && ix.table.transitions.some((t) => t.source === q.state && t.via)
            ? ` (entered from ${q.entered_from})`
            : "",
          ". Event: ",
          h("strong", { class: "tv-event-name", "data-testid": "quiz-event", text: q.event_words }),
          ". Where does it go? Click a state in the diagram or a button.",
        );
      } else if (quiz.finished) {
        quizQuestion.append(`Quiz finished: ${right} of ${asked} right. Press “New quiz” to play again.`);
      }
      quizChoices.replaceChildren(
        ...(q ? q.choices : []).map((state, i) =>
          h("button", {
            type: "button",
            class: "tv-choice",
            "data-testid": "quiz-choice",
            "data-state": state,
            onclick: () => answer(state),
          }, h("kbd", { text: String(i + 1) }), h("span", { text: state })),
        ),
      );
      if (hadFocus) (quizChoices.querySelector("button") || root).focus({ preventScroll: true });
    }
    const fb = quiz.last;
    quizFeedback.hidden = !fb;
    if (fb) {
      quizFeedback.className = `tv-feedback ${fb.correct ? "tv-right" : "tv-wrong"}`;
      quizFeedback.replaceChildren(
        h("strong", {
          text: fb.correct
            ? `Question ${fb.number}: ✓ right, ${fb.expected}`
            : `Question ${fb.number}: ✗ not ${fb.given}, it goes to ${fb.expected}`,
        }),
        h("span", { text: fb.explanation }),
      );
    }
  }

  function paint() {
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    const v = current();
    const mode = v.mode || "explore";
    const quiz = v.quiz || {};
    const theme = v.theme || "auto";
    root.className = `tcpviz-widget tcpviz-theme-${theme} tv-mode-${mode}${mode === "quiz" && hideLabels ? " tv-hide-labels" : ""}`;
    const svg = svgHolder.querySelector("svg");
    if (svg) {
      for (const cls of [...svg.classList]) if (cls.startsWith("tcpviz-theme-")) svg.classList.remove(cls);
      svg.classList.add("tcpviz-diagram", `tcpviz-theme-${theme}`);
    }
    for (const b of modeButtons) b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
    explorePanel.hidden = mode !== "explore";
    scenarioPanel.hidden = mode !== "scenario";
    quizPanel.hidden = mode !== "quiz";
    historyPanel.hidden = mode === "quiz";

    // What the diagram shows: the machine, or in a quiz the question (never its answer).
    let stateId, lastId, visited, enabled, taken, animKey;
    if (mode === "quiz") {
      const q = quiz.question;
      const fb = quiz.last;
      const shown = q ? q.state : fb ? fb.expected : null;
      stateId = shown ? ix.byName.get(shown)?.id : null;
      lastId = fb ? fb.edge || "" : "";
      visited = new Set();
      enabled = new Set();
      taken = new Set();
      animKey = `quiz|${fb ? fb.number : ""}|${lastId}`;
      for (const [id, g] of nodes) {
        g.classList.toggle("tv-quiz-right", !!fb && ix.byId.get(id).name === fb.expected);
        g.classList.toggle("tv-quiz-wrong", !!fb && !fb.correct && ix.byId.get(id).name === fb.given);
      }
    } else {
      stateId = ix.byName.get(v.state)?.id;
      lastId = v.last;
      visited = new Set(v.visited);
      enabled = new Set(v.enabled);
      taken = new Set(v.history.slice(0, -1).map((step) => step.edge));
      animKey = `${v.history.length}|${lastId}`;
      for (const g of nodes.values()) g.classList.remove("tv-quiz-right", "tv-quiz-wrong");
    }
    for (const [id, g] of nodes) {
      const here = id === stateId;
      g.classList.toggle("current", here);
      if (here) g.setAttribute("aria-current", "true");
      else g.removeAttribute("aria-current");
    }
    setClasses(nodes, visited, "visited");
    setClasses(edges, new Set(lastId ? [lastId] : []), "last");
    setClasses(edges, taken, "taken");
    setClasses(edges, enabled, "enabled");
    for (const [id, g] of edges) {
      if (enabled.has(id) && mode === "explore") g.setAttribute("tabindex", "0");
      else g.removeAttribute("tabindex");
      g.setAttribute("role", enabled.has(id) && mode === "explore" ? "button" : "img");
    }
    if (animKey !== animatedKey) {
      if (animatedKey && lastId) animate(lastId); // not on the first paint
      animatedKey = animKey;
    }

    // The side panel.
    const shownState = mode === "quiz" ? (quiz.question ? quiz.question.state : "") : v.state;
    const s = ix.byName.get(shownState);
    stateName.textContent = s ? s.name : mode === "quiz" ? "Quiz" : "";
    description.textContent = s ? s.description : "";
    const lastT = mode === "quiz" ? null : ix.edges.get(v.last);
    lastStep.textContent = lastT ? lastT.narration : mode === "quiz" ? "" : "Nothing has happened yet.";
    lastLabel.textContent = lastT ? `RFC 9293: ${lastT.label}` : "";
    const error = localError || v.error;
    errorBox.hidden = !error;
    errorText.textContent = error || "";

    if (mode !== "quiz") {
      undoButton.disabled = !v.history.length;
      redoButton.disabled = !v.future.length;
      paintHistory(v);
    }
    if (mode === "explore") paintEvents(v);
    if (mode === "scenario") paintScenario(v);
    if (mode === "quiz") paintQuiz(v);

    const say = mode === "quiz"
      ? quiz.last ? `${quiz.last.correct ? "Right" : "Wrong"}: ${quiz.last.expected}.` : ""
      : `${v.state}. ${lastT ? lastT.narration : ""}`;
    const sayKey = `${mode}|${animKey}`;
    if (announcedKey !== null && sayKey !== announcedKey && say) announce.textContent = say;
    announcedKey = sayKey;

    // Scenario playback: the page keeps time, Python (or the local model) takes each step.
    const sc = v.scenario || IDLE_SCENARIO;
    const playing = mode === "scenario" && sc.playing && !waiting.size;
    if (!playing && timer) {
      clearTimeout(timer);
      timer = 0;
    } else if (playing && !timer) {
      const delay = BASE_DELAY_MS / (sc.speed || 1);
      timer = setTimeout(() => {
        timer = 0;
        const now = model.get("scenario");
        if (now && now.playing && model.get("mode") === "scenario") {
          send({ type: "scenario", action: "step", index: now.index });
        }
      }, sc.index === 0 ? delay / 3 : delay);
    }
  }

  // -- events ---------------------------------------------------------------------------------
  function onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    const v = current();
    const mode = v.mode || "explore";
    let handled = true;
    if ((e.key === "Enter" || e.key === " ") && e.target.closest && e.target.closest("g[data-state], g[data-edge]")) {
      clickDiagram(e.target);
    } else if (/^[1-9]$/.test(e.key)) {
      const i = Number(e.key) - 1;
      if (mode === "quiz") {
        const q = v.quiz && v.quiz.question;
        if (q && q.choices[i]) answer(q.choices[i]);
      } else if (mode === "explore" && v.enabled[i]) {
        act({ type: "fire", edge: v.enabled[i] });
      }
    } else if (mode === "quiz") {
      handled = false;
    } else if (e.key === "ArrowLeft") {
      if (v.history.length) act({ type: "undo" });
    } else if (e.key === "ArrowRight") {
      if (v.future.length) act({ type: "redo" });
    } else if (e.key === "Escape" || e.key === "Home") {
      act({ type: "reset" });
    } else {
      handled = false;
    }
    if (handled) {
      // JupyterLab's notebook shortcuts listen further up: keep our keys to ourselves.
      e.preventDefault();
      e.stopPropagation();
    }
  }

  const onOver = (e) => e.target.closest && e.target.closest("g[data-state], g[data-edge]") && showTip(e.target);
  const onOut = (e) => {
    const from = e.target.closest && e.target.closest("g[data-state], g[data-edge]");
    if (from && !from.contains(e.relatedTarget)) hideTip(e.target);
  };
  root.addEventListener("keydown", onKey);
  diagram.addEventListener("mouseover", onOver);
  diagram.addEventListener("mouseout", onOut);
  diagram.addEventListener("focusin", (e) => showTip(e.target));
  diagram.addEventListener("focusout", (e) => hideTip(e.target));
  diagram.addEventListener("click", (e) => clickDiagram(e.target));

  const onAck = (msg) => {
    if (!msg || msg.type !== "ack" || !waiting.has(msg.id)) return; // another view's message
    clearTimeout(waiting.get(msg.id));
    waiting.delete(msg.id);
    if (!waiting.size) pending = null;
    paint(); // the answer is in: show it now (traits changed before the ack arrived)
  };
  const onSvg = () => {
    insertSvg();
    schedule();
  };
  const onTable = () => {
    ix = indexTable(model.get("table"));
    insertSvg();
    for (const key of Object.keys(rendered)) delete rendered[key];
    schedule();
  };
  // A hint about a click (an arrow that cannot be taken) is stale once the machine moves.
  const onMove = () => {
    localError = "";
    schedule();
  };
  model.on("msg:custom", onAck);
  model.on("change:svg", onSvg);
  model.on("change:table", onTable);
  model.on("change:scenarios", schedule);
  model.on("change:history", onMove);
  for (const key of VIEW_KEYS) model.on(`change:${key}`, schedule);

  insertSvg();
  paint();

  return () => {
    model.off("msg:custom", onAck);
    model.off("change:svg", onSvg);
    model.off("change:table", onTable);
    model.off("change:scenarios", schedule);
    model.off("change:history", onMove);
    for (const key of VIEW_KEYS) model.off(`change:${key}`, schedule);
    for (const t of waiting.values()) clearTimeout(t);
    clearTimeout(timer);
    if (frame) cancelAnimationFrame(frame);
  };
}

export { render };
export default { render };
