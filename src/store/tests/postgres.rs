//! A throwaway PostgreSQL server for the store's tests, started from the machine's own binaries.
//!
//! One server per test process (starting one costs seconds on two cores); each test gets its own
//! database in it. `initdb` refuses to run as root, so as root the server runs as the `postgres`
//! user (Debian's PostgreSQL packages create it) from a temporary directory handed to that user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A running server. Dropping it stops the server and removes its directory.
///
/// The shared instance lives in a `static`, and statics are never dropped, so it is also watched
/// by a small shell process that stops the server once the test process has exited, however it
/// exited (a panic in a test thread, an abort).
pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    port: u16,
}

static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// A new empty database on the process's server, or `None` (after saying why) when no server
/// can be started, unless `DRYDOCK_TEST_PG=require` (set by scripts/test.sh) makes that a failure.
pub async fn database() -> Option<String> {
    let required = std::env::var("DRYDOCK_TEST_PG").is_ok_and(|v| v == "require");
    let url = match server() {
        Ok(server) => server.new_database().await,
        Err(why) => Err(why.to_string()),
    };
    match url {
        Ok(url) => Some(url),
        Err(why) if required => panic!("PostgreSQL is required (DRYDOCK_TEST_PG=require) but: {why}"),
        Err(why) => {
            eprintln!("skipping the PostgreSQL part: {why}");
            None
        }
    }
}

/// The process's server, started on first use; `Err` says why there is none.
pub fn server() -> Result<&'static PgServer, &'static str> {
    SERVER.get_or_init(PgServer::start).as_ref().map_err(String::as_str)
}

impl PgServer {
    fn start() -> Result<PgServer, String> {
        let bin = bin_dir().ok_or("no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql")?;
        let dir = tempfile::Builder::new()
            .prefix("drydock-pg-")
            .tempdir()
            .map_err(|e| format!("cannot make a temp dir: {e}"))?
            .keep();
        let as_postgres = owned_by_root(&dir);
        if as_postgres {
            let (uid, gid) = postgres_user()?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| format!("cannot chown {dir:?}: {e}"))?;
        }
        let server = PgServer { dir, bin, as_postgres, port: free_port()? };
        let data = server.dir.join("data");
        server.run("initdb", &["-D", path(&data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])?;
        // Tests throw their data away, so durability is off; many pools connect at once.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            server.port,
            path(&server.dir)
        );
        let log = server.dir.join("log");
        server.watch_parent();
        // -l sends the server's output to a file, so no pipe of ours stays open behind it.
        server
            .run("pg_ctl", &["-D", path(&data), "-l", path(&log), "-o", &options, "-w", "start"])
            .map_err(|e| format!("{e}\nserver log:\n{}", std::fs::read_to_string(&log).unwrap_or_default()))?;
        Ok(server)
    }

    /// The URL of a new, empty database on this server.
    pub async fn new_database(&self) -> Result<String, String> {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let name = format!("t_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
        let mut admin = sqlx::AnyConnection::connect(&self.url("postgres")).await.map_err(|e| e.to_string())?;
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.map_err(|e| e.to_string())?;
        admin.close().await.map_err(|e| e.to_string())?;
        Ok(self.url(&name))
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs one of the server's programs (as `postgres` when we are root) to completion.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out =
            self.command(program).args(args).stdin(Stdio::null()).output().map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    /// Stops the server and removes its directory once this process is gone.
    fn watch_parent(&self) {
        let stop = self.command("pg_ctl");
        let mut stop_line = format!("'{}'", stop.get_program().to_string_lossy());
        for arg in stop.get_args() {
            stop_line += &format!(" '{}'", arg.to_string_lossy());
        }
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop_line} -D '{data}' stop -m immediate; rm -rf '{dir}'",
            pid = std::process::id(),
            data = path(&self.dir.join("data")),
            dir = path(&self.dir),
        );
        // Detached from our stdio, so a test runner reading our output does not wait for it.
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run("pg_ctl", &["-D", path(&data), "stop", "-m", "immediate"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// The directory holding `initdb` and `pg_ctl`: next to `pg_ctl` on PATH (resolving the Debian
/// wrapper symlinks), else the newest `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("pg_ctl"))
            .find(|p| p.is_file() && p.with_file_name("initdb").is_file())
    });
    if let Some(pg_ctl) = on_path {
        let real = std::fs::canonicalize(&pg_ctl).unwrap_or(pg_ctl);
        if real.with_file_name("initdb").is_file() {
            return real.parent().map(Path::to_path_buf);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    versions.sort_by_key(|p| p.parent().and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()));
    versions.pop()
}

/// Whether we run as root, judged by the owner of a directory we just made.
fn owned_by_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).map(|m| m.uid() == 0).unwrap_or(false)
}

fn postgres_user() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id").args([flag, "postgres"]).output().map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "running as root and there is no `postgres` user to run the server as".to_string())
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
