//! The dashboard: its server side (embedded assets, token login to an HttpOnly session cookie
//! that `/v1` accepts, logout, revocation), and the pages in headless Chromium: log in, run a
//! task and watch its steps turn green as the log streams, cancel a run, the base-images page
//! with a real cascade, keyboard use, an accessibility audit of every page, and every page at
//! phone width; the run page's graph (pending steps, a node filtering the log), its log tools
//! (search, download, timestamps), Resume, and the task form. Screenshots are saved under `$CARGO_TARGET_DIR/browser-screenshots/`.

use crate::helper::browser::{Browser, ENTER, TAB};
use crate::helper::daemon::{TestDaemon, inline_task};
use crate::helper::docker::unique;
use crate::helper::wait::eventually;
use crate::triggers_base_image::{REGISTRY, build_task, push_new_image, run_task};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_and_a_login_cookie_authenticates_the_api() {
    let d = TestDaemon::start(1).await;
    let http = drydock::tls::client();
    let page = http.get(format!("{}/", d.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/ui/app.js") && html.contains("/ui/app.css"), "{html}");
    for (path, kind) in [("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css")] {
        let r = http.get(format!("{}{path}", d.url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with(kind));
        // Self-contained: nothing is fetched from elsewhere.
        assert!(!r.text().await.unwrap().contains("https://"), "{path} refers to another site");
    }

    // A wrong token sets nothing.
    let bad = http.post(format!("{}/ui/login", d.url)).json(&json!({"token": "nope"})).send().await.unwrap();
    assert_eq!(bad.status(), 401);
    assert!(bad.headers().get("set-cookie").is_none());

    let ok = http.post(format!("{}/ui/login", d.url)).json(&json!({"token": d.token})).send().await.unwrap();
    assert_eq!(ok.status(), 204);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();

    // The cookie alone (no bearer header) reaches the API, as the page's fetches do.
    let tasks = http.get(format!("{}/v1/tasks", d.url)).header("cookie", &session).send().await.unwrap();
    assert_eq!(tasks.status(), 200);
    assert_eq!(http.get(format!("{}/v1/tasks", d.url)).send().await.unwrap().status(), 401);

    // Logout clears it; a revoked token's cookie stops working.
    let out = http.post(format!("{}/ui/logout", d.url)).header("cookie", &session).send().await.unwrap();
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let (_, tokens) = d.get("/v1/tokens").await;
    let id = tokens.as_array().unwrap()[0]["id"].as_str().unwrap().to_string();
    let r = d.req(reqwest::Method::DELETE, &format!("/v1/tokens/{id}")).send().await.unwrap();
    assert!(r.status().is_success());
    let after = http.get(format!("{}/v1/tasks", d.url)).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_log_in_run_a_task_watch_it_go_green_and_cancel_another() {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(2).await;
    let streaming = "steps:\n  - id: count\n    cmd: busybox sh -c 'for i in 1 2 3; do echo line $i; sleep 1; done'\n  - id: after\n    cmd: busybox echo '<b>all done</b>'\n";
    assert_eq!(d.post("/v1/tasks", inline_task("browser-task", streaming)).await.0, 201);
    assert_eq!(d.post("/v1/tasks", inline_task("slow-task", "steps:\n  - cmd: busybox sleep 300\n")).await.0, 201);

    browser.log_in(&d.url, &d.token).await;
    browser.wait_for("the tasks page", "return document.querySelector('button[data-run=\"browser-task\"]')").await;
    browser.screenshot("tasks").await;

    // Run the task from its row; the run page follows it live.
    browser.click("button[data-run=\"browser-task\"]").await;
    browser.wait_for("the first log line", "return document.getElementById('log')?.innerText.includes('line 1')").await;
    // The step table fills in once the run is planned, and is refreshed while it goes on.
    browser.wait_for("the step table", "return document.getElementById('steps').innerText.includes('count')").await;
    browser
        .wait_for(
            "every step green",
            "const s=[...document.querySelectorAll('#steps .status')]; \
             return s.length === 2 && s.every(e => e.classList.contains('Succeeded'))",
        )
        .await;
    // The graph: two nodes, one arrow (`after` needs `count`), both green.
    browser
        .wait_for(
            "the graph green",
            "const g=[...document.querySelectorAll('#dag .node')]; \
             return g.length === 2 && g.every(e => e.classList.contains('Succeeded')) \
               && document.querySelectorAll('#dag svg.edges > path').length === 1",
        )
        .await;
    let log = browser.eval("return document.getElementById('log').innerText", json!([])).await;
    assert!(log.as_str().unwrap().contains("line 3") && log.as_str().unwrap().contains("all done"), "{log}");
    // Log text is shown as text, never as markup.
    assert!(log.as_str().unwrap().contains("<b>all done</b>"), "{log}");
    assert_eq!(browser.eval("return document.querySelectorAll('#log b').length", json!([])).await, 0);
    browser.wait_for("the run's end", "return document.getElementById('facts').innerText.includes('Succeeded')").await;
    browser.screenshot("run-succeeded").await;

    // Disable and enable the task, and disable its timer, from the task page.
    let (status, timer) =
        d.post("/v1/tasks/browser-task/timers", json!({"name": "nightly", "schedule": "0 3 * * *"})).await;
    assert_eq!(status, 201, "{timer}");
    browser.open(&format!("{}/#/task/browser-task", d.url)).await;
    browser.wait_for("the task page", "return document.querySelector('button[data-timer=\"nightly\"]')").await;
    let page = browser.eval("return document.getElementById('main').innerText", json!([])).await;
    assert!(page.as_str().unwrap().contains("for i in 1 2 3"), "the task file is shown: {page}");
    browser.click("#toggle").await;
    browser
        .wait_for("the task disabled", "return document.querySelector('main h1').innerText.includes('Disabled')")
        .await;
    assert_eq!(d.get("/v1/tasks/browser-task").await.1["status"], "Disabled");
    browser.click("#toggle").await;
    browser
        .wait_for("the task enabled", "return document.querySelector('main h1').innerText.includes('Enabled')")
        .await;
    assert_eq!(d.get("/v1/tasks/browser-task").await.1["status"], "Enabled");
    browser.click("button[data-timer=\"nightly\"]").await;
    browser
        .wait_for(
            "the timer disabled",
            "return document.querySelector('button[data-timer=\"nightly\"]')?.innerText === 'Enable'",
        )
        .await;
    let (_, timers) = d.get("/v1/tasks/browser-task/timers").await;
    assert_eq!(timers[0]["enabled"], false, "{timers}");
    browser.screenshot("task").await;

    // Cancel a running run from its page.
    let (_, slow) = d.post("/v1/tasks/slow-task/runs", json!({})).await;
    let id = slow["id"].as_str().unwrap().to_string();
    browser.open(&format!("{}/#/run/{id}", d.url)).await;
    browser.wait_for("the run running", "return document.getElementById('facts')?.innerText.includes('Running')").await;
    browser.click("#cancel").await;
    browser
        .wait_for("the run canceled", "return document.getElementById('facts').innerText.includes('Canceled')")
        .await;
    browser.screenshot("run-canceled").await;
    assert_eq!(d.wait_run(&id).await["status"], "Canceled");
}

/// Checks the basics a screen reader and a keyboard depend on, on the page shown: every control
/// has a name, every field a label, the graph a text alternative, one h1 and no skipped heading
/// levels, tables with header cells, unique ids, a language and a title. The problems found.
const AUDIT: &str = r#"
const problems = [];
const named = (e) => (e.getAttribute('aria-label') || e.textContent || e.getAttribute('title') || '').trim();
for (const e of document.querySelectorAll('button, a[href]'))
  if (e.getClientRects().length && !named(e)) problems.push('a control without a name: ' + e.outerHTML.slice(0, 80));
for (const e of document.querySelectorAll('input, select, textarea'))
  if (!(e.labels && e.labels.length) && !e.getAttribute('aria-label')) problems.push('a field without a label: ' + e.outerHTML.slice(0, 80));
for (const e of document.querySelectorAll('svg'))
  if (e.getAttribute('role') !== 'img' || !e.getAttribute('aria-label')) problems.push('a graphic without a text alternative');
const h1 = document.querySelectorAll('h1').length;
if (h1 !== 1) problems.push(h1 + ' h1 headings');
let level = 1;
for (const h of document.querySelectorAll('main h1, main h2, main h3, main h4')) {
  const l = Number(h.tagName[1]);
  if (l > level + 1) problems.push('heading ' + h.tagName + ' skips a level: ' + h.textContent);
  level = l;
}
for (const t of document.querySelectorAll('table')) if (!t.querySelector('th')) problems.push('a table without header cells');
const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
if (new Set(ids).size !== ids.length) problems.push('duplicate ids');
if (!document.documentElement.lang) problems.push('no page language');
if (!/drydock/.test(document.title)) problems.push('no page title');
if (!document.querySelector('[role=status][aria-live]')) problems.push('no live status region');
return problems;
"#;

/// The elements that stick out of the page on the right (and so make it scroll sideways), when
/// it does; wide content inside a scrolling box does not count.
const WIDER_THAN_THE_SCREEN: &str = "
const root = document.documentElement;
if (root.scrollWidth <= root.clientWidth && window.innerWidth <= screen.width) return [];
return [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > root.clientWidth && !e.closest('.table-wrap, pre'))
  .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`);
";

/// The pages every check visits, by route, with what shows they are drawn.
fn pages(task: &str, run: &str) -> Vec<(String, String, String)> {
    let drawn = |text: &str| format!("return document.querySelector('main h1')?.innerText.startsWith({text:?})");
    vec![
        ("tasks".into(), "#/tasks".into(), drawn("Tasks")),
        ("task".into(), format!("#/task/{task}"), drawn(task)),
        ("task-form".into(), format!("#/task/{task}/edit"), drawn("Edit")),
        ("runs".into(), "#/runs".into(), format!("{} && document.querySelector('#runs-list table')", drawn("Runs"))),
        (
            "run".into(),
            format!("#/run/{run}"),
            format!("{} && document.getElementById('log').dataset.complete", drawn("Run")),
        ),
        ("images".into(), "#/images".into(), drawn("Base images")),
    ]
}

/// Loads the page at `route` afresh and waits until `drawn`.
async fn show(browser: &Browser, d: &TestDaemon, route: &str, drawn: &str) {
    browser.open_fresh(&format!("{}/{route}", d.url)).await;
    browser.wait_for(route, drawn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_base_images_show_who_builds_from_what_and_what_cascaded_and_every_page_works_by_keyboard_and_on_a_phone()
 {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(2).await;
    // base is built by task b from root (pushed outside drydock); mid by task m from base.
    let u = unique("dash");
    let (root, base, mid) = (
        format!("{REGISTRY}/{u}-root:latest"),
        format!("{REGISTRY}/{u}-base:latest"),
        format!("{REGISTRY}/{u}-mid:latest"),
    );
    push_new_image(&root).await;
    let (tb, tm) = (format!("{u}-b"), format!("{u}-m"));
    build_task(&d, &tb, &root, &base, json!({})).await;
    build_task(&d, &tm, &base, &mid, json!({})).await;
    run_task(&d, &tb).await;
    run_task(&d, &tm).await;
    // A new base from b cascades into m.
    let b_run = run_task(&d, &tb).await;
    let b_id = b_run["id"].as_str().unwrap().to_string();
    let m_run: Value = eventually("m's cascade run", || async {
        let (_, page) = d.get(&format!("/v1/runs?task={tm}&trigger=Image%20Update")).await;
        page["runs"].as_array().and_then(|r| r.first().cloned()).filter(|r| r["status"] == "Succeeded")
    })
    .await;
    let m_id = m_run["id"].as_str().unwrap().to_string();

    browser.log_in(&d.url, &d.token).await;
    show(&browser, &d, "#/images", "return document.querySelector('main h1')?.innerText === 'Base images'").await;
    let rows = browser
        .eval("return [...document.querySelectorAll('main table')[0].tBodies[0].rows].map(r => r.innerText)", json!([]))
        .await;
    let row_of = |image: &str| {
        rows.as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).find(|r| r.starts_with(image))
    };
    let base_row = row_of(&base).unwrap_or_else(|| panic!("no row for {base}: {rows}"));
    assert!(base_row.contains(&tb) && base_row.contains(&format!("{tm} (runtime)")), "{base_row}");
    let root_row = row_of(&root).unwrap_or_else(|| panic!("no row for {root}: {rows}"));
    assert!(root_row.contains("outside drydock") && root_row.contains(&tb), "{root_row}");
    // The update: m's run, caused by b's push, old → new digest.
    let updates =
        browser.eval("return document.querySelectorAll('main table')[1].tBodies[0].innerText", json!([])).await;
    let updates = updates.as_str().unwrap();
    assert!(updates.contains(&m_id) && updates.contains(&format!("push by run {b_id}")), "{updates}");
    assert!(updates.contains(&base) && updates.contains(" → "), "{updates}");
    browser.screenshot("images").await;

    // The runs page's trigger filter, chosen as a user would.
    show(&browser, &d, "#/runs", "return document.querySelector('#runs-list table')").await;
    browser.eval("document.querySelector('select[name=trigger]').value = 'base_image'", json!([])).await;
    browser.click("#filters button[type=submit]").await;
    browser
        .wait_for(
            "only image-update runs",
            "const rows = [...document.querySelectorAll('#runs-list tbody tr')]; \
             return location.hash.includes('trigger=base_image') && rows.length > 0 \
               && rows.every(r => r.innerText.includes('Image Update'))",
        )
        .await;

    // The run page tells what triggered it: the image, the digests, the run that pushed it.
    show(&browser, &d, &format!("#/run/{m_id}"), "return document.getElementById('log')?.dataset.complete").await;
    let facts = browser.eval("return document.getElementById('facts').innerText", json!([])).await;
    assert!(facts.as_str().unwrap().contains(&format!("run {b_id}")), "{facts}");

    // By keyboard alone: the first Tab reaches the skip link, Enter moves the focus to the
    // content without leaving the page; Tabs then reach task b's Run button, and Enter runs it.
    show(&browser, &d, "#/tasks", &format!("return document.querySelector('button[data-run=\"{tb}\"]')")).await;
    let row = browser
        .eval(
            "return document.querySelector(`button[data-run=\"${arguments[0]}\"]`).closest('tr').innerText",
            json!([tb]),
        )
        .await;
    assert!(row.as_str().unwrap().contains(&format!("{b_id} Succeeded")), "the last run is shown: {row}");
    browser.keys(&[TAB]).await;
    let focused = browser.eval("return document.activeElement.className", json!([])).await;
    assert_eq!(focused, "skip");
    browser.keys(&[ENTER]).await;
    let focused = browser.eval("return [document.activeElement.id, location.hash]", json!([])).await;
    assert_eq!(focused, json!(["main", "#/tasks"]));
    let mut reached = false;
    for _ in 0..40 {
        browser.keys(&[TAB]).await;
        let on = browser.eval("return document.activeElement.dataset?.run || ''", json!([])).await;
        if on == tb.as_str() {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the Run button of {tb}");
    browser.keys(&[ENTER]).await;
    let hash =
        browser.wait_for("the new run's page", "return location.hash.startsWith('#/run/') && location.hash").await;
    let new_run = hash.as_str().unwrap().trim_start_matches("#/run/").to_string();
    assert_eq!(d.wait_run(&new_run).await["status"], "Succeeded");

    // Every page passes the audit, in the light and the dark theme.
    for (name, route, drawn) in pages(&tb, &b_id) {
        show(&browser, &d, &route, &drawn).await;
        let problems = browser.eval(AUDIT, json!([])).await;
        assert_eq!(problems, json!([]), "the {name} page");
        browser.screenshot(&format!("desktop-{name}")).await;
    }
    browser.click("#theme").await;
    browser.screenshot("images-dark").await;
    browser.click("#theme").await;
    drop(browser);

    // At phone width (390 px) every page fits: the page itself never scrolls sideways (wide
    // tables scroll inside their own box), and each is saved as a screenshot.
    let phone = Browser::start_phone(390, 844).await.expect("chromedriver, as above");
    phone.log_in(&d.url, &d.token).await;
    let width = phone.eval("return [window.innerWidth, navigator.userAgent]", json!([])).await;
    assert_eq!(width[0], 390, "{width}");
    for (name, route, drawn) in pages(&tb, &b_id) {
        show(&phone, &d, &route, &drawn).await;
        let overflow = phone.eval(WIDER_THAN_THE_SCREEN, json!([])).await;
        assert_eq!(overflow, json!([]), "the {name} page scrolls sideways at 390 px");
        phone.screenshot(&format!("phone-{name}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_run_waiting_at_a_gate_is_approved_with_its_button() {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(1).await;
    let file = "steps:\n  - id: test\n    cmd: busybox echo tested\n  - id: release\n    cmd: busybox echo released-from-the-browser\n";
    let mut task = inline_task("gated-in-browser", file);
    task["approve_before"] = json!(["release"]);
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);
    let (_, run) = d.post("/v1/tasks/gated-in-browser/runs", json!({})).await;
    let id = run["id"].as_str().unwrap().to_string();
    browser.log_in(&d.url, &d.token).await;
    browser.open(&format!("{}/#/run/{id}", d.url)).await;
    browser
        .wait_for(
            "the run waiting before release, with its buttons",
            "const f=document.getElementById('facts')?.innerText || ''; \
             return f.includes('AwaitingApproval') && f.includes('release') && !document.getElementById('decide').hidden",
        )
        .await;
    browser.screenshot("run-awaiting-approval").await;
    browser.click("#approve").await;
    browser.wait_for("the run's end", "return document.getElementById('facts').innerText.includes('Succeeded')").await;
    let done = d.wait_run(&id).await;
    assert_eq!((&done["status"], &done["approval"]["by"]), (&json!("Succeeded"), &json!("tests")), "{done}");
    // The log streams on after the pause. (`textContent`: lines scrolled out of view are not
    // rendered, `content-visibility: auto`, so `innerText` leaves them out.)
    browser
        .wait_for(
            "the released step's output in the log",
            "return document.getElementById('log').textContent.includes('released-from-the-browser')",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_finished_run_is_rerun_with_its_button() {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(1).await;
    assert_eq!(
        d.post("/v1/tasks", inline_task("rerun-in-browser", "steps:\n  - cmd: busybox echo again\n")).await.0,
        201
    );
    let (_, run) = d.post("/v1/tasks/rerun-in-browser/runs", json!({})).await;
    let id = run["id"].as_str().unwrap().to_string();
    assert_eq!(d.wait_run(&id).await["status"], "Succeeded");
    browser.log_in(&d.url, &d.token).await;
    browser.open(&format!("{}/#/run/{id}", d.url)).await;
    browser
        .wait_for(
            "the Rerun button",
            "return document.getElementById('rerun') && !document.getElementById('rerun').hidden",
        )
        .await;
    browser.click("#rerun").await;
    browser
        .wait_for(
            "the rerun's page, finished and linked to the original",
            &format!(
                "const f=document.getElementById('facts')?.innerText || ''; \
                 return !location.hash.endsWith('/{id}') && f.includes('Succeeded') && f.includes('{id}')"
            ),
        )
        .await;
    let (_, original) = d.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(original["reruns"].as_array().map(Vec::len), Some(1), "{original}");
}

/// The id and class of each node of the run page's graph.
const GRAPH_NODES: &str =
    "return Object.fromEntries([...document.querySelectorAll('#dag .node')].map(n => [n.dataset.step, n.className]))";

/// The step tag of every log line shown (not hidden by the step filter), and their text.
const SHOWN_LINES: &str = "const shown = [...document.getElementById('log').children].filter(l => !l.hidden); \
     return [shown.map(l => l.dataset.step), shown.map(l => l.textContent).join('\\n')]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_graph_shows_pending_steps_before_they_start_and_a_node_filters_the_log() {
    let Some(browser) = Browser::start().await else { return };
    // One worker: the second run waits in the queue while the first one runs.
    let d = TestDaemon::start(1).await;
    let long = "third-with-a-rather-long-step-identifier";
    let file = format!(
        "steps:\n  - id: first\n    cmd: busybox sh -c 'echo first-says-hi; sleep 8; echo first-done'\n\
         \x20 - id: second\n    cmd: busybox echo second-says-hi\n    when: [\"first\"]\n\
         \x20 - id: {long}\n    cmd: busybox echo third-says-hi\n    when: [\"second\"]\n"
    );
    assert_eq!(d.post("/v1/tasks", inline_task("graph-task", &file)).await.0, 201);
    let (_, run) = d.post("/v1/tasks/graph-task/runs", json!({})).await;
    let id = run["id"].as_str().unwrap().to_string();
    // Queued behind it: a run of the same inline task file, planned when queued, and a run whose
    // task file is in its context, which nobody can plan before a worker fetches it.
    let (_, queued) = d.post("/v1/tasks/graph-task/runs", json!({})).await;
    let queued = queued["id"].as_str().unwrap().to_string();
    let upload = d.upload(&[("acb.yaml", "steps:\n  - cmd: busybox echo from-the-context\n")]).await;
    let in_context = json!({"name": "graph-in-context", "context": format!("upload:{upload}"), "step": {"kind": "file", "path": "acb.yaml"}});
    assert_eq!(d.post("/v1/tasks", in_context).await.0, 201);
    let (_, unplanned) = d.post("/v1/tasks/graph-in-context/runs", json!({})).await;
    let unplanned = unplanned["id"].as_str().unwrap().to_string();
    browser.log_in(&d.url, &d.token).await;

    // A run nobody has planned yet says so instead of drawing an empty graph.
    browser.open(&format!("{}/#/run/{unplanned}", d.url)).await;
    browser
        .wait_for(
            "a queued run waiting to be planned",
            "return document.getElementById('graph-empty')?.textContent.includes('Waiting to be planned')",
        )
        .await;
    // A queued run whose steps are known draws them all, pending.
    browser.open(&format!("{}/#/run/{queued}", d.url)).await;
    browser
        .wait_for(
            "the queued run's three steps pending",
            "const g = [...document.querySelectorAll('#dag .node')]; \
             return document.getElementById('facts')?.innerText.includes('Queued') && g.length === 3 \
               && g.every(e => e.classList.contains('Pending'))",
        )
        .await;
    browser.screenshot("graph-queued").await;

    // While the first step runs, the others are drawn already, pending.
    browser.open(&format!("{}/#/run/{id}", d.url)).await;
    let nodes = browser
        .wait_for(
            "the first step running and the later ones pending",
            "const n = document.querySelector('#dag .node[data-step=\"first\"]'); \
             const later = [...document.querySelectorAll('#dag .node:not([data-step=\"first\"])')]; \
             return n?.classList.contains('Running') && later.length === 2 \
               && later.every(e => e.classList.contains('Pending')) && n.innerText",
        )
        .await;
    // A running step is on its first attempt even before its record counts one.
    assert!(nodes.as_str().unwrap().contains("attempt 1"), "{nodes}");
    browser.screenshot("graph-pending").await;
    let arrows = browser.eval("return document.querySelectorAll('#dag svg.edges > path').length", json!([])).await;
    assert_eq!(arrows, 2, "an arrow for each `when` edge");
    // A long id is cut in the node, whole in its title.
    let title = browser
        .eval("return document.querySelector(`#dag .node[data-step=\"${arguments[0]}\"]`).title", json!([long]))
        .await;
    assert!(title.as_str().unwrap().starts_with(long), "{title}");

    browser
        .wait_for(
            "every node green and the log complete",
            "const g=[...document.querySelectorAll('#dag .node')]; \
             return g.length === 3 && g.every(e => e.classList.contains('Succeeded')) \
               && document.getElementById('log').dataset.complete",
        )
        .await;
    let nodes = browser.eval(GRAPH_NODES, json!([])).await;
    assert_eq!(nodes["second"], "node Succeeded", "{nodes}");

    // Clicking a node leaves only that step's lines.
    browser.click("#dag .node[data-step=\"second\"]").await;
    let (steps, text) = {
        let v = browser.eval(SHOWN_LINES, json!([])).await;
        (v[0].clone(), v[1].as_str().unwrap().to_string())
    };
    assert!(steps.as_array().unwrap().iter().all(|s| s == "second"), "{steps}");
    assert!(text.contains("second-says-hi") && !text.contains("first-says-hi"), "{text}");
    let pressed = browser
        .eval(
            "return document.querySelector('#dag .node[data-step=\"second\"]').getAttribute('aria-pressed')",
            json!([]),
        )
        .await;
    assert_eq!(pressed, "true");
    browser.screenshot("graph-filtered").await;
    // Enter on the focused node (the click focused it) clears the filter again.
    browser.eval("document.querySelector('#dag .node[data-step=\"second\"]').focus()", json!([])).await;
    browser.keys(&[ENTER]).await;
    let v = browser.eval(SHOWN_LINES, json!([])).await;
    let text = v[1].as_str().unwrap();
    assert!(text.contains("first-says-hi") && text.contains("third-says-hi") && text.contains("second-says-hi"), "{v}");
    assert!(browser.eval("return document.getElementById('show-all').hidden", json!([])).await == true);
    // By keyboard alone: the node is a button, Enter filters.
    browser.keys(&[ENTER]).await;
    let v = browser.eval(SHOWN_LINES, json!([])).await;
    assert!(v[0].as_array().unwrap().iter().all(|s| s == "second"), "{v}");
    browser.click("#show-all").await;
    let v = browser.eval(SHOWN_LINES, json!([])).await;
    assert!(v[1].as_str().unwrap().contains("first-says-hi"), "{v}");
    for run in [queued, unplanned] {
        let done = d.wait_run(&run).await;
        assert_eq!(done["status"], "Succeeded", "{done}");
    }
}

/// Saves task `name` with `file`, runs it and waits for the run to end with `status`; its id.
async fn finished_run(d: &TestDaemon, name: &str, file: &str, status: &str) -> String {
    assert_eq!(d.post("/v1/tasks", inline_task(name, file)).await.0, 201);
    let (_, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let id = run["id"].as_str().unwrap().to_string();
    let done = d.wait_run(&id).await;
    assert_eq!(done["status"], status, "{done}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_log_is_searched_downloaded_and_shown_with_times() {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(1).await;
    let file = "steps:\n  - id: talk\n    cmd: busybox sh -c 'echo needle one; echo hay; echo needle two; echo NEEDLE three'\n";
    let id = finished_run(&d, "log-tools", file, "Succeeded").await;
    browser.log_in(&d.url, &d.token).await;
    browser.eval("localStorage.removeItem('drydock-timestamps')", json!([])).await;
    browser.open(&format!("{}/#/run/{id}", d.url)).await;
    browser.wait_for("the log", "return document.getElementById('log')?.dataset.complete").await;

    // Search: every match, case-insensitive, counted; next and previous go round.
    browser.type_into("#find-text", "needle").await;
    browser.wait_for("three matches", "return document.getElementById('find-count').dataset.matches === '3'").await;
    assert_eq!(find_count(&browser).await, "1 of 3");
    browser.click("#find-next").await;
    assert_eq!(find_count(&browser).await, "2 of 3");
    browser.click("#find-prev").await;
    browser.click("#find-prev").await;
    assert_eq!(find_count(&browser).await, "3 of 3");
    browser.screenshot("log-search").await;

    // Times are hidden until asked for; then each line shows when it was written.
    let first_line = "return document.querySelector('#log .line').innerText";
    let plain = browser.eval(first_line, json!([])).await;
    assert!(!plain.as_str().unwrap().starts_with(|c: char| c.is_ascii_digit()), "{plain}");
    browser.click("#timestamps").await;
    let timed = browser.eval(first_line, json!([])).await;
    let timed = timed.as_str().unwrap();
    let stamp = timed.split(' ').next().unwrap();
    assert!(
        stamp.len() == 12 && stamp.as_bytes()[2] == b':' && stamp.as_bytes()[8] == b'.',
        "a time in front of the line: {timed}"
    );
    assert!(timed.ends_with(plain.as_str().unwrap()), "{timed} / {plain}");
    browser.screenshot("log-timestamps").await;

    // The download link saves the whole log as a file, with times when they are shown.
    let link = browser
        .eval(
            "const a = document.getElementById('download'); return [a.getAttribute('href'), a.getAttribute('download')]",
            json!([]),
        )
        .await;
    assert_eq!(link[1], format!("run-{id}.log"));
    let href = link[0].as_str().unwrap();
    assert!(href.contains("download=1") && href.contains("timestamps=true"), "{href}");
    browser.click("#timestamps").await;
    let href = browser.eval("return document.getElementById('download').getAttribute('href')", json!([])).await;
    let href = href.as_str().unwrap().to_string();
    assert!(href.contains("download=1") && !href.contains("timestamps"), "{href}");
    let saved = d.req(reqwest::Method::GET, &href).send().await.unwrap();
    assert_eq!(
        saved.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"run-{id}.log\"")
    );
    let saved = saved.text().await.unwrap();
    // The same bytes as the plain log every client reads, which has no times.
    let plain_log = d.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap();
    assert!(plain_log.headers().get("content-disposition").is_none());
    assert_eq!(saved, plain_log.text().await.unwrap());
    assert!(saved.contains("[talk] needle one\n[talk] hay\n"), "{saved}");
    let timed_log = d.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs?timestamps=true")).send().await.unwrap();
    let timed_log = timed_log.text().await.unwrap();
    for (with, without) in timed_log.lines().zip(saved.lines()) {
        let (at, rest) = with.split_once(' ').unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'), "{with}");
        assert_eq!(rest, without);
    }
    assert_eq!(timed_log.lines().count(), saved.lines().count());
}

/// What the log search says it found.
async fn find_count(browser: &Browser) -> Value {
    browser.eval("return document.getElementById('find-count').textContent", json!([])).await
}

/// Sets a form field's text as a person would: select what is there, type over it.
async fn retype(browser: &Browser, css: &str, text: &str) {
    browser.eval("document.querySelector(arguments[0]).value = ''", json!([css])).await;
    browser.type_into(css, text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_task_is_created_and_edited_with_the_form_and_a_broken_file_is_shown_where_it_is_wrong() {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(1).await;
    browser.log_in(&d.url, &d.token).await;
    browser.click("#new-task").await;
    browser.wait_for("the form", "return document.getElementById('task-form')").await;
    browser.type_into("#f-name", "made-in-the-form").await;
    browser.type_into("#f-content", "steps:\n  - cmd: busybox echo made-in-the-form\n").await;
    browser.type_into("#f-values", "greeting=hello\n").await;
    browser.click("#add-timer").await;
    browser.type_into(".timer-row .t-name", "nightly").await;
    browser.type_into(".timer-row .t-schedule", "0 3 * * *").await;
    browser.screenshot("task-form-new").await;
    browser.click("#task-form button[type=submit]").await;
    browser.wait_for("the new task's page", "return location.hash === '#/task/made-in-the-form'").await;
    let (status, task) = d.get("/v1/tasks/made-in-the-form").await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["step"]["content"], "steps:\n  - cmd: busybox echo made-in-the-form\n", "{task}");
    assert_eq!(task["values"], json!({"greeting": "hello"}));
    assert_eq!((&task["timers"][0]["name"], &task["timers"][0]["schedule"]), (&json!("nightly"), &json!("0 3 * * *")));
    // The task page switches a trigger off.
    browser
        .wait_for("the trigger switch", "return document.querySelector('button[data-trigger=\"base_image\"]')")
        .await;
    browser.click("button[data-trigger=\"base_image\"]").await;
    browser
        .wait_for(
            "the image update trigger off",
            "return document.querySelector('button[data-trigger=\"base_image\"]')?.innerText === 'Enable'",
        )
        .await;
    assert_eq!(d.get("/v1/tasks/made-in-the-form").await.1["triggers"]["base_image"]["enabled"], false);

    // A broken task file: the server's finding, with its line and column, at the task file.
    let broken = "steps:\n  - cmd: busybox echo {{ .Run.ID \n";
    let (status, refusal) = d.post("/v1/tasks", inline_task("broken-file-probe", broken)).await;
    assert_eq!(status, 400, "{refusal}");
    let diag = &refusal["diagnostics"][0];
    let at: Vec<String> = [&diag["file"], &diag["line"], &diag["col"]]
        .iter()
        .filter(|v| !v.is_null())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect();
    let at = at.join(":");
    assert!(diag["line"].is_number(), "the server places the finding: {refusal}");
    browser.open(&format!("{}/#/task/made-in-the-form/edit", d.url)).await;
    browser.wait_for("the edit form", "return document.getElementById('f-content')?.value.includes('made-in')").await;
    retype(&browser, "#f-content", broken).await;
    browser.click("#task-form button[type=submit]").await;
    let shown = browser
        .wait_for("the finding at the task file", "return document.getElementById('err-content').innerText")
        .await;
    assert!(shown.as_str().unwrap().contains(&at), "{at} in {shown}");
    let invalid =
        browser.eval("return document.getElementById('f-content').getAttribute('aria-invalid')", json!([])).await;
    assert_eq!(invalid, "true");
    assert_eq!(browser.eval("return document.getElementById('err-form').innerText", json!([])).await, "");
    browser.screenshot("task-form-invalid").await;
    assert_eq!(
        d.get("/v1/tasks/made-in-the-form").await.1["step"]["content"],
        task["step"]["content"],
        "nothing saved"
    );

    // A bad schedule is shown at the timers.
    retype(&browser, "#f-content", "steps:\n  - cmd: busybox echo edited-in-the-form\n").await;
    retype(&browser, ".timer-row .t-schedule", "every night").await;
    browser.click("#task-form button[type=submit]").await;
    browser
        .wait_for("the schedule refused at the timers", "return document.getElementById('err-timers').innerText")
        .await;
    assert_eq!(browser.eval("return document.getElementById('err-content').innerText", json!([])).await, "");

    // Fixed: the edit lands, values replaced, the timer off, a shorter timeout.
    retype(&browser, ".timer-row .t-schedule", "0 4 * * *").await;
    browser.click(".timer-row .t-enabled").await;
    retype(&browser, "#f-values", "colour=blue").await;
    retype(&browser, "#f-timeout", "600").await;
    browser.click("#task-form button[type=submit]").await;
    browser.wait_for("the task's page again", "return location.hash === '#/task/made-in-the-form'").await;
    let (_, task) = d.get("/v1/tasks/made-in-the-form").await;
    assert_eq!(task["step"]["content"], "steps:\n  - cmd: busybox echo edited-in-the-form\n", "{task}");
    assert_eq!(task["values"], json!({"colour": "blue"}), "{task}");
    assert_eq!(task["timeout"], 600, "{task}");
    assert_eq!(task["triggers"]["base_image"]["enabled"], false, "the form keeps what the page switched: {task}");
    assert_eq!((&task["timers"][0]["schedule"], &task["timers"][0]["enabled"]), (&json!("0 4 * * *"), &json!(false)));
    browser.screenshot("task-form-saved").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_resume_from_the_page_turns_the_failed_node_green() {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(1).await;
    // step3 fails the first time and succeeds on resume, since the failed run's workspace is kept.
    let file = "steps:\n  - id: step1\n    cmd: busybox sh -c 'echo a > /workspace/a'\n\
                \x20 - id: step3\n    cmd: busybox sh -c 'test -f /workspace/fixed || { touch /workspace/fixed; exit 1; }'\n";
    let id = finished_run(&d, "resume-in-browser", file, "Failed").await;
    browser.log_in(&d.url, &d.token).await;
    browser.open(&format!("{}/#/run/{id}", d.url)).await;
    browser
        .wait_for(
            "the failed node and the Resume button",
            "return document.querySelector('#dag .node[data-step=\"step3\"]')?.classList.contains('Failed') \
               && !document.getElementById('resume').hidden",
        )
        .await;
    browser.click("#resume").await;
    let nodes = browser
        .wait_for(
            "the resumed run's page, finished, with step3 green",
            &format!(
                "const f = document.getElementById('facts')?.innerText || ''; \
                 const n = document.querySelector('#dag .node[data-step=\"step3\"]'); \
                 return !location.hash.endsWith('/{id}') && f.includes('Succeeded') && f.includes('Resumed from') \
                   && f.includes('{id}') && n?.classList.contains('Succeeded') && location.hash"
            ),
        )
        .await;
    browser.screenshot("run-resumed").await;
    let new_id = nodes.as_str().unwrap().trim_start_matches("#/run/").to_string();
    let resumed = d.wait_run(&new_id).await;
    assert_eq!((&resumed["status"], &resumed["resumed_from"]), (&json!("Succeeded"), &json!(id)), "{resumed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_refused_resume_says_why_next_to_the_button() {
    let Some(browser) = Browser::start().await else { return };
    let d = TestDaemon::start(1).await;
    let file = "steps:\n  - cmd: busybox sh -c 'exit 3'\n";
    let id = finished_run(&d, "resume-refused", file, "Failed").await;
    // Someone else resumes it first, which takes its workspace; the page, still showing the
    // failed run, offers Resume, and the daemon refuses it.
    let (status, other) = d.post(&format!("/v1/runs/{id}/resume"), json!({})).await;
    assert_eq!(status, 201, "{other}");
    let other = other["id"].as_str().unwrap().to_string();
    d.wait_run(&other).await;
    browser.log_in(&d.url, &d.token).await;
    browser.open(&format!("{}/#/run/{id}", d.url)).await;
    browser.wait_for("the Resume button", "return document.getElementById('resume')?.hidden === false").await;
    browser.click("#resume").await;
    let said = browser.wait_for("the refusal", "return document.getElementById('run-error').innerText").await;
    let said = said.as_str().unwrap();
    assert!(said.starts_with("Resume refused: ") && said.contains(&format!("run {other} resumed it")), "{said}");
    browser.screenshot("run-resume-refused").await;
    assert!(browser.eval("return location.hash", json!([])).await.as_str().unwrap().ends_with(&id));
}
