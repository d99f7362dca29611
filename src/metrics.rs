//! The daemon's Prometheus metrics: every family in one registry, the few ways to move them, and
//! the text a scrape of `GET /metrics` gets.
//!
//! Labels take only values from small fixed sets (statuses, trigger kinds, step kinds, providers,
//! outcomes, error kinds) and this node's id, never a run id, task name or message: a series per
//! run would grow the scrape, and Prometheus' memory, without bound. Values outside a set are
//! folded into `other` so that a caller's mistake cannot break that rule.
//!
//! The hot paths (log output, worker slots) hold the metric's atomic itself; the rest look up
//! their labelled child, a read lock that nothing holds for long, once per run, step or delivery.
//!
//! One `Metrics` per node (tests start several nodes in one process and each scrapes its own).

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// The `Content-Type` of the scrape: Prometheus' text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Statuses a run waits or executes in: the `drydock_runs` gauge's `status` values.
pub const ACTIVE_STATUSES: [&str; 3] = ["Queued", "Running", "AwaitingApproval"];
/// Statuses a run ends in.
const FINAL_STATUSES: [&str; 5] = ["Succeeded", "Failed", "Canceled", "Timeout", "Error"];
/// What started a run (`api::Trigger`'s kinds).
pub const TRIGGER_KINDS: [&str; 4] = ["manual", "source", "timer", "base_image"];
/// Kinds of step.
const STEP_KINDS: [&str; 3] = ["cmd", "build", "push"];
/// Statuses a step ends in.
const STEP_STATUSES: [&str; 6] = ["Succeeded", "Failed", "Skipped", "Canceled", "Timeout", "Reused"];
/// Webhook receivers.
const PROVIDERS: [&str; 4] = ["github", "gitlab", "gitea", "generic"];
/// What became of a webhook delivery.
const DELIVERY_OUTCOMES: [&str; 9] =
    ["queued", "ignored", "failed", "refused", "pong", "bad_request", "not_found", "redelivered", "unavailable"];
/// What a base-image check found.
const CHECK_RESULTS: [&str; 3] = ["unchanged", "changed", "error"];
/// `registry::RegistryError::kind` values.
const REGISTRY_ERRORS: [&str; 8] =
    ["not_found", "unauthorized", "rate_limited", "server", "timeout", "transport", "invalid", "protocol"];
/// What became of a timer's occurrence.
const TIMER_OUTCOMES: [&str; 3] = ["fired", "failed", "skipped"];

type Labels<const N: usize> = [(&'static str, &'static str); N];

/// `value` if it is one of `known`, else `other`.
fn bounded(value: &str, known: &[&'static str]) -> &'static str {
    known.iter().copied().find(|k| *k == value).unwrap_or("other")
}

/// Run durations: seconds to hours (the longest run timeout ACR allows is 8 h).
const RUN_SECONDS: &[f64] = &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0];
/// Step durations: a `cmd` that echoes to a long build.
const STEP_SECONDS: &[f64] = &[0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
/// Queue waits: an idle node claims within a poll; a busy one can keep runs waiting for hours.
const WAIT_SECONDS: &[f64] = &[0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0];

type HistogramFamily<const N: usize> = Family<Labels<N>, Histogram, fn() -> Histogram>;

fn run_histogram() -> Histogram {
    Histogram::new(RUN_SECONDS.iter().copied())
}

fn step_histogram() -> Histogram {
    Histogram::new(STEP_SECONDS.iter().copied())
}

/// Bytes written to run logs: held by the log store, one atomic add per line.
#[derive(Clone, Debug, Default)]
pub struct LogBytes(Counter);

impl LogBytes {
    /// Counts `n` bytes written.
    pub fn add(&self, n: u64) {
        self.0.inc_by(n);
    }
}

/// This node's worker slots in use: held by the worker pool.
#[derive(Clone, Debug, Default)]
pub struct WorkerSlots(Gauge);

impl WorkerSlots {
    /// A slot taken by a run, given back when the guard drops.
    pub fn take(&self) -> SlotInUse {
        self.0.inc();
        SlotInUse(self.0.clone())
    }
}

/// One worker slot in use; dropping it gives it back.
#[derive(Debug)]
pub struct SlotInUse(Gauge);

impl Drop for SlotInUse {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Every metric of a node.
pub struct Metrics {
    registry: Registry,
    runs: Family<Labels<2>, Gauge>,
    runs_finished: Family<Labels<2>, Counter>,
    run_duration: HistogramFamily<1>,
    step_duration: HistogramFamily<2>,
    queue_wait: Histogram,
    webhook_deliveries: Family<Labels<2>, Counter>,
    base_image_checks: Family<Labels<1>, Counter>,
    registry_errors: Family<Labels<1>, Counter>,
    timer_occurrences: Family<Labels<1>, Counter>,
    log_bytes: LogBytes,
    worker_slots: WorkerSlots,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of node `node` with `concurrency` worker slots. Every counter and gauge series
    /// of the fixed sets starts at zero, so that dashboards and `rate()` see it before its first
    /// event (histograms appear with their first observation: a zero series of each would
    /// triple the scrape).
    pub fn new(node: &str, concurrency: usize) -> Metrics {
        let mut registry = Registry::with_prefix("drydock");
        let metrics = Metrics {
            runs: Family::default(),
            runs_finished: Family::default(),
            run_duration: Family::new_with_constructor(run_histogram),
            step_duration: Family::new_with_constructor(step_histogram),
            queue_wait: Histogram::new(WAIT_SECONDS.iter().copied()),
            webhook_deliveries: Family::default(),
            base_image_checks: Family::default(),
            registry_errors: Family::default(),
            timer_occurrences: Family::default(),
            log_bytes: LogBytes::default(),
            worker_slots: WorkerSlots::default(),
            registry: Registry::default(),
        };
        metrics.start_at_zero();

        let worker_slots = metrics.register(&mut registry, node, concurrency);
        Metrics { registry, worker_slots, ..metrics }
    }

    /// Creates the counter and gauge series of the fixed label sets.
    fn start_at_zero(&self) {
        for status in ACTIVE_STATUSES {
            for trigger in TRIGGER_KINDS {
                self.runs.get_or_create_owned(&[("status", status), ("trigger", trigger)]);
            }
        }
        for status in FINAL_STATUSES {
            for trigger in TRIGGER_KINDS {
                self.runs_finished.get_or_create_owned(&[("status", status), ("trigger", trigger)]);
            }
        }
        for provider in PROVIDERS {
            for outcome in DELIVERY_OUTCOMES {
                self.webhook_deliveries.get_or_create_owned(&[("provider", provider), ("outcome", outcome)]);
            }
        }
        for result in CHECK_RESULTS {
            self.base_image_checks.get_or_create_owned(&[("result", result)]);
        }
        for kind in REGISTRY_ERRORS {
            self.registry_errors.get_or_create_owned(&[("kind", kind)]);
        }
        for outcome in TIMER_OUTCOMES {
            self.timer_occurrences.get_or_create_owned(&[("outcome", outcome)]);
        }
    }

    /// Registers every family in `registry`; returns the gauge of this node's slots in use.
    fn register(&self, registry: &mut Registry, node: &str, concurrency: usize) -> WorkerSlots {
        registry.register(
            "runs",
            "Runs waiting or executing, in the whole database (every node reports the same numbers: take max, not sum)",
            self.runs.clone(),
        );
        registry.register(
            "runs_finished",
            "Runs that ended, counted by the node that ended them",
            self.runs_finished.clone(),
        );
        registry.register_with_unit(
            "run_duration",
            "Time from a run's start on a node to its end",
            Unit::Seconds,
            self.run_duration.clone(),
        );
        registry.register_with_unit(
            "step_duration",
            "Time from a step's start to its end",
            Unit::Seconds,
            self.step_duration.clone(),
        );
        registry.register_with_unit(
            "queue_wait",
            "Time from a run's queuing (or approval request) to its start on this node",
            Unit::Seconds,
            self.queue_wait.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries received, by receiver and what became of them",
            self.webhook_deliveries.clone(),
        );
        registry.register(
            "base_image_checks",
            "Registry checks of watched base images, by what they found",
            self.base_image_checks.clone(),
        );
        registry.register(
            "registry_errors",
            "Failed registry requests of the base-image watcher, by kind",
            self.registry_errors.clone(),
        );
        registry.register(
            "timer_occurrences",
            "Timer occurrences handled: fired (a run queued), failed (none could be queued) or skipped (missed while no node was up)",
            self.timer_occurrences.clone(),
        );
        registry.register_with_unit(
            "log_written",
            "Bytes written to run logs on this node",
            Unit::Bytes,
            self.log_bytes.0.clone(),
        );
        let node_label = [("node", node.to_string())];
        let slots: Family<[(&'static str, String); 1], Gauge> = Family::default();
        slots.get_or_create(&node_label).set(concurrency as i64);
        registry.register("worker_slots", "Runs this node executes at once at most (--concurrency)", slots);
        let in_use: Family<[(&'static str, String); 1], Gauge> = Family::default();
        let in_use_gauge = in_use.get_or_create_owned(&node_label);
        registry.register("worker_slots_in_use", "Worker slots held by runs on this node", in_use);
        registry.register(
            "build",
            "The running build: version and git commit",
            Info::new([("version", crate::version::VERSION), ("commit", crate::version::COMMIT)]),
        );
        WorkerSlots(in_use_gauge)
    }

    /// The counter the log store adds written bytes to.
    pub fn log_bytes(&self) -> LogBytes {
        self.log_bytes.clone()
    }

    /// The gauge of this node's worker slots in use.
    pub fn worker_slots(&self) -> WorkerSlots {
        self.worker_slots.clone()
    }

    /// A run ended in `status` (`RunStatus::as_str`); `ran` is how long it executed, when it did.
    pub fn run_finished(&self, status: &str, trigger: &str, ran: Option<Duration>) {
        let status = bounded(status, &FINAL_STATUSES);
        self.runs_finished.get_or_create(&[("status", status), ("trigger", bounded(trigger, &TRIGGER_KINDS))]).inc();
        if let Some(ran) = ran {
            self.run_duration.get_or_create(&[("status", status)]).observe(ran.as_secs_f64());
        }
    }

    /// A step of kind `kind` (`cmd`, `build`, `push`) ended in `status` after `ran`.
    pub fn step_finished(&self, kind: &str, status: &str, ran: Duration) {
        let labels = [("kind", bounded(kind, &STEP_KINDS)), ("status", bounded(status, &STEP_STATUSES))];
        self.step_duration.get_or_create(&labels).observe(ran.as_secs_f64());
    }

    /// A node claimed a run that had waited `waited` since it was queued.
    pub fn run_started(&self, waited: Duration) {
        self.queue_wait.observe(waited.as_secs_f64());
    }

    /// A webhook delivery to `provider`'s receiver ended in `outcome`.
    pub fn webhook_delivery(&self, provider: &str, outcome: &str) {
        let labels = [("provider", bounded(provider, &PROVIDERS)), ("outcome", bounded(outcome, &DELIVERY_OUTCOMES))];
        self.webhook_deliveries.get_or_create(&labels).inc();
    }

    /// The watcher checked a base image: `unchanged`, `changed` or `error`.
    pub fn base_image_checked(&self, result: &str) {
        self.base_image_checks.get_or_create(&[("result", bounded(result, &CHECK_RESULTS))]).inc();
    }

    /// A registry request failed with `kind` (`RegistryError::kind`).
    pub fn registry_error(&self, kind: &str) {
        self.registry_errors.get_or_create(&[("kind", bounded(kind, &REGISTRY_ERRORS))]).inc();
    }

    /// `count` occurrences of a timer were `fired`, `failed` or `skipped`.
    pub fn timer_occurrences(&self, outcome: &str, count: u64) {
        self.timer_occurrences.get_or_create(&[("outcome", bounded(outcome, &TIMER_OUTCOMES))]).inc_by(count);
    }

    /// The scrape: sets the run gauges from `active` (status, trigger kind, runs), counted in the
    /// database just before, and writes every family.
    pub fn encode(&self, active: &[(String, String, i64)]) -> String {
        for status in ACTIVE_STATUSES {
            for trigger in TRIGGER_KINDS {
                let n = active.iter().filter(|(s, t, _)| s == status && t == trigger).map(|(_, _, n)| n).sum();
                self.runs.get_or_create(&[("status", status), ("trigger", trigger)]).set(n);
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_outside_their_sets_are_folded_into_other() {
        let metrics = Metrics::new("n1", 2);
        metrics.run_finished("run-4f2a", "manual", None);
        metrics.webhook_delivery("github", "a message with spaces");
        let text = metrics.encode(&[]);
        assert!(text.contains(r#"drydock_runs_finished_total{status="other",trigger="manual"} 1"#), "{text}");
        assert!(text.contains(r#"drydock_webhook_deliveries_total{provider="github",outcome="other"} 1"#), "{text}");
        assert!(!text.contains("run-4f2a") && !text.contains("spaces"));
    }

    #[test]
    fn a_slot_in_use_is_given_back_when_dropped() {
        let metrics = Metrics::new("n1", 2);
        let slot = metrics.worker_slots().take();
        assert!(metrics.encode(&[]).contains(r#"drydock_worker_slots_in_use{node="n1"} 1"#));
        drop(slot);
        assert!(metrics.encode(&[]).contains(r#"drydock_worker_slots_in_use{node="n1"} 0"#));
    }

    #[test]
    fn the_run_gauges_are_what_the_database_counted() {
        let metrics = Metrics::new("n1", 2);
        metrics.encode(&[("Queued".into(), "timer".into(), 3)]);
        let text = metrics.encode(&[("Running".into(), "manual".into(), 1)]);
        assert!(text.contains(r#"drydock_runs{status="Queued",trigger="timer"} 0"#), "{text}");
        assert!(text.contains(r#"drydock_runs{status="Running",trigger="manual"} 1"#), "{text}");
    }
}
