//! The dashboard: its server side (embedded assets, token login to an HttpOnly session cookie
//! that `/v1` accepts, logout, revocation), and the pages in headless Chromium: log in, run a
//! task and watch its steps turn green as the log streams, cancel a run. Screenshots are saved
//! under `$CARGO_TARGET_DIR/browser-screenshots/`.

use crate::helper::browser::Browser;
use crate::helper::daemon::{TestDaemon, inline_task};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_and_a_login_cookie_authenticates_the_api() {
    let d = TestDaemon::start(1).await;
    let http = reqwest::Client::new();
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
    let streaming = "steps:\n  - id: count\n    cmd: busybox sh -c 'for i in 1 2 3; do echo line $i; sleep 1; done'\n  - id: after\n    cmd: busybox echo all done\n";
    assert_eq!(d.post("/v1/tasks", inline_task("browser-task", streaming)).await.0, 201);
    assert_eq!(d.post("/v1/tasks", inline_task("slow-task", "steps:\n  - cmd: busybox sleep 300\n")).await.0, 201);

    // Log in through the form.
    browser.open(&format!("{}/", d.url)).await;
    browser.wait_for("the login form", "return document.getElementById('token')").await;
    browser.type_into("#token", &d.token).await;
    browser.click("#login-form button[type=submit]").await;
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
    // The graph: two boxes, one edge (`after` needs `count`), both green.
    browser
        .wait_for(
            "the graph green",
            "const g=[...document.querySelectorAll('#dag svg g')]; \
             return g.length === 2 && g.every(e => e.classList.contains('Succeeded')) \
               && document.querySelectorAll('#dag svg path').length === 1",
        )
        .await;
    let log = browser.eval("return document.getElementById('log').innerText", json!([])).await;
    assert!(log.as_str().unwrap().contains("line 3") && log.as_str().unwrap().contains("all done"), "{log}");
    browser.wait_for("the run's end", "return document.getElementById('facts').innerText.includes('Succeeded')").await;
    browser.screenshot("run-succeeded").await;

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
