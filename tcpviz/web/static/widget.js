// tcpviz: the interactive TCP state diagram.
//
// One ES module serves the Jupyter widget (anywidget calls render({ model, el })) and the
// standalone HTML page (which passes localModel(data), a model that answers from the data
// Python wrote into the page). Python decides, the page looks up (DESIGN.md, decision 7):
// where each arrow leads, what is enabled where, the way to a scenario's start and every
// quiz answer come from Python (tcpviz/web/payload.py). This file holds no stepping rule, no
// search and no quiz logic, only look-ups, the history as a list, and the drawing. In a
// notebook Python is the authority: a click is painted at once from the looked-up data, sent
// to Python, and the synced traits that come back win.
//
// The SVG is inserted once; every later change only toggles classes on its <g> elements.
//
// Sections: looking up (indexTable ... refusalAt), the local model (localModel), the view:
// DOM helpers, the skeleton, the diagram, the panels (now, events, scenario, quiz, history),
// painting, keys, and the transport to Python (render wires them together).

const BASE_DELAY_MS = 1800; // one scenario step at speed 1
// The standalone page keeps every step but lists only the last (and next) this many, so that a
// very long session stays as quick as a short one. Python sends fewer (HISTORY_WINDOW in
// tcpviz/web/payload.py), as each step travels to the page.
const LOCAL_WINDOW = 500;
const ANSWER_TIMEOUT_MS = 5000; // after this, an unanswered message is reported, not lost
const PREVIEW = "tv-preview";

// ---- looking up what Python sent -----------------------------------------------------------

// The table and the moves (tcpviz.web.payload.moves_payload), indexed for look-ups by id.
function indexTable(table, moves) {
  const edges = new Map();
  const byName = new Map();
  const byId = new Map();
  for (const s of table.states) {
    byName.set(s.name, s);
    byId.set(s.id, s);
  }
  for (const t of table.transitions) edges.set(t.id, t);
  const none = { positions: [], start: {}, after: {}, elsewhere: {}, events: {}, entered_from_matters: [] };
  const numbered = { states: table.states.map((s) => s.id), edges: table.transitions.map((t) => t.id) };
  return { table, edges, byName, byId, numbered, moves: moves || none };
}

// A list of ids as Python sends it (tcpviz.web.payload.IdCodec: the numbers of the states or
// rows in the table, base 36, joined by "."), or already a list (the local model's).
function idsOf(ix, value, kind) {
  if (typeof value !== "string") return value || [];
  return value ? value.split(".").map((n) => ix.numbered[kind][parseInt(n, 36)]) : [];
}
const ID_LISTS = { visited: "states", taken: "edges", history_shown: "edges", future_shown: "edges", enabled: "edges" };

const pyList = (items) => `[${items.map((x) => `'${x}'`).join(", ")}]`;
const unique = (items) => [...new Set(items)];

class StepError extends Error {}
// The page cannot tell where a step leads (it would need steps Python did not send, or moves
// it was not given): it waits for Python's answer instead of painting the step at once.
class Unknowable extends Error {}

// A position: the start state; `hist`, the transitions taken (oldest first) after `offset`
// earlier ones the page was not sent; `fut`, those undone (next first), before `more` others.
// The standalone page holds everything (offset and more are 0); a notebook gets a window.
function positionOf(ix, v) {
  const first = v.visited && v.visited.length ? ix.byId.get(v.visited[0]) : null;
  return {
    start: first ? first.name : ix.table.initial,
    offset: v.history_hidden || 0,
    hist: (v.history_shown || []).map((id) => ix.edges.get(id)).filter(Boolean),
    fut: (v.future_shown || []).map((id) => ix.edges.get(id)).filter(Boolean),
    more: v.future_hidden || 0,
  };
}

// Where a position stands, looked up: the state, the position's number in moves.positions
// (what is enabled there), and the last transition.
function hereOf(ix, pos) {
  const last = pos.hist[pos.hist.length - 1];
  if (!last && pos.offset) throw new Unknowable("the step before this window was not sent");
  const number = last ? ix.moves.after[last.id] : ix.moves.start[pos.start];
  const at = ix.moves.positions[number];
  if (!at) throw new Unknowable("Python sent no moves for this position");
  return { state: at.state, at, last };
}

// Why the arrow `edgeId` cannot be taken at `at` (a position of moves.positions), as Python said.
function refusalAt(ix, at, edgeId) {
  if (at.refused[edgeId]) return at.refused[edgeId];
  const elsewhere = ix.moves.elsewhere[edgeId];
  return elsewhere ? elsewhere.split("{state}").join(at.state) : `unknown transition: '${edgeId}'`;
}

// The arrow an event name means at `at`, through Python's spellings (payload.event_lookup).
function resolveEvent(ix, at, name) {
  const candidates = ix.moves.events[String(name).trim().toLowerCase().split(/\s+/).join(" ")];
  const allowed = pyList(at.enabled.map((id) => ix.edges.get(id).event));
  if (!candidates) {
    throw new StepError(`unknown event: '${name}' in ${at.state} (allowed: ${allowed})`);
  }
  const id = at.enabled.find((e) => candidates.includes(ix.edges.get(e).event));
  if (!id) throw new StepError(`event '${name}' not allowed in ${at.state} (allowed: ${allowed})`);
  return ix.edges.get(id);
}

// The machine's synced traits for a position (the same keys and values Python sends), listing
// at most `window` steps each way. With every step at hand `visited` and `taken` are exact;
// otherwise they extend `before` (the traits Python sent), and Python's answer corrects them.
function viewOf(ix, pos, before = null, window = Infinity) {
  const { state, at, last } = hereOf(ix, pos);
  const exact = !pos.offset || !before;
  const visited = unique([
    ...(exact ? [ix.byName.get(pos.start).id] : before.visited),
    ...pos.hist.map((t) => ix.byName.get(t.target).id),
  ]);
  const taken = unique([
    ...(exact ? [] : before.taken || []),
    ...pos.hist.slice(0, -1).map((t) => t.id),
  ]);
  const shown = pos.hist.length > window ? pos.hist.slice(-window) : pos.hist;
  const next = pos.fut.length > window ? pos.fut.slice(0, window) : pos.fut;
  return {
    state,
    description: ix.byName.get(state).description,
    last: last ? last.id : "",
    visited,
    taken,
    history_shown: shown.map((t) => t.id),
    history_hidden: pos.offset + pos.hist.length - shown.length,
    future_shown: next.map((t) => t.id),
    future_hidden: pos.more + pos.fut.length - next.length,
    enabled: at.enabled.slice(),
  };
}

// Apply one machine message to a position; returns the new position, or null when `msg` is
// not a machine message. A fire is checked against the enabled arrows Python listed for the
// position; the rest is keeping a list (undo, redo, jump).
function move(ix, pos, msg) {
  let hist = pos.hist.slice();
  let fut = pos.fut.slice();
  let { offset, more } = pos;
  if (msg.type === "fire") {
    const { at } = hereOf(ix, pos);
    let t;
    if (msg.edge != null) {
      if (!at.enabled.includes(msg.edge)) throw new StepError(refusalAt(ix, at, msg.edge));
      t = ix.edges.get(msg.edge);
    } else {
      t = resolveEvent(ix, at, msg.event);
    }
    hist.push(t);
    fut = [];
    more = 0;
  } else if (msg.type === "undo") {
    if (!hist.length) {
      if (offset) throw new Unknowable("the step before this window was not sent");
      throw new StepError(`nothing to undo: ${pos.start} is where the machine started`);
    }
    fut.unshift(hist.pop());
  } else if (msg.type === "redo") {
    if (!fut.length) {
      if (more) throw new Unknowable("the next step to redo was not sent");
      const { state } = hereOf(ix, pos);
      throw new StepError(`nothing to redo in ${state}: no step was undone since the last fire`);
    }
    hist.push(fut.shift());
  } else if (msg.type === "reset") {
    [hist, fut, offset, more] = [[], [], 0, 0];
  } else if (msg.type === "jump") {
    const n = msg.index;
    const total = offset + hist.length + fut.length + more;
    if (!Number.isInteger(n) || n < 0 || n > total) {
      throw new StepError(`cannot jump to step ${n}: steps run from 0 to ${total}`);
    }
    if (n < offset || n > offset + hist.length + fut.length) {
      throw new Unknowable(`step ${n} was not sent`);
    }
    while (offset + hist.length > n) fut.unshift(hist.pop());
    while (offset + hist.length < n) hist.push(fut.shift());
  } else {
    return null;
  }
  const moved = { start: pos.start, offset, hist, fut, more };
  hereOf(ix, moved); // throws Unknowable when the step before the window would be needed
  return moved;
}

// ---- a model without Python, for the standalone page -------------------------------------

const IDLE_SCENARIO = { name: "", index: 0, total: 0, playing: false, speed: 1, on_track: true };

// A scenario on the page: its way from the table's start (Python found it), then its steps.
// Where it stands is a comparison of the history with that list.
function scenarioPlay(ix, data) {
  const path = [...data.lead_in, ...data.steps.map((s) => s.edge)];
  const base = data.lead_in.length;
  const play = {
    data,
    // The steps taken, or null when the history has left the scenario's path.
    index(pos) {
      const k = pos.hist.length - base;
      if (pos.offset || k < 0 || k > data.steps.length) return null;
      return pos.hist.every((t, i) => t.id === path[i]) ? k : null;
    },
    // Back to the start, the lead steps (those that only set the scene) taken.
    restart(pos) {
      const hist = path.slice(0, base + (data.lead || 0)).map((id) => ix.edges.get(id));
      return { start: pos.start, offset: 0, hist, fut: [], more: 0 };
    },
    // Back onto the path as far as the history follows it.
    recover(pos) {
      const hist = pos.hist;
      if (hist.length < base || hist.slice(0, base).some((t, i) => t.id !== path[i])) {
        return play.restart(pos);
      }
      let k = base;
      while (k < path.length && k < hist.length && hist[k].id === path[k]) k++;
      return move(ix, pos, { type: "jump", index: k });
    },
  };
  return play;
}

// A quiz played out by Python (payload.quizzes_payload): the page only keeps its place.
function scriptedQuiz(ix, texts, script) {
  const given = []; // the states answered, one per question so far
  const feedback = []; // what each answer got, as Python wrote it
  const quiz = {
    seed: script.seed,
    payload() {
      const q = script.questions[given.length];
      const fb = feedback[feedback.length - 1];
      return {
        question: q ? q.question : null,
        score: [feedback.filter((f) => f.correct).length, feedback.length],
        total: script.total,
        finished: !q,
        scenario: null,
        seed: script.seed,
        last: fb || null,
      };
    },
    answer(state) {
      const q = script.questions[given.length];
      if (!q) {
        const [right, asked] = quiz.payload().score;
        throw new StepError(`the quiz is finished (${right} of ${asked} right); call reset() to start again`);
      }
      if (!ix.byName.has(state)) {
        throw new StepError(`unknown state: '${state}' (must be one of ${pyList(ix.table.states.map((s) => s.name))})`);
      }
      const correct = state === q.expected;
      given.push(state);
      feedback.push({
        correct,
        expected: q.expected,
        given: state,
        explanation: correct ? texts[q.right] : `${texts[q.not[state]]} ${texts[q.wrong]}`,
        number: q.question.number,
        state: q.question.state,
        event: q.question.event,
        label: q.label,
        edge: q.edge,
      });
    },
  };
  return quiz;
}

/** A model with anywidget's interface (get/set/on/off/send/save_changes) that does in the page
 * what tcpviz.web.widget.TCPWidget does in Python, from what Python wrote into the page: the
 * history, scenarios and the quizzes. */
export function localModel(data) {
  const ix = indexTable(data.table, data.moves);
  // The whole position (nothing travels here): every step is kept, the last LOCAL_WINDOW listed.
  let pos = { start: data.table.initial, offset: 0, hist: [], fut: [], more: 0 };
  const quizzes = data.quizzes || { texts: [], quizzes: [] };
  const traits = {
    svg: data.svg,
    table: data.table,
    moves: data.moves,
    scenarios: data.scenarios || [],
    theme: data.theme || "auto",
    mode: "explore",
    error: "",
    quiz: {},
    can_undo_reset: false,
    scenario: { ...IDLE_SCENARIO },
    ...viewOf(ix, pos, null, LOCAL_WINDOW),
  };
  const listeners = new Map();
  let play = null; // the scenario being played (scenarioPlay)
  let quiz = null; // the quiz being played (scriptedQuiz)
  let round = -1; // which of the page's quizzes it is
  let beforeReset = null; // the position a reset left, so that it can be taken back

  const emit = (name, ...args) => {
    for (const cb of [...(listeners.get(name) || [])]) cb(...args);
  };

  function scenarioTrait(at, extra = {}) {
    if (!play) return { ...IDLE_SCENARIO, speed: traits.scenario.speed, ...extra };
    const k = play.index(at);
    const s = { ...traits.scenario, ...extra, name: play.data.name, total: play.data.steps.length };
    s.on_track = k !== null;
    if (k !== null) s.index = k;
    if (!s.on_track || s.index >= s.total) s.playing = false;
    return s;
  }

  function handleScenario(msg) {
    let at = pos;
    const action = msg.action;
    if (action === "select" || (action === "play" && msg.name)) {
      const found = traits.scenarios.find((s) => s.name === msg.name);
      if (!found) {
        const names = pyList(traits.scenarios.map((s) => s.name).sort());
        throw new StepError(`unknown scenario for this table: '${msg.name}' (must be one of ${names})`);
      }
      play = scenarioPlay(ix, found);
      return { pos: play.restart(at), mode: "scenario", scenario: { playing: action === "play" } };
    }
    if (action === "speed") {
      const value = Number(msg.value);
      if (!(value >= 0.25 && value <= 4)) throw new StepError(`speed must be from 0.25 to 4.0, not ${msg.value}`);
      return { pos: at, scenario: { speed: value } };
    }
    if (action === "pause") return { pos: at, scenario: { playing: false } };
    if (!play) throw new StepError("choose a scenario first");
    const k = play.index(at);
    if (action === "play") {
      if (k === null) at = play.recover(at);
      else if (k >= play.data.steps.length) at = play.restart(at);
      return { pos: at, mode: "scenario", scenario: { playing: true } };
    }
    if (action === "step") {
      // A timer's step carries the index it saw: a second view of the same model must not
      // step twice.
      if (msg.index != null && msg.index !== k) return { pos: at };
      if (k === null) return { pos: play.recover(at) };
      if (k >= play.data.steps.length) {
        throw new StepError(`scenario '${play.data.name}' is finished; play it again with play() or the Play button`);
      }
      return { pos: move(ix, at, { type: "fire", edge: play.data.steps[k].edge }) };
    }
    throw new StepError(`unknown scenario action: '${action}' (must be one of ['pause', 'play', 'select', 'speed', 'step'])`);
  }

  // The traits `msg` changes, and the new position if it moves the machine.
  function handle(msg) {
    const moved = move(ix, pos, msg);
    if (moved) return { to: moved, patch: { ...viewOf(ix, moved, null, LOCAL_WINDOW), scenario: scenarioTrait(moved) } };
    if (msg.type === "scenario") {
      const r = handleScenario(msg);
      const patch = { ...viewOf(ix, r.pos, null, LOCAL_WINDOW), scenario: scenarioTrait(r.pos, r.scenario || {}) };
      if (r.mode) patch.mode = r.mode;
      return { to: r.pos, patch };
    }
    return { patch: other(msg) };
  }

  function startQuiz(seed) {
    const list = quizzes.quizzes;
    if (!list.length) throw new StepError("this page carries no quiz");
    if (Number.isInteger(seed)) {
      const found = list.findIndex((q) => q.seed === seed);
      if (found < 0) {
        throw new StepError(`this page carries the quizzes of seeds ${JSON.stringify(list.map((q) => q.seed))}, not ${seed}`);
      }
      round = found;
    } else {
      round = (round + 1) % list.length; // "New quiz": the next one the page carries
    }
    quiz = scriptedQuiz(ix, quizzes.texts, list[round]);
    return quiz.payload();
  }

  function other(msg) {
    if (msg.type === "mode") {
      if (!["explore", "scenario", "quiz"].includes(msg.mode)) {
        throw new StepError(`unknown mode: '${msg.mode}' (must be one of ['explore', 'quiz', 'scenario'])`);
      }
      const patch = { mode: msg.mode };
      if (msg.mode !== "scenario") patch.scenario = { ...traits.scenario, playing: false };
      if (msg.mode === "quiz" && !quiz) patch.quiz = startQuiz(null);
      return patch;
    }
    if (msg.type === "quiz_start") return { mode: "quiz", quiz: startQuiz(msg.seed) };
    if (msg.type === "quiz_answer") {
      if (!quiz) throw new StepError("no quiz is running: call start_quiz() first");
      quiz.answer(msg.state);
      return { quiz: quiz.payload() };
    }
    if (msg.type === "dismiss") return {};
    throw new StepError(`unknown message type: '${msg.type}'`);
  }

  // Replaces the position by the one after `ids` (edge ids, oldest first), each checked against
  // what Python said is enabled where; returns "" or why not (nothing changes then).
  function restore(ids) {
    if (!Array.isArray(ids) || ids.length > MAX_RESTORED_STEPS) {
      return `a position of at most ${MAX_RESTORED_STEPS} steps was expected`;
    }
    let at = { start: data.table.initial, offset: 0, hist: [], fut: [], more: 0 };
    for (const [i, id] of ids.entries()) {
      const here = hereOf(ix, at).at;
      if (typeof id !== "string" || !ix.edges.has(id)) return `step ${i + 1} is not an arrow of this diagram`;
      if (!here.enabled.includes(id)) return `step ${i + 1} cannot happen in ${here.state}`;
      at = move(ix, at, { type: "fire", edge: id });
    }
    pos = at;
    play = null;
    beforeReset = null;
    const patch = { ...viewOf(ix, pos, null, LOCAL_WINDOW), scenario: scenarioTrait(pos), can_undo_reset: false, error: "" };
    for (const [key, value] of Object.entries(patch)) traits[key] = value;
    for (const key of Object.keys(patch)) emit(`change:${key}`, patch[key]);
    return "";
  }

  return {
    restore,
    // The steps taken, oldest first, as edge ids (what a saved or shared position holds).
    steps: () => pos.hist.map((t) => t.id),
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
        const before = pos;
        let r;
        if (msg.type === "undo_reset") {
          if (!beforeReset) throw new StepError("no reset to undo: the steps since have replaced it");
          r = { to: beforeReset, patch: { ...viewOf(ix, beforeReset, null, LOCAL_WINDOW), scenario: scenarioTrait(beforeReset) } };
        } else {
          r = handle(msg);
        }
        if (r.to) {
          pos = r.to;
          // A reset that forgets nothing (a second one) keeps the first one's undo.
          const forgot = before.hist.length || before.fut.length;
          if (msg.type === "reset") beforeReset = forgot ? before : beforeReset;
          else if (r.to !== before) beforeReset = null;
        }
        patch = { ...r.patch, can_undo_reset: !!beforeReset, error: "" };
      } catch (error) {
        if (!(error instanceof StepError || error instanceof Unknowable)) console.error(error);
        patch = { error: error.message };
      }
      for (const [key, value] of Object.entries(patch)) traits[key] = value;
      for (const key of Object.keys(patch)) emit(`change:${key}`, patch[key]);
      emit("msg:custom", { type: "ack", id: msg.id });
    },
  };
}

// ---- the standalone page remembers, and shares, a position ---------------------------------

const MAX_RESTORED_STEPS = 2000;
const SHARE_PREFIX = "#steps=";

/** Keep a standalone page's progress across reloads (localStorage under `key`) and offer it as
 * a link (the steps in the URL fragment). A fragment or a saved position is only read as a list
 * of arrows, each checked against the data Python wrote into the page; one that does not fit is
 * ignored, and `note` says so. Nothing in it is ever run. */
export function keepProgress(model, { key, link, note }) {
  const say = (text) => {
    note.textContent = text;
    note.hidden = !text;
  };
  const read = (text) => (text ? text.split(".").filter(Boolean) : []);
  let storage = null;
  try {
    storage = window.localStorage;
    storage.getItem(key); // may throw where storage is off (private windows, some file:// set-ups)
  } catch {
    storage = null;
  }
  const shared = location.hash.startsWith(SHARE_PREFIX) ? location.hash.slice(SHARE_PREFIX.length) : null;
  if (shared !== null) {
    const steps = read(decodeURIComponent(shared));
    const why = model.restore(steps);
    say(why ? `The link's position was ignored (${why}); the diagram starts afresh.`
      : `Opened the position of the link: ${steps.length} step${steps.length === 1 ? "" : "s"}.`);
  } else if (location.hash && location.hash !== "#") {
    say("The link's position was ignored (it is not one of this page's); the diagram starts afresh.");
  } else if (storage) {
    let steps = [];
    try {
      steps = read(storage.getItem(key) || "");
    } catch {
      steps = [];
    }
    if (steps.length) {
      const why = model.restore(steps);
      say(why ? "The progress saved in this browser no longer fits this page; the diagram starts afresh."
        : `Welcome back: your ${steps.length} step${steps.length === 1 ? " was" : "s were"} restored.`);
    }
  }
  // Saved only once the student acts on this page: opening a link (good or bad) must not
  // overwrite the progress this browser kept.
  let acted = false;
  const save = () => {
    const steps = model.steps().join(".");
    link.href = `${SHARE_PREFIX}${steps}`;
    if (storage && acted) {
      try {
        storage.setItem(key, steps);
      } catch {
        storage = null; // full or refused: the page works on without saving
      }
    }
  };
  const changed = () => {
    acted = true;
    save();
  };
  model.on("change:history_shown", changed);
  model.on("change:history_hidden", changed);
  save();
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

// Painting writes to the DOM only what changed: a write, even of the same value, can make
// the browser restyle and lay out again.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node, name, value) {
  if (value === false || value == null) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) {
    node.setAttribute(name, value);
  }
}

const arrowLabel = (t) => `${t.button}: from ${t.source} to ${t.target}`;

function setProp(node, name, value) {
  if (node[name] !== value) node[name] = value;
}

const MACHINE_KEYS = [
  "state", "description", "last", "visited", "taken",
  "history_shown", "history_hidden", "future_shown", "future_hidden", "enabled",
];
const VIEW_KEYS = [...MACHINE_KEYS, "can_undo_reset", "error", "mode", "quiz", "scenario", "theme"];
const keyOf = (value) => JSON.stringify(value);
let viewCount = 0;

// Each piece below draws one part of the widget and keeps its own state. They share one
// context `ctx` (made by render): the model, `ix` (the looked-up table), `current()` (the
// view to paint: the model's traits, or the optimistic one while Python answers), `act(msg)`
// (a step, painted at once), `send(msg)` (to Python), `schedule()` / `paint()`, `hint` (a
// message of the page itself, such as why an arrow cannot be taken), `refocus` (where the
// keyboard goes once painted) and `hideLabels` (the quiz's checkbox).

// -- transport: messages to Python, their acknowledgements, the optimistic view -------------
function createTransport(model, viewId, onLost) {
  const waiting = new Map(); // message id -> timer
  let sent = 0;
  const transport = {
    pending: null, // the optimistic view, until Python answers
    // Send `msg` to Python (or the local model); returns its id, which its ack carries.
    send(msg) {
      const id = `${viewId}-${++sent}`;
      waiting.set(id, setTimeout(() => {
        waiting.delete(id);
        transport.pending = null;
        onLost();
      }, ANSWER_TIMEOUT_MS));
      model.send({ ...msg, id });
      return id;
    },
    waitingFor: (id) => waiting.has(id),
    busy: () => waiting.size > 0,
    // An acknowledgement: true when it was for this view (another view's are ignored).
    acknowledge(msg) {
      if (!msg || msg.type !== "ack" || !waiting.has(msg.id)) return false;
      clearTimeout(waiting.get(msg.id));
      waiting.delete(msg.id);
      if (!waiting.size) transport.pending = null;
      return true;
    },
    dispose() {
      for (const t of waiting.values()) clearTimeout(t);
    },
  };
  return transport;
}

// -- the diagram: the SVG, its classes, tooltips, the arrow animation, clicks ----------------
function createDiagram(ctx) {
  const tip = h("div", { class: "tv-tip", role: "tooltip", id: `${ctx.viewId}-tip`, "data-testid": "tooltip", hidden: true });
  const svgHolder = h("div", { class: "tv-svg" });
  const el = h("div", { class: "tv-diagram", "data-testid": "diagram" }, svgHolder, tip);
  let nodes = new Map(); // state id -> <g>
  let edges = new Map(); // edge id -> <g>
  let lengths = new Map(); // edge id -> length of its path, for the arrow animation
  let animatedKey = "";
  const reducedMotion = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;

  function insert() {
    const ix = ctx.ix;
    svgHolder.innerHTML = ctx.model.get("svg") || "";
    nodes = new Map();
    edges = new Map();
    lengths = new Map();
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
      g.setAttribute("aria-label", arrowLabel(t));
      g.dataset.edge = t.id;
      edges.set(t.id, g);
    }
    // Measuring a path lays the page out: do it for every arrow at once, when the page is
    // idle, rather than in a click.
    const measure = () => {
      for (const id of edges.keys()) pathLength(id);
    };
    if (window.requestIdleCallback) requestIdleCallback(measure, { timeout: 1000 });
    else setTimeout(measure, 0);
  }

  function pathLength(id) {
    let length = lengths.get(id);
    if (length === undefined) {
      const path = edges.get(id)?.querySelector("path:not(.tv-hit)");
      length = path && path.getTotalLength && path.isConnected ? path.getTotalLength() : 0;
      if (length > 0) lengths.set(id, length); // not yet in the page: measure again later
    }
    return length;
  }

  function animate(edgeId) {
    const path = edges.get(edgeId)?.querySelector("path:not(.tv-hit)");
    if (!path || !path.animate || (reducedMotion && reducedMotion.matches)) return;
    const length = pathLength(edgeId);
    if (!length) return;
    const dash = `${length} ${length}`;
    path.animate(
      [
        { strokeDasharray: dash, strokeDashoffset: length },
        { strokeDasharray: dash, strokeDashoffset: 0 },
      ],
      { duration: 600, easing: "ease-out" },
    );
  }

  function showTip(target) {
    const g = target.closest && target.closest("g[data-state], g[data-edge]");
    if (!g) return;
    const ix = ctx.ix;
    tip.replaceChildren();
    if (g.dataset.state) {
      const s = ix.byName.get(g.dataset.state);
      tip.append(h("strong", { text: s.name }), h("span", { text: s.description }));
    } else {
      const t = ix.edges.get(g.dataset.edge);
      if (ctx.model.get("mode") === "quiz" && ctx.hideLabels) {
        // The labels are hidden so that the figure does not give the answer away: neither
        // may the tooltip (the event, where the arrow goes, or its section).
        tip.append(h("strong", { text: "Arrow labels are hidden during the quiz" }));
      } else {
        tip.append(h("strong", { text: t.button }));
        tip.append(h("span", { text: `${t.source} → ${t.target} (${t.label})` }));
        if (t.note) tip.append(h("span", { text: `${t.note[0].toUpperCase()}${t.note.slice(1)}.` }));
        if (t.section) tip.append(h("span", { class: "tv-section", text: `RFC 9293 section ${t.section}` }));
      }
    }
    tip.hidden = false;
    // Below the state or the arrow's label if it fits in what can be seen of the diagram
    // (its frame scrolls and clips, the window may end first), else above, else where it fits.
    const box = ((g.dataset.edge && g.querySelector("text")) || g).getBoundingClientRect();
    const frame = el.getBoundingClientRect();
    const [top0, bottom] = [Math.max(frame.top, 0), Math.min(frame.bottom, innerHeight)];
    const [left0, right] = [Math.max(frame.left, 0), Math.min(frame.right, innerWidth)];
    const [width, height] = [tip.offsetWidth, tip.offsetHeight];
    let top = box.bottom + 6;
    if (top + height > bottom) {
      top = box.top - 6 - height >= top0 ? box.top - 6 - height : Math.max(top0, bottom - height);
    }
    const left = Math.max(left0 + 2, Math.min(box.left, right - width - 2));
    tip.style.left = `${left - frame.left + el.scrollLeft}px`;
    tip.style.top = `${top - frame.top + el.scrollTop}px`;
    g.setAttribute("aria-describedby", tip.id);
  }

  function hideTip(target) {
    const g = target && target.closest ? target.closest("g[data-state], g[data-edge]") : null;
    if (g) g.removeAttribute("aria-describedby");
    tip.hidden = true;
  }

  // A click (or Enter) on a state or an arrow: a quiz answer, a step, or why not.
  function click(target) {
    const g = target.closest && target.closest("g[data-state], g[data-edge]");
    if (!g) return;
    const v = ctx.current();
    if (g.dataset.state) {
      if (v.mode === "quiz") ctx.answer(g.dataset.state);
      else showTip(g);
      return;
    }
    if (v.mode === "quiz") return;
    const ix = ctx.ix;
    const t = ix.edges.get(g.dataset.edge);
    if (v.enabled.includes(t.id)) {
      ctx.act({ type: "fire", edge: t.id });
      return;
    }
    // Why not, as Python wrote it for this position (the `via` rule, or another state).
    try {
      ctx.hint = refusalAt(ix, hereOf(ix, positionOf(ix, v)).at, t.id);
    } catch (error) {
      if (!(error instanceof Unknowable)) throw error;
      ctx.hint = `That arrow cannot be taken in ${v.state} now.`;
    }
    ctx.paint();
  }

  const setClasses = (map, wanted, cls) => {
    for (const [id, g] of map) g.classList.toggle(cls, wanted.has(id));
  };

  // What the diagram shows: the machine, or in a quiz the question (never its answer).
  function paint(v, mode) {
    const ix = ctx.ix;
    const quiz = v.quiz || {};
    const theme = v.theme || "auto";
    const svg = svgHolder.querySelector("svg");
    if (svg) {
      // Removed and added only when the theme changes: either restyles the whole diagram.
      const themeClass = `tcpviz-theme-${theme}`;
      for (const cls of [...svg.classList]) {
        if (cls.startsWith("tcpviz-theme-") && cls !== themeClass) svg.classList.remove(cls);
      }
      for (const cls of ["tcpviz-diagram", themeClass]) svg.classList.toggle(cls, true);
    }
    let stateId, lastId, visited, enabled, taken, animKey;
    const fb = mode === "quiz" ? quiz.last : null;
    if (mode === "quiz") {
      const q = quiz.question;
      const shown = q ? q.state : fb ? fb.expected : null;
      stateId = shown ? ix.byName.get(shown)?.id : null;
      lastId = fb ? fb.edge || "" : "";
      [visited, enabled, taken] = [new Set(), new Set(), new Set()];
      animKey = `quiz|${fb ? fb.number : ""}|${lastId}`;
    } else {
      stateId = ix.byName.get(v.state)?.id;
      lastId = v.last;
      visited = new Set(v.visited);
      enabled = new Set(v.enabled);
      taken = new Set(v.taken || []);
      animKey = `${(v.history_hidden || 0) + v.history_shown.length}|${lastId}`;
    }
    for (const [id, g] of nodes) {
      const name = ix.byId.get(id).name;
      g.classList.toggle("tv-quiz-right", !!fb && name === fb.expected);
      g.classList.toggle("tv-quiz-wrong", !!fb && !fb.correct && name === fb.given);
      g.classList.toggle("current", id === stateId);
      setAttr(g, "aria-current", id === stateId ? "true" : false);
    }
    setClasses(nodes, visited, "visited");
    setClasses(edges, new Set(lastId ? [lastId] : []), "last");
    setClasses(edges, taken, "taken");
    setClasses(edges, enabled, "enabled");
    const hidden = mode === "quiz" && ctx.hideLabels;
    for (const [id, g] of edges) {
      const takeable = enabled.has(id) && mode === "explore";
      setAttr(g, "tabindex", takeable ? "0" : false);
      setAttr(g, "role", takeable ? "button" : "img");
      // A screen reader must not read out a hidden label either.
      setAttr(g, "aria-label", hidden ? "an arrow (its label is hidden during the quiz)" : arrowLabel(ix.edges.get(id)));
    }
    if (animKey !== animatedKey) {
      if (animatedKey && lastId) animate(lastId); // not on the first paint
      animatedKey = animKey;
    }
    return animKey;
  }

  const over = (e) => e.target.closest && e.target.closest("g[data-state], g[data-edge]") && showTip(e.target);
  const out = (e) => {
    const from = e.target.closest && e.target.closest("g[data-state], g[data-edge]");
    if (from && !from.contains(e.relatedTarget)) hideTip(e.target);
  };
  el.addEventListener("mouseover", over);
  el.addEventListener("mouseout", out);
  el.addEventListener("focusin", (e) => showTip(e.target));
  el.addEventListener("focusout", (e) => hideTip(e.target));
  el.addEventListener("click", (e) => click(e.target));

  return {
    el,
    insert,
    paint,
    click,
    // The hover preview of the arrow an event button would take.
    preview: (id, on) => edges.get(id)?.classList.toggle(PREVIEW, on),
    clearPreviews: () => {
      for (const g of edges.values()) g.classList.toggle(PREVIEW, false);
    },
  };
}

// -- the mode bar: explore, scenario, quiz, and whether the keys reach the widget ------------
function createModeBar(ctx) {
  const buttons = ["explore", "scenario", "quiz"].map((mode) =>
    h("button", {
      type: "button",
      class: "tv-mode",
      "data-testid": `mode-${mode}`,
      "data-mode": mode,
      text: mode[0].toUpperCase() + mode.slice(1),
      onclick: () => ctx.send({ type: "mode", mode }),
    }),
  );
  // Says whether the keys reach the widget now (the focus is inside it) or need a click first.
  const keysHint = h("span", { class: "tv-keys", "data-testid": "keys-hint", "aria-hidden": "true" });
  const el = h("div", { class: "tv-bar" }, h("div", { class: "tv-modes", role: "group", "aria-label": "Mode" }, ...buttons), keysHint);
  return {
    el,
    paint(mode) {
      for (const b of buttons) setAttr(b, "aria-pressed", String(b.dataset.mode === mode));
    },
    focus(inside) {
      setText(keysHint, inside ? "⌨ Keys on: 1–9 events · ← → undo/redo" : "Click here for the keys: 1–9 events · ← → undo/redo");
    },
  };
}

// -- the current state, what just happened, and the message box ------------------------------
function createNowPanel(ctx) {
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
        ctx.hint = "";
        if (ctx.model.get("error")) ctx.send({ type: "dismiss" });
        ctx.paint();
      },
    }),
  );
  const el = h("section", { class: "tv-now", "aria-label": "Current state" },
    h("div", { class: "tv-caption", text: "Current state" }), stateName, description, lastStep, lastLabel);
  return {
    el,
    errorBox,
    // Returns the narration of the last step (for the screen reader's announcement).
    paint(v, mode) {
      const ix = ctx.ix;
      const quiz = v.quiz || {};
      const shownState = mode === "quiz" ? (quiz.question ? quiz.question.state : "") : v.state;
      const s = ix.byName.get(shownState);
      setText(stateName, s ? s.name : mode === "quiz" ? "Quiz" : "");
      setText(description, s ? s.description : "");
      const lastT = mode === "quiz" ? null : ix.edges.get(v.last);
      setText(lastStep, lastT ? lastT.narration : mode === "quiz" ? "" : "Nothing has happened yet.");
      setText(lastLabel, lastT ? `RFC 9293: ${lastT.label}` : "");
      const error = ctx.hint || v.error;
      setProp(errorBox, "hidden", !error);
      setText(errorText, error || "");
      return lastT ? lastT.narration : "";
    },
  };
}

// -- the events that can happen now, one button each ------------------------------------------
// The buttons are reused from step to step (a step changes their text and data): rebuilding
// them, and moving the focus onto a new one, made every click restyle and lay out the page.
// Focus moves only when the focused button went away.
function createEventsPanel(ctx, diagram) {
  const events = h("div", { class: "tv-events", "data-testid": "events", role: "group", "aria-label": "Events that can happen now" });
  const el = h("section", { class: "tv-panel tv-explore" }, h("h4", { text: "What can happen now" }), events);
  const buttons = [];
  const none = h("p", { class: "tv-none", text: "Nothing can happen in this state: undo or reset." });
  let shown = null;

  function newButton() {
    const b = h(
      "button",
      {
        type: "button",
        "data-testid": "event-button",
        onclick: () => ctx.act({ type: "fire", edge: b.dataset.edge }),
        onmouseenter: () => diagram.preview(b.dataset.edge, true),
        onmouseleave: () => diagram.preview(b.dataset.edge, false),
        onfocus: () => diagram.preview(b.dataset.edge, true),
        onblur: () => diagram.preview(b.dataset.edge, false),
      },
      h("kbd"),
      h("span", {}, h("strong", { class: "tv-event-words" }), h("span", { class: "tv-event-sent" })),
    );
    return b;
  }

  function paint(v) {
    const key = v.enabled.join(" ");
    if (shown === key) return;
    shown = key;
    const focused = document.activeElement;
    const hadFocus = events.contains(focused);
    diagram.clearPreviews();
    v.enabled.forEach((id, i) => {
      const t = ctx.ix.edges.get(id);
      const button = buttons[i] || (buttons[i] = newButton());
      setAttr(button, "class", `tv-event kind-${t.kind}`);
      setAttr(button, "data-edge", t.id);
      setAttr(button, "data-event", t.event);
      setAttr(button, "title", `RFC 9293: ${t.label}${t.section ? ` (section ${t.section})` : ""}`);
      setAttr(button, "aria-label", t.button);
      const [kbd, span] = button.children;
      setProp(kbd, "hidden", i >= 9);
      setText(kbd, i < 9 ? String(i + 1) : "");
      // What happens in bold, what is sent after it: two buttons that differ only in their
      // segments ("receive SYN → send SYN,ACK", "receive SYN,ACK → send ACK") read apart.
      const [words, sent] = span.children;
      setText(words, t.words);
      setText(sent, t.button_sent ? ` ${t.button_sent}` : "");
      if (button.parentNode !== events) events.append(button); // those before it are in place
    });
    for (const b of buttons.slice(v.enabled.length)) b.remove();
    if (v.enabled.length) none.remove();
    else events.append(none);
    if (!hadFocus) return;
    if (events.contains(focused)) diagram.preview(focused.dataset.edge, true); // a new event
    else ctx.refocus = buttons[0]?.isConnected ? buttons[0] : ctx.root; // keep the keys here
  }

  return { el, paint, reset: () => (shown = null) };
}

// -- the history and its controls: undo, redo, reset (and undo reset), the list of steps -----
// The list: its start, "… N earlier steps" (a window of the history: see
// tcpviz.web.payload.HISTORY_WINDOW), the steps, the steps undone, "… N later steps". Each
// step keeps its <li> while it is listed, so a step adds (and removes) one entry, not all.
function createHistoryPanel(ctx) {
  const control = (name, label, key, msg) =>
    h("button", { type: "button", class: `tv-control tv-${name}`, "data-testid": name, title: `${label} (${key})`, text: label, onclick: () => ctx.act(msg) });
  const undo = control("undo", "Undo", "←", { type: "undo" });
  const redo = control("redo", "Redo", "→", { type: "redo" });
  // Reset has no key (Esc is JupyterLab's everyday key), and it can be taken back.
  const reset = h("button", {
    type: "button",
    class: "tv-control tv-reset",
    "data-testid": "reset",
    title: "Back to the start, forgetting the steps (Undo reset brings them back)",
    text: "Reset",
    onclick: () => ctx.act({ type: "reset" }),
  });
  const undoReset = h("button", {
    type: "button",
    class: "tv-control tv-undo-reset",
    "data-testid": "undo-reset",
    title: "Bring back the steps the reset forgot",
    text: "Undo reset",
    hidden: true,
    onclick: () => ctx.send({ type: "undo_reset" }),
  });
  const list = h("ol", { class: "tv-history", "data-testid": "history", start: "0" });
  const el = h("section", { class: "tv-panel tv-history-panel" },
    h("div", { class: "tv-controls" }, undo, redo, reset, undoReset),
    h("h4", { text: "History (click a step to go back)" }),
    list,
  );
  const entries = new Map(); // key -> <li>
  let shown = [];

  function entry() {
    const b = h("button", { type: "button", onclick: () => ctx.act({ type: "jump", index: Number(b.dataset.index) }) });
    return h("li", {}, b);
  }

  // Each row: its key, the step index a click jumps to, and (for a step) its edge; the text
  // of a step never changes under its key, so it is written once.
  function rowsOf(v, start, offset, more, here) {
    const steps = (n, which) => `… ${n} ${which} ${n === 1 ? "step" : "steps"}`;
    const rows = [{ key: "start", index: 0, testid: "history-start", text: `${start} (start)` }];
    if (offset) {
      rows.push({
        key: "earlier", index: offset, testid: "history-earlier", cls: "tv-more",
        text: steps(offset, "earlier"), title: `Go back to step ${offset} to list the steps before it`,
      });
    }
    v.history_shown.forEach((id, i) => {
      const index = offset + i + 1;
      rows.push({ key: `${index}|${id}`, index, id, testid: "history-item", cls: "" });
    });
    v.future_shown.forEach((id, i) => {
      const index = here + i + 1;
      rows.push({ key: `${index}|${id}`, index, id, testid: "history-future", cls: "tv-future" });
    });
    if (more) {
      const index = here + v.future_shown.length + 1;
      rows.push({
        key: "later", index, testid: "history-later", cls: "tv-more tv-future",
        text: steps(more, "later"), title: `Go forward to step ${index} to list the steps after it`,
      });
    }
    return rows;
  }

  function paintList(v) {
    const ix = ctx.ix;
    const offset = v.history_hidden || 0;
    const more = v.future_hidden || 0;
    const start = v.visited.length ? ix.byId.get(v.visited[0]).name : ix.table.initial;
    const key = [v.history_shown, v.future_shown, offset, more, start, ix];
    if (key.every((x, i) => x === shown[i])) return;
    shown = key;
    const here = offset + v.history_shown.length; // the steps taken: the current entry's index
    const rows = rowsOf(v, start, offset, more, here);
    const focused = document.activeElement;
    const hadFocus = list.contains(focused);
    const keys = new Set(rows.map((r) => r.key));
    for (const [k, li] of entries) {
      if (!keys.has(k)) {
        li.remove();
        entries.delete(k);
      }
    }
    let previous = null;
    for (const r of rows) {
      let li = entries.get(r.key);
      if (!li) {
        entries.set(r.key, (li = entry()));
        if (r.id) {
          const t = ix.edges.get(r.id);
          li.firstChild.textContent = t ? `${t.event} → ${t.target}` : r.id;
          if (t) li.firstChild.title = `RFC 9293: ${t.label}`;
        }
      }
      const b = li.firstChild;
      const cls = r.index === here ? "tv-here" : r.cls || "";
      if (li.tvIndex !== r.index || li.tvClass !== cls || li.tvTestid !== r.testid) {
        li.tvIndex = r.index;
        li.tvClass = cls;
        li.tvTestid = r.testid;
        setAttr(li, "class", cls || false);
        setAttr(li, "value", String(r.index)); // the list's number is the step's, past a window
        setAttr(b, "data-testid", r.testid);
        setAttr(b, "data-index", String(r.index));
        setAttr(b, "aria-current", r.index === here ? "step" : false);
      }
      if (r.text !== undefined) {
        setText(b, r.text);
        setAttr(b, "title", r.title || false);
      }
      const next = previous ? previous.nextSibling : list.firstChild;
      if (li !== next) list.insertBefore(li, next);
      previous = li;
    }
    if (hadFocus && !list.contains(focused)) {
      ctx.refocus = list.querySelector(".tv-here button") || ctx.root;
    }
  }

  return {
    el,
    paint(v) {
      setProp(undo, "disabled", !v.history_shown.length && !v.history_hidden);
      setProp(redo, "disabled", !v.future_shown.length && !v.future_hidden);
      setProp(undoReset, "hidden", !v.can_undo_reset);
      paintList(v);
    },
    // The table changed: every entry's text came from the old one.
    reset() {
      for (const li of entries.values()) li.remove();
      entries.clear();
      shown = [];
    },
  };
}

// -- the scenario player: choosing, Play / Pause / Step, speed, the steps and their reasons ---
// The player's rules are Python's (tcpviz.teach.player); this draws the `scenario` trait and the
// `scenarios` payload, and sends what the reader asks. A connection view can reuse it with any
// model that has those two traits and answers the same messages.
function createScenarioPanel(ctx) {
  const select = h("select", {
    "data-testid": "scenario-select",
    "aria-label": "Scenario",
    onchange: () => select.value && ctx.send({ type: "scenario", action: "select", name: select.value }),
  });
  const summary = h("p", { class: "tv-summary", "data-testid": "scenario-summary" });
  const action = (name, label) =>
    h("button", { type: "button", class: `tv-control tv-${name}`, "data-testid": name, text: label, onclick: () => ctx.send({ type: "scenario", action: name }) });
  const play = action("play", "▶ Play");
  const pause = action("pause", "❚❚ Pause");
  const step = action("step", "Step ▸");
  const speedLabel = h("span", { class: "tv-speed-value" });
  const speed = h("input", {
    type: "range", min: "0.25", max: "4", step: "0.25", value: "1",
    "data-testid": "speed",
    "aria-label": "Playback speed",
    oninput: () => (speedLabel.textContent = `${speed.value}×`),
    onchange: () => ctx.send({ type: "scenario", action: "speed", value: Number(speed.value) }),
  });
  const progress = h("p", { class: "tv-progress", "data-testid": "scenario-progress" });
  const why = h("p", { class: "tv-why", "data-testid": "scenario-why" });
  const steps = h("ol", { class: "tv-steps", "data-testid": "scenario-steps" });
  const el = h("section", { class: "tv-panel tv-scenario" },
    select, summary,
    h("div", { class: "tv-controls" }, play, pause, step, h("label", { class: "tv-speed" }, "Speed ", speed, speedLabel)),
    progress, why, steps,
  );
  const rendered = { options: null, steps: null };

  function paint(v) {
    const list = ctx.model.get("scenarios") || [];
    const sc = v.scenario || IDLE_SCENARIO;
    const optionsKey = keyOf(list.map((s) => s.name));
    if (rendered.options !== optionsKey) {
      rendered.options = optionsKey;
      select.replaceChildren(
        h("option", { value: "", text: "Choose a scenario…" }),
        ...list.map((s) => h("option", { value: s.name, text: s.title })),
      );
    }
    setProp(select, "value", sc.name || "");
    const data = list.find((s) => s.name === sc.name);
    if (document.activeElement !== speed) {
      setProp(speed, "value", String(sc.speed || 1));
      setText(speedLabel, `${sc.speed || 1}×`);
    }
    setProp(play, "disabled", !data || !!sc.playing);
    setProp(pause, "disabled", !sc.playing);
    setProp(step, "disabled", !data || (sc.on_track && sc.index >= sc.total));
    setText(summary, data ? data.summary : "Pick a scenario to watch a connection step by step.");
    if (!data) {
      setText(progress, "");
      setText(why, "");
      rendered.steps = null;
      steps.replaceChildren();
      return;
    }
    if (!sc.on_track) {
      setText(progress, "You left the scenario's path.");
      setText(why, "Press Step or Play to go back to it.");
    } else {
      setText(progress, sc.index >= sc.total ? `Done: all ${sc.total} steps.` : `Step ${sc.index} of ${sc.total}`);
      setText(why, sc.index > 0 ? data.steps[sc.index - 1].why : "Press Play, or Step to go one step at a time.");
    }
    const stepsKey = keyOf([data.name, sc.on_track, sc.index]);
    if (rendered.steps === stepsKey) return;
    rendered.steps = stepsKey;
    steps.replaceChildren(
      ...data.steps.map((s, i) =>
        h("li", {
          "data-testid": "scenario-step-item",
          class: sc.on_track && i < sc.index ? (i === sc.index - 1 ? "tv-now-step" : "tv-done") : "",
          "aria-current": sc.on_track && i === sc.index - 1 ? "step" : false,
          text: `${ctx.ix.edges.get(s.edge)?.button || s.label} → ${s.target}`,
        }),
      ),
    );
  }

  return { el, paint, reset: () => Object.assign(rendered, { options: null, steps: null }) };
}

// The page keeps the scenario's time; Python (or the local model) takes each step.
function createPlayerClock(ctx) {
  let timer = 0;
  return {
    tick(v, mode) {
      const sc = v.scenario || IDLE_SCENARIO;
      const playing = mode === "scenario" && sc.playing && !ctx.busy();
      if (!playing && timer) {
        clearTimeout(timer);
        timer = 0;
      } else if (playing && !timer) {
        const delay = BASE_DELAY_MS / (sc.speed || 1);
        // The first step after the lead comes sooner: the reader has just pressed Play.
        const data = (ctx.model.get("scenarios") || []).find((s) => s.name === sc.name);
        timer = setTimeout(() => {
          timer = 0;
          const now = ctx.model.get("scenario");
          if (now && now.playing && ctx.model.get("mode") === "scenario") {
            ctx.send({ type: "scenario", action: "step", index: now.index });
          }
        }, sc.index === ((data && data.lead) || 0) ? delay / 3 : delay);
      }
    },
    dispose: () => clearTimeout(timer),
  };
}

// -- the quiz: the question, the choices, the feedback Python wrote, the score ----------------
function createQuizPanel(ctx) {
  const question = h("p", { class: "tv-question", "data-testid": "quiz-question" });
  const choices = h("div", { class: "tv-choices", role: "group", "aria-label": "Where does the connection go?" });
  const score = h("p", { class: "tv-score", "data-testid": "quiz-score" });
  const feedback = h("div", { class: "tv-feedback", "data-testid": "quiz-feedback", hidden: true });
  const hideBox = h("input", {
    type: "checkbox",
    checked: true,
    "data-testid": "quiz-hide-labels",
    onchange: () => {
      ctx.hideLabels = hideBox.checked;
      ctx.paint();
    },
  });
  const restart = h("button", { type: "button", class: "tv-control", "data-testid": "quiz-restart", text: "New quiz", onclick: () => ctx.send({ type: "quiz_start" }) });
  const el = h("section", { class: "tv-panel tv-quiz" },
    feedback, question, choices, score,
    h("div", { class: "tv-controls" }, restart, h("label", { class: "tv-check" }, hideBox, " Hide arrow labels")),
  );
  const rendered = { question: null, feedback: null };

  function paint(v) {
    const ix = ctx.ix;
    const quiz = v.quiz || {};
    const q = quiz.question;
    const [right, asked] = quiz.score || [0, 0];
    setText(score, `Score: ${right} of ${asked}${quiz.total ? ` (quiz of ${quiz.total})` : ""}`);
    const key = keyOf([q, quiz.finished]);
    if (rendered.question !== key) {
      rendered.question = key;
      const hadFocus = choices.contains(document.activeElement);
      question.replaceChildren();
      if (q) {
        question.append(
          `Question ${q.number} of ${q.total}: the connection is in `,
          h("strong", { text: q.state }),
          // Where it came from matters only where an arrow has a `via` (Figure 5, Note 1).
          q.entered_from && (ix.moves.entered_from_matters || []).includes(q.state)
            ? ` (entered from ${q.entered_from})`
            : "",
          ". Event: ",
          h("strong", { class: "tv-event-name", "data-testid": "quiz-event", text: q.event_words }),
          ". Where does it go? Click a state in the diagram or a button.",
        );
      } else if (quiz.finished) {
        question.append(`Quiz finished: ${right} of ${asked} right. Press “New quiz” to play again.`);
      }
      choices.replaceChildren(
        ...(q ? q.choices : []).map((state, i) =>
          h("button", {
            type: "button",
            class: "tv-choice",
            "data-testid": "quiz-choice",
            "data-state": state,
            onclick: () => ctx.answer(state),
          }, h("kbd", { text: String(i + 1) }), h("span", { text: state })),
        ),
      );
      if (hadFocus) ctx.refocus = choices.querySelector("button") || ctx.root;
    }
    const fb = quiz.last;
    setProp(feedback, "hidden", !fb);
    const feedbackKey = keyOf(fb || null);
    if (fb && rendered.feedback !== feedbackKey) {
      rendered.feedback = feedbackKey;
      feedback.className = `tv-feedback ${fb.correct ? "tv-right" : "tv-wrong"}`;
      feedback.replaceChildren(
        h("strong", {
          text: fb.correct
            ? `Question ${fb.number}: ✓ right, ${fb.expected}`
            : `Question ${fb.number}: ✗ not ${fb.given}, it goes to ${fb.expected}`,
        }),
        h("span", { text: fb.explanation }),
      );
    }
  }

  return { el, paint, reset: () => Object.assign(rendered, { question: null, feedback: null }) };
}

// -- the view controls: present (full screen), the diagram's size, every row beyond Figure 5 -----
// "Present" puts the widget full screen for a projector (the diagram as large as the screen
// allows, the panel beside it; Esc or the button leaves), − and + zoom the diagram (it scrolls
// inside its frame), and for a table with rows beyond Figure 5, "All rows" shows every one of
// them, not only the current state's. Pure view: nothing here reaches the model.
const ZOOMS = [0.75, 1, 1.25, 1.5, 2];

function createViewControls(ctx) {
  let zoom = 1;
  const shown = h("output", { "aria-live": "polite", text: "100%" });
  const button = (testid, label, text, onclick) =>
    h("button", { type: "button", "data-testid": testid, "aria-label": label, text, onclick });
  const setZoom = (next) => {
    zoom = next;
    ctx.root?.style.setProperty("--tv-zoom", String(zoom));
    setText(shown, `${Math.round(zoom * 100)}%`);
    setProp(smaller, "disabled", zoom === ZOOMS[0]);
    setProp(larger, "disabled", zoom === ZOOMS[ZOOMS.length - 1]);
  };
  const step = (by) => setZoom(ZOOMS[Math.max(0, Math.min(ZOOMS.length - 1, ZOOMS.indexOf(zoom) + by))]);
  const smaller = button("zoom-out", "Smaller diagram", "−", () => step(-1));
  const larger = button("zoom-in", "Larger diagram", "+", () => step(1));
  const present = button("present", "Present: full screen, for a projector (Esc leaves)", "Present", () => {
    if (document.fullscreenElement === ctx.root) document.exitFullscreen();
    else if (ctx.root && ctx.root.requestFullscreen) ctx.root.requestFullscreen().catch(() => {});
  });
  setAttr(present, "aria-pressed", "false");
  document.addEventListener("fullscreenchange", () =>
    setAttr(present, "aria-pressed", String(!!ctx.root && document.fullscreenElement === ctx.root)));
  const el = h("div", { class: "tv-view", role: "group", "aria-label": "View" }, present, smaller, shown, larger);
  if (ctx.ix.table.transitions.some((t) => t.extended)) {
    const all = h("input", {
      type: "checkbox",
      "data-testid": "all-rows",
      onchange: () => setAttr(ctx.root, "data-all-rows", all.checked ? "true" : false),
    });
    el.append(h("label", { class: "tv-check", title: "Every RFC 9293 section 3.10 arrow, not only the current state's" }, all, " All rows"));
  }
  setZoom(1);
  return { el };
}

// -- the layout: where the pieces go -----------------------------------------------------------
// The one place that arranges the widget: a presentation view (the diagram as large as the
// window allows, the panel beside or below) changes this function and the CSS, nothing else.
function layout(parts) {
  const side = h("div", { class: "tv-side" },
    parts.now.el, parts.now.errorBox, parts.events.el, parts.scenario.el, parts.quiz.el, parts.history.el, parts.announce);
  const root = h("div", {
    class: "tcpviz-widget",
    tabindex: "0",
    role: "group",
    "aria-label": "TCP connection state machine. Keys: 1 to 9 events, left and right arrows undo and redo.",
  }, parts.bar.el, h("div", { class: "tv-main" }, parts.diagram.el, side));
  parts.bar.el.append(parts.view.el);
  return { root, side };
}

// -- keys ---------------------------------------------------------------------------------------
function keyHandler(ctx, diagram) {
  return (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    const v = ctx.current();
    const mode = v.mode || "explore";
    let handled = true;
    if ((e.key === "Enter" || e.key === " ") && e.target.closest && e.target.closest("g[data-state], g[data-edge]")) {
      diagram.click(e.target);
    } else if (/^[1-9]$/.test(e.key)) {
      const i = Number(e.key) - 1;
      if (mode === "quiz") {
        const q = v.quiz && v.quiz.question;
        if (q && q.choices[i]) ctx.answer(q.choices[i]);
      } else if (mode === "explore" && v.enabled[i]) {
        ctx.act({ type: "fire", edge: v.enabled[i] });
      }
    } else if (mode === "quiz") {
      handled = false;
    } else if (e.key === "ArrowLeft") {
      if (v.history_shown.length || v.history_hidden) ctx.act({ type: "undo" });
    } else if (e.key === "ArrowRight") {
      if (v.future_shown.length || v.future_hidden) ctx.act({ type: "redo" });
    } else {
      handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    } else if (e.key.length === 1 || e.key.startsWith("Arrow")) {
      // JupyterLab's notebook shortcuts listen further up, and single keys there change the
      // notebook ("d d" deletes the cell, "x" cuts it, "a"/"b" insert, "m" makes Markdown): with
      // the focus in the widget, no plain key reaches them. Esc and Shift+Enter still do.
      e.stopPropagation();
    }
  };
}

// -- render: anywidget's entry point, wiring the pieces together ------------------------------
function render({ model, el }) {
  const viewId = `tv${++viewCount}-${Math.random().toString(36).slice(2, 8)}`;
  let frame = 0;
  let announcedKey = null;
  const ctx = {
    model,
    viewId,
    ix: indexTable(model.get("table"), model.get("moves")),
    hint: "",
    refocus: null,
    hideLabels: true,
    root: null,
  };
  const transport = createTransport(model, viewId, () => {
    ctx.hint = "Python did not answer: is the kernel still running? (the diagram shows its last known state)";
    schedule();
  });
  const traits = () =>
    Object.fromEntries(VIEW_KEYS.map((k) => [k, ID_LISTS[k] ? idsOf(ctx.ix, model.get(k), ID_LISTS[k]) : model.get(k)]));
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(paint);
  };
  Object.assign(ctx, {
    current: () => (transport.pending ? { ...traits(), ...transport.pending } : traits()),
    send: (msg) => transport.send(msg),
    busy: () => transport.busy(),
    schedule,
    paint: () => paint(),
    // Optimistic: paint the step from the looked-up moves now; Python's traits replace it when
    // they come. Painted here, in the click's own task, so that the next frame shows it; every
    // other change waits for the next frame (schedule), so a click paints once.
    act(msg) {
      ctx.hint = "";
      const v = ctx.current();
      const id = transport.send(msg);
      // The local model answers at once (its traits are already in); Python answers later.
      if (transport.waitingFor(id) && v.mode !== "quiz") {
        try {
          const moved = move(ctx.ix, positionOf(ctx.ix, v), msg);
          if (moved) transport.pending = { ...viewOf(ctx.ix, moved, v), error: "" };
        } catch (error) {
          if (!(error instanceof StepError || error instanceof Unknowable)) throw error;
        }
      }
      paint();
    },
    answer(state) {
      const q = model.get("quiz");
      if (q && q.question) transport.send({ type: "quiz_answer", state });
    },
  });

  const diagram = createDiagram(ctx);
  const parts = {
    bar: createModeBar(ctx),
    diagram,
    now: createNowPanel(ctx),
    events: createEventsPanel(ctx, diagram),
    history: createHistoryPanel(ctx),
    scenario: createScenarioPanel(ctx),
    quiz: createQuizPanel(ctx),
    announce: h("div", { class: "tv-sr", "aria-live": "polite", "data-testid": "announce" }),
    view: createViewControls(ctx),
  };
  const clock = createPlayerClock(ctx);
  const { root } = layout(parts);
  ctx.root = root;
  el.replaceChildren(root);

  function paint() {
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    ctx.refocus = null;
    const v = ctx.current();
    const mode = v.mode || "explore";
    const quiz = v.quiz || {};
    const focused = root.contains(document.activeElement);
    setAttr(root, "class", `tcpviz-widget tcpviz-theme-${v.theme || "auto"} tv-mode-${mode}${mode === "quiz" && ctx.hideLabels ? " tv-hide-labels" : ""}${focused ? " tv-has-focus" : ""}`);
    parts.bar.paint(mode);
    setProp(parts.events.el, "hidden", mode !== "explore");
    setProp(parts.scenario.el, "hidden", mode !== "scenario");
    setProp(parts.quiz.el, "hidden", mode !== "quiz");
    setProp(parts.history.el, "hidden", mode === "quiz");
    const animKey = diagram.paint(v, mode);
    const narration = parts.now.paint(v, mode);
    if (mode !== "quiz") parts.history.paint(v);
    if (mode === "explore") parts.events.paint(v);
    if (mode === "scenario") parts.scenario.paint(v);
    if (mode === "quiz") parts.quiz.paint(v);

    const say = mode === "quiz"
      ? quiz.last ? `${quiz.last.correct ? "Right" : "Wrong"}: ${quiz.last.expected}.` : ""
      : `${v.state}. ${narration}`;
    const sayKey = `${mode}|${animKey}`;
    if (announcedKey !== null && sayKey !== announcedKey && say) parts.announce.textContent = say;
    announcedKey = sayKey;
    // After every change to the page, so that the layout focus needs is done once.
    if (ctx.refocus && document.activeElement !== ctx.refocus) ctx.refocus.focus({ preventScroll: true });
    ctx.refocus = null;
    clock.tick(v, mode);
  }

  const showFocus = () => {
    const inside = root.contains(document.activeElement);
    root.classList.toggle("tv-has-focus", inside);
    parts.bar.focus(inside);
  };
  root.addEventListener("keydown", keyHandler(ctx, diagram));
  root.addEventListener("focusin", showFocus);
  root.addEventListener("focusout", () => setTimeout(showFocus, 0)); // once the focus has moved

  const onAck = (msg) => {
    // The answer is in (traits changed before the ack arrived): paint the next frame.
    if (transport.acknowledge(msg)) schedule();
  };
  const onSvg = () => {
    diagram.insert();
    schedule();
  };
  const onTable = () => {
    ctx.ix = indexTable(model.get("table"), model.get("moves"));
    diagram.insert();
    for (const part of [parts.events, parts.history, parts.scenario, parts.quiz]) part.reset();
    schedule();
  };
  // A hint about a click (an arrow that cannot be taken) is stale once the machine moves.
  const onMove = () => {
    ctx.hint = "";
    schedule();
  };
  // One list for subscribing and unsubscribing, so the two cannot drift apart.
  const listeners = [
    ["msg:custom", onAck],
    ["change:svg", onSvg],
    ["change:table", onTable],
    ["change:moves", onTable],
    ["change:scenarios", schedule],
    ["change:history_shown", onMove],
    ...VIEW_KEYS.map((key) => [`change:${key}`, schedule]),
  ];
  for (const [name, handler] of listeners) model.on(name, handler);

  diagram.insert();
  paint();
  showFocus();

  return () => {
    for (const [name, handler] of listeners) model.off(name, handler);
    transport.dispose();
    clock.dispose();
    if (frame) cancelAnimationFrame(frame);
  };
}

// Only the default export: anywidget warns (in the page console) about a named `render`.
export default { render };
