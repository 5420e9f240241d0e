//! The physical limits an import is measured against, in the same run: the disk's
//! sequential write rate (`dd` with `oflag=direct`) and the least a JSON reader spends on
//! the records file (`bench-ceiling --parse`). The disk limit of an import in records/s
//! is that write rate over the bytes the store keeps per record.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, ensure};

/// A sequential write of the disk that holds the bench's directory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DiskWrite {
    pub(crate) bytes: u64,
    pub(crate) seconds: f64,
}

impl DiskWrite {
    pub(crate) fn bytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.seconds.max(1e-9)
    }

    /// Records/s the disk could take if it wrote nothing but the store, sequentially:
    /// the write rate over the store's bytes per record.
    pub(crate) fn records_per_second(&self, stored_bytes_per_record: f64) -> f64 {
        self.bytes_per_second() / stored_bytes_per_record.max(1e-9)
    }
}

/// How the report names the write: `dd ... bs=1M count=N oflag=direct conv=fdatasync`.
pub(crate) fn disk_write_command(mib: u64) -> String {
    format!("dd if=/dev/zero of=OUT/disk-write.tmp bs=1M count={mib} oflag=direct conv=fdatasync")
}

/// Writes `mib` MiB of zeros into `dir` past the OS cache, then removes the file.
/// `oflag=direct` keeps the page cache out of it; `conv=fdatasync` makes dd's time
/// include the device's own write-back cache being flushed.
pub(crate) fn disk_write(dir: &Path, mib: u64) -> anyhow::Result<DiskWrite> {
    let file = dir.join("disk-write.tmp");
    let output = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.display()))
        .args([
            "bs=1M",
            &format!("count={mib}"),
            "oflag=direct",
            "conv=fdatasync",
        ])
        // dd's summary line is translated otherwise, and then not found.
        .env("LC_ALL", "C")
        .output()
        .context("cannot run dd")?;
    let _ = std::fs::remove_file(&file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(output.status.success(), "dd failed: {}", stderr.trim());
    parse_dd(&stderr).with_context(|| format!("dd said nothing of its rate: {}", stderr.trim()))
}

/// GNU dd's last line: `16777216 bytes (17 MB, 16 MiB) copied, 0.0739173 s, 227 MB/s`.
/// The bytes and the seconds, not the rounded rate with its chosen unit.
fn parse_dd(stderr: &str) -> Option<DiskWrite> {
    let line = stderr
        .lines()
        .rev()
        .find(|line| line.contains(" copied, "))?;
    let bytes = line.split_whitespace().next()?.parse().ok()?;
    let (_, after) = line.split_once(" copied, ")?;
    let seconds: f64 = after.split_whitespace().next()?.parse().ok()?;
    (seconds > 0.0).then_some(DiskWrite { bytes, seconds })
}

/// serde_json reading every line of a records file into `IgnoredAny`, on one core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JsonParse {
    pub(crate) lines: u64,
    pub(crate) bytes: u64,
    pub(crate) seconds: f64,
}

impl JsonParse {
    pub(crate) fn records_per_second(&self) -> f64 {
        self.lines as f64 / self.seconds.max(1e-9)
    }

    pub(crate) fn mib_per_second(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.seconds.max(1e-9)
    }
}

/// Runs `bench-ceiling --parse FILE` pinned to `cpu` (the servers' core, idle between
/// their runs): a release build, where this task is a debug one.
pub(crate) fn json_parse(ceiling: &Path, records: &Path, cpu: &str) -> anyhow::Result<JsonParse> {
    let output = Command::new("taskset")
        .args(["-c", cpu])
        .arg(ceiling)
        .arg("--parse")
        .arg(records)
        .output()
        .context("cannot run bench-ceiling --parse")?;
    ensure!(
        output.status.success(),
        "bench-ceiling --parse failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    parse_parse(&stdout).with_context(|| format!("bench-ceiling --parse said {stdout:?}"))
}

/// `bench-ceiling --parse`'s line: `lines bytes seconds`.
fn parse_parse(stdout: &str) -> Option<JsonParse> {
    let mut fields = stdout.split_whitespace();
    let lines = fields.next()?.parse().ok()?;
    let bytes = fields.next()?.parse().ok()?;
    let seconds: f64 = fields.next()?.parse().ok()?;
    (seconds > 0.0 && fields.next().is_none()).then_some(JsonParse {
        lines,
        bytes,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dd_is_read_for_its_bytes_and_seconds_not_its_rounded_rate() {
        let stderr = "16+0 records in\n16+0 records out\n\
                      16777216 bytes (17 MB, 16 MiB) copied, 0.0739173 s, 227 MB/s\n";
        let write = parse_dd(stderr).unwrap();
        assert_eq!(write.bytes, 16_777_216);
        assert!((write.seconds - 0.073_917_3).abs() < 1e-12);
        assert!(parse_dd("dd: failed to open 'x': Permission denied\n").is_none());
    }

    #[test]
    fn the_disk_limit_is_the_write_rate_over_the_stored_bytes_per_record() {
        let write = DiskWrite {
            bytes: 300 * 1024 * 1024,
            seconds: 1.0,
        };
        // 1 536 bytes a record: 300 MiB/s is 204 800 records/s.
        assert!((write.records_per_second(1536.0) - 204_800.0).abs() < 1e-6);
    }

    #[test]
    fn the_parse_floor_line_is_three_numbers() {
        let parsed = parse_parse("1000 1425000 0.004000\n").unwrap();
        assert_eq!((parsed.lines, parsed.bytes), (1000, 1_425_000));
        assert!((parsed.records_per_second() - 250_000.0).abs() < 1e-6);
        assert!(parse_parse("1000 1425000\n").is_none());
        assert!(parse_parse("1000 1425000 0 \n").is_none());
    }
}
