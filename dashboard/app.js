// drydock dashboard: a small hash-routed page over the daemon's /v1 API. No build step and no
// external assets: the daemon embeds this file. The session is an HttpOnly cookie set by
// /ui/login, so scripts never hold the token.
"use strict";

const main = document.getElementById("main");
const say = (text) => { document.getElementById("status").textContent = text; };
let timer = null;          // the current page's refresh
let source = null;         // the current page's log stream

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
// Times in UTC to the second, as the CLI shows them.
const when = (t) => (t ? new Date(t).toISOString().slice(0, 19).replace("T", " ") + "Z" : "");
const status = (s) => `<span class="status ${esc(s)}">${esc(s)}</span>`;
const duration = (r) => {
  if (!r.started_at) return "";
  const ms = (r.finished_at ? new Date(r.finished_at) : new Date()) - new Date(r.started_at);
  return `${(ms / 1000).toFixed(1)}s`;
};
const short = (d) => (d ? esc(d.slice(0, 19)) : "");
const runLink = (id) => `<a href="#/run/${encodeURIComponent(id)}">${esc(id)}</a>`;
const trigger = (t) => {
  if (!t) return "";
  switch (t.kind) {
    case "timer": return `Timer ${esc(t.name)}`;
    case "source": return `${t.event === "pullrequest" ? "Pull Request" : "Commit"} ${esc((t.commit || "").slice(0, 8))}`;
    case "base_image": return `Image Update ${esc(t.image)}`;
    default: return "Manual";
  }
};
// The trigger's details for a run's facts: what fired, from where, for which commit or digest.
const triggerFacts = (t) => {
  const row = (k, v) => (v ? `<dt>${k}</dt><dd>${v}</dd>` : "");
  switch (t && t.kind) {
    case "timer": return row("Timer", esc(t.name)) + row("Occurrence", esc(when(t.occurrence)));
    case "source": return row("Event", `${esc(t.event)} via ${esc(t.provider)}`) + row("Repository", esc(t.repository))
      + row("Branch", esc(t.branch)) + row("Commit", `<code>${esc(t.commit)}</code>`)
      + row("Pull request", t.pull_request ? `#${esc(t.pull_request)}` : "")
      + row("From fork", t.from_fork ? esc(t.head_repository || "(deleted fork)") : "") + row("Delivery", esc(t.delivery_id));
    case "base_image": return row("Image", esc(t.image))
      + row("Digest", `<code>${short(t.old_digest) || "(none)"}</code> → <code>${short(t.new_digest)}</code>`)
      + row("Cascade from", t.cascade_from ? `run ${runLink(t.cascade_from)}` : "");
    default: return "";
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

// Wide tables become one card per row on phones (see app.css); each cell is labelled with its
// column's header there, since the header row is not shown.
function labelCells(root) {
  root.querySelectorAll("table.cards").forEach((table) => {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((tr) => [...tr.cells].forEach((td, i) => { td.dataset.label = heads[i] || ""; }));
  });
}

// Each page names itself in the document title, which screen readers announce on navigation.
const titled = (name) => { document.title = `${name} · drydock`; };

async function tasksPage() {
  titled("Tasks");
  const tasks = await api("GET", "/v1/tasks");
  const rows = tasks.map((t) => {
    const last = t.last_run;
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
      <td><button data-run="${esc(t.name)}" aria-label="Run ${esc(t.name)}">Run</button></td></tr>`;
  });
  main.innerHTML = `<h1>Tasks</h1>${tasks.length ? "" : "<p>No tasks yet: <code>drydock task create NAME …</code> adds one.</p>"}
    <div class="table-wrap"><table><caption class="visually-hidden">Tasks</caption>
    <thead><tr><th>Name</th><th>Status</th><th class="hide-narrow">Triggers</th><th>Last run</th><th class="hide-narrow">Next timer</th><th><span class="visually-hidden">Action</span></th></tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
  main.querySelectorAll("button[data-run]").forEach((b) => b.addEventListener("click", async () => {
    const run = await api("POST", `/v1/tasks/${encodeURIComponent(b.dataset.run)}/runs`, {});
    say(`Run ${run.id} queued`);
    location.hash = `#/run/${run.id}`;
  }));
}

async function taskPage(name) {
  titled(name);
  const t = await api("GET", `/v1/tasks/${encodeURIComponent(name)}`);
  const runs = await api("GET", `/v1/runs?task=${encodeURIComponent(name)}&top=20`);
  let deps = { images: [], dependents: [] };
  try { deps = await api("GET", `/v1/tasks/${encodeURIComponent(name)}/dependencies`); } catch (_) { /* older daemon */ }
  const enabled = (t.status || "Enabled") === "Enabled";
  const src = t.triggers?.source, base = t.triggers?.base_image;
  main.innerHTML = `<h1>${esc(t.name)} ${status(t.status || "Enabled")}</h1>
    <p><button class="primary" id="run">Run</button>
       <button id="toggle">${enabled ? "Disable" : "Enable"}</button></p>
    <h2>Triggers</h2><dl class="facts">
      <dt>Commit</dt><dd>${src?.enabled && t.context && !t.context.startsWith("upload:")
        ? `${esc(t.context)} (${esc((src.events || []).join(", "))}${src.branches?.length ? `; branches ${esc(src.branches.join(", "))}` : ""}${src.poll_interval ? `; polled every ${esc(src.poll_interval)}s` : ""})` : "off"}
        ${src?.last_poll_error ? `<span class="error">last poll failed: ${esc(src.last_poll_error)}</span>` : ""}</dd>
      <dt>Image update</dt><dd>${base?.enabled ? esc(base.trigger_type || "Runtime") : "off"}</dd>
      <dt>Timers</dt><dd>${(t.timers || []).length}</dd></dl>
    <h2>Timers</h2>${(t.timers || []).length ? "" : "<p>None: <code>drydock timer add</code> adds one.</p>"}
    <div class="table-wrap" ${(t.timers || []).length ? "" : "hidden"}><table><caption class="visually-hidden">Timers</caption>
    <thead><tr><th>Name</th><th>Schedule</th><th>Status</th><th>Next fire</th><th><span class="visually-hidden">Action</span></th></tr></thead><tbody>
    ${(t.timers || []).map((x) => `<tr><td>${esc(x.name)}</td><td><code>${esc(x.schedule)}</code></td>
      <td>${status(x.enabled ? "Enabled" : "Disabled")}</td><td>${esc(when(x.next_fire))}</td>
      <td><button data-timer="${esc(x.name)}" aria-label="${x.enabled ? "Disable" : "Enable"} timer ${esc(x.name)}">${x.enabled ? "Disable" : "Enable"}</button></td></tr>`).join("")}
    </tbody></table></div>
    <h2>Base images</h2>${deps.images.length ? "" : "<p>Recorded after the task's first successful build.</p>"}
    <div class="table-wrap" ${deps.images.length ? "" : "hidden"}><table class="cards"><caption class="visually-hidden">Base images and outputs</caption>
    <thead><tr><th>Image</th><th>Role</th><th>Digest used</th><th>Current digest</th><th class="hide-narrow">Last checked</th><th class="hide-narrow">Last changed</th></tr></thead><tbody>
    ${deps.images.map((i) => `<tr><td>${esc(i.image)}${i.role !== "output" && !i.watched ? " <small>(not watched)</small>" : ""}</td><td>${esc(i.role)}</td>
      <td>${i.digest ? `<code>${short(i.digest)}</code>` : ""}</td><td>${i.current_digest ? `<code>${short(i.current_digest)}</code>` : ""}${i.error ? ` <span class="error">${esc(i.error)}</span>` : ""}</td>
      <td class="hide-narrow">${esc(when(i.checked_at))}</td><td class="hide-narrow">${esc(when(i.changed_at))}</td></tr>`).join("")}
    </tbody></table></div>
    ${(deps.dependents || []).length ? `<p>Builds from its images: ${deps.dependents.map((d) => `<a href="#/task/${encodeURIComponent(d)}">${esc(d)}</a>`).join(", ")}</p>` : ""}
    <h2>Runs</h2>${runsTable(runs.runs, false)}
    <h2>Definition</h2>${definition(t)}`;
  document.getElementById("run").addEventListener("click", async () => {
    const run = await api("POST", `/v1/tasks/${encodeURIComponent(name)}/runs`, {});
    say(`Run ${run.id} queued`);
    location.hash = `#/run/${run.id}`;
  });
  document.getElementById("toggle").addEventListener("click", async () => {
    await api("PATCH", `/v1/tasks/${encodeURIComponent(name)}`, { status: enabled ? "Disabled" : "Enabled" });
    say(`Task ${name} ${enabled ? "disabled" : "enabled"}`);
    await taskPage(name);
    document.getElementById("toggle").focus();
  });
  main.querySelectorAll("button[data-timer]").forEach((b) => b.addEventListener("click", async () => {
    const x = t.timers.find((y) => y.name === b.dataset.timer);
    await api("PUT", `/v1/tasks/${encodeURIComponent(name)}/timers/${encodeURIComponent(x.name)}`,
      { name: x.name, schedule: x.schedule, enabled: !x.enabled, missed: x.missed });
    say(`Timer ${x.name} ${x.enabled ? "disabled" : "enabled"}`);
    await taskPage(name);
    main.querySelector(`button[data-timer="${CSS.escape(x.name)}"]`)?.focus();
  }));
}

// A task's definition as a reader wants it: what it runs (the task file's own text, the
// command, or the build), where from, and with what; the full JSON underneath.
function definition(t) {
  const pairs = (m) => Object.entries(m || {}).map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`).join(" ");
  const sealed = (m) => Object.keys(m || {}).map((k) => `<code>${esc(k)}</code>`).join(" ");
  const row = (k, v) => (v ? `<dt>${k}</dt><dd>${v}</dd>` : "");
  const s = t.step || {};
  let what = "";
  if (s.kind === "file") {
    what = row("Task file", s.content ? "inline" : `<code>${esc(s.path || "acb.yaml")}</code> in the context`)
      + row("Values file", s.values_file ? `<code>${esc(s.values_file)}</code>` : "");
  } else if (s.kind === "cmd") {
    what = row("Command", `<code>${esc(s.cmd)}</code>`);
  } else if (s.kind === "docker") {
    what = row("Dockerfile", `<code>${esc(s.dockerfile || "Dockerfile")}</code>${s.target ? ` (stage ${esc(s.target)})` : ""}`)
      + row("Images", (s.images || []).map((i) => `<code>${esc(i)}</code>`).join(" ") + (s.no_push ? " (not pushed)" : ""))
      + row("Build arguments", pairs(s.build_args)) + row("Secret build arguments", sealed(s.secret_build_args))
      + row("Cache", s.no_cache ? "off" : "");
  }
  return `<dl class="facts">${row("Context", t.context ? `<code>${esc(t.context)}</code>` : "none")}${what}
    ${row("Values", pairs(t.values))}${row("Secret values", sealed(t.secret_values))}
    ${row("Registry logins", (t.credentials || []).map((c) => `<code>${esc(c.username)}@${esc(c.login_server)}</code>`).join(" "))}
    ${row("Platform", esc(t.platform))}${row("Agent labels", pairs(t.agent_labels))}${row("Timeout", t.timeout ? `${esc(t.timeout)} s` : "")}
    ${row("Updated", esc(when(t.updated_at)))}</dl>
    ${s.content ? `<pre class="log" tabindex="0" aria-label="Task file">${esc(s.content)}</pre>` : ""}
    <details><summary>JSON</summary><pre class="log" tabindex="0" aria-label="Task as JSON">${esc(JSON.stringify(t, null, 2))}</pre></details>`;
}

function runsTable(runs, withTask = true) {
  return `<div class="table-wrap"><table><caption class="visually-hidden">Runs, newest first</caption>
    <thead><tr><th>Run</th>${withTask ? "<th>Task</th>" : ""}<th>Status</th><th>Trigger</th><th class="hide-narrow">Started</th><th>Duration</th></tr></thead><tbody>
    ${runs.map((r) => `<tr><td>${runLink(r.id)}</td>${withTask ? `<td>${r.task ? `<a href="#/task/${encodeURIComponent(r.task)}">${esc(r.task)}</a>` : ""}</td>` : ""}
      <td>${status(r.status)}</td><td>${trigger(r.trigger)}</td><td class="hide-narrow">${esc(when(r.started_at))}</td><td>${duration(r)}</td></tr>`).join("")}
    </tbody></table></div>`;
}

const TRIGGERS = [["manual", "Manual"], ["source", "Commit or pull request"], ["timer", "Timer"], ["base_image", "Image update"]];
// Statuses of runs that have not ended: their pages refresh, and they can be canceled.
const LIVE = ["AwaitingApproval", "Queued", "Running"];
const STATUSES = ["AwaitingApproval", "Queued", "Running", "Succeeded", "Failed", "Canceled", "Error", "Timeout"];

async function runsPage(params) {
  titled("Runs");
  const q = new URLSearchParams(params);
  if (!q.get("top")) q.set("top", "25");
  const newest = new URLSearchParams(q);
  newest.delete("before");
  const draw = async () => {
    const page = await api("GET", `/v1/runs?${q.toString()}`);
    const list = document.getElementById("runs-list");
    if (!list) return;
    const links = [];
    if (q.get("before")) links.push(`<a href="#/runs?${newest}">Newest runs</a>`);
    if (page.next) { const older = new URLSearchParams(q); older.set("before", page.next); links.push(`<a id="older" href="#/runs?${older}">Older runs</a>`); }
    list.innerHTML = (page.runs.length ? runsTable(page.runs) : "<p>No runs match.</p>")
      + `<nav class="pager" aria-label="Pages">${links.join(" ")}</nav>`;
  };
  main.innerHTML = `<h1>Runs</h1>
    <form class="filters" id="filters">
      <label>Status <select name="status"><option value="">any</option>
        ${STATUSES.map((s) => `<option ${q.get("status") === s ? "selected" : ""}>${s}</option>`).join("")}</select></label>
      <label>Task <input name="task" list="task-names" autocomplete="off" value="${esc(q.get("task") || "")}"></label>
      <datalist id="task-names"></datalist>
      <label>Trigger <select name="trigger"><option value="">any</option>
        ${TRIGGERS.map(([v, l]) => `<option value="${v}" ${q.get("trigger") === v ? "selected" : ""}>${l}</option>`).join("")}</select></label>
      <button type="submit">Filter</button>
    </form><div id="runs-list"></div>`;
  document.getElementById("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v));
    location.hash = `#/runs?${f}`;
  });
  // Task names for the task filter's suggestions; the list works without them.
  api("GET", "/v1/tasks").then((tasks) => {
    const names = document.getElementById("task-names");
    if (names) names.innerHTML = tasks.map((t) => `<option value="${esc(t.name)}">`).join("");
  }).catch(() => {});
  await draw();
  // The newest page follows new runs; older pages stay put while being read.
  if (!q.get("before")) timer = setInterval(() => { if (!document.hidden) draw().catch(() => {}); }, 2000);
}

// Base images: which tasks build from which images (and which task pushes each), and the runs
// that image updates queued, each cascade under the run whose push started it.
async function imagesPage() {
  titled("Base images");
  const [images, updates] = await Promise.all([api("GET", "/v1/images"), api("GET", "/v1/runs?trigger=base_image&top=100")]);
  const byId = new Map(updates.runs.map((r) => [r.id, r]));
  const depth = (r, seen = 0) => {
    const parent = byId.get(r.trigger.cascade_from);
    return parent && seen < 20 ? 1 + depth(parent, seen + 1) : 0;
  };
  const users = (i) => i.users.map((u) => `<a href="#/task/${encodeURIComponent(u.task)}">${esc(u.task)}</a> <small>(${esc(u.role)}${u.watched ? "" : ", not watched"})</small>`).join(", ");
  const state = (i) => (i.error ? `<span class="error">check failed: ${esc(i.error)}</span>`
    : i.pending ? `change to <code>${short(i.pending.new_digest)}</code> fires at ${esc(when(i.pending.due))}` : "");
  main.innerHTML = `<h1>Base images</h1>
    <div class="table-wrap"><table class="cards"><caption class="visually-hidden">Watched images</caption>
    <thead><tr><th>Image</th><th>Built by</th><th>Used by</th><th>Digest</th><th class="hide-narrow">Last checked</th><th class="hide-narrow">Last changed</th><th>State</th></tr></thead><tbody>
    ${images.map((i) => `<tr><td>${esc(i.image)}</td>
      <td>${i.producers?.length ? i.producers.map((p) => `<a href="#/task/${encodeURIComponent(p)}">${esc(p)}</a>`).join(", ") : "<small>outside drydock</small>"}</td>
      <td>${users(i)}</td><td>${i.digest ? `<code>${short(i.digest)}</code>` : ""}</td><td class="hide-narrow">${esc(when(i.checked_at))}</td>
      <td class="hide-narrow">${esc(when(i.changed_at))}</td><td>${state(i)}</td></tr>`).join("")}
    </tbody></table></div>
    ${images.length ? "" : "<p>No images yet: they are recorded when a task's build succeeds.</p>"}
    <h2>Image updates</h2>
    <div class="table-wrap"><table class="cards"><caption class="visually-hidden">Runs queued by image updates, newest first</caption>
    <thead><tr><th>Queued</th><th>Image</th><th>Digest</th><th>Task</th><th>Run</th><th>Cause</th></tr></thead><tbody>
    ${updates.runs.map((r) => `<tr class="cascade-${Math.min(depth(r), 5)}"><td>${esc(when(r.queued_at))}</td><td>${esc(r.trigger.image)}</td>
      <td><code>${short(r.trigger.old_digest) || "(none)"}</code> → <code>${short(r.trigger.new_digest)}</code></td>
      <td><a href="#/task/${encodeURIComponent(r.task || "")}">${esc(r.task)}</a></td><td>${runLink(r.id)} ${status(r.status)}</td>
      <td>${r.trigger.cascade_from ? `push by run ${runLink(r.trigger.cascade_from)}` : "registry change"}</td></tr>`).join("")}
    </tbody></table></div>
    ${updates.runs.length ? "" : "<p>No image updates have queued runs yet.</p>"}`;
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
function dag(steps, label) {
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
  // Within a column, steps sit in the order of the mean row of what they need (the barycentre
  // heuristic), which removes most edge crossings in one pass.
  const cols = [];
  steps.forEach((_, i) => (cols[depth[i]] ||= []).push(i));
  const row = [];
  cols.forEach((col, d) => {
    if (d > 0) {
      const centre = (i) => {
        const rs = (steps[i].needs || []).filter((n) => index.has(n)).map((n) => row[index.get(n)]);
        return rs.length ? rs.reduce((a, b) => a + b, 0) / rs.length : 0;
      };
      col.sort((a, b) => centre(a) - centre(b) || a - b);
    }
    col.forEach((i, r) => { row[i] = r; });
  });
  const pos = steps.map((_, i) => ({ x: 10 + depth[i] * 190, y: 10 + row[i] * 56 }));
  const W = 10 + cols.length * 190, H = 10 + Math.max(1, ...cols.map((c) => (c ? c.length : 0))) * 56;
  const edges = steps.flatMap((s, i) => (s.needs || []).filter((n) => index.has(n)).map((n) => {
    const a = pos[index.get(n)], b = pos[i];
    const x1 = a.x + 150, y1 = a.y + 18, x2 = b.x, y2 = b.y + 18, mx = (x1 + x2) / 2;
    return `<path d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`;
  }));
  const nodes = steps.map((s, i) => `<g class="${esc(s.status)}" transform="translate(${pos[i].x},${pos[i].y})">
    <title>${esc(s.id)}: ${esc(s.status)}</title><rect width="150" height="36" rx="6"/>
    <text x="10" y="23">${esc(s.id.length > 18 ? s.id.slice(0, 17) + "…" : s.id)}</text></g>`);
  return `<svg class="dag" role="img" aria-label="${esc(label)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${edges.join("")}${nodes.join("")}</svg>`;
}

// A log chunk as HTML: one block span per line, tagged with the step that printed it (the
// `[step]` prefix) so the step filter can hide the rest. Built as one string and inserted once:
// a 10,000-line log is a handful of chunks, not 10,000 DOM insertions.
function logHtml(lines, only) {
  let html = "";
  for (const line of lines) {
    const m = /^\[([^\]]+)\]/.exec(line);
    const step = m ? m[1] : "";
    html += `<span class="line" data-step="${esc(step)}"${only && step !== only ? " hidden" : ""}>${ansi(line)}</span>`;
  }
  return html;
}

async function runPage(id) {
  titled(`Run ${id}`);
  const run = await api("GET", `/v1/runs/${encodeURIComponent(id)}`);
  const steps = (r) => r.steps.map((s) => `<tr><td>${esc(s.id)}</td><td>${status(s.status)}</td><td>${esc(s.attempts)}</td>
    <td>${s.exit_code ?? ""}</td><td class="hide-narrow">${esc(when(s.started_at))}</td><td>${duration(s)}</td></tr>`).join("");
  const facts = (r) => `<dt>Status</dt><dd>${status(r.status)}</dd>
    <dt>Task</dt><dd>${r.task ? `<a href="#/task/${encodeURIComponent(r.task)}">${esc(r.task)}</a>` : "(quick run)"} <small>${esc(r.run_type)}</small></dd>
    <dt>Trigger</dt><dd>${trigger(r.trigger)}</dd>${triggerFacts(r.trigger)}
    <dt>Queued</dt><dd>${esc(when(r.queued_at))}</dd>
    <dt>Started</dt><dd>${esc(when(r.started_at))}</dd>
    ${r.finished_at ? `<dt>Finished</dt><dd>${esc(when(r.finished_at))}</dd>` : ""}
    <dt>Duration</dt><dd>${duration(r)}</dd>
    ${r.node ? `<dt>Node</dt><dd>${esc(r.node)}${r.platform ? ` <small>${esc(r.platform)}</small>` : ""}</dd>` : ""}
    ${r.waiting_step ? `<dt>Waiting</dt><dd>for approval before step <code>${esc(r.waiting_step)}</code></dd>` : ""}
    ${r.rerun_of ? `<dt>Rerun of</dt><dd>${runLink(r.rerun_of)}</dd>` : ""}
    ${(r.reruns || []).length ? `<dt>Reruns</dt><dd>${r.reruns.map(runLink).join(", ")}</dd>` : ""}
    ${r.approval ? `<dt>Approval</dt><dd>${esc(r.approval.decision)} by ${esc(r.approval.by)} <small>${esc(when(r.approval.at))}</small></dd>` : ""}
    ${(r.notifications || []).length ? `<dt>Notified</dt><dd>${r.notifications.map((n) => `${esc(n.event)} ${esc(n.state)}${n.status_code ? ` (${esc(n.status_code)})` : ""} <small>${esc(n.url)}</small>`).join("<br>")}</dd>` : ""}
    ${r.error ? `<dt>Error</dt><dd class="error">${esc(r.error)}</dd>` : ""}`;
  const graph = (r) => {
    const done = r.steps.filter((s) => s.status === "Succeeded").length;
    return dag(r.steps, `Step graph: ${r.steps.length} steps, ${done} succeeded; the step table below lists each`);
  };
  const images = (r) => (r.output_images || []).map((i) => `<li><code>${esc(i.registry)}/${esc(i.repository)}:${esc(i.tag)}</code> <code>${esc(i.digest || "")}</code></li>`).join("");
  main.innerHTML = `<h1>Run ${esc(run.id)}</h1>
    <p><span id="decide" ${run.status === "AwaitingApproval" ? "" : "hidden"}>
      <button id="approve">Approve</button> <button class="danger" id="reject">Reject</button>
      <small>${run.waiting_step ? `The run waits before step <code>${esc(run.waiting_step)}</code>.` : "This run comes from a fork's pull request: approving runs its steps with the task's secrets."}</small></span>
    <button class="danger" id="cancel" ${LIVE.includes(run.status) ? "" : "hidden"}>Cancel run</button>
    <button id="rerun" ${LIVE.includes(run.status) ? "hidden" : ""}>Rerun</button></p>
    <dl class="facts" id="facts">${facts(run)}</dl>
    <h2>Graph</h2><div class="table-wrap" id="dag">${graph(run)}</div>
    <h2>Steps</h2><div class="table-wrap"><table><caption class="visually-hidden">Steps</caption>
    <thead><tr><th>Step</th><th>Status</th><th>Attempts</th><th>Exit</th><th class="hide-narrow">Started</th><th>Duration</th></tr></thead>
    <tbody id="steps">${steps(run)}</tbody></table></div>
    <h2>Log</h2><label>Step <select id="step-filter"><option value="">all</option>
      ${run.steps.map((s) => `<option>${esc(s.id)}</option>`).join("")}</select></label>
    <pre class="log" id="log" tabindex="0" aria-label="Run log"></pre>
    <h2>Output images</h2><ul id="images">${images(run)}</ul>
    <h2>Dependencies</h2><pre class="log" id="deps" tabindex="0" aria-label="Dependency JSON">${esc(JSON.stringify(run.dependencies || [], null, 2))}</pre>`;
  const show = (r) => {
    document.getElementById("facts").innerHTML = facts(r);
    document.getElementById("steps").innerHTML = steps(r);
    document.getElementById("dag").innerHTML = graph(r);
    document.getElementById("images").innerHTML = images(r);
    document.getElementById("deps").textContent = JSON.stringify(r.dependencies || [], null, 2);
    document.getElementById("cancel").hidden = !LIVE.includes(r.status);
    document.getElementById("decide").hidden = r.status !== "AwaitingApproval";
    document.getElementById("rerun").hidden = LIVE.includes(r.status);
  };
  document.getElementById("rerun").addEventListener("click", async () => {
    const r = await api("POST", `/v1/runs/${encodeURIComponent(id)}/rerun`, {});
    say(`Run ${r.id} queued, a rerun of ${id}`);
    location.hash = `#/run/${encodeURIComponent(r.id)}`;
  });
  for (const verb of ["approve", "reject"]) {
    document.getElementById(verb).addEventListener("click", async () => {
      const r = await api("POST", `/v1/runs/${encodeURIComponent(id)}/${verb}`, {});
      show(r);
      say(`Run ${id} ${verb === "approve" ? "approved" : "rejected"}`);
    });
  }
  document.getElementById("cancel").addEventListener("click", async () => {
    await api("POST", `/v1/runs/${encodeURIComponent(id)}/cancel`);
    say(`Run ${id} canceled`);
  });
  const log = document.getElementById("log");
  const filter = document.getElementById("step-filter");
  filter.addEventListener("change", () => {
    for (const l of log.children) l.hidden = Boolean(filter.value) && l.dataset.step !== filter.value;
  });
  // Every event holds whole lines (the daemon cuts chunks at line ends). Events that arrive
  // within one frame are drawn together: each insertion makes the browser lay the log out
  // again, and a long log arrives as many events at once.
  let pending = "", frame = 0;
  const flush = () => {
    cancelAnimationFrame(frame);
    frame = 0;
    if (!pending) return;
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.insertAdjacentHTML("beforeend", pending);
    pending = "";
    if (atEnd) log.scrollTop = log.scrollHeight;
  };
  source = new EventSource(`/v1/runs/${encodeURIComponent(id)}/logs`);
  source.addEventListener("log", (e) => {
    pending += logHtml(e.data.split("\n"), filter.value);
    if (!frame) frame = requestAnimationFrame(flush);
  });
  source.addEventListener("end", (e) => {
    flush();
    source.close();
    source = null;
    // The end event carries the finished run record.
    const r = JSON.parse(e.data);
    show(r);
    log.dataset.complete = "true";
    say(`Run ${r.id} ${r.status}`);
  });
  // Step colours change while the log streams.
  if (LIVE.includes(run.status)) {
    timer = setInterval(async () => {
      const r = await api("GET", `/v1/runs/${encodeURIComponent(id)}`).catch(() => null);
      if (!r || !document.getElementById("facts")) return;
      show(r);
      if (!LIVE.includes(r.status)) { clearInterval(timer); timer = null; }
    }, 1000);
  }
}

// `focus`: after a navigation the focus moves to the new content (screen readers then read it);
// on the first load it stays at the top of the document, where the skip link is.
async function route(focus = true) {
  stop();
  document.getElementById("logout").hidden = false;
  const [path, query] = (location.hash.slice(1) || "/tasks").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = { task: "tasks", run: "runs" }[parts[0]] || parts[0] || "tasks";
  document.querySelectorAll(".bar nav a").forEach((a) => {
    if (a.getAttribute("href") === `#/${section}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  try {
    if (parts[0] === "task" && parts[1]) await taskPage(parts[1]);
    else if (parts[0] === "runs") await runsPage(query || "");
    else if (parts[0] === "run" && parts[1]) await runPage(parts[1]);
    else if (parts[0] === "images") await imagesPage();
    else await tasksPage();
    labelCells(main);
    if (focus) main.focus();
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
// The skip link moves the focus without touching the hash, which holds the page's route.
document.querySelector(".skip").addEventListener("click", (e) => { e.preventDefault(); main.focus(); });
document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/ui/logout", { method: "POST", credentials: "same-origin" });
  login();
});
const saved = localStorage.getItem("drydock-theme");
if (saved) document.documentElement.dataset.theme = saved;
window.addEventListener("hashchange", () => route());
route(false);
