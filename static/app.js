// The live page: follows /api/watch for the services, polls /api/services.json for the
// cluster members and /api/admin/subsystems for the subsystems, and keeps the filter in the
// URL's hash. Plain JavaScript modules, no build step (src/api/ui.rs serves them).
//
// Why two sources: the watch stream's default document is the by-service map
// (docs/COMPATIBILITY.md §7), which has no members, and it only moves when a status does.
// So the members and subsystems are fetched when the stream (re)connects, a second after each
// document, and every 10 s.
import { JsonSplitter } from "./json-stream.js";
import * as view from "./view.js";

const MAX_DOCUMENT = 64 * 1024 * 1024; // characters of one watch document
const FIRST_RETRY = 500; // ms; doubles after every failed attempt
const LAST_RETRY = 5000;
const SIDE_EVERY = 10000; // ms between polls of members and subsystems
const SIDE_TIMEOUT = 10000;
// A burst of watch documents (a flapping service) is rendered at most about 4 times a second.
const STREAM_RENDER_DELAY = 250;
const TOKEN_KEY = "sidecar-admin-token";

const $ = (id) => document.getElementById(id);

const state = {
  services: null, // the by-service map of the newest watch document
  asOf: null, // when it came
  members: null,
  subsystems: null,
  skew: 0, // the server's clock minus ours, in ms, when it is off by more than 2 s
  filter: { text: "", statuses: new Set(view.DEFAULT_STATUSES) },
  open: new Map(), // service name → the user opened (true) or closed (false) it
  live: false,
  stream: null, // the AbortController of the open watch request
};

const now = () => Date.now() + state.skew;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A function that runs `callback` once, `delay` ms after it is called, unless a run is
// already due sooner: calls in a burst fold into one run.
function soonest(callback) {
  let timer = null;
  let due = 0;
  return (delay) => {
    const at = Date.now() + delay;
    if (timer !== null && due <= at) return;
    clearTimeout(timer);
    due = at;
    timer = setTimeout(() => { timer = null; callback(); }, delay);
  };
}

// ---- The connection ------------------------------------------------------------------

function showConnection(kind, text) {
  const conn = $("conn");
  conn.dataset.state = kind;
  conn.textContent = text;
  document.body.classList.toggle("stale", kind === "down");
}

// Reads /api/watch for as long as it lasts, reconnecting with backoff after it ends or
// fails. Every document replaces the services shown.
async function followWatch() {
  let retry = FIRST_RETRY;
  for (;;) {
    try {
      await readWatch(() => { retry = FIRST_RETRY; });
      throw new Error("the stream ended");
    } catch (err) {
      state.live = false;
      const conn = $("conn");
      conn.dataset.drops = String(Number(conn.dataset.drops) + 1);
      const wait = `${(retry / 1000).toFixed(1)} s`;
      const asOf = state.asOf ? `; showing the state of ${state.asOf.toLocaleTimeString()}` : "";
      showConnection("down",
        `disconnected — reconnecting (next try in ${wait}): ${err.message}${asOf}`);
      await sleep(retry);
      retry = Math.min(retry * 2, LAST_RETRY);
    }
  }
}

async function readWatch(onLive) {
  if ($("conn").dataset.state === "down") {
    showConnection("down", "disconnected — reconnecting (trying now…)");
  }
  state.stream = new AbortController();
  const response = await fetch("../api/watch", { cache: "no-store", signal: state.stream.signal });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const splitter = new JsonSplitter(MAX_DOCUMENT);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const documents = splitter.push(value);
    if (documents.length === 0) continue;
    state.services = JSON.parse(documents[documents.length - 1]);
    state.asOf = new Date();
    if (state.live) {
      scheduleRender(STREAM_RENDER_DELAY);
      refreshSideIn(1000);
      continue;
    }
    // The first document of a connection: the whole current state, shown at once.
    state.live = true;
    onLive();
    render();
    showConnection("live", "● live");
    refreshSide();
  }
}

// ---- Members and subsystems ----------------------------------------------------------

async function getJson(path, headers = {}) {
  const response = await fetch(path, {
    headers, cache: "no-store", signal: AbortSignal.timeout(SIDE_TIMEOUT),
  });
  noteSkew(response.headers.get("Date"));
  return response;
}

function noteSkew(date) {
  const server = Date.parse(date ?? "");
  if (!Number.isFinite(server)) return;
  const skew = server - Date.now();
  state.skew = Math.abs(skew) > 2000 ? skew : 0;
}

async function refreshMembers() {
  try {
    const response = await getJson("../api/services.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = await response.json();
    state.members = doc.ClusterMembers ?? {};
    $("cluster").textContent = `cluster ${doc.ClusterName ?? ""} · ${location.host}`;
    $("members-note").textContent = "";
  } catch (err) {
    $("members-note").textContent = `(not refreshed: ${err.message})`;
    // The node did not answer at all: a stream that looks open is probably dead too.
    if (err.name === "TypeError" || err.name === "TimeoutError") state.stream?.abort();
  }
}

// The admin API wants a loopback client or a token (src/api/admin.rs); without access the
// section says so and the rest of the page carries on.
async function refreshSubsystems() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let note = "";
  try {
    const response = await getJson("../api/admin/subsystems", headers);
    if (response.ok) state.subsystems = await response.json();
    else if (response.status === 401) note = "unavailable: the admin API needs its token";
    else if (response.status === 403) note = "unavailable: the admin API answers only local clients";
    else note = `unavailable: HTTP ${response.status}`;
    $("token-form").hidden = response.status !== 401;
  } catch (err) {
    note = `unavailable: ${err.message}`;
  }
  if (note) state.subsystems = null;
  $("subsystems-note").textContent = note ? `(${note})` : "";
  $("subsystems").innerHTML = state.subsystems ? view.subsystemsHtml(state.subsystems) : "";
}

function refreshSide() {
  refreshSideIn(SIDE_EVERY);
  refreshMembers().then(renderMembers);
  refreshSubsystems();
}

const refreshSideIn = soonest(refreshSide);

// ---- Rendering -----------------------------------------------------------------------

function render() {
  if (state.services === null) return;
  const groups = view.groups(state.services, state.filter);
  $("services").innerHTML = view.servicesHtml(groups, state.filter, state.open, now());
  showCounts(groups);
}

function showCounts(groups) {
  const totals = view.totals(state.services);
  for (const button of $("statuses").children) {
    button.querySelector("b").textContent = String(totals.get(Number(button.dataset.status)) ?? 0);
  }
  const all = groups.reduce((n, g) => n + g.total, 0);
  const shown = groups.reduce((n, g) => n + g.shown.length, 0);
  const services = groups.filter((g) => g.shown.length > 0).length;
  $("shown").textContent = `${shown} of ${all} instances shown, in ${services} services`;
}

const scheduleRender = soonest(render);

function renderMembers() {
  if (state.members !== null) $("members").innerHTML = view.membersHtml(state.members, now());
}

// Ticks the "… ago" of every time shown, without rebuilding anything.
function tick() {
  const t = now();
  for (const el of document.querySelectorAll("time[data-t]")) {
    const text = view.ago(t - Number(el.dataset.t));
    if (el.textContent !== text) el.textContent = text;
  }
}

// ---- The filter ----------------------------------------------------------------------

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  state.filter.text = (params.get("q") ?? "").trim().toLowerCase();
  const statuses = params.get("status");
  const codes = statuses === null ? view.DEFAULT_STATUSES
    : statuses.split(",").map(view.statusCode).filter((c) => c !== undefined);
  state.filter.statuses = new Set(codes);
  $("filter").value = params.get("q") ?? "";
  showToggles();
}

function writeHash() {
  const params = new URLSearchParams();
  const text = $("filter").value.trim();
  if (text) params.set("q", text);
  const chosen = view.ORDER.filter((c) => state.filter.statuses.has(c));
  const usual = view.ORDER.filter((c) => view.DEFAULT_STATUSES.includes(c));
  if (chosen.join() !== usual.join()) {
    params.set("status", chosen.map((c) => view.statusName(c).toLowerCase()).join(","));
  }
  const hash = params.toString();
  history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
}

function showToggles() {
  for (const button of $("statuses").children) {
    const on = state.filter.statuses.has(Number(button.dataset.status));
    button.setAttribute("aria-pressed", String(on));
  }
}

function buildToggles() {
  $("statuses").innerHTML = view.ORDER.map((code) =>
    `<button type="button" class="toggle s${code}" data-status="${code}">`
    + `${view.esc(view.statusName(code))} <b>0</b></button>`).join("");
}

// ---- Start ---------------------------------------------------------------------------

function listen() {
  $("filter").addEventListener("input", () => {
    state.filter.text = $("filter").value.trim().toLowerCase();
    writeHash();
    scheduleRender(0);
  });
  $("statuses").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-status]");
    if (!button) return;
    const code = Number(button.dataset.status);
    if (!state.filter.statuses.delete(code)) state.filter.statuses.add(code);
    showToggles();
    writeHash();
    scheduleRender(0);
  });
  // Remembers which services the user opened or closed (the click comes before the toggle).
  $("services").addEventListener("click", (event) => {
    const summary = event.target.closest("summary");
    if (summary) state.open.set(summary.parentElement.dataset.name, !summary.parentElement.open);
  });
  window.addEventListener("hashchange", () => { readHash(); scheduleRender(0); });
  // "/" jumps to the filter, as on many sites.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.target.closest("input")) return;
    event.preventDefault();
    $("filter").focus();
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    $("token").value = "";
    refreshSubsystems();
  });
}

buildToggles();
readHash();
listen();
setInterval(tick, 1000);
followWatch();
