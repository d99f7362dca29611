//! Memory-bomb task and values files (one 100 KB string aliased many times), shared by
//! `tests/bombs.rs` and `benches/bombs.rs` (which includes this file by `#[path]`, so it uses
//! nothing else from `helper`).

/// `steps` plus one 100 KB string aliased `copies` times in a flow list: a few hundred KB on
/// disk, `copies` × 100 KB expanded.
pub fn flat(copies: usize) -> String {
    let big = "x".repeat(100_000);
    format!(
        "version: v1.1.0\nbig: &big \"{big}\"\nlist: [{}]\nsteps:\n  - cmd: busybox true\n",
        vec!["*big"; copies].join(", ")
    )
}

/// Each level aliases the one before twice: `levels` lines, 2^levels × 100 KB expanded.
pub fn doubling(levels: usize) -> String {
    let mut text = format!("version: v1.1.0\na0: &a0 \"{}\"\n", "x".repeat(100_000));
    for i in 1..=levels {
        text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}]\n", p = i - 1));
    }
    text + "steps:\n  - cmd: busybox true\n"
}

/// A values file: the same string aliased `copies` times.
pub fn values(copies: usize) -> String {
    format!("big: &big \"{}\"\nlist: [{}]\n", "x".repeat(100_000), vec!["*big"; copies].join(", "))
}
