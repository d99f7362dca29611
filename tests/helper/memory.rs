//! Peak resident memory (VmHWM) from `/proc`, for tests and benches that measure it. It depends on
//! nothing else in `helper`, so the benches include it by `#[path]`.

/// Peak resident set size, in kB, of process `pid` (`"self"` for this one).
pub fn peak_kb(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status is readable");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Peak resident set size of this process, in kB.
pub fn vm_hwm_kb() -> u64 {
    peak_kb("self")
}
