//! What Linux says about processes: CPU time, memory, load, read from `/proc`;
//! `/proc/PID/stat` and `/proc/PID/status` through the server crate's reader
//! (`itau_codigo_server::procfs`, which `/metrics` uses too).

use anyhow::Context;
pub(crate) use itau_codigo_server::procfs::Memory;
use itau_codigo_server::procfs::{Pid, Stat};

fn stat(pid: Pid) -> anyhow::Result<Stat> {
    Stat::read(pid).with_context(|| format!("cannot read the stat of {pid:?}"))
}

/// CPU seconds (user + system, all threads) process `pid` has used so far.
pub(crate) fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    Ok(stat(Pid::Of(pid))?.cpu_seconds())
}

/// CPU seconds of this process's children that it has waited for: the difference
/// across one `wait` is what that child used.
pub(crate) fn waited_children_cpu_seconds() -> anyhow::Result<f64> {
    Ok(stat(Pid::Own)?.waited_children_seconds)
}

/// Resident memory of process `pid` now and at its peak, anonymous and file-backed apart.
pub(crate) fn memory(pid: u32) -> anyhow::Result<Memory> {
    Memory::read(Pid::Of(pid)).with_context(|| format!("cannot read /proc/{pid}/status"))
}

/// Bytes process `pid` has had read from storage so far (`read_bytes` of
/// `/proc/PID/io`): its reads that the OS cache did not serve.
pub(crate) fn disk_read_bytes(pid: u32) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io"))
        .with_context(|| format!("cannot read /proc/{pid}/io"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("read_bytes:"))
        .and_then(|value| value.trim().parse().ok())
        .context("no read_bytes in /proc/PID/io")
}

/// The other processes that used the most CPU during `over` (at most four, each above
/// 5% of a core), e.g. `rustc 97%, cargo 12%`, or `none`: what else ran on the machine.
pub(crate) fn busiest_others(over: std::time::Duration) -> String {
    let sample = || -> Vec<(u32, String, f64)> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != std::process::id())
            .filter_map(|pid| {
                let cpu = Stat::read(Pid::Of(pid)).ok()?.cpu_seconds();
                let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
                Some((pid, name.trim().to_owned(), cpu))
            })
            .collect()
    };
    let before = sample();
    std::thread::sleep(over);
    let mut busy: Vec<(String, f64)> = sample()
        .into_iter()
        .filter_map(|(pid, name, cpu)| {
            let (_, _, earlier) = before.iter().find(|(p, n, _)| *p == pid && *n == name)?;
            Some((name, (cpu - earlier) / over.as_secs_f64()))
        })
        .filter(|(_, share)| *share >= 0.05)
        .collect();
    busy.sort_by(|a, b| b.1.total_cmp(&a.1));
    if busy.is_empty() {
        return "none".into();
    }
    busy.iter()
        .take(4)
        .map(|(name, share)| format!("{name} {:.0}%", 100.0 * share))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 1, 5 and 15 minute load averages, as the kernel prints them.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}

/// CPU model, core count and memory, for the report's header.
pub(crate) fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {mem_gib:.0} GiB")
}
