//! Where the CPU went during a measurement: the server, PostgreSQL, the
//! bench itself and the whole machine, read from `/proc` (Linux).
//!
//! Throughput alone cannot say whether a target is reachable on a shared
//! machine; CPU time per operation for each process can: when the machine
//! is fully busy, the sum of the per-operation costs is the ceiling.

use serde::Serialize;

/// `USER_HZ`: the unit of the times in `/proc/<pid>/stat` (100 on every
/// Linux architecture this runs on).
const TICKS_PER_SEC: f64 = 100.0;

/// Which processes to account for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watch {
    /// The server's process id.
    pub server: Option<u32>,
    /// PostgreSQL's postmaster; its children (backends) are counted too.
    pub postgres: Option<u32>,
}

/// CPU times at one instant, in ticks.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    server: Option<u64>,
    server_rss_kb: Option<u64>,
    postgres: Option<u64>,
    bench: u64,
    machine_busy: u64,
    machine_steal: u64,
    machine_total: u64,
}

/// CPU use over a measurement, per operation.
#[derive(Debug, Serialize)]
pub struct CpuUse {
    /// Server CPU per operation, microseconds.
    pub server_us_per_op: Option<f64>,
    /// PostgreSQL CPU (postmaster and backends) per operation, microseconds.
    pub postgres_us_per_op: Option<f64>,
    /// This load generator's CPU per operation, microseconds.
    pub bench_us_per_op: f64,
    /// Share of the machine's CPU time that was busy, percent.
    pub machine_busy_percent: f64,
    /// Share of the machine's CPU time taken by the hypervisor for other
    /// guests ("steal"), percent: on a shared virtual machine, results
    /// with a high steal are not comparable with others.
    pub steal_percent: f64,
    /// The server's resident memory at the end, KiB.
    pub server_rss_kb: Option<u64>,
}

impl Watch {
    /// Reads the current times.
    pub fn snapshot(&self) -> Snapshot {
        let (busy, steal, total) = machine_times().unwrap_or((0, 0, 0));
        Snapshot {
            server: self.server.and_then(|pid| process_ticks(pid, false)),
            server_rss_kb: self.server.and_then(|pid| rss_kb(pid).ok()),
            postgres: self.postgres.and_then(tree_ticks),
            bench: process_ticks(std::process::id(), false).unwrap_or(0),
            machine_busy: busy,
            machine_steal: steal,
            machine_total: total,
        }
    }
}

impl Snapshot {
    /// CPU use from `self` to `end`, divided over `operations`.
    pub fn until(&self, end: &Snapshot, operations: u64) -> CpuUse {
        let ops = operations.max(1) as f64;
        let per_op = |a: u64, b: u64| b.saturating_sub(a) as f64 / TICKS_PER_SEC * 1e6 / ops;
        let total = end.machine_total.saturating_sub(self.machine_total).max(1) as f64;
        CpuUse {
            server_us_per_op: self.server.zip(end.server).map(|(a, b)| per_op(a, b)),
            postgres_us_per_op: self.postgres.zip(end.postgres).map(|(a, b)| per_op(a, b)),
            bench_us_per_op: per_op(self.bench, end.bench),
            machine_busy_percent: end.machine_busy.saturating_sub(self.machine_busy) as f64 / total
                * 100.0,
            steal_percent: end.machine_steal.saturating_sub(self.machine_steal) as f64 / total
                * 100.0,
            server_rss_kb: end.server_rss_kb,
        }
    }
}

/// `VmRSS` of a process, KiB.
pub fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for pid {pid}"))
}

/// `(ppid, utime + stime [+ cutime + cstime])` of a process.
fn stat(pid: u32, with_children: bool) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields restart after its ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 4 (ppid) is index 1 here; 14–17 (times) are 11–14.
    let ppid = fields.get(1)?.parse().ok()?;
    let mut ticks: u64 =
        fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    if with_children {
        ticks += fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?;
    }
    Some((ppid, ticks))
}

fn process_ticks(pid: u32, with_children: bool) -> Option<u64> {
    stat(pid, with_children).map(|(_, ticks)| ticks)
}

/// A process, its exited children, and its living children.
fn tree_ticks(root: u32) -> Option<u64> {
    let mut total = process_ticks(root, true)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, ticks)) = stat(pid, false)
            && ppid == root
        {
            total += ticks;
        }
    }
    Some(total)
}

/// `(busy, steal, total)` ticks of all CPUs from `/proc/stat`.
fn machine_times() -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is
    // already counted in user).
    let field = |i: usize| values.get(i).copied().unwrap_or(0);
    let total: u64 = (0..8).map(field).sum();
    let busy = field(0) + field(1) + field(2) + field(5) + field(6);
    Some((busy, field(7), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process_and_the_machine() {
        let watch = Watch {
            server: Some(std::process::id()),
            postgres: None,
        };
        let start = watch.snapshot();
        // Burn a little CPU so the counters move.
        let mut x = 0u64;
        let begin = std::time::Instant::now();
        while begin.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert!(x != 1);
        let end = watch.snapshot();
        let used = start.until(&end, 1);
        assert!(used.server_us_per_op.is_some());
        assert!(used.postgres_us_per_op.is_none());
        assert!(used.machine_busy_percent >= 0.0 && used.machine_busy_percent <= 100.0);
        assert!(used.steal_percent >= 0.0 && used.steal_percent <= 100.0);
        assert!(start.machine_total > 0);
        assert!(used.server_rss_kb.is_some_and(|kb| kb > 0));
    }
}
