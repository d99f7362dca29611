//! The composition root: `drydock serve` as a library function, so that tests start a node
//! in-process on port 0. Only this module wires the layers together: it opens the store, the
//! secret key and the logs, connects the engine, builds the daemon's services, starts the
//! workers (telling them about finished runs through the triggers' [`triggers::Cascades`]), the
//! trigger loops and the upkeep loops, and serves the HTTP layer.
//!
//! Start-up order matters for restart safety: runs this node was executing when it died are
//! marked Error ("daemon restarted") and their Docker objects removed before any new run is
//! claimed; queued runs simply wait for the workers.

use crate::api::NodeState;
use crate::daemon::logs::LogStore;
use crate::daemon::nodes::Presence;
use crate::daemon::{self, DaemonSettings, Service, upkeep, worker};
use crate::docker::DockerHost;
use crate::engine::{ContainerNaming, Engine, EngineConfig, janitor};
use crate::metrics::Metrics;
use crate::registry::{ClientConfig, Credentials, RegistryClient};
use crate::secrets::Cipher;
use crate::store::{Store, facts};
use crate::taskfile::ImageAliases;
use crate::triggers::{self, Hub};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a node is started (from `drydock serve` flags, or a test).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Data directory: database, logs, uploads, secret key, node id.
    pub data_dir: PathBuf,
    /// Database URL; default SQLite in the data directory.
    pub database_url: Option<String>,
    /// Runs executed at once by this node.
    pub concurrency: usize,
    /// Registry for `$Registry` and for image names without one.
    pub registry: String,
    /// Labels this node advertises (tasks may require them).
    pub labels: BTreeMap<String, String>,
    /// Docker engine (`DOCKER_HOST` syntax); default the environment's.
    pub docker_host: Option<String>,
    /// Allow privileged steps.
    pub allow_privileged: bool,
    /// Mount the engine's socket into steps (ACR does; off by default in the daemon).
    pub expose_docker_socket: bool,
    /// The idle networks runs whose steps overlap take (`None`: each such run makes its own).
    pub network_pool: Option<crate::engine::network_pool::NetworkPool>,
    /// Use BuildKit for every build.
    pub buildkit: bool,
    /// Registry logins for all runs, `host=user:password`.
    pub registry_logins: Vec<String>,
    /// How long running runs may go on after SIGTERM before they are stopped.
    pub shutdown_grace: Duration,
    /// Largest context upload accepted, bytes.
    pub max_upload_bytes: u64,
    /// Most bytes of steps' output kept in one run's log.
    pub max_log_bytes: u64,
    /// How long an upload that no task or run names is kept (for the run about to use it).
    pub upload_grace: Duration,
    /// Image aliases for `cmd` in v1.1.0 files.
    pub image_aliases: ImageAliases,
    /// Trigger settings.
    pub triggers: crate::triggers::TriggerConfig,
    /// The clock trigger loops use (a manual one in tests).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// How long a claimed run stays this node's without a heartbeat.
    pub lease: Duration,
    /// The key secrets are sealed with (default `DATA_DIR/secret.key`); every node of a database
    /// needs the same one.
    pub secret_key_file: Option<PathBuf>,
    /// The URL other nodes reach this one at (default `http://<listen address>`).
    pub advertise_url: Option<String>,
    /// How long finished runs and their logs are kept.
    pub retention: crate::daemon::retention::Retention,
    /// How often the retention policy is applied.
    pub retention_every: Duration,
    /// New runs and uploads are refused below this much free space on the data directory's disk.
    pub min_free_bytes: u64,
    /// Header-read and idle timeouts and the connection cap of the API listener.
    pub connections: crate::server::listen::ConnectionLimits,
    /// How long a run that did not succeed keeps its workspace volume for `drydock runs resume`.
    pub keep_failed_workspace: Duration,
    /// Where `GET /metrics` is served instead of the API's address (which then answers 404 to it).
    pub metrics_listen: Option<String>,
    /// Where every run's events go (`--notify-url`, `--notify-secret`) and how deliveries are
    /// retried; the dashboard's URL in commit statuses defaults to the advertised one.
    pub notify: crate::daemon::outgoing::NotifySettings,
}

impl NodeConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: PathBuf) -> Self {
        NodeConfig {
            data_dir,
            database_url: None,
            concurrency: 4,
            registry: String::new(),
            labels: BTreeMap::new(),
            docker_host: None,
            allow_privileged: false,
            expose_docker_socket: false,
            network_pool: crate::engine::network_pool::NetworkPool::new(
                crate::engine::network_pool::DEFAULT_POOL,
                crate::engine::network_pool::DEFAULT_IDLE,
            ),
            buildkit: false,
            registry_logins: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            max_upload_bytes: 2 << 30,
            max_log_bytes: crate::daemon::logs::DEFAULT_MAX_LOG_BYTES,
            upload_grace: crate::daemon::tokens::UPLOAD_GRACE,
            image_aliases: ImageAliases::default(),
            triggers: crate::triggers::TriggerConfig::default(),
            clock: Arc::new(crate::clock::SystemClock),
            lease: crate::daemon::worker::LEASE,
            secret_key_file: None,
            advertise_url: None,
            retention: Default::default(),
            retention_every: crate::daemon::retention::RETENTION_INTERVAL,
            min_free_bytes: crate::daemon::retention::DEFAULT_MIN_FREE_BYTES,
            connections: Default::default(),
            keep_failed_workspace: crate::daemon::resume::DEFAULT_KEEP_FAILED_WORKSPACE,
            metrics_listen: None,
            notify: Default::default(),
        }
    }
}

/// The database's instance id, created by the first node that starts on it.
async fn instance_id(store: &Store) -> Result<String, StartError> {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| StartError::Startup(e.to_string()))?;
    let id = crate::runid::base36(u64::from_le_bytes(raw) % 36u64.pow(4));
    // Another node may win the race: everyone uses what is stored.
    Ok(facts::instance_id(store, &format!("{id:0>4}")).await?)
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory is unusable.
    #[error("data directory {path}: {message}")]
    DataDir {
        /// Where.
        path: String,
        /// What.
        message: String,
    },
    /// The database is unusable.
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Docker is unreachable.
    #[error("{0}")]
    Docker(#[from] crate::docker::DockerError),
    /// Anything else at start-up.
    #[error("{0}")]
    Startup(String),
}

/// This node's id, kept in the data directory so that a restart recognises its own runs.
fn node_id(data_dir: &Path) -> Result<String, StartError> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let mut raw = [0u8; 4];
            getrandom::fill(&mut raw).map_err(|e| StartError::Startup(e.to_string()))?;
            let id = format!("{}-{}", janitor::hostname(), hex::encode(raw));
            crate::datadir::write(&path, &id)
                .map_err(|e| StartError::DataDir { path: path.display().to_string(), message: e.to_string() })?;
            Ok(id)
        }
    }
}

/// A running node: its services (for tests) and the handle to stop it.
pub struct Node {
    /// Shared state.
    pub service: Arc<Service>,
    /// The address the API listens on.
    pub addr: std::net::SocketAddr,
    /// The address `GET /metrics` is served on when it is not the API's.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Fire to shut down: the API stops at once, running runs get the grace period.
    pub shutdown: CancellationToken,
    /// Fire to drain: no new runs, the API goes on while running runs finish within the grace
    /// period, then the node shuts down (SIGTERM, `drydock node drain`).
    pub drain: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Node {
    /// Waits until the node has stopped.
    pub async fn wait(self) {
        let _ = self.handle.await;
    }
}

/// Opens what the services stand on and builds them, without touching Docker: the store
/// (migrated), the secret key (checked against the database), this node's id, the database's
/// instance id, the logs and the uploads directory. `engine_labels` are the engine's `os` and
/// `arch`, which the node's own labels may override.
pub async fn open_services(
    config: &NodeConfig,
    engine_labels: BTreeMap<String, String>,
) -> Result<Arc<Service>, StartError> {
    let data_dir = config.data_dir.clone();
    // Made first, whatever else the flags point elsewhere (the database, the secret key): the
    // node's id and logs live here.
    crate::datadir::create_dir(&data_dir)
        .map_err(|e| StartError::DataDir { path: data_dir.display().to_string(), message: e.to_string() })?;
    let store = daemon::open_store(&data_dir, config.database_url.as_deref()).await?;
    let key_path = config.secret_key_file.clone().unwrap_or_else(|| data_dir.join("secret.key"));
    let cipher = Cipher::load_or_create(&key_path).map_err(|e| StartError::Startup(e.to_string()))?;
    // Every node of a database must open the secrets any node sealed.
    let expected = facts::claim_secret_key_fingerprint(store.as_ref(), cipher.fingerprint()).await?;
    if expected != cipher.fingerprint() {
        return Err(StartError::Startup(format!(
            "the secret key {} is not the one this database's secrets were sealed with; every node of a \
             database needs the same key: copy secret.key from the first node, or point --secret-key-file at it",
            key_path.display()
        )));
    }
    let node_id = node_id(&data_dir)?;
    let instance = instance_id(store.as_ref()).await?;
    let metrics = Arc::new(Metrics::new(&node_id, config.concurrency));
    let logs = LogStore::new(data_dir.join("logs"), config.max_log_bytes, metrics.log_bytes())
        .map_err(|e| StartError::DataDir { path: data_dir.display().to_string(), message: e.to_string() })?;
    logs.spawn_flusher();
    let uploads_dir = data_dir.join("uploads");
    crate::datadir::create_dir(&uploads_dir)
        .map_err(|e| StartError::DataDir { path: uploads_dir.display().to_string(), message: e.to_string() })?;
    // Whatever an older version, a restore or a hand left readable to others is private now.
    let loosened = crate::datadir::tighten(&data_dir)
        .map_err(|e| StartError::DataDir { path: data_dir.display().to_string(), message: e.to_string() })?;
    if !loosened.is_empty() {
        tracing::warn!(count = loosened.len(), dir = %data_dir.display(), "made data-directory files 0600 and directories 0700");
    }
    let mut labels = config.labels.clone();
    for (k, v) in engine_labels {
        labels.entry(k).or_insert(v);
    }
    // Every node answers to its own id, so that a run can be pinned to the node that holds what it
    // needs (a resume, to the node whose engine kept the workspace).
    labels.insert(crate::daemon::resume::NODE_LABEL.to_string(), node_id.clone());
    let settings = DaemonSettings {
        node_id,
        instance,
        registry: config.registry.clone(),
        concurrency: config.concurrency,
        labels,
        image_aliases: config.image_aliases.clone(),
        uploads_dir,
        max_upload_bytes: config.max_upload_bytes,
        lease: config.lease,
        upload_grace: config.upload_grace,
        retention: config.retention,
        min_free_bytes: config.min_free_bytes,
        keep_failed_workspace: config.keep_failed_workspace,
        notify: config.notify.clone(),
    };
    let service = Arc::new(Service::new(store, cipher, logs, settings, config.clock.clone(), metrics));
    let lifted = service.lift_stored_url_credentials().await.map_err(|e| StartError::Startup(e.to_string()))?;
    if lifted > 0 {
        tracing::info!(tasks = lifted, "sealed the tokens that saved tasks kept in their context URLs");
    }
    Ok(service)
}

/// Starts the daemon on `listener` and returns once it accepts requests.
pub async fn start(mut config: NodeConfig, listener: tokio::net::TcpListener) -> Result<Node, StartError> {
    // Bound first, so that a taken address fails the start before anything runs.
    let metrics_listener = match &config.metrics_listen {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| StartError::Startup(format!("--metrics-listen {at}: cannot listen there: {e}")))?,
        ),
        None => None,
    };
    let addr = listener.local_addr().map_err(|e| StartError::Startup(e.to_string()))?;
    // Where other nodes reach this one (to relay the logs of runs it executes).
    let advertised = config.advertise_url.clone().unwrap_or_else(|| {
        let ip = if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
        format!("http://{}", std::net::SocketAddr::new(ip, addr.port()))
    });
    // Commit statuses link to the run's page there unless told otherwise.
    config.notify.public_url.get_or_insert_with(|| advertised.clone());
    let docker = DockerHost::connect(config.docker_host.as_deref()).await?;
    let info = docker.info().await?;
    let mut engine_labels =
        BTreeMap::from([("os".to_string(), info.os.clone()), ("arch".to_string(), info.arch.clone())]);
    // The platforms this node runs, one label each: runs of a platform go only to nodes that can.
    let native = crate::engine::platform::Platform::native(&info.os, &info.arch);
    for p in crate::engine::runnable_platforms(&native, docker.socket_path().is_some()) {
        engine_labels.insert(p.label_key(), crate::engine::platform::LABEL_VALUE.to_string());
    }
    let service = open_services(&config, engine_labels).await?;
    let node_id = service.settings().node_id.clone();

    // Restart safety: whatever this node ran before it died is over, and its objects go.
    upkeep::fail_interrupted_runs(&service).await?;

    let credentials = Credentials::from_default_docker_config()
        .unwrap_or_default()
        .with_logins(&config.registry_logins)
        .map_err(|e| StartError::Startup(e.to_string()))?;
    let socket = if config.expose_docker_socket { docker.socket_path().map(str::to_string) } else { None };
    let engine_config = EngineConfig {
        allow_privileged: config.allow_privileged,
        docker_socket: socket,
        buildkit: config.buildkit,
        naming: ContainerNaming::PerRun,
        labels: BTreeMap::from([(janitor::OWNER_LABEL.to_string(), node_id)]),
        credentials,
        network_pool: config.network_pool.clone(),
    };
    let registry = RegistryClient::new(ClientConfig::default()).map_err(|e| StartError::Startup(e.to_string()))?;
    let registry_access =
        triggers::RegistryAccess { client: registry.clone(), credentials: engine_config.credentials.clone() };
    let engine = Engine::new(docker, registry, engine_config);
    let hub = Arc::new(Hub::new(config.triggers.clone()));

    // Nothing runs yet, so every object of this node is a leftover; the janitor keeps looking,
    // because requests a killed daemon left in flight can still create objects after a restart.
    upkeep::sweep_leftovers(&service, engine.docker()).await;
    tokio::spawn(upkeep::janitor_loop(service.clone(), engine.docker().clone()));

    let shutdown = CancellationToken::new();
    // A shutdown drains too (without waiting for the runs), so claiming stops on the drain alone.
    let drain = shutdown.child_token();
    let stop_claiming = drain.clone();
    let workers_done = CancellationToken::new();
    let abort = CancellationToken::new();
    // Other nodes' queued runs wake this node's idle workers (PostgreSQL); polling backs it up.
    let (store, wake, stop) = (service.store().clone(), service.wake().clone(), shutdown.child_token());
    tokio::spawn(async move { store.listen_queue(wake, stop).await });
    tokio::spawn(upkeep::lease_reaper(service.clone(), shutdown.child_token()));
    tokio::spawn(crate::daemon::retention::retention_loop(
        service.clone(),
        config.retention_every,
        shutdown.child_token(),
    ));
    triggers::start(&service, &hub, registry_access, shutdown.child_token());
    tokio::spawn(daemon::outgoing::sender::send_loop(service.clone(), shutdown.child_token()));
    let cascades = Arc::new(triggers::Cascades(service.clone()));
    let abort_for_workers = abort.clone();
    let done = workers_done.clone();
    let workers_svc = service.clone();
    let workers = tokio::spawn(async move {
        worker::run_workers(workers_svc, engine, cascades, stop_claiming, abort_for_workers).await;
        done.cancel();
    });
    facts::set_node_url(service.store().as_ref(), &service.settings().node_id, &advertised).await?;
    let leading = hub.clone();
    let presence = Arc::new(Presence::new(service.clone(), advertised.clone(), Box::new(move || leading.leading())));
    presence.report(true).await?;
    tokio::spawn(presence.clone().report_loop(drain.clone(), shutdown.child_token()));
    tokio::spawn(drain_then_leave(
        presence.clone(),
        Leaving { drain: drain.clone(), shutdown: shutdown.clone(), workers_done, abort: abort.clone() },
        config.shutdown_grace,
    ));
    let app = crate::server::router(service.clone(), hub, shutdown.clone(), config.connections.stream_keepalive());
    let metrics = crate::server::metrics_router(service.clone());
    let (app, metrics_addr) = match metrics_listener {
        None => (app.merge(metrics), None),
        Some(listener) => {
            let bound = listener.local_addr().map_err(|e| StartError::Startup(e.to_string()))?;
            tokio::spawn(crate::server::listen::serve(listener, metrics, config.connections, shutdown.clone()));
            (app, Some(bound))
        }
    };
    let server_shutdown = shutdown.clone();
    let grace = config.shutdown_grace;
    let limits = config.connections;
    let handle = tokio::spawn(async move {
        crate::server::listen::serve(listener, app, limits, server_shutdown).await;
        // Stop claiming was signalled with the shutdown; give running runs the grace period.
        tokio::pin!(workers);
        if tokio::time::timeout(grace, &mut workers).await.is_err() {
            tracing::warn!("stopping the runs still going after the grace period");
            abort.cancel();
            let _ = workers.await;
        }
        presence.set(NodeState::Left);
        if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), presence.report(false)).await {
            tracing::warn!(error = %e, "cannot record that this node left");
        }
    });
    Ok(Node { service, addr, metrics_addr, shutdown, drain, handle })
}

/// What a draining node watches and fires on its way out.
struct Leaving {
    drain: CancellationToken,
    shutdown: CancellationToken,
    workers_done: CancellationToken,
    abort: CancellationToken,
}

/// Once a drain is asked: the node says so, claims nothing new (the claim loop stops on the same
/// token), lets its runs end within `grace` (stopping them after), and then shuts down. Its API
/// serves all along, so the runs' logs can still be followed through it.
async fn drain_then_leave(presence: Arc<Presence>, leaving: Leaving, grace: Duration) {
    tokio::select! {
        // A shutdown also fires the drain: it leaves the runs to the shutdown's own grace.
        biased;
        _ = leaving.shutdown.cancelled() => return,
        _ = leaving.drain.cancelled() => {}
    }
    presence.set(NodeState::Draining);
    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), presence.report(false)).await {
        tracing::warn!(error = %e, "cannot record that this node drains");
    }
    tracing::info!(grace_s = grace.as_secs(), "draining: no new runs; the node leaves once its runs end");
    if tokio::time::timeout(grace, leaving.workers_done.cancelled()).await.is_err() {
        tracing::warn!("stopping the runs still going after the grace period");
        leaving.abort.cancel();
        leaving.workers_done.cancelled().await;
    }
    leaving.shutdown.cancel();
}
