// drydock dashboard: a small hash-routed page over the daemon's /v1 API. No build step and no
// external assets: the daemon embeds this file. The session is an HttpOnly cookie set by
// /ui/login, so scripts never hold the token.
"use strict";

const main = document.getElementById("main");
const say = (text) => { document.getElementById("status").textContent = text; };
let timer = null;          // the current page's refresh
let source = null;         // the current page's log stream

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const when = (t) => (t ? new Date(t).toISOString().replace(".000Z", "Z") : "");
const status = (s) => `<span class="status ${esc(s)}">${esc(s)}</span>`;
const duration = (r) => {
  if (!r.started_at) return "";
  const ms = (r.finished_at ? new Date(r.finished_at) : new Date()) - new Date(r.started_at);
  return `${(ms / 1000).toFixed(1)}s`;
};
const trigger = (t) => {
  if (!t) return "";
  switch (t.kind) {
    case "timer": return `Timer ${esc(t.name)}`;
    case "source": return `${t.event === "pullrequest" ? "Pull Request" : "Commit"} ${esc((t.commit || "").slice(0, 8))}`;
    case "base_image": return `Image Update ${esc(t.image)}`;
    default: return "Manual";
  }
};

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
  const resp = await fetch(path, init);
  if (resp.status === 401) { login(); throw new Error("not logged in"); }
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new Error((data && data.message) || resp.statusText);
  return data;
}

function stop() {
  if (timer) { clearInterval(timer); timer = null; }
  if (source) { source.close(); source = null; }
}

function login(error) {
  stop();
  document.getElementById("logout").hidden = true;
  main.innerHTML = `<h1>Log in</h1>
    <form class="login" id="login-form">
      <label for="token">API token (<code>drydock token create NAME</code>)</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required>
      <button class="primary" type="submit">Log in</button>
      <p class="error" role="alert">${esc(error || "")}</p>
    </form>`;
  document.getElementById("token").focus();
  document.getElementById("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const resp = await fetch("/ui/login", { method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json" }, body: JSON.stringify({ token: document.getElementById("token").value }) });
    if (resp.ok) { route(); } else { login("That token is unknown or revoked."); }
  });
}

async function tasksPage() {
  const tasks = await api("GET", "/v1/tasks");
  const rows = await Promise.all(tasks.map(async (t) => {
    const page = await api("GET", `/v1/runs?task=${encodeURIComponent(t.name)}&top=1`);
    const last = page.runs[0];
    const next = (t.timers || []).map((x) => x.next_fire).filter(Boolean).sort()[0];
    const triggers = [];
    if (t.context && !t.context.startsWith("upload:") && t.triggers?.source?.enabled) triggers.push("Commit");
    if (t.triggers?.base_image?.enabled) triggers.push("Image Update");
    if ((t.timers || []).some((x) => x.enabled)) triggers.push("Timer");
    return `<tr>
      <td><a href="#/task/${encodeURIComponent(t.name)}">${esc(t.name)}</a></td>
      <td>${status(t.status || "Enabled")}</td>
      <td class="hide-narrow">${esc(triggers.join(", "))}</td>
      <td>${last ? `<a href="#/run/${esc(last.id)}">${esc(last.id)}</a> ${status(last.status)}` : ""}</td>
      <td class="hide-narrow">${esc(when(next))}</td>
      <td><button data-run="${esc(t.name)}">Run</button></td></tr>`;
  }));
  main.innerHTML = `<h1>Tasks</h1><div class="table-wrap"><table>
    <thead><tr><th>Name</th><th>Status</th><th class="hide-narrow">Triggers</th><th>Last run</th><th class="hide-narrow">Next timer</th><th></th></tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
  main.querySelectorAll("button[data-run]").forEach((b) => b.addEventListener("click", async () => {
    const run = await api("POST", `/v1/tasks/${encodeURIComponent(b.dataset.run)}/runs`, {});
    say(`Run ${run.id} queued`);
    location.hash = `#/run/${run.id}`;
  }));
}

async function taskPage(name) {
  const t = await api("GET", `/v1/tasks/${encodeURIComponent(name)}`);
  const runs = await api("GET", `/v1/runs?task=${encodeURIComponent(name)}&top=20`);
  let deps = { images: [] };
  try { deps = await api("GET", `/v1/tasks/${encodeURIComponent(name)}/dependencies`); } catch (_) { /* older daemon */ }
  const enabled = (t.status || "Enabled") === "Enabled";
  main.innerHTML = `<h1>${esc(t.name)} ${status(t.status || "Enabled")}</h1>
    <p><button class="primary" id="run">Run</button>
       <button id="toggle">${enabled ? "Disable" : "Enable"}</button></p>
    <h2>Timers</h2><div class="table-wrap"><table><thead><tr><th>Name</th><th>Schedule</th><th>Status</th><th>Next fire</th><th></th></tr></thead><tbody>
    ${(t.timers || []).map((x) => `<tr><td>${esc(x.name)}</td><td><code>${esc(x.schedule)}</code></td>
      <td>${status(x.enabled ? "Enabled" : "Disabled")}</td><td>${esc(when(x.next_fire))}</td>
      <td><button data-timer="${esc(x.name)}">${x.enabled ? "Disable" : "Enable"}</button></td></tr>`).join("")}
    </tbody></table></div>
    <h2>Base images</h2><div class="table-wrap"><table><thead><tr><th>Image</th><th>Role</th><th>Digest used</th><th class="hide-narrow">Last checked</th></tr></thead><tbody>
    ${(deps.images || []).map((i) => `<tr><td>${esc(i.image)}</td><td>${esc(i.role)}</td><td><code>${esc((i.digest || "").slice(0, 19))}</code></td>
      <td class="hide-narrow">${esc(when(i.check && i.check.checked_at))}</td></tr>`).join("")}
    </tbody></table></div>
    <h2>Runs</h2>${runsTable(runs.runs)}
    <h2>Definition</h2><pre class="log">${esc(JSON.stringify(t, null, 2))}</pre>`;
  document.getElementById("run").addEventListener("click", async () => {
    const run = await api("POST", `/v1/tasks/${encodeURIComponent(name)}/runs`, {});
    location.hash = `#/run/${run.id}`;
  });
  document.getElementById("toggle").addEventListener("click", async () => {
    await api("PATCH", `/v1/tasks/${encodeURIComponent(name)}`, { status: enabled ? "Disabled" : "Enabled" });
    say(`Task ${name} ${enabled ? "disabled" : "enabled"}`);
    taskPage(name);
  });
  main.querySelectorAll("button[data-timer]").forEach((b) => b.addEventListener("click", async () => {
    const timer = t.timers.find((x) => x.name === b.dataset.timer);
    await api("PUT", `/v1/tasks/${encodeURIComponent(name)}/timers/${encodeURIComponent(timer.name)}`,
      { name: timer.name, schedule: timer.schedule, enabled: !timer.enabled, missed: timer.missed });
    taskPage(name);
  }));
}

function runsTable(runs) {
  return `<div class="table-wrap"><table><thead><tr><th>Run</th><th>Task</th><th>Status</th><th>Trigger</th><th class="hide-narrow">Started</th><th>Duration</th></tr></thead><tbody>
    ${runs.map((r) => `<tr><td><a href="#/run/${esc(r.id)}">${esc(r.id)}</a></td><td>${esc(r.task || "")}</td>
      <td>${status(r.status)}</td><td>${trigger(r.trigger)}</td><td class="hide-narrow">${esc(when(r.started_at))}</td><td>${duration(r)}</td></tr>`).join("")}
    </tbody></table></div>`;
}

async function runsPage(params) {
  const q = new URLSearchParams(params);
  const draw = async () => {
    const page = await api("GET", `/v1/runs?${q.toString()}`);
    const list = document.getElementById("runs-list");
    if (list) list.innerHTML = runsTable(page.runs) +
      (page.next ? `<p><a href="#/runs?${new URLSearchParams({ ...Object.fromEntries(q), before: page.next })}">Older runs</a></p>` : "");
  };
  main.innerHTML = `<h1>Runs</h1>
    <form class="filters" id="filters">
      <label>Status <select name="status"><option value="">any</option>
        ${["Queued", "Running", "Succeeded", "Failed", "Canceled", "Error", "Timeout"].map((s) => `<option ${q.get("status") === s ? "selected" : ""}>${s}</option>`).join("")}</select></label>
      <label>Task <input name="task" value="${esc(q.get("task") || "")}"></label>
      <label>Trigger <select name="trigger"><option value="">any</option>
        ${["Manual", "Commit", "Timer", "Image Update"].map((s) => `<option ${q.get("trigger") === s ? "selected" : ""}>${s}</option>`).join("")}</select></label>
      <button type="submit">Filter</button>
    </form><div id="runs-list" aria-live="polite"></div>`;
  document.getElementById("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v));
    location.hash = `#/runs?${f}`;
  });
  await draw();
  timer = setInterval(() => draw().catch(() => {}), 2000);
}

// ANSI SGR colours → spans (the 8 basic colours and bold; everything else is dropped).
const ANSI = ["#6e7681", "#ff7b72", "#3fb950", "#d29922", "#58a6ff", "#bc8cff", "#39c5cf", "#e6edf3"];
function ansi(line) {
  // split() with a capture group alternates text (even) and SGR parameters (odd).
  const parts = esc(line).split(/\x1b\[([0-9;]*)m/);
  let out = "", open = false;
  parts.forEach((part, i) => {
    if (i % 2 === 0) { out += part; return; }
    if (open) { out += "</span>"; open = false; }
    const codes = part.split(";").map(Number);
    const c = codes.find((n) => n >= 30 && n <= 37);
    const bold = codes.includes(1);
    if (c !== undefined || bold) {
      out += `<span style="${c !== undefined ? `color:${ANSI[c - 30]};` : ""}${bold ? "font-weight:bold" : ""}">`;
      open = true;
    }
  });
  return open ? out + "</span>" : out;
}

// The run's step graph as SVG: a column per depth (a step sits right of everything it needs),
// boxes coloured by status, edges from each need to its dependent.
function dag(steps) {
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const depth = [];
  const depthOf = (i, seen = new Set()) => {
    if (depth[i] !== undefined) return depth[i];
    if (seen.has(i)) return 0;
    seen.add(i);
    const needs = (steps[i].needs || []).filter((n) => index.has(n)).map((n) => depthOf(index.get(n), seen));
    return (depth[i] = needs.length ? Math.max(...needs) + 1 : 0);
  };
  steps.forEach((_, i) => depthOf(i));
  const rows = [];
  const pos = steps.map((_, i) => { const d = depth[i]; rows[d] = (rows[d] || 0) + 1; return { x: 10 + d * 190, y: 10 + (rows[d] - 1) * 56 }; });
  const W = 10 + (Math.max(0, ...depth) + 1) * 190, H = 10 + Math.max(1, ...rows.map((r) => r || 0)) * 56;
  const edges = steps.flatMap((s, i) => (s.needs || []).filter((n) => index.has(n)).map((n) => {
    const a = pos[index.get(n)], b = pos[i];
    const x1 = a.x + 150, y1 = a.y + 18, x2 = b.x, y2 = b.y + 18, mx = (x1 + x2) / 2;
    return `<path d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`;
  }));
  const nodes = steps.map((s, i) => `<g class="${esc(s.status)}" transform="translate(${pos[i].x},${pos[i].y})">
    <title>${esc(s.id)}: ${esc(s.status)}</title><rect width="150" height="36" rx="6"/>
    <text x="10" y="23">${esc(s.id.length > 18 ? s.id.slice(0, 17) + "…" : s.id)}</text></g>`);
  return `<svg class="dag" role="img" aria-label="Step graph" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${edges.join("")}${nodes.join("")}</svg>`;
}

async function runPage(id) {
  const run = await api("GET", `/v1/runs/${encodeURIComponent(id)}`);
  const steps = (r) => r.steps.map((s) => `<tr><td>${esc(s.id)}</td><td>${status(s.status)}</td><td>${esc(s.attempts)}</td>
    <td>${s.exit_code ?? ""}</td><td class="hide-narrow">${esc(when(s.started_at))}</td></tr>`).join("");
  const facts = (r) => `<dt>Status</dt><dd>${status(r.status)}</dd><dt>Task</dt><dd>${esc(r.task || "(quick run)")}</dd>
    <dt>Trigger</dt><dd>${trigger(r.trigger)}</dd><dt>Queued</dt><dd>${esc(when(r.queued_at))}</dd>
    <dt>Started</dt><dd>${esc(when(r.started_at))}</dd><dt>Duration</dt><dd>${duration(r)}</dd>
    ${r.error ? `<dt>Error</dt><dd class="error">${esc(r.error)}</dd>` : ""}`;
  main.innerHTML = `<h1>Run ${esc(run.id)}</h1>
    <p><button class="danger" id="cancel" ${["Queued", "Running"].includes(run.status) ? "" : "hidden"}>Cancel</button></p>
    <dl class="facts" id="facts">${facts(run)}</dl>
    <h2>Graph</h2><div class="table-wrap" id="dag">${dag(run.steps)}</div>
    <h2>Steps</h2><div class="table-wrap"><table><thead><tr><th>Step</th><th>Status</th><th>Attempts</th><th>Exit</th><th class="hide-narrow">Started</th></tr></thead>
    <tbody id="steps">${steps(run)}</tbody></table></div>
    <h2>Log</h2><label>Step <select id="step-filter"><option value="">all</option>
      ${run.steps.map((s) => `<option>${esc(s.id)}</option>`).join("")}</select></label>
    <pre class="log" id="log" tabindex="0" aria-label="Run log"></pre>
    <h2>Output images</h2><ul id="images">${(run.output_images || []).map((i) => `<li><code>${esc(i.registry)}/${esc(i.repository)}:${esc(i.tag)} ${esc(i.digest || "")}</code></li>`).join("")}</ul>
    <h2>Dependencies</h2><pre class="log" id="deps">${esc(JSON.stringify(run.dependencies || [], null, 2))}</pre>`;
  document.getElementById("cancel").addEventListener("click", async () => {
    await api("POST", `/v1/runs/${encodeURIComponent(id)}/cancel`);
    say(`Run ${id} canceled`);
  });
  const log = document.getElementById("log");
  const filter = document.getElementById("step-filter");
  filter.addEventListener("change", () => {
    for (const l of log.children) l.hidden = filter.value && l.dataset.step !== filter.value;
  });
  let partial = "";
  source = new EventSource(`/v1/runs/${encodeURIComponent(id)}/logs`);
  source.addEventListener("log", (e) => {
    const text = partial + e.data + "\n";
    const lines = text.split("\n");
    partial = lines.pop();
    const frag = document.createDocumentFragment();
    for (const line of lines) {
      const span = document.createElement("span");
      span.className = "line";
      const m = /^\[([^\]]+)\]/.exec(line);
      span.dataset.step = m ? m[1] : "";
      span.innerHTML = ansi(line);
      if (filter.value && span.dataset.step !== filter.value) span.hidden = true;
      frag.appendChild(span);
    }
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.appendChild(frag);
    if (atEnd) log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("end", (e) => {
    source.close();
    const r = JSON.parse(e.data);
    document.getElementById("facts").innerHTML = facts(r);
    document.getElementById("steps").innerHTML = steps(r);
    document.getElementById("dag").innerHTML = dag(r.steps);
    document.getElementById("cancel").hidden = true;
    say(`Run ${r.id} ${r.status}`);
  });
  // Step colours change while the log streams.
  timer = setInterval(async () => {
    const r = await api("GET", `/v1/runs/${encodeURIComponent(id)}`).catch(() => null);
    if (!r) return;
    document.getElementById("steps").innerHTML = steps(r);
    document.getElementById("dag").innerHTML = dag(r.steps);
    document.getElementById("facts").innerHTML = facts(r);
    if (!["Queued", "Running"].includes(r.status)) { clearInterval(timer); timer = null; }
  }, 1000);
}

async function route() {
  stop();
  document.getElementById("logout").hidden = false;
  const [path, query] = (location.hash.slice(1) || "/tasks").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "task" && parts[1]) await taskPage(parts[1]);
    else if (parts[0] === "runs") await runsPage(query || "");
    else if (parts[0] === "run" && parts[1]) await runPage(parts[1]);
    else await tasksPage();
    main.focus();
  } catch (e) {
    if (e.message !== "not logged in") main.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
  }
}

document.getElementById("theme").addEventListener("click", () => {
  const root = document.documentElement;
  const dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  root.dataset.theme = dark ? "light" : "dark";
  localStorage.setItem("drydock-theme", root.dataset.theme);
});
document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/ui/logout", { method: "POST", credentials: "same-origin" });
  login();
});
const saved = localStorage.getItem("drydock-theme");
if (saved) document.documentElement.dataset.theme = saved;
window.addEventListener("hashchange", route);
route();
