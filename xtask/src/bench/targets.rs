//! The performance work's targets, on this machine, for the report's check and the
//! charts' target lines. The report says which were met; BENCHMARKS.md lists them.

use super::Store;

/// p99 at most the ceiling's in the same round plus this: the generator saturates before
/// the ceiling does, so the ceiling's own tail is the yardstick.
pub(crate) const MAX_P99_OVER_CEILING_MS: f64 = 3.0;
/// CPU per request at the largest size at most this many times the smallest's (SQLite).
pub(crate) const MAX_CPU_GROWTH: f64 = 1.25;
/// The service's own (anonymous) memory at the largest size.
pub(crate) const MAX_ANONYMOUS_RSS_MIB: f64 = 100.0;
/// SQLite's import also meets its target at this share of the disk's limit.
pub(crate) const MIN_SHARE_OF_DISK_LIMIT: f64 = 0.8;
/// The import sizes the import target is stated at (SQLite at both, PostgreSQL at the first).
pub(crate) const IMPORT_TARGET_SIZES: [u64; 2] = [1_000_000, 10_000_000];
/// The connection count the targets are stated at.
pub(crate) const TARGET_CONNECTIONS: u32 = 64;

/// A server's CPU per request at most this many times the ceiling's, at every size
/// (more on PostgreSQL, which pays a round trip to its server).
pub(crate) fn max_cpu_vs_ceiling(store: Store) -> f64 {
    match store {
        Store::Sqlite => 2.0,
        Store::Postgresql => 3.0,
    }
}

/// The import's records per second.
pub(crate) fn min_import_rate(store: Store) -> f64 {
    match store {
        Store::Sqlite => 200_000.0,
        Store::Postgresql => 100_000.0,
    }
}
