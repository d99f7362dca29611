//! Runs that start themselves: git webhooks and polling (`source`), base-image digest changes
//! and cascades (`base_image`), and cron timers (`timer`).
//!
//! Triggers sit above the daemon's services and call down into them; the services never call
//! up. The worker learns of nothing here: it reports finished runs through the
//! [`crate::daemon::RunFinished`] it was given, which [`Cascades`] implements.
//!
//! Every trigger queues runs through `Service::run_task` with an idempotency key derived from
//! the event (`timer:<task>:<timer>:<occurrence>`, `src:<task>:<ref>:<commit>`,
//! `image:<task>:<image>:<digest>`), so an event seen twice, by two nodes, or before and after a
//! restart, queues one run.

pub mod base_image;
pub mod source;
pub mod timer;

use crate::daemon::{RunFinished, Service};
use crate::registry::{Credentials, RegistryClient};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Trigger settings of a daemon (from `drydock serve` flags).
#[derive(Clone)]
pub struct TriggerConfig {
    /// How often each distinct base image is checked (each check is jittered within it).
    pub watch_interval: Duration,
    /// Bearer token the registry's notifications must carry; notifications are refused without one.
    pub notification_token: Option<String>,
    /// Whether this node runs the timer scheduler, the base-image watcher and the git poller.
    pub run_loops: bool,
}

// Hand-written so that a logged configuration cannot show the notification token.
impl std::fmt::Debug for TriggerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerConfig")
            .field("watch_interval", &self.watch_interval)
            .field("notification_token", &self.notification_token.as_ref().map(|_| "<redacted>"))
            .field("run_loops", &self.run_loops)
            .finish()
    }
}

impl Default for TriggerConfig {
    fn default() -> Self {
        TriggerConfig { watch_interval: Duration::from_secs(300), notification_token: None, run_loops: true }
    }
}

/// What the trigger loops share with the HTTP layer (registry notifications, `/v1/info`).
pub struct Hub {
    /// Settings.
    pub config: TriggerConfig,
    /// Images to check at once (registry notifications, the fast path): `image@digest`, with
    /// the digest the notification named, or a bare image.
    pub recheck: mpsc::UnboundedSender<String>,
    recheck_rx: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    leading: Mutex<std::collections::BTreeSet<&'static str>>,
}

impl Hub {
    /// A hub with these settings.
    pub fn new(config: TriggerConfig) -> Self {
        let (recheck, rx) = mpsc::unbounded_channel();
        Hub { config, recheck, recheck_rx: Mutex::new(Some(rx)), leading: Mutex::new(Default::default()) }
    }

    /// The roles this node leads now.
    pub fn leading(&self) -> Vec<String> {
        self.leading.lock().map(|l| l.iter().map(|r| r.to_string()).collect()).unwrap_or_default()
    }

    fn set_leading(&self, role: &'static str, leads: bool) {
        if let Ok(mut l) = self.leading.lock() {
            if leads {
                l.insert(role);
            } else {
                l.remove(role);
            }
        }
    }

    /// The receiving end of `recheck`, once (for the watcher).
    pub fn take_recheck(&self) -> Option<mpsc::UnboundedReceiver<String>> {
        self.recheck_rx.lock().ok().and_then(|mut r| r.take())
    }

    /// Gives the receiving end back when the watcher stops (this node lost the role), so that
    /// the watcher started when it leads again still hears notifications.
    pub fn return_recheck(&self, rx: mpsc::UnboundedReceiver<String>) {
        if let Ok(mut r) = self.recheck_rx.lock() {
            *r = Some(rx);
        }
    }
}

/// Registry access for the base-image watcher.
#[derive(Clone)]
pub struct RegistryAccess {
    /// The client (rate limit, backoff and token cache per registry).
    pub client: RegistryClient,
    /// Daemon-wide logins.
    pub credentials: Credentials,
}

/// Starts the trigger loops (unless the config says this node does not run them).
pub fn start(svc: &Arc<Service>, hub: &Arc<Hub>, registry: RegistryAccess, stop: CancellationToken) {
    if !hub.config.run_loops {
        return;
    }
    // Timers run on every node: their cursors make each occurrence fire once anyway, and no
    // node has to take over when another dies.
    tokio::spawn(timer::run(svc.clone(), stop.clone()));
    // The watcher and the poller talk to outside services; one node at a time does that.
    let (s, h) = (svc.clone(), hub.clone());
    tokio::spawn(lead(svc.clone(), hub.clone(), WATCHER_ROLE, stop.clone(), move |token| {
        base_image::run(s.clone(), h.clone(), registry.clone(), token)
    }));
    let s = svc.clone();
    tokio::spawn(lead(svc.clone(), hub.clone(), POLLER_ROLE, stop, move |token| source::run(s.clone(), token)));
}

/// The role of the node that runs the base-image watcher.
pub const WATCHER_ROLE: &str = "base-image-watcher";
/// The role of the node that polls git repositories and replays stored deliveries.
pub const POLLER_ROLE: &str = "git-poller";
/// How often a node that does not lead a role tries to take it.
const LEAD_RETRY: Duration = Duration::from_secs(2);

/// Runs `work` while this node holds `role` (a database lock; see `Store::try_lead`), and tries
/// to take the role again whenever it is free, until `stop`. When the leader dies its lock goes
/// with its database session, and another node's next try takes over.
async fn lead<F, Fut>(svc: Arc<Service>, hub: Arc<Hub>, role: &'static str, stop: CancellationToken, work: F)
where
    F: Fn(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        match svc.store().try_lead(role).await {
            Ok(Some(leadership)) => {
                tracing::info!(role, "this node took the role");
                hub.set_leading(role, true);
                let token = stop.child_token();
                let lost = leadership.lost();
                tokio::select! {
                    _ = work(token.clone()) => {}
                    _ = lost.cancelled() => tracing::warn!(role, "the role was lost; trying to take it again"),
                }
                token.cancel();
                hub.set_leading(role, false);
                drop(leadership);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(role, error = %e, "cannot take the role"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(LEAD_RETRY) => {}
        }
    }
}

/// What follows a run's end: base-image bookkeeping and cascades.
pub async fn run_finished(svc: &Arc<Service>, run_id: &str) {
    if let Err(e) = base_image::run_finished(svc, run_id).await {
        tracing::warn!(run = %run_id, error = %e, "recording the run's images failed");
    }
}

/// The worker's [`RunFinished`]: records what each run built from and pushed, and queues the
/// tasks building from what it pushed.
pub struct Cascades(pub Arc<Service>);

#[async_trait::async_trait]
impl RunFinished for Cascades {
    async fn run_finished(&self, run_id: &str) {
        run_finished(&self.0, run_id).await;
    }
}
