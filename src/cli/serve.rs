//! `drydock serve`, `drydock migrate`, and creating the first API token offline.

use super::CliError;
use crate::daemon;
use crate::daemon::retention::Retention;
use crate::node::{self, NodeConfig};
use crate::server::listen::ConnectionLimits;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The data directory: `--data-dir`, `DRYDOCK_DATA_DIR`, or `~/.local/share/drydock`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DRYDOCK_DATA_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    base.join("drydock")
}

/// Where the daemon keeps its state.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Data directory (database, logs, uploads, secret key).
    #[arg(long, env = "DRYDOCK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://…` or `postgres://…`); default SQLite in the data directory.
    #[arg(long, env = "DRYDOCK_DATABASE")]
    pub database: Option<String>,
}

impl StoreArgs {
    pub fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }
}

/// Arguments of `drydock serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DRYDOCK_LISTEN", default_value = "127.0.0.1:7480")]
    pub listen: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Runs executed at once on this node.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Registry for `$Registry`, and for image names given without one.
    #[arg(long, env = "DRYDOCK_REGISTRY", default_value = "")]
    pub registry: String,
    /// A label this node advertises, `key=value` (tasks may require labels); repeatable.
    #[arg(long = "label", value_name = "K=V")]
    pub label: Vec<String>,
    /// Docker engine to use (`DOCKER_HOST` syntax).
    #[arg(long, env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// Allow privileged steps.
    #[arg(long)]
    pub allow_privileged: bool,
    /// Mount the Docker socket into steps, as ACR does (gives steps control of the engine).
    #[arg(long)]
    pub expose_docker_socket: bool,
    #[command(flatten)]
    pub network_pool: super::run::NetworkPoolArgs,
    /// Build every image with BuildKit.
    #[arg(long)]
    pub buildkit: bool,
    /// Registry login for every run, `host=user:password`; repeatable.
    #[arg(long = "registry-login", value_name = "HOST=USER:PASSWORD")]
    pub registry_login: Vec<String>,
    /// Seconds running runs may go on after SIGTERM before they are stopped and marked Error.
    #[arg(long, default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Largest context upload in MiB.
    #[arg(long, default_value_t = 2048)]
    pub max_upload_mib: u64,
    /// Most MiB of steps' output kept in one run's log; past it the log says so and the run goes on.
    #[arg(long, default_value_t = crate::daemon::logs::DEFAULT_MAX_LOG_BYTES >> 20)]
    pub max_log_mib: u64,
    /// Keep the newest N finished runs of each task (quick runs count as one group); 0 keeps all.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub keep_runs: u32,
    /// Keep runs that finished in the last D days (ACR keeps 30); 0 keeps all.
    #[arg(long, default_value_t = 30, value_name = "D")]
    pub keep_days: u32,
    /// Refuse new runs and uploads while the data directory's disk has less free; 0 never refuses.
    #[arg(long, default_value_t = crate::daemon::retention::DEFAULT_MIN_FREE_BYTES >> 20, value_name = "MIB")]
    pub min_free_mib: u64,
    /// How long a run that did not succeed keeps its workspace volume, so that `drydock runs resume`
    /// can go on from the failed step (`30m`, `4h`, `1d`, `0` to keep none). The janitor removes it
    /// after that, or when the run is pruned.
    #[arg(long, default_value = "4h", value_name = "DURATION", value_parser = parse_keep)]
    pub keep_failed_workspace: Duration,
    /// Seconds a client has to send a request's headers (also how long an idle keep-alive
    /// connection is kept).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub header_timeout: u64,
    /// Seconds a connection may move no byte either way before it is closed (log streams send a
    /// keep-alive every 15 s).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub idle_timeout: u64,
    /// Connections served at once; past it new ones are answered 503 and closed.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Image alias for `cmd` in v1.1.0 files, `name=image`; repeatable.
    #[arg(long = "image-alias", value_name = "NAME=IMAGE")]
    pub image_alias: Vec<String>,
    /// Seconds a claimed run stays this node's without a heartbeat. When a node dies, another
    /// node marks its runs Error ("worker lost") this long after its last heartbeat.
    #[arg(long = "lease", value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=3600))]
    pub lease: u64,
    /// The key secrets are sealed with (default DATA_DIR/secret.key, created on first start).
    /// Every node of a shared database needs the same key.
    #[arg(long, value_name = "PATH", env = "DRYDOCK_SECRET_KEY_FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,
    /// The URL other nodes reach this one at, to relay the logs of runs it executes (default
    /// http://LISTEN; set it when listening on 0.0.0.0 or behind NAT).
    #[arg(long, value_name = "URL")]
    pub advertise_url: Option<String>,
    /// How often each distinct base image is asked of its registry, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub base_image_interval: u64,
    /// Serve `GET /metrics` (Prometheus) on this address instead of the API's, e.g. one only the
    /// monitoring network reaches; the API's address then answers 404 to it.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// The daemon's own log on stderr: `text` (coloured only on a terminal) or `json` (one object
    /// a line, for log shippers).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// File holding the bearer token registries must send to `POST /hooks/registry`
    /// (or set DRYDOCK_NOTIFICATION_TOKEN); without one, notifications are refused.
    #[arg(long, value_name = "PATH")]
    pub notification_token_file: Option<PathBuf>,
    /// A URL that receives a signed JSON event when any run starts and when it ends; repeatable.
    /// Tasks may name their own (`task create --notify-url`).
    #[arg(long = "notify-url", value_name = "URL")]
    pub notify_url: Vec<String>,
    /// Key of those events' `X-Drydock-Signature: sha256=HMAC` (prefer DRYDOCK_NOTIFY_SECRET:
    /// `ps` shows flag values).
    #[arg(long, value_name = "SECRET", env = "DRYDOCK_NOTIFY_SECRET", hide_env_values = true)]
    pub notify_secret: Option<String>,
    /// Where people open this daemon's dashboard, the link commit statuses and run events carry
    /// (default: --advertise-url).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

/// How the daemon writes its own log.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines for people; ANSI colours only when stderr is a terminal (and NO_COLOR is unset).
    Text,
    /// One JSON object a line (tracing-subscriber's format), for log shippers.
    Json,
}

/// Starts the daemon's log on stderr in `format`; `RUST_LOG` overrides the default filter.
pub fn init_log(format: LogFormat, default_filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second subscriber (a test that already set one) is not an error worth stopping for.
    let _ = match format {
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
        LogFormat::Text => {
            // Escape codes in a file or a journal are noise that every reader has to strip.
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colour).try_init()
        }
    };
}

/// Tells the operator something about the daemon as a whole: a plain line in text mode, a log
/// event in JSON mode, where every line of stderr must be an object.
fn announce(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => eprintln!("{message}"),
        LogFormat::Json => tracing::info!("{message}"),
    }
}

/// The registry notification token: from the file, else the environment; never a flag value,
/// which `ps` would show.
fn notification_token(file: Option<&std::path::Path>) -> Result<Option<String>, CliError> {
    let token = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CliError::Invalid(format!("--notification-token-file {}: cannot read it: {e}", path.display()))
        })?,
        None => std::env::var("DRYDOCK_NOTIFICATION_TOKEN").unwrap_or_default(),
    };
    let token = token.trim().to_string();
    if file.is_some() && token.is_empty() {
        return Err(CliError::Invalid("--notification-token-file: the file is empty; put the token in it".into()));
    }
    Ok((!token.is_empty()).then_some(token))
}

/// `drydock serve`. In JSON mode a failure to start is a log event too, so that every line of
/// stderr stays an object.
pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let format = args.log_format;
    match run_node(args).await {
        Err(e) if format == LogFormat::Json => {
            tracing::error!("{e}");
            Err(CliError::Silent(e.exit_code()))
        }
        result => result,
    }
}

async fn run_node(args: ServeArgs) -> Result<(), CliError> {
    let mut labels = BTreeMap::new();
    for l in &args.label {
        let (k, v) = l.split_once('=').ok_or_else(|| CliError::Invalid(format!("--label {l}: write key=value")))?;
        labels.insert(k.to_string(), v.to_string());
    }
    let image_aliases = crate::taskfile::ImageAliases::default()
        .with_overrides(args.image_alias.iter().map(String::as_str))
        .map_err(CliError::Invalid)?;
    let config = NodeConfig {
        database_url: args.store.database.clone(),
        concurrency: args.concurrency.max(1),
        registry: args.registry.clone(),
        labels,
        docker_host: args.docker_host.clone(),
        allow_privileged: args.allow_privileged,
        expose_docker_socket: args.expose_docker_socket,
        network_pool: args.network_pool.pool(),
        buildkit: args.buildkit,
        registry_logins: args.registry_login.clone(),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        max_upload_bytes: args.max_upload_mib.saturating_mul(1 << 20),
        max_log_bytes: args.max_log_mib.saturating_mul(1 << 20),
        retention: Retention { keep_runs: args.keep_runs, keep_days: args.keep_days },
        min_free_bytes: args.min_free_mib.saturating_mul(1 << 20),
        keep_failed_workspace: args.keep_failed_workspace,
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_secs(args.header_timeout.max(1)),
            idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
            max_connections: args.max_connections.max(1),
        },
        image_aliases,
        lease: Duration::from_secs(args.lease),
        secret_key_file: args.secret_key_file.clone(),
        advertise_url: args.advertise_url.clone(),
        metrics_listen: args.metrics_listen.clone(),
        notify: crate::daemon::outgoing::NotifySettings {
            urls: args.notify_url.clone(),
            secret: args.notify_secret.clone().filter(|s| !s.is_empty()).map(crate::secrets::Secret::new),
            public_url: args.public_url.clone(),
            ..Default::default()
        },
        triggers: crate::triggers::TriggerConfig {
            watch_interval: Duration::from_secs(args.base_image_interval.max(1)),
            notification_token: notification_token(args.notification_token_file.as_deref())?,
            ..Default::default()
        },
        ..NodeConfig::new(args.store.dir())
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", args.listen)))?;
    let d = node::start(config, listener).await.map_err(|e| CliError::Failed(e.to_string()))?;
    let format = args.log_format;
    announce(
        format,
        &format!(
            "drydock {} serving on http://{} (node {}, data {})",
            crate::version::LONG,
            d.addr,
            d.service.settings().node_id,
            args.store.dir().display()
        ),
    );
    if let Some(at) = d.metrics_addr {
        announce(format, &format!("metrics on http://{at}/metrics"));
    }
    let drain = d.drain.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        announce(
            format,
            &format!("Draining: no new runs; running ones get {}s to finish, then drydock exits", args.shutdown_grace),
        );
        drain.cancel();
    });
    d.wait().await;
    Ok(())
}

async fn wait_for_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// `drydock migrate`: brings the database schema up to date (also done at every start).
pub async fn migrate(args: StoreArgs) -> Result<(), CliError> {
    daemon::open_store(&args.dir(), args.database.as_deref()).await.map_err(|e| CliError::Failed(e.to_string()))?;
    eprintln!("database is up to date");
    Ok(())
}

/// Creates a token directly in the daemon's database (for the very first token).
pub async fn create_token_offline(args: &StoreArgs, name: &str) -> Result<crate::api::NewToken, CliError> {
    let store =
        daemon::open_store(&args.dir(), args.database.as_deref()).await.map_err(|e| CliError::Failed(e.to_string()))?;
    daemon::tokens::create_token(store.as_ref(), name).await.map_err(|e| match e {
        daemon::ServiceError::Invalid { message, .. } => CliError::Invalid(message),
        other => CliError::Failed(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::notification_token;

    #[test]
    fn the_notification_token_comes_from_a_file_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(notification_token(Some(&path)).unwrap().as_deref(), Some("s3cret"));
        std::fs::write(&path, "  \n").unwrap();
        assert!(notification_token(Some(&path)).unwrap_err().to_string().contains("empty"));
        let missing = dir.path().join("missing");
        assert!(notification_token(Some(&missing)).unwrap_err().to_string().contains("cannot read"));
    }

    #[test]
    fn the_configuration_never_shows_the_token() {
        let config = crate::triggers::TriggerConfig { notification_token: Some("s3cret".into()), ..Default::default() };
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}

/// `--keep-failed-workspace`: `0`, or numbers with `d`, `h`, `m` or `s` (`3h30m`), as ACR writes
/// durations.
fn parse_keep(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration: write it as 30m, 4h, 1d or 3h30m (0 keeps no workspace)");
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let (mut total, mut digits) = (0u64, String::new());
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod keep_tests {
    use super::*;

    #[test]
    fn workspace_keeping_takes_acr_durations() {
        assert_eq!(parse_keep("4h").unwrap(), Duration::from_secs(4 * 3600));
        assert_eq!(parse_keep("3h30m").unwrap(), Duration::from_secs(3 * 3600 + 1800));
        assert_eq!(parse_keep("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_keep("0").unwrap(), Duration::ZERO);
        for bad in ["", "4", "h", "4x", "-1h"] {
            assert!(parse_keep(bad).unwrap_err().contains("30m, 4h"), "{bad}");
        }
    }
}
