//! The HTTP API (axum): `/v1` behind bearer tokens, health endpoints without, and the OpenAPI
//! description generated from the same route table the router is built from. Handlers parse the
//! request, call one method of the daemon's services (or of a trigger), and map the answer to
//! HTTP; none of them touches the store.

mod auth;
mod contexts;
pub mod dashboard;
mod error;
mod health;
mod hooks;
mod images;
pub mod listen;
mod metrics;
mod nodes;
pub mod openapi;
mod registry_hooks;
mod runs;
mod tasks;
mod tokens;

pub use error::{HttpError, HttpResult};

use crate::daemon::Service;
use crate::triggers::Hub;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// JSON request bodies larger than this are refused (uploads have their own, larger cap).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// One documented route.
#[derive(Clone, Debug)]
pub struct RouteDoc {
    /// HTTP method.
    pub method: &'static str,
    /// Path in axum/OpenAPI syntax (`/v1/tasks/{name}`).
    pub path: &'static str,
    /// One line for the OpenAPI summary.
    pub summary: &'static str,
    /// Schema of the JSON request body, if any.
    pub request: Option<&'static str>,
    /// Schema of the success response, if JSON.
    pub response: Option<&'static str>,
    /// Whether a bearer token is required.
    pub auth: bool,
}

/// Builds the router and the table of routes together, so they cannot disagree.
struct Routes {
    api: Router<Arc<Service>>,
    public: Router<Arc<Service>>,
    docs: Vec<RouteDoc>,
}

impl Routes {
    fn add(mut self, doc: RouteDoc, handler: MethodRouter<Arc<Service>>) -> Self {
        if doc.auth {
            self.api = self.api.route(doc.path, handler);
        } else {
            self.public = self.public.route(doc.path, handler);
        }
        self.docs.push(doc);
        self
    }
}

fn doc(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<&'static str>,
    response: Option<&'static str>,
) -> RouteDoc {
    RouteDoc { method, path, summary, request, response, auth: path.starts_with("/v1") }
}

macro_rules! route {
    ($routes:ident, $m:ident, $path:literal, $summary:literal, $req:expr, $resp:expr, $handler:expr) => {
        $routes = $routes.add(doc(stringify!($m), $path, $summary, $req, $resp), on(MethodFilter::$m, $handler));
    };
}

fn routes() -> Routes {
    let mut r = Routes { api: Router::new(), public: Router::new(), docs: Vec::new() };
    route!(r, GET, "/", "The web dashboard", None, None, dashboard::index);
    route!(r, GET, "/ui/app.js", "The dashboard's script", None, None, dashboard::script);
    route!(r, GET, "/ui/app.css", "The dashboard's style sheet", None, None, dashboard::style);
    route!(r, POST, "/ui/login", "Dashboard login: a token in, a session cookie out", None, None, dashboard::login);
    route!(r, POST, "/ui/logout", "Dashboard logout", None, None, dashboard::logout);
    route!(r, GET, "/healthz", "The process answers", None, None, health::healthz);
    route!(r, GET, "/readyz", "The database answers", None, None, health::readyz);
    route!(r, GET, "/v1/openapi.json", "This description", None, None, openapi::serve);
    route!(
        r,
        GET,
        "/v1/info",
        "The daemon's version, node, registry and labels",
        None,
        Some("DaemonInfo"),
        health::info
    );
    route!(
        r,
        GET,
        "/v1/nodes",
        "The nodes of the database: state, labels, slots in use, leases held, roles",
        None,
        Some("NodeInfo"),
        nodes::list
    );
    route!(
        r,
        POST,
        "/v1/nodes/{id}/drain",
        "Drain a node: no new runs; it leaves once its runs end (within its grace period)",
        None,
        Some("NodeInfo"),
        nodes::drain
    );
    route!(
        r,
        POST,
        "/v1/contexts",
        "Upload a context archive (tar, optionally gzip)",
        None,
        Some("ContextInfo"),
        contexts::upload
    );
    route!(r, POST, "/v1/runs", "Queue a quick build or quick run", Some("RunRequest"), Some("Run"), runs::create);
    route!(r, GET, "/v1/runs", "List runs, newest first", None, Some("RunPage"), runs::list);
    route!(r, GET, "/v1/runs/{id}", "One run", None, Some("Run"), runs::show);
    route!(
        r,
        GET,
        "/v1/runs/{id}/logs",
        "A run's log (text, or SSE with Accept: text/event-stream); ?timestamps=true, ?download=1, ?offset=N",
        None,
        None,
        runs::logs
    );
    route!(r, POST, "/v1/runs/{id}/cancel", "Cancel a run", None, Some("Run"), runs::cancel);
    route!(
        r,
        POST,
        "/v1/runs/{id}/rerun",
        "Queue a new run with the inputs of this one (values may be overridden)",
        Some("RerunRequest"),
        Some("Run"),
        runs::rerun
    );
    route!(
        r,
        POST,
        "/v1/runs/{id}/resume",
        "Go on from the failed step of a run that did not succeed: its succeeded steps are reused, in its kept workspace",
        Some("ResumeRequest"),
        Some("Run"),
        runs::resume
    );
    route!(
        r,
        POST,
        "/v1/runs/{id}/approve",
        "Approve a run waiting for approval (it is queued, with the task's secrets)",
        None,
        Some("Run"),
        runs::approve
    );
    route!(
        r,
        POST,
        "/v1/runs/{id}/reject",
        "Reject a run waiting for approval (it ends Canceled; body: {\"reason\": …})",
        None,
        Some("Run"),
        runs::reject
    );
    route!(
        r,
        POST,
        "/v1/prune",
        "Delete finished runs and their logs past the retention limits (or list them: dry_run)",
        Some("PruneRequest"),
        Some("PruneReport"),
        runs::prune
    );
    route!(r, GET, "/v1/tasks", "List tasks", None, Some("Task"), tasks::list);
    route!(r, POST, "/v1/tasks", "Create a task", Some("Task"), Some("Task"), tasks::create);
    route!(r, GET, "/v1/tasks/{name}", "One task", None, Some("Task"), tasks::show);
    route!(r, PATCH, "/v1/tasks/{name}", "Change a task (JSON merge patch)", Some("Task"), Some("Task"), tasks::patch);
    route!(r, DELETE, "/v1/tasks/{name}", "Delete a task", None, None, tasks::delete);
    route!(r, POST, "/v1/tasks/{name}/runs", "Run a task", Some("TaskRunRequest"), Some("Run"), tasks::run);
    route!(r, GET, "/v1/tasks/{name}/timers", "List a task's timers", None, Some("Timer"), tasks::list_timers);
    route!(r, POST, "/v1/tasks/{name}/timers", "Add a timer", Some("Timer"), Some("Timer"), tasks::add_timer);
    route!(r, PUT, "/v1/tasks/{name}/timers/{timer}", "Change a timer", Some("Timer"), Some("Timer"), tasks::put_timer);
    route!(r, DELETE, "/v1/tasks/{name}/timers/{timer}", "Remove a timer", None, None, tasks::delete_timer);
    route!(
        r,
        GET,
        "/v1/tasks/{name}/timer-events",
        "A task's timer history: fired, skipped and failed occurrences",
        None,
        Some("TimerEvent"),
        tasks::timer_events
    );
    route!(
        r,
        GET,
        "/v1/tasks/{name}/credentials",
        "List a task's registry logins",
        None,
        Some("Credential"),
        tasks::list_credentials
    );
    route!(
        r,
        POST,
        "/v1/tasks/{name}/credentials",
        "Add a registry login",
        Some("Credential"),
        Some("Credential"),
        tasks::add_credential
    );
    route!(
        r,
        DELETE,
        "/v1/tasks/{name}/credentials/{login_server}",
        "Remove a registry login",
        None,
        None,
        tasks::delete_credential
    );
    route!(r, POST, "/hooks/github", "GitHub webhook (X-Hub-Signature-256)", None, None, hooks::github);
    route!(r, POST, "/hooks/gitlab", "GitLab webhook (X-Gitlab-Token)", None, None, hooks::gitlab);
    route!(r, POST, "/hooks/gitea", "Gitea webhook (X-Gitea-Signature)", None, None, hooks::gitea);
    route!(r, POST, "/hooks/forgejo", "Forgejo webhook (X-Forgejo-Signature)", None, None, hooks::gitea);
    route!(r, POST, "/hooks/generic/{task}", "Generic signed webhook for one task", None, None, hooks::generic);
    route!(
        r,
        GET,
        "/v1/hooks/deliveries",
        "List webhook deliveries, newest first",
        None,
        Some("Delivery"),
        hooks::deliveries
    );
    route!(
        r,
        GET,
        "/v1/hooks/outgoing",
        "List commit statuses and run events sent (or being sent), newest first, with their answers",
        None,
        Some("OutgoingDelivery"),
        hooks::outgoing
    );
    route!(
        r,
        GET,
        "/v1/tasks/{name}/dependencies",
        "A task's base images and outputs, with the watcher's state",
        None,
        Some("TaskDependencies"),
        images::task_dependencies
    );
    route!(
        r,
        GET,
        "/v1/images",
        "Watched base images and the tasks that use them",
        None,
        Some("WatchedImage"),
        images::list
    );
    route!(
        r,
        POST,
        "/hooks/registry",
        "Registry push notifications (bearer notification token)",
        None,
        None,
        registry_hooks::notify
    );
    route!(r, GET, "/v1/tokens", "List API tokens", None, Some("TokenInfo"), tokens::list);
    route!(r, POST, "/v1/tokens", "Create an API token", Some("CreateToken"), Some("NewToken"), tokens::create);
    route!(r, DELETE, "/v1/tokens/{id}", "Revoke an API token", None, None, tokens::revoke);
    r
}

/// The documented routes (for the OpenAPI description and its test).
pub fn route_docs() -> Vec<RouteDoc> {
    routes().docs
}

/// The whole application over the daemon's services and the triggers' hub. `shutdown` ends live
/// log streams when the daemon stops.
///
/// `stream_keepalive` is how often a quiet log stream sends a comment: more often than the
/// listener's idle timeout, so a follower waiting on a slow step is never cut off.
pub fn router(svc: Arc<Service>, hub: Arc<Hub>, shutdown: CancellationToken, stream_keepalive: Duration) -> Router {
    let r = routes();
    let api = r
        .api
        .route_layer(axum::middleware::from_fn_with_state(svc.clone(), auth::require_token))
        .layer(axum::Extension(shutdown))
        .layer(axum::Extension(runs::StreamKeepAlive(stream_keepalive)));
    // JSON bodies are small; uploads read the raw body under their own cap (`--max-upload`).
    r.public.merge(api).layer(axum::Extension(hub)).layer(DefaultBodyLimit::max(MAX_JSON_BODY)).with_state(svc)
}

/// `GET /metrics` alone: merged into the API's router, or served on a listener of its own
/// (`drydock serve --metrics-listen`).
pub fn metrics_router(svc: Arc<Service>) -> Router {
    Router::new().route("/metrics", axum::routing::get(metrics::scrape)).with_state(svc)
}
