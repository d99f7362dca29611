//! Headless Chromium driven through chromedriver's WebDriver HTTP API (the W3C protocol, spoken
//! with reqwest: no browser-automation crate needed for the few commands the tests use). Shared
//! with `benches/dashboard.rs` through `#[path]`, so it depends on nothing else in `helper`.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The WebDriver key code of Tab.
pub const TAB: &str = "\u{E004}";
/// The WebDriver key code of Enter.
pub const ENTER: &str = "\u{E007}";

/// A browser session; dropping it ends the session and stops chromedriver.
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Browser {
    /// Ends the session first (chromedriver then closes Chromium; killing only the driver would
    /// leave the browser running), with a plain blocking request since `drop` cannot await.
    fn drop(&mut self) {
        if let Some(rest) = self.base.strip_prefix("http://")
            && let Some((addr, path)) = rest.split_once('/')
            && let Ok(mut conn) = std::net::TcpStream::connect(addr)
        {
            use std::io::{Read, Write};
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                conn,
                "DELETE /{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = conn.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at 1280×900, or `None` (after saying why)
    /// when they are not installed, unless `CI` is set, where scripts/setup.sh installs them.
    pub async fn start() -> Option<Browser> {
        Browser::launch(json!({"args": Browser::args("1280,900")})).await
    }

    /// Like [`Browser::start`], with a phone's viewport: `width`×`height` CSS pixels at twice
    /// the density, touch and a mobile user agent, as Chromium's device emulation gives them.
    pub async fn start_phone(width: u32, height: u32) -> Option<Browser> {
        let device = json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0, "touch": true}});
        Browser::launch(json!({"args": Browser::args(&format!("{width},{height}")), "mobileEmulation": device})).await
    }

    fn args(size: &str) -> Vec<String> {
        // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
            .into_iter()
            .map(String::from)
            .chain([format!("--window-size={size}")])
            .collect()
    }

    async fn launch(chrome_options: Value) -> Option<Browser> {
        if Command::new("chromedriver").arg("--version").output().is_err() {
            assert!(std::env::var("CI").is_err(), "chromedriver is missing; scripts/setup.sh installs it");
            eprintln!("skipping: no chromedriver (apt-get install chromium chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut b = Browser { driver, base: format!("http://127.0.0.1:{port}"), http: drydock::tls::client() };
        for _ in 0..100 {
            if b.http.get(format!("{}/status", b.base)).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": chrome_options}}});
        let session = b.call(reqwest::Method::POST, "/session", caps).await;
        let id = session["sessionId"].as_str().expect("a WebDriver session").to_string();
        b.base = format!("{}/session/{id}", b.base);
        Some(b)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if method != reqwest::Method::GET {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert!(v["value"].get("error").is_none(), "WebDriver {path}: {v}");
        v["value"].clone()
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url})).await;
    }

    /// Loads `url` as a new document: through `about:blank`, so that a URL differing from the
    /// current one only in its `#fragment` is not a same-document hash change.
    pub async fn open_fresh(&self, url: &str) {
        self.open("about:blank").await;
        self.open(url).await;
    }

    /// Logs in to the dashboard at `base` through its form, as a person would, and waits for
    /// the first page.
    pub async fn log_in(&self, base: &str, token: &str) {
        self.open(&format!("{base}/")).await;
        self.wait_for("the login form", "return document.getElementById('token')").await;
        self.type_into("#token", token).await;
        self.click("#login-form button[type=submit]").await;
        self.wait_for("the first page after login", "return document.querySelector('main h1')?.innerText === 'Tasks'")
            .await;
    }

    async fn element(&self, css: &str) -> String {
        let e = self.call(reqwest::Method::POST, "/element", json!({"using": "css selector", "value": css})).await;
        // The W3C element reference key.
        e["element-6066-11e4-a52e-4f735466cecf"].as_str().unwrap_or_else(|| panic!("no element {css}: {e}")).to_string()
    }

    /// Types `text` into the element `css` selects, as a user would.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), json!({"text": text})).await;
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), json!({})).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", json!({"script": script, "args": args})).await
    }

    /// Runs `script` (a function body whose last argument is the callback to call with the
    /// result) and waits for the callback, up to 60 s.
    #[allow(dead_code)] // the dashboard bench times page loads with it
    pub async fn eval_async(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/timeouts", json!({"script": 60_000})).await;
        self.call(reqwest::Method::POST, "/execute/async", json!({"script": script, "args": args})).await
    }

    /// Presses and releases each key in turn, as a keyboard does, into whatever has the focus.
    /// Keys are WebDriver key codes: [`TAB`] and [`ENTER`] or plain characters.
    pub async fn keys(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| [json!({"type": "keyDown", "value": k}), json!({"type": "keyUp", "value": k})])
            .collect();
        self.call(
            reqwest::Method::POST,
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// Waits until `script` returns something truthy; panics with `what` after 60 s.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        for _ in 0..600 {
            let v = self.eval(script, json!([])).await;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {what}");
    }

    /// Saves a PNG screenshot as a test artifact under `target/browser-screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        let shot = self.call(reqwest::Method::GET, "/screenshot", Value::Null).await;
        let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, shot.as_str().unwrap()).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-screenshots");
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map_or(dir, |t| std::path::PathBuf::from(t).join("browser-screenshots"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}
