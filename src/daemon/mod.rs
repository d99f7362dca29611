//! `drydock serve`: the store, the run queue and its workers, run logs, and the HTTP API, started
//! as a library function so that tests run it in-process on port 0.
//!
//! Start-up order matters for restart safety: runs this node was executing when it died are
//! marked Error ("daemon restarted") and their Docker objects removed before any new run is
//! claimed; queued runs simply wait for the workers.

pub mod logs;
pub mod prepare;
pub mod service;
pub mod spec;
pub mod worker;

pub use service::{Service, ServiceError};

use crate::docker::DockerHost;
use crate::engine::{ContainerNaming, Engine, EngineConfig, janitor};
use crate::registry::{ClientConfig, Credentials, RegistryClient};
use crate::secrets::Cipher;
use crate::store::Store;
use crate::taskfile::ImageAliases;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How the daemon is started (from `drydock serve` flags, or a test).
#[derive(Clone, Debug)]
pub struct DaemonConfig {
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
    /// Use BuildKit for every build.
    pub buildkit: bool,
    /// Registry logins for all runs, `host=user:password`.
    pub registry_logins: Vec<String>,
    /// How long running runs may go on after SIGTERM before they are stopped.
    pub shutdown_grace: Duration,
    /// Largest context upload accepted, bytes.
    pub max_upload_bytes: u64,
    /// Image aliases for `cmd` in v1.1.0 files.
    pub image_aliases: ImageAliases,
    /// Trigger settings.
    pub triggers: crate::triggers::TriggerConfig,
    /// The clock trigger loops use (a manual one in tests).
    pub clock: Arc<dyn crate::triggers::clock::Clock>,
    /// How long a claimed run stays this node's without a heartbeat.
    pub lease: Duration,
    /// The key secrets are sealed with (default `DATA_DIR/secret.key`); every node of a database
    /// needs the same one.
    pub secret_key_file: Option<PathBuf>,
    /// The URL other nodes reach this one at (default `http://<listen address>`).
    pub advertise_url: Option<String>,
}

impl std::fmt::Debug for dyn crate::triggers::clock::Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

impl DaemonConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: PathBuf) -> Self {
        DaemonConfig {
            data_dir,
            database_url: None,
            concurrency: 4,
            registry: String::new(),
            labels: BTreeMap::new(),
            docker_host: None,
            allow_privileged: false,
            expose_docker_socket: false,
            buildkit: false,
            registry_logins: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            max_upload_bytes: 2 << 30,
            image_aliases: ImageAliases::default(),
            triggers: crate::triggers::TriggerConfig::default(),
            clock: Arc::new(crate::triggers::clock::SystemClock),
            lease: worker::LEASE,
            secret_key_file: None,
            advertise_url: None,
        }
    }
}

/// What the service and workers need to know about this node.
#[derive(Clone, Debug)]
pub struct DaemonSettings {
    /// This node's id (stable across restarts).
    pub node_id: String,
    /// A short id of the database (shared by every node on it), which makes Docker object names
    /// unique when daemons with separate databases share an engine.
    pub instance: String,
    /// Registry for `$Registry`.
    pub registry: String,
    /// Concurrent runs.
    pub concurrency: usize,
    /// Node labels, including `os` and `arch`.
    pub labels: BTreeMap<String, String>,
    /// Image aliases.
    pub image_aliases: ImageAliases,
    /// Where uploads go.
    pub uploads_dir: PathBuf,
    /// Upload cap.
    pub max_upload_bytes: u64,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
}

impl DaemonSettings {
    /// The Docker key of run `id`: `<instance>-<id>`.
    pub fn object_key(&self, id: &str) -> String {
        format!("{}-{id}", self.instance)
    }
}

/// The database's instance id, created by the first node that starts on it.
async fn instance_id(store: &dyn Store) -> Result<String, DaemonError> {
    if let Some(id) = store.kv_get("instance-id").await? {
        return Ok(id);
    }
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| DaemonError::Startup(e.to_string()))?;
    let id = crate::runid::base36(u64::from_le_bytes(raw) % 36u64.pow(4));
    // Another node may win the race: everyone uses what is stored.
    Ok(store.kv_put_if_absent("instance-id", &format!("{id:0>4}")).await?)
}

/// How often the node looks for Docker objects of runs it is not executing.
const JANITOR_INTERVAL: Duration = Duration::from_secs(10);

/// Removes this node's Docker objects that belong to no run it is executing.
async fn sweep_leftovers(svc: &Service, docker: &DockerHost) {
    let active: std::collections::HashSet<String> =
        svc.running.lock().map(|m| m.keys().map(|id| svc.settings.object_key(id)).collect()).unwrap_or_default();
    // One listing serves both sweeps: this node's leftovers and lost nodes' finished runs.
    let all = match docker.list_run_objects(&[]).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "janitor could not list Docker objects");
            return;
        }
    };
    let mut leftovers = Vec::new();
    for run in all {
        let owner = run.labels.get(janitor::OWNER_LABEL).map(String::as_str).unwrap_or_default();
        let ours = owner == svc.settings.node_id;
        if (ours && !active.contains(&run.run_id)) || (!ours && of_lost_node(svc, owner, &run.run_id).await) {
            leftovers.push(run);
        }
    }
    for run in leftovers {
        match docker.remove_run_objects(&run.run_id).await {
            Ok(report) => {
                tracing::info!(run = %run.run_id, clean = report.is_clean(), "removed leftovers of an interrupted run")
            }
            Err(e) => tracing::warn!(run = %run.run_id, error = %e, "janitor could not remove leftovers"),
        }
    }
}

/// Whether objects another node of this database created belong to a run that is over: that
/// node died (its runs became Error "worker lost") and the engine is shared, so nobody else
/// would remove them until it comes back.
async fn of_lost_node(svc: &Service, owner: &str, key: &str) -> bool {
    let Some(id) = key.strip_prefix(&format!("{}-", svc.settings.instance)) else { return false };
    if owner.is_empty() {
        return false;
    }
    matches!(svc.store.get_run(id).await, Ok(Some(row)) if row.status.is_terminal())
}

async fn janitor_loop(svc: Arc<Service>, docker: DockerHost) {
    loop {
        tokio::time::sleep(JANITOR_INTERVAL).await;
        sweep_leftovers(&svc, &docker).await;
    }
}

/// Marks Error the runs whose node stopped renewing their lease (killed, cut off, its engine
/// hung), so that no run stays Running forever. Every node does it; the update is one statement,
/// so a run is failed once.
async fn lease_reaper(svc: Arc<Service>, stop: CancellationToken) {
    let every = (svc.settings.lease / 3).max(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let message =
            "worker lost: its node stopped renewing the run's lease (killed, cut off from the database, or hung)";
        match svc.store.fail_expired_leases(chrono::Utc::now(), message).await {
            Ok(failed) => {
                for (id, node) in failed {
                    tracing::warn!(run = %id, %node, "marked Error: worker lost");
                    // The log file lives on the lost node when it is another one; note it here if it is ours.
                    if node == svc.settings.node_id
                        && let Ok(live) = svc.logs.open(&id)
                    {
                        crate::engine::log::LogSink::line(live.as_ref(), None, &format!("Error: {message}"));
                        svc.logs.close(&id);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "looking for lost workers failed"),
        }
    }
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
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

/// Opens the configured store (running migrations): `url`, or SQLite in the data directory.
pub async fn open_store(data_dir: &Path, url: Option<&str>) -> Result<Arc<dyn Store>, DaemonError> {
    Ok(Arc::new(crate::store::open(url, data_dir).await?))
}

/// This node's id, kept in the data directory so that a restart recognises its own runs.
fn node_id(data_dir: &Path) -> Result<String, DaemonError> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let mut raw = [0u8; 4];
            getrandom::fill(&mut raw).map_err(|e| DaemonError::Startup(e.to_string()))?;
            let id = format!("{}-{}", janitor::hostname(), hex::encode(raw));
            std::fs::write(&path, &id)
                .map_err(|e| DaemonError::DataDir { path: path.display().to_string(), message: e.to_string() })?;
            Ok(id)
        }
    }
}

/// A running daemon: its service (for tests) and the handle to stop it.
pub struct Daemon {
    /// Shared state.
    pub service: Arc<Service>,
    /// The address the API listens on.
    pub addr: std::net::SocketAddr,
    /// Fire to shut down gracefully.
    pub shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Daemon {
    /// Waits until the daemon has stopped.
    pub async fn wait(self) {
        let _ = self.handle.await;
    }
}

/// Starts the daemon on `listener` and returns once it accepts requests.
pub async fn start(config: DaemonConfig, listener: tokio::net::TcpListener) -> Result<Daemon, DaemonError> {
    let data_dir = config.data_dir.clone();
    let store = open_store(&data_dir, config.database_url.as_deref()).await?;
    let key_path = config.secret_key_file.clone().unwrap_or_else(|| data_dir.join("secret.key"));
    let cipher = Cipher::load_or_create(&key_path).map_err(|e| DaemonError::Startup(e.to_string()))?;
    // Every node of a database must open the secrets any node sealed.
    let expected = store.kv_put_if_absent("secret-key-fingerprint", cipher.fingerprint()).await?;
    if expected != cipher.fingerprint() {
        return Err(DaemonError::Startup(format!(
            "the secret key {} is not the one this database's secrets were sealed with; every node of a \
             database needs the same key: copy secret.key from the first node, or point --secret-key-file at it",
            key_path.display()
        )));
    }
    let node_id = node_id(&data_dir)?;
    let instance = instance_id(store.as_ref()).await?;
    let logs = logs::LogStore::new(data_dir.join("logs"))
        .map_err(|e| DaemonError::DataDir { path: data_dir.display().to_string(), message: e.to_string() })?;
    logs.spawn_flusher();
    let uploads_dir = data_dir.join("uploads");
    std::fs::create_dir_all(&uploads_dir)
        .map_err(|e| DaemonError::DataDir { path: uploads_dir.display().to_string(), message: e.to_string() })?;

    crate::docker::install_crypto_provider();
    let docker = DockerHost::connect(config.docker_host.as_deref()).await?;
    let info = docker.info().await?;
    let mut labels = config.labels.clone();
    labels.entry("os".into()).or_insert(info.os.clone());
    labels.entry("arch".into()).or_insert(info.arch.clone());

    // Restart safety: whatever this node ran before it died is over, and its objects go.
    let interrupted = store.fail_runs_of_node(&node_id, "daemon restarted while the run was in progress").await?;
    for id in &interrupted {
        tracing::warn!(run = %id, "marked Error: the daemon restarted mid-run");
        if let Ok(live) = logs.open(id) {
            crate::engine::log::LogSink::line(
                live.as_ref(),
                None,
                "Error: daemon restarted while the run was in progress",
            );
            logs.close(id);
        }
    }

    let mut credentials = Credentials::from_default_docker_config().unwrap_or_default();
    let mut logins = Credentials::new();
    for l in &config.registry_logins {
        logins.add_login(l).map_err(|e| DaemonError::Startup(e.to_string()))?;
    }
    credentials.merge(logins);
    let socket =
        if config.expose_docker_socket { docker.endpoint().strip_prefix("unix://").map(str::to_string) } else { None };
    let engine_config = EngineConfig {
        allow_privileged: config.allow_privileged,
        docker_socket: socket,
        buildkit: config.buildkit,
        naming: ContainerNaming::PerRun,
        labels: BTreeMap::from([(janitor::OWNER_LABEL.to_string(), node_id.clone())]),
        credentials,
    };
    let registry = RegistryClient::new(ClientConfig::default()).map_err(|e| DaemonError::Startup(e.to_string()))?;
    let registry_access =
        crate::triggers::RegistryAccess { client: registry.clone(), credentials: engine_config.credentials.clone() };
    let engine = Engine::new(docker, registry, engine_config);

    let service = Arc::new(Service {
        store,
        cipher,
        logs,
        settings: DaemonSettings {
            node_id,
            instance,
            registry: config.registry.clone(),
            concurrency: config.concurrency,
            labels,
            image_aliases: config.image_aliases.clone(),
            uploads_dir,
            max_upload_bytes: config.max_upload_bytes,
            lease: config.lease,
        },
        wake: Arc::new(tokio::sync::Notify::new()),
        running: Default::default(),
        triggers: crate::triggers::Hub::new(config.triggers.clone(), config.clock.clone()),
    });

    // Nothing runs yet, so every object of this node is a leftover; the janitor keeps looking,
    // because requests a killed daemon left in flight can still create objects after a restart.
    sweep_leftovers(&service, engine.docker()).await;
    tokio::spawn(janitor_loop(service.clone(), engine.docker().clone()));

    let shutdown = CancellationToken::new();
    let stop_claiming = shutdown.child_token();
    let abort = CancellationToken::new();
    // Other nodes' queued runs wake this node's idle workers (PostgreSQL); polling backs it up.
    let (store, wake, stop) = (service.store.clone(), service.wake.clone(), shutdown.child_token());
    tokio::spawn(async move { store.listen_queue(wake, stop).await });
    tokio::spawn(lease_reaper(service.clone(), shutdown.child_token()));
    crate::triggers::start(&service, registry_access, shutdown.child_token());
    let workers = tokio::spawn(worker::run_workers(service.clone(), engine, stop_claiming, abort.clone()));
    let addr = listener.local_addr().map_err(|e| DaemonError::Startup(e.to_string()))?;
    // Where other nodes reach this one (to relay the logs of runs it executes).
    let advertised = config.advertise_url.clone().unwrap_or_else(|| {
        let ip = if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
        format!("http://{}", std::net::SocketAddr::new(ip, addr.port()))
    });
    service.store.kv_put(&format!("node-url:{}", service.settings.node_id), &advertised).await?;
    let app = crate::server::router(service.clone(), shutdown.clone());
    let server_shutdown = shutdown.clone();
    let grace = config.shutdown_grace;
    let handle = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(server_shutdown.cancelled_owned());
        if let Err(e) = served.await {
            tracing::error!(error = %e, "the API server stopped");
        }
        // Stop claiming was signalled with the shutdown; give running runs the grace period.
        tokio::pin!(workers);
        if tokio::time::timeout(grace, &mut workers).await.is_err() {
            tracing::warn!("stopping the runs still going after the grace period");
            abort.cancel();
            let _ = workers.await;
        }
    });
    Ok(Daemon { service, addr, shutdown, handle })
}
