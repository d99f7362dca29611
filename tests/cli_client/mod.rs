//! Fault injection for the remote CLI: `fake.rs` is a stand-in daemon that drops the log stream
//! mid-run on purpose, which the real daemon does not do on demand. Everything else about the
//! remote CLI is tested against the real daemon in `cli_remote.rs`.

mod fake;
mod stream;

use crate::helper::drydock;
use fake::{FakeDaemon, TOKEN};

/// `drydock <args>` aimed at `fake`, with the right token and no colours.
fn cli(fake: &FakeDaemon, args: &[&str]) -> std::process::Output {
    cli_stdin(fake, args, "")
}

/// Like [`cli`], with `stdin` as standard input.
fn cli_stdin(fake: &FakeDaemon, args: &[&str], stdin: &str) -> std::process::Output {
    drydock()
        .args(args)
        .env("DRYDOCK_SERVER", &fake.url)
        .env("DRYDOCK_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("DRYDOCK_REGISTRY")
        .write_stdin(stdin)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
