//! The dashboard's server side: embedded assets, token login to an HttpOnly session cookie that
//! `/v1` accepts, logout, and revocation. (Browser tests are still to come; see ARCHITECTURE.md.)

use crate::helper::daemon::TestDaemon;
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
