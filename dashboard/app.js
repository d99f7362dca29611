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
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) {
    // Not JSON: a proxy's page or a route this daemon does not have.
    if (resp.ok) throw new Error(`the daemon answered ${path} with something other than JSON`);
  }
  if (!resp.ok) {
    const e = new Error((data && (data.message || data.error)) || text.trim() || `${resp.status} ${resp.statusText}`);
    e.status = resp.status;
    e.body = data;
    throw e;
  }
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
  main.innerHTML = `<h1>Tasks</h1><p><a href="#/tasks/new" id="new-task">New task</a></p>
    ${tasks.length ? "" : "<p>No tasks yet: <em>New task</em> above, or <code>drydock task create NAME …</code>, adds one.</p>"}
    <div class="table-wrap"><table><caption class="visually-hidden">Tasks</caption>
    <thead><tr><th>Name</th><th>Status</th><th class="hide-narrow">Triggers</th><th>Last run</th><th class="hide-narrow">Next timer</th><th><span class="visually-hidden">Action</span></th></tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
  main.querySelectorAll("button[data-run]").forEach((b) => b.addEventListener("click", async () => {
    const run = await api("POST", `/v1/tasks/${encodeURIComponent(b.dataset.run)}/runs`, {});
    say(`Run ${run.id} queued`);
    location.hash = `#/run/${run.id}`;
  }));
}

// A button that turns one of a task's triggers on or off.
const switchTrigger = (kind, what, trig) => {
  const on = trig?.enabled !== false;
  return `<button type="button" data-trigger="${kind}" aria-label="${on ? "Disable" : "Enable"} the ${what}">${on ? "Disable" : "Enable"}</button>`;
};

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
       <button id="toggle">${enabled ? "Disable" : "Enable"}</button>
       <a href="#/task/${encodeURIComponent(t.name)}/edit" id="edit">Edit</a></p>
    <p class="error" id="task-error" role="alert"></p>
    <h2>Triggers</h2><dl class="facts">
      <dt>Commit</dt><dd>${src?.enabled && t.context && !t.context.startsWith("upload:")
        ? `${esc(t.context)} (${esc((src.events || []).join(", "))}${src.branches?.length ? `; branches ${esc(src.branches.join(", "))}` : ""}${src.poll_interval ? `; polled every ${esc(src.poll_interval)}s` : ""})` : "off"}
        ${src?.last_poll_error ? `<span class="error">last poll failed: ${esc(src.last_poll_error)}</span>` : ""}
        ${t.context && !t.context.startsWith("upload:") ? switchTrigger("source", "commit trigger", src) : ""}</dd>
      <dt>Image update</dt><dd>${base?.enabled ? esc(base.trigger_type || "Runtime") : "off"} ${switchTrigger("base_image", "image update trigger", base)}</dd>
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
  main.querySelectorAll("button[data-trigger]").forEach((b) => b.addEventListener("click", async () => {
    const kind = b.dataset.trigger;
    const on = t.triggers?.[kind]?.enabled !== false;
    try {
      await api("PATCH", `/v1/tasks/${encodeURIComponent(name)}`, { triggers: { [kind]: { enabled: !on } } });
    } catch (e) {
      document.getElementById("task-error").textContent = e.message;
      return;
    }
    say(`${kind === "source" ? "Commit" : "Image update"} trigger of ${name} ${on ? "disabled" : "enabled"}`);
    await taskPage(name);
    main.querySelector(`button[data-trigger="${kind}"]`)?.focus();
  }));
  main.querySelectorAll("button[data-timer]").forEach((b) => b.addEventListener("click", async () => {
    const x = t.timers.find((y) => y.name === b.dataset.timer);
    await api("PUT", `/v1/tasks/${encodeURIComponent(name)}/timers/${encodeURIComponent(x.name)}`,
      { name: x.name, schedule: x.schedule, enabled: !x.enabled, missed: x.missed });
    say(`Timer ${x.name} ${x.enabled ? "disabled" : "enabled"}`);
    await taskPage(name);
    main.querySelector(`button[data-timer="${CSS.escape(x.name)}"]`)?.focus();
  }));
}

// Which field of the task form a refusal concerns. Only task-file diagnostics come with
// structure (file:line:col); the server's other messages name what they are about, so they
// are placed by their words, and anything unrecognised goes above the buttons.
function errorField(e) {
  if (e.body?.diagnostics?.length) return "content";
  const rules = [
    [/task name|renamed|already exists/i, "name"],
    [/task file/i, "content"],
    [/`cmd`/, "cmd"],
    [/approval_timeout|approve_before|credential/i, "form"],
    [/context/i, "context"],
    [/timeout/i, "timeout"],
    [/timer|schedule/i, "timers"],
    [/branch filter|tag filter|path filter|poll interval|source trigger/i, "source"],
    [/base-image/i, "base_image"],
    [/platform/i, "platform"],
    [/values?\b/i, "values"],
  ];
  return rules.find(([re]) => re.test(e.message))?.[1] || "form";
}

// A refusal's text: the message, then each task-file finding where it is (`file:line:col`) and
// what to do about it.
function errorText(e) {
  const at = (d) => [d.file, d.line, d.col].filter((x) => x !== undefined && x !== null && x !== "").join(":");
  const diags = (e.body?.diagnostics || []).map((d) => `${at(d)}: ${d.message}${d.help ? `\n  ${d.help}` : ""}`);
  return [e.message, ...diags].join("\n");
}

// The colon is an entity so that the script holds no address of another site (a test checks
// that the dashboard fetches nothing from elsewhere; this is only an example).
const CONTEXT_HELP = "a git URL (https&#58;//host/repo.git#branch:folder), or empty";

const pairLines = (m) => Object.entries(m || {}).map(([k, v]) => `${k}=${v}`).join("\n");

// Create a task (`name` undefined) or edit one: what it runs, its context, values, platform,
// timeout, triggers and timers. An edit is sent as a JSON merge patch of the fields the form
// holds, so what it does not show (secrets, credentials, approvals) stays as it is.
async function taskForm(name) {
  const editing = name !== undefined;
  titled(editing ? `Edit ${name}` : "New task");
  const t = editing ? await api("GET", `/v1/tasks/${encodeURIComponent(name)}`)
    : { name: "", step: { kind: "file" }, timeout: 3600, values: {}, timers: [], triggers: {} };
  const s = t.step || {};
  const kind = s.kind === "cmd" ? "cmd" : s.kind === "docker" ? "docker" : (s.content !== undefined || !editing ? "inline" : "path");
  const src = t.triggers?.source || {}, base = t.triggers?.base_image || {};
  const events = src.events || ["commit"];
  const described = (id, help) => `aria-describedby="err-${id}${help ? ` help-${id}` : ""}"`;
  const field = (id, label, input, help = "") => `<div class="field" data-field="${id}"><label for="f-${id}">${label}</label>
    ${input}${help ? `<small id="help-${id}">${help}</small>` : ""}<p class="error field-error" id="err-${id}"></p></div>`;
  const text = (id, value, help = "", extra = "") => `<input id="f-${id}" name="${id}" value="${esc(value ?? "")}" autocomplete="off" ${described(id, help)} ${extra}>`;
  const timerRow = (x, i) => `<div class="timer-row" data-timer-row="${i}">
    <input aria-label="Timer ${i + 1} name" class="t-name" value="${esc(x.name || "")}" autocomplete="off" ${x.name ? "readonly" : ""}>
    <input aria-label="Timer ${i + 1} schedule (cron, UTC)" class="t-schedule" value="${esc(x.schedule || "")}" autocomplete="off" placeholder="0 3 * * *">
    <label><input type="checkbox" class="t-enabled" ${x.enabled === false ? "" : "checked"}> on</label>
    <button type="button" class="t-remove" aria-label="Remove timer ${i + 1}">Remove</button></div>`;
  main.innerHTML = `<h1>${editing ? `Edit ${esc(name)}` : "New task"}</h1>
    <form class="task" id="task-form" novalidate>
      ${field("name", "Name", text("name", t.name, "5–50 letters, digits, - or _", editing ? "readonly" : "required"), "5–50 letters, digits, - or _")}
      ${field("kind", "What it runs", `<select id="f-kind" name="kind" ${described("kind")}>
        <option value="inline" ${kind === "inline" ? "selected" : ""}>A task file, written here</option>
        <option value="path" ${kind === "path" ? "selected" : ""}>A task file in the context</option>
        <option value="cmd" ${kind === "cmd" ? "selected" : ""}>One command</option>
        ${kind === "docker" ? `<option value="docker" selected>A Dockerfile build (changed with the CLI)</option>` : ""}</select>`)}
      <div data-kind="inline">${field("content", "Task file", `<textarea id="f-content" name="content" spellcheck="false" ${described("content", true)}>${esc(s.content || "")}</textarea>`, "YAML as ACR writes it (<code>steps:</code> …)")}</div>
      <div data-kind="path">${field("path", "Task file path", text("path", s.path, "inside the context; acb.yaml when empty"), "inside the context; acb.yaml when empty")}
        ${field("values_file", "Values file", text("values_file", s.values_file, ""))}</div>
      <div data-kind="cmd">${field("cmd", "Command", text("cmd", s.cmd, "IMAGE ARGS, as ACR's --cmd"), "IMAGE ARGS, as ACR's --cmd")}</div>
      ${field("context", "Context", text("context", t.context, CONTEXT_HELP), CONTEXT_HELP)}
      ${field("values", "Values", `<textarea id="f-values" name="values" spellcheck="false" ${described("values", true)}>${esc(pairLines(t.values))}</textarea>`, "one KEY=VALUE a line; secret values are set with the CLI")}
      ${field("platform", "Platform", text("platform", t.platform, "e.g. linux/amd64; empty for the node's own"), "e.g. linux/amd64; empty for the node's own")}
      ${field("timeout", "Timeout (seconds)", text("timeout", t.timeout, "300–28800", 'inputmode="numeric"'), "300–28800")}
      <div class="field"><label><input type="checkbox" id="f-enabled" ${(t.status || "Enabled") === "Enabled" ? "checked" : ""}> Enabled: runs when asked or triggered</label></div>
      <fieldset data-field="source"><legend>Commit trigger</legend>
        <label><input type="checkbox" id="f-source-enabled" ${src.enabled === false ? "" : "checked"}> Run on git events (tasks with a git context)</label>
        <div class="checks">${["commit", "pullrequest", "tag"].map((e) => `<label><input type="checkbox" name="event" value="${e}" ${events.includes(e) ? "checked" : ""}> ${e}</label>`).join("")}</div>
        <label for="f-branches">Branches</label>${text("branches", (src.branches || []).join(", "), "comma-separated globs; empty for every branch")}
        <small id="help-branches">comma-separated globs; empty for every branch</small>
        <p class="error field-error" id="err-source"></p></fieldset>
      <fieldset data-field="base_image"><legend>Image update trigger</legend>
        <label><input type="checkbox" id="f-base-enabled" ${base.enabled === false ? "" : "checked"}> Run when a base image changes</label>
        <label for="f-base-type">Images watched</label><select id="f-base-type">
          <option value="Runtime" ${base.trigger_type !== "All" ? "selected" : ""}>Runtime: the final stage's base image</option>
          <option value="All" ${base.trigger_type === "All" ? "selected" : ""}>All: every stage's base image</option></select>
        <p class="error field-error" id="err-base_image"></p></fieldset>
      <fieldset data-field="timers"><legend>Timers</legend>
        <div id="timer-rows">${(t.timers || []).map(timerRow).join("")}</div>
        <p><button type="button" id="add-timer">Add timer</button> <small>cron in UTC, 5 fields (or 6 with seconds)</small></p>
        <p class="error field-error" id="err-timers"></p></fieldset>
      <p class="error" id="err-form" role="alert"></p>
      <p><button class="primary" type="submit">${editing ? "Save changes" : "Create task"}</button>
        <a href="${editing ? `#/task/${encodeURIComponent(name)}` : "#/tasks"}">Cancel</a></p>
    </form>`;
  const $ = (id) => document.getElementById(id);
  const showKind = () => main.querySelectorAll("[data-kind]").forEach((d) => { d.hidden = d.dataset.kind !== $("f-kind").value; });
  showKind();
  $("f-kind").addEventListener("change", showKind);
  const rows = $("timer-rows");
  $("add-timer").addEventListener("click", () => {
    rows.insertAdjacentHTML("beforeend", timerRow({}, rows.children.length));
    rows.lastElementChild.querySelector(".t-name").focus();
  });
  rows.addEventListener("click", (e) => { if (e.target.classList.contains("t-remove")) e.target.closest(".timer-row").remove(); });

  const clearErrors = () => {
    main.querySelectorAll(".field-error, #err-form").forEach((p) => { p.textContent = ""; });
    main.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  };
  const fail = (field, message) => {
    const out = $(`err-${field}`) || $("err-form");
    out.textContent = message;
    const input = main.querySelector(`[data-field="${field}"] input:not([type=checkbox]), [data-field="${field}"] textarea, #f-${CSS.escape(field)}`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    say(`Not saved: ${message.split("\n")[0]}`);
  };
  // The form as API fields; a line of values without `=` is refused here, where it was typed.
  const read = () => {
    const values = {};
    const lines = $("f-values").value.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      const at = line.indexOf("=");
      if (at < 1) throw Object.assign(new Error(`line ${i + 1} (${line}): write KEY=VALUE`), { field: "values" });
      values[line.slice(0, at).trim()] = line.slice(at + 1);
    }
    const k = $("f-kind").value;
    const opt = (id) => $(`f-${id}`).value.trim() || null;
    const step = k === "inline" ? { kind: "file", content: $("f-content").value }
      : k === "path" ? { kind: "file", path: opt("path"), values_file: opt("values_file") }
      : k === "cmd" ? { kind: "cmd", cmd: $("f-cmd").value.trim() } : null;
    const timeout = Number($("f-timeout").value.trim() || 3600);
    if (!Number.isInteger(timeout)) throw Object.assign(new Error("give the timeout in whole seconds"), { field: "timeout" });
    const missed = new Map((t.timers || []).map((x) => [x.name, x.missed]));
    return {
      name: $("f-name").value.trim(), step, values, timeout,
      context: opt("context"), platform: opt("platform"),
      status: $("f-enabled").checked ? "Enabled" : "Disabled",
      triggers: {
        source: { enabled: $("f-source-enabled").checked,
          events: [...main.querySelectorAll("input[name=event]:checked")].map((e) => e.value),
          branches: $("f-branches").value.split(",").map((b) => b.trim()).filter(Boolean) },
        base_image: { enabled: $("f-base-enabled").checked, trigger_type: $("f-base-type").value },
      },
      timers: [...rows.children].map((r) => {
        const timer = { name: r.querySelector(".t-name").value.trim(), schedule: r.querySelector(".t-schedule").value.trim(),
          enabled: r.querySelector(".t-enabled").checked };
        if (missed.get(timer.name)) timer.missed = missed.get(timer.name);
        return timer;
      }),
    };
  };
  $("task-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors();
    let f;
    try { f = read(); } catch (err) { fail(err.field, err.message); return; }
    try {
      if (editing) {
        // A merge patch: keys that are gone from a map are sent as null, and the step's fields
        // of another kind are removed, so what the form shows is what gets stored.
        const values = Object.fromEntries(Object.keys(t.values || {}).map((k) => [k, null]));
        Object.assign(values, f.values);
        const patch = { context: f.context, platform: f.platform, timeout: f.timeout, status: f.status, values,
          triggers: f.triggers, timers: f.timers };
        if (f.step) patch.step = { path: null, content: null, values_file: null, cmd: null, ...f.step };
        await api("PATCH", `/v1/tasks/${encodeURIComponent(name)}`, patch);
      } else {
        for (const k of ["context", "platform"]) if (f[k] === null) delete f[k];
        for (const k of ["path", "values_file"]) if (f.step[k] === null) delete f.step[k];
        await api("POST", "/v1/tasks", f);
      }
    } catch (err) {
      if (err.message !== "not logged in") fail(errorField(err), errorText(err));
      return;
    }
    say(`Task ${f.name} ${editing ? "saved" : "created"}`);
    location.hash = `#/task/${encodeURIComponent(f.name)}`;
  });
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

// The run's step graph: a column per depth (a step sits right of everything it needs), one
// button per step (so it can be focused, and it filters the log), arrows drawn in SVG beneath.
const NODE_W = 210, NODE_H = 50, COL_W = 250, ROW_H = 64, PAD = 8;
const ICONS = { Pending: "○", Running: "◔", Succeeded: "✓", Failed: "✕", Skipped: "↷", Canceled: "⊘", Timeout: "⧗", Reused: "♻" };

function layout(steps) {
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const needs = (s) => (s.needs || []).filter((n) => index.has(n));
  const depth = [];
  const depthOf = (i, seen = new Set()) => {
    if (depth[i] !== undefined) return depth[i];
    if (seen.has(i)) return 0;
    seen.add(i);
    const ds = needs(steps[i]).map((n) => depthOf(index.get(n), seen));
    return (depth[i] = ds.length ? Math.max(...ds) + 1 : 0);
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
        const rs = needs(steps[i]).map((n) => row[index.get(n)]);
        return rs.length ? rs.reduce((a, b) => a + b, 0) / rs.length : 0;
      };
      col.sort((a, b) => centre(a) - centre(b) || a - b);
    }
    col.forEach((i, r) => { row[i] = r; });
  });
  const pos = steps.map((_, i) => ({ x: PAD + depth[i] * COL_W, y: PAD + row[i] * ROW_H }));
  const edges = steps.flatMap((s, i) => needs(s).map((n) => [index.get(n), i]));
  return {
    pos, edges,
    width: PAD * 2 + (cols.length - 1) * COL_W + NODE_W,
    height: PAD * 2 + (Math.max(1, ...cols.map((c) => (c ? c.length : 0))) - 1) * ROW_H + NODE_H,
  };
}

// A step's attempts as people count them: a step that is running is on its first attempt even
// before the record says so.
const attempts = (s) => (s.status === "Running" ? Math.max(s.attempts || 0, 1) : s.attempts || 0);

function nodeInner(s) {
  const meta = [duration(s), attempts(s) ? `attempt ${attempts(s)}` : ""].filter(Boolean).join(" · ");
  // The icon and colour say the state to the eye; the words are there for screen readers (and
  // shown when there is nothing else to say), so the time and attempt fit in the node.
  return `<span class="icon" aria-hidden="true">${ICONS[s.status] || "•"}</span><span class="name">${esc(s.id)}</span>
    <span class="meta">${meta ? `<span class="visually-hidden">${esc(s.status)}, </span>${esc(meta)}` : esc(s.status)}</span>`;
}

const nodeTitle = (s) => `${s.id}: ${s.status}${s.error ? `\n${s.error}` : ""}`;

// Draws the graph into `box`, or, when the steps and their edges are those already drawn,
// updates the nodes in place: the page refreshes every second while a run goes on, and a node
// that keeps its element keeps the keyboard focus.
function drawGraph(box, run, only) {
  const steps = run.steps || [];
  if (!steps.length) {
    box.dataset.key = "";
    box.innerHTML = `<p id="graph-empty">${LIVE.includes(run.status) ? "Waiting to be planned…" : "No steps were planned."}</p>`;
    return;
  }
  const key = JSON.stringify(steps.map((s) => [s.id, s.needs || []]));
  if (box.dataset.key === key) {
    for (const s of steps) {
      const node = box.querySelector(`button.node[data-step="${CSS.escape(s.id)}"]`);
      if (!node) continue;
      node.className = `node ${s.status}`;
      node.title = nodeTitle(s);
      node.innerHTML = nodeInner(s);
      node.setAttribute("aria-pressed", String(s.id === only));
    }
    return;
  }
  const { pos, edges, width, height } = layout(steps);
  const paths = edges.map(([from, to]) => {
    const a = pos[from], b = pos[to];
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x - 2, y2 = b.y + NODE_H / 2, mx = (x1 + x2) / 2;
    return `<path marker-end="url(#arrow-head)" d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`;
  });
  const said = edges.map(([from, to]) => `${steps[to].id} needs ${steps[from].id}`).join("; ");
  const nodes = steps.map((s, i) => `<button type="button" class="node ${esc(s.status)}" data-step="${esc(s.id)}"
    aria-pressed="${s.id === only}" title="${esc(nodeTitle(s))}" style="left:${pos[i].x}px;top:${pos[i].y}px">${nodeInner(s)}</button>`);
  box.dataset.key = key;
  box.innerHTML = `<div class="graph" style="width:${width}px;height:${height}px">
    <svg class="edges" role="img" aria-label="${esc(said ? `Dependencies: ${said}` : "No dependencies between the steps")}" width="${width}" height="${height}">
      <defs><marker id="arrow-head" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>
      ${paths.join("")}</svg>${nodes.join("")}</div>`;
}

// A stored log line starts with the time it was written (`?timestamps=true`), then, for a
// step's output, `[step]`; drydock's own lines have no step.
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;

// A log chunk as HTML: one block span per line, tagged with the step that printed it so the
// step filter can hide the rest, its time in a `.ts` element the timestamps switch shows.
// Built as one string and inserted once: a 10,000-line log is a handful of chunks, not 10,000
// DOM insertions.
function logHtml(lines, only) {
  let html = "";
  for (const line of lines) {
    const t = STAMP.exec(line);
    const text = t ? line.slice(t[0].length) : line;
    const m = /^\[([^\]]+)\]/.exec(text);
    const step = m ? m[1] : "";
    const time = t ? `<time class="ts" datetime="${t[1]}">${t[1].slice(11, 23)} </time>` : "";
    html += `<span class="line" data-step="${esc(step)}"${only && step !== only ? " hidden" : ""}>${time}${ansi(text)}</span>`;
  }
  return html;
}

// Find in the log: every match of the text (case-insensitive) in the lines shown, painted with
// the CSS Custom Highlight API (no markup is added to the log, so lines stream on undisturbed).
function logFinder(log, input, count) {
  const MAX = 10000;
  let matches = [], at = -1;
  const paint = () => {
    if (window.Highlight && CSS.highlights) {
      CSS.highlights.set("find", new Highlight(...matches));
      CSS.highlights.set("find-current", at >= 0 ? new Highlight(matches[at]) : new Highlight());
    }
    count.dataset.matches = String(matches.length);
    count.textContent = !input.value ? "" : matches.length
      ? `${at + 1} of ${matches.length}${matches.length >= MAX ? "+" : ""}` : "no matches";
  };
  const collect = () => {
    matches = [];
    const q = input.value.toLowerCase();
    if (!q) return;
    const stamps = log.classList.contains("show-ts");
    for (const line of log.children) {
      if (line.hidden) continue;
      const walk = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n && matches.length < MAX; n = walk.nextNode()) {
        if (!stamps && n.parentElement.closest(".ts")) continue;
        const text = n.data.toLowerCase();
        for (let i = text.indexOf(q); i >= 0 && matches.length < MAX; i = text.indexOf(q, i + q.length)) {
          const r = new Range();
          r.setStart(n, i);
          r.setEnd(n, i + q.length);
          matches.push(r);
        }
      }
    }
  };
  const show = () => {
    const line = matches[at]?.startContainer.parentElement.closest(".line");
    if (line) {
      // Scroll the log box, not the page: the search box stays where the reader typed.
      log.scrollTop = line.offsetTop - log.offsetTop - log.clientHeight / 2;
    }
  };
  return {
    // The text or the lines changed: match again, staying at the same match where there is one.
    refresh(jump = false) {
      collect();
      at = matches.length ? Math.min(Math.max(at, 0), matches.length - 1) : -1;
      paint();
      if (jump) show();
    },
    step(delta) {
      if (!matches.length) return;
      at = (at + delta + matches.length) % matches.length;
      paint();
      show();
    },
    active: () => Boolean(input.value),
  };
}

// Statuses of a run that ended without succeeding: it can be resumed from its failed step.
const RESUMABLE = ["Failed", "Timeout", "Canceled", "Error"];

async function runPage(id) {
  titled(`Run ${id}`);
  const run = await api("GET", `/v1/runs/${encodeURIComponent(id)}`);
  const steps = (r) => (r.steps || []).map((s) => `<tr><td>${esc(s.id)}</td><td>${status(s.status)}</td><td>${esc(attempts(s))}</td>
    <td>${s.exit_code ?? ""}</td><td class="hide-narrow">${esc(when(s.started_at))}</td><td>${duration(s)}</td>
    <td class="error">${esc(s.error || "")}</td></tr>`).join("");
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
    ${r.resumed_from ? `<dt>Resumed from</dt><dd>run ${runLink(r.resumed_from)}</dd>` : ""}
    ${(r.reruns || []).length ? `<dt>Reruns</dt><dd>${r.reruns.map(runLink).join(", ")}</dd>` : ""}
    ${r.approval ? `<dt>Approval</dt><dd>${esc(r.approval.decision)} by ${esc(r.approval.by)} <small>${esc(when(r.approval.at))}</small></dd>` : ""}
    ${(r.notifications || []).length ? `<dt>Notified</dt><dd>${r.notifications.map((n) => `${esc(n.event)} ${esc(n.state)}${n.status_code ? ` (${esc(n.status_code)})` : ""} <small>${esc(n.url)}</small>`).join("<br>")}</dd>` : ""}
    ${r.error ? `<dt>Error</dt><dd class="error">${esc(r.error)}</dd>` : ""}`;
  const images = (r) => (r.output_images || []).map((i) => `<li><code>${esc(i.registry)}/${esc(i.repository)}:${esc(i.tag)}</code> <code>${esc(i.digest || "")}</code></li>`).join("");
  const stamps = localStorage.getItem("drydock-timestamps") === "on";
  const logUrl = (download, times) => `/v1/runs/${encodeURIComponent(id)}/logs?${download ? "download=1" : ""}${download && times ? "&" : ""}${times ? "timestamps=true" : ""}`;
  main.innerHTML = `<h1>Run ${esc(run.id)}</h1>
    <p class="actions"><span id="decide" ${run.status === "AwaitingApproval" ? "" : "hidden"}>
      <button id="approve">Approve</button> <button class="danger" id="reject">Reject</button>
      <small>${run.waiting_step ? `The run waits before step <code>${esc(run.waiting_step)}</code>.` : "This run comes from a fork's pull request: approving runs its steps with the task's secrets."}</small></span>
    <button class="danger" id="cancel" ${LIVE.includes(run.status) ? "" : "hidden"}>Cancel run</button>
    <button id="rerun" ${LIVE.includes(run.status) ? "hidden" : ""}>Rerun</button>
    <button id="resume" ${RESUMABLE.includes(run.status) ? "" : "hidden"} title="Run again from the steps that did not succeed, keeping the workspace">Resume</button></p>
    <p class="error" id="run-error" role="alert"></p>
    <dl class="facts" id="facts">${facts(run)}</dl>
    <h2>Graph</h2><div class="table-wrap" id="dag"></div>
    <h2>Steps</h2><div class="table-wrap"><table><caption class="visually-hidden">Steps</caption>
    <thead><tr><th>Step</th><th>Status</th><th>Attempts</th><th>Exit</th><th class="hide-narrow">Started</th><th>Duration</th><th>Error</th></tr></thead>
    <tbody id="steps">${steps(run)}</tbody></table></div>
    <h2>Log</h2>
    <div class="log-tools">
      <label>Step <select id="step-filter"><option value="">all</option></select></label>
      <button type="button" id="show-all" hidden>Show all steps</button>
      <label><input type="checkbox" id="timestamps" ${stamps ? "checked" : ""}> Timestamps</label>
      <a id="download" href="${logUrl(true, stamps)}" download="run-${esc(run.id)}.log">Download log</a>
      <form id="find" class="find" role="search" aria-label="Find in the log">
        <label for="find-text">Find</label> <input id="find-text" type="search" autocomplete="off">
        <button type="button" id="find-prev" aria-label="Previous match">↑</button>
        <button type="submit" id="find-next" aria-label="Next match">↓</button>
        <span id="find-count" aria-live="polite"></span></form>
    </div>
    <pre class="log${stamps ? " show-ts" : ""}" id="log" tabindex="0" aria-label="Run log"></pre>
    <h2>Output images</h2><ul id="images">${images(run)}</ul>
    <h2>Dependencies</h2><pre class="log" id="deps" tabindex="0" aria-label="Dependency JSON">${esc(JSON.stringify(run.dependencies || [], null, 2))}</pre>`;
  const log = document.getElementById("log");
  const filter = document.getElementById("step-filter");
  const dagBox = document.getElementById("dag");
  const finder = logFinder(log, document.getElementById("find-text"), document.getElementById("find-count"));
  let only = "";
  // The step filter's choices follow the steps as the run gets planned.
  const stepChoices = (r) => {
    const have = [...filter.options].slice(1).map((o) => o.value).join("\n");
    if (have === (r.steps || []).map((s) => s.id).join("\n")) return;
    filter.innerHTML = `<option value="">all</option>${(r.steps || []).map((s) => `<option>${esc(s.id)}</option>`).join("")}`;
    filter.value = only;
  };
  const filterTo = (step) => {
    only = step;
    filter.value = step;
    for (const l of log.children) l.hidden = Boolean(step) && l.dataset.step !== step;
    dagBox.querySelectorAll("button.node").forEach((n) => n.setAttribute("aria-pressed", String(n.dataset.step === step)));
    document.getElementById("show-all").hidden = !step;
    if (finder.active()) finder.refresh();
    say(step ? `The log shows step ${step} only` : "The log shows every step");
  };
  const show = (r) => {
    document.getElementById("facts").innerHTML = facts(r);
    document.getElementById("steps").innerHTML = steps(r);
    drawGraph(dagBox, r, only);
    stepChoices(r);
    document.getElementById("images").innerHTML = images(r);
    document.getElementById("deps").textContent = JSON.stringify(r.dependencies || [], null, 2);
    document.getElementById("cancel").hidden = !LIVE.includes(r.status);
    document.getElementById("decide").hidden = r.status !== "AwaitingApproval";
    document.getElementById("rerun").hidden = LIVE.includes(r.status);
    document.getElementById("resume").hidden = !RESUMABLE.includes(r.status);
  };
  drawGraph(dagBox, run, only);
  stepChoices(run);
  dagBox.addEventListener("click", (e) => {
    const node = e.target.closest("button.node");
    if (node) filterTo(node.dataset.step === only ? "" : node.dataset.step);
  });
  filter.addEventListener("change", () => filterTo(filter.value));
  document.getElementById("show-all").addEventListener("click", () => filterTo(""));
  document.getElementById("timestamps").addEventListener("change", (e) => {
    log.classList.toggle("show-ts", e.target.checked);
    localStorage.setItem("drydock-timestamps", e.target.checked ? "on" : "off");
    document.getElementById("download").href = logUrl(true, e.target.checked);
    if (finder.active()) finder.refresh();
  });
  document.getElementById("find-text").addEventListener("input", () => finder.refresh(true));
  document.getElementById("find").addEventListener("submit", (e) => { e.preventDefault(); finder.step(1); });
  document.getElementById("find-prev").addEventListener("click", () => finder.step(-1));
  // A refused action says why next to the buttons; the message can be long (a path, a list of
  // steps), so it wraps.
  const attempt = async (what, action) => {
    const out = document.getElementById("run-error");
    out.textContent = "";
    try { await action(); } catch (e) { if (e.message !== "not logged in") out.textContent = `${what}: ${e.message}`; }
  };
  document.getElementById("rerun").addEventListener("click", () => attempt("Rerun refused", async () => {
    const r = await api("POST", `/v1/runs/${encodeURIComponent(id)}/rerun`, {});
    say(`Run ${r.id} queued, a rerun of ${id}`);
    location.hash = `#/run/${encodeURIComponent(r.id)}`;
  }));
  document.getElementById("resume").addEventListener("click", () => attempt("Resume refused", async () => {
    const r = await api("POST", `/v1/runs/${encodeURIComponent(id)}/resume`, {});
    say(`Run ${r.id} queued, resuming ${id}`);
    location.hash = `#/run/${encodeURIComponent(r.id)}`;
  }));
  for (const verb of ["approve", "reject"]) {
    document.getElementById(verb).addEventListener("click", () => attempt(`${verb === "approve" ? "Approval" : "Rejection"} refused`, async () => {
      const r = await api("POST", `/v1/runs/${encodeURIComponent(id)}/${verb}`, {});
      show(r);
      say(`Run ${id} ${verb === "approve" ? "approved" : "rejected"}`);
    }));
  }
  document.getElementById("cancel").addEventListener("click", () => attempt("Cancel refused", async () => {
    await api("POST", `/v1/runs/${encodeURIComponent(id)}/cancel`);
    say(`Run ${id} canceled`);
  }));
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
    if (finder.active()) finder.refresh();
  };
  // Always with the times: the switch only shows or hides them, so turning it on needs no
  // second download of the log.
  source = new EventSource(logUrl(false, true));
  source.addEventListener("log", (e) => {
    pending += logHtml(e.data.split("\n"), only);
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
  // Step states and running durations change while the log streams.
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
    if (parts[0] === "tasks" && parts[1] === "new") await taskForm();
    else if (parts[0] === "task" && parts[1] && parts[2] === "edit") await taskForm(parts[1]);
    else if (parts[0] === "task" && parts[1]) await taskPage(parts[1]);
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
