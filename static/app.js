// Sidecar UI: polls /api/services.json every 4 s and renders services and members.
// Plain JavaScript, no build step.
"use strict";

const STATUS = ["Alive", "Tombstone", "Unhealthy", "Unknown", "Draining"];

function ago(iso) {
  const secs = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (!isFinite(secs) || secs > 1e9) return "never";
  if (secs < 60) return `${secs.toFixed(1)} s ago`;
  if (secs < 3600) return `${(secs / 60).toFixed(1)} min ago`;
  return `${(secs / 3600).toFixed(1)} h ago`;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function statusCell(code) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = `status s${code}`;
  span.textContent = STATUS[code] || "Tombstone";
  td.appendChild(span);
  return td;
}

function renderServices(services, showTombstones) {
  const body = document.querySelector("#services tbody");
  body.replaceChildren();
  for (const name of Object.keys(services).sort()) {
    for (const svc of services[name]) {
      if (svc.Status === 1 && !showTombstones) continue;
      const ports = (svc.Ports || []).map(p => `${p.ServicePort}->${p.IP}:${p.Port}/${p.Type}`);
      const tr = document.createElement("tr");
      tr.append(cell(name), cell(svc.Hostname), cell(svc.ID, "id"), cell(ports.join(", "), "ports"),
        cell(svc.Image), statusCell(svc.Status), cell(ago(svc.Updated)));
      body.appendChild(tr);
    }
  }
}

function renderMembers(members) {
  const body = document.querySelector("#members tbody");
  body.replaceChildren();
  for (const name of Object.keys(members || {}).sort()) {
    const m = members[name];
    const tr = document.createElement("tr");
    tr.append(cell(m.Name), cell(String(m.ServiceCount)), cell(ago(m.LastUpdated)));
    body.appendChild(tr);
  }
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const response = await fetch("../api/services.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = await response.json();
    document.getElementById("cluster").textContent = `cluster ${doc.ClusterName}`;
    document.getElementById("updated").textContent = `refreshed ${new Date().toLocaleTimeString()}`;
    renderServices(doc.Services || {}, document.getElementById("show-tombstones").checked);
    renderMembers(doc.ClusterMembers);
    error.hidden = true;
  } catch (err) {
    error.textContent = `Cannot load /api/services.json: ${err.message}`;
    error.hidden = false;
  }
}

document.getElementById("show-tombstones").addEventListener("change", refresh);
refresh();
setInterval(refresh, 4000);
