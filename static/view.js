// What the page shows, as HTML text built from the API's documents. Pure: no DOM, no network,
// no clock (the time is an argument). Every string from the catalogue or the admin API goes
// through `esc` before it is put into HTML: service names, images and hosts come from
// containers and are hostile input.

// docs/COMPATIBILITY.md §4: statuses are integers.
const NAMES = ["Alive", "Tombstone", "Unhealthy", "Unknown", "Draining"];
// The order of the status buttons and of the instances in a service: problems first.
export const ORDER = [2, 3, 4, 0, 1];
// Shown when the URL does not say: everything but tombstones.
export const DEFAULT_STATUSES = [0, 2, 3, 4];
// A service with more instances than this starts collapsed, unless one of them has a problem.
const OPEN_UP_TO = 10;
const PROBLEMS = new Set([2, 3]);

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

export function statusName(code) {
  return NAMES[code] ?? `Status ${code}`;
}

// The code of a status name in any case ("unhealthy" → 2), or undefined.
export function statusCode(name) {
  const code = NAMES.findIndex((n) => n.toLowerCase() === String(name).toLowerCase());
  return code < 0 ? undefined : code;
}

// "12 s ago", "5 min ago"… for an elapsed time in milliseconds.
export function ago(elapsed) {
  if (!Number.isFinite(elapsed)) return "never";
  const s = Math.max(0, Math.round(elapsed / 1000));
  return s < 2 ? "just now" : `${duration(s)} ago`;
}

// "42 s", "5 min", "3 h 12 min", "2 d 4 h" for a number of seconds.
export function duration(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// Whether `record` of service `name` passes `filter` ({ text, statuses }): its status is
// selected and the text (lower case) is in its name, host, image or ID.
export function matches(filter, name, record) {
  if (!filter.statuses.has(record.Status)) return false;
  if (!filter.text) return true;
  return [name, record.Hostname, record.Image, record.ID].some((field) =>
    String(field ?? "").toLowerCase().includes(filter.text));
}

// The services of a by-service map, sorted by name, each with its instances by status
// (`counts`) and the instances that pass the filter (`shown`, problems first).
export function groups(services, filter) {
  const rank = (r) => {
    const i = ORDER.indexOf(r.Status);
    return i < 0 ? ORDER.length : i;
  };
  const byRank = (a, b) => rank(a) - rank(b)
    || String(a.Hostname).localeCompare(String(b.Hostname))
    || String(a.ID).localeCompare(String(b.ID));
  return Object.keys(services).sort().map((name) => {
    const records = Array.isArray(services[name]) ? services[name] : [];
    const counts = new Map();
    for (const r of records) counts.set(r.Status, (counts.get(r.Status) ?? 0) + 1);
    const shown = records.filter((r) => matches(filter, name, r)).sort(byRank);
    return { name, total: records.length, counts, shown };
  });
}

// Instances by status over all services.
export function totals(services) {
  const counts = new Map();
  for (const records of Object.values(services)) {
    for (const r of Array.isArray(records) ? records : []) {
      counts.set(r.Status, (counts.get(r.Status) ?? 0) + 1);
    }
  }
  return counts;
}

function badge(code, text) {
  const known = code in NAMES ? code : "x";
  return `<span class="badge s${known}">${esc(text)}</span>`;
}

function countBadges(counts) {
  return ORDER.filter((code) => counts.get(code))
    .map((code) => badge(code, `${counts.get(code)} ${statusName(code)}`)).join("");
}

// "ServicePort → Port" per port; the address and protocol in its title.
function portsHtml(ports) {
  return (Array.isArray(ports) ? ports : []).map((p) => {
    const text = p.ServicePort ? `${p.ServicePort} → ${p.Port}` : `${p.Port}`;
    const where = `${p.IP ? `${p.IP}:` : ""}${p.Port}/${p.Type ?? ""}`;
    return `<span class="port" title="${esc(where)}">${esc(text)}</span>`;
  }).join("");
}

// A time as an "ago" that the page ticks (data-t is the time in ms). The Unix epoch and Go's
// zero time (docs/COMPATIBILITY.md §4) mean "never".
function timeHtml(iso, now) {
  const t = Date.parse(iso);
  const at = Number.isFinite(t) && t > 0 ? t : -Infinity;
  return `<time data-t="${at}" title="${esc(iso)}">${esc(ago(now - at))}</time>`;
}

function rowHtml(r, now) {
  return `<tr class="inst"><td class="c-status">${badge(r.Status, statusName(r.Status))}</td>`
    + `<td class="c-host">${esc(r.Hostname)}</td>`
    + `<td class="c-ports mono">${portsHtml(r.Ports)}</td>`
    + `<td class="c-updated">${timeHtml(r.Updated, now)}</td>`
    + `<td class="c-image mono" title="${esc(r.Image)}">${esc(r.Image)}</td>`
    + `<td class="c-id mono">${esc(r.ID)}</td></tr>`;
}

const INSTANCE_HEAD = "<thead><tr><th>Status</th><th>Host</th><th>Ports</th><th>Updated</th>"
  + "<th>Image</th><th>ID</th></tr></thead>";

// One service: a <details> whose summary has its counts; open as the user left it, else
// when it is small, the text filter is on, or it has an instance with a problem.
function groupHtml(group, filter, open, now) {
  const problem = group.shown.some((r) => PROBLEMS.has(r.Status));
  const isOpen = open.get(group.name)
    ?? (group.shown.length <= OPEN_UP_TO || filter.text !== "" || problem);
  const hidden = group.total - group.shown.length;
  const note = `${group.total} instance${group.total === 1 ? "" : "s"}`
    + (hidden ? `, ${hidden} hidden by the filter` : "");
  const rows = group.shown.map((r) => rowHtml(r, now)).join("");
  // --rows sizes it while off screen (style.css).
  const lines = isOpen ? group.shown.length : 0;
  return `<details class="svc" data-name="${esc(group.name)}" style="--rows: ${lines}"`
    + `${isOpen ? " open" : ""}>`
    + `<summary><span class="svc-name">${esc(group.name)}</span>`
    + `<span class="counts">${countBadges(group.counts)}</span>`
    + `<span class="muted note">${esc(note)}</span></summary>`
    + `<div class="scroll"><table class="inst">${INSTANCE_HEAD}<tbody>${rows}</tbody></table>`
    + "</div></details>";
}

// The services section: every service with an instance that passes the filter.
export function servicesHtml(groupList, filter, open, now) {
  const visible = groupList.filter((g) => g.shown.length > 0);
  if (visible.length === 0) {
    const none = groupList.length === 0 ? "No services in the catalogue." : "Nothing matches the filter.";
    return `<p class="muted">${none}</p>`;
  }
  return visible.map((g) => groupHtml(g, filter, open, now)).join("");
}

function table(className, head, rows) {
  const ths = head.map((h) => `<th>${h}</th>`).join("");
  return `<div class="scroll"><table class="${className}"><thead><tr>${ths}</tr></thead>`
    + `<tbody>${rows.join("")}</tbody></table></div>`;
}

// ClusterMembers of /api/services.json: name → { Name, LastUpdated, ServiceCount }.
export function membersHtml(members, now) {
  const names = Object.keys(members ?? {}).sort();
  if (names.length === 0) return '<p class="muted">No members.</p>';
  const rows = names.map((name) => {
    const m = members[name] ?? {};
    return `<tr><td class="host">${esc(m.Name ?? name)}</td><td>${esc(m.ServiceCount)}</td>`
      + `<td>${timeHtml(m.LastUpdated, now)}</td></tr>`;
  });
  return table("members", ["Name", "Records", "Last updated"], rows);
}

// GET /api/admin/subsystems: [{ name, state, restarts, last_error, uptime_seconds }]; a last
// error gets a row of its own under its subsystem.
export function subsystemsHtml(list) {
  if (!Array.isArray(list) || list.length === 0) return '<p class="muted">None.</p>';
  const rows = list.map((s) => {
    const state = s.state === "running" ? "ok" : "warn";
    const restarts = Number(s.restarts) > 0 ? ' class="warn"' : "";
    const error = s.last_error
      ? `<tr class="last-error"><td colspan="4">last error: ${esc(s.last_error)}</td></tr>` : "";
    return `<tr><td class="mono">${esc(s.name)}</td>`
      + `<td><span class="pill ${state}">${esc(s.state)}</span></td>`
      + `<td${restarts}>${esc(s.restarts)}</td>`
      + `<td>${esc(duration(Number(s.uptime_seconds) || 0))}</td></tr>${error}`;
  });
  return table("subsystems", ["Name", "State", "Restarts", "Uptime"], rows);
}
