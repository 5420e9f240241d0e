//! The import's external sort: encoded records by account key, in bounded memory.
//!
//! Records are pushed in line order. They collect in one buffer (their bytes) and an
//! index (key, where the bytes are); when the two would pass the memory budget, the
//! index is sorted by key (stably, so line order holds within a key), only the last
//! record of each key is kept, and the run is written to a spill file. At the end the
//! spill files and the last in-memory run are merged by key; for a key found in
//! several runs the latest run wins, so the later line of the file always wins.
//!
//! A spill file is anonymous: created in the spill directory already unlinked
//! (`O_TMPFILE`, or created and removed at once where that is not supported), mode
//! 0600, so it is private, never visible to other processes by name, and gone when
//! the import ends however it ends (success, failure, Ctrl-C, a crash). Its format is
//! a sequence of `key: i64 LE, length: u32 LE, bytes`, sorted by key, each key once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Bytes the sort may hold in memory by default (buffer and index together).
pub const DEFAULT_SORT_MEMORY: usize = 256 * 1024 * 1024;

/// Runs merged at once at most; past this many spill files, they are merged into one
/// first, so that the open files and their read buffers stay bounded however large the
/// input.
const MAX_RUNS: usize = 64;

/// Read buffer of each spill file while merging.
const READ_BUFFER: usize = 256 * 1024;

/// Write buffer of a spill file.
const WRITE_BUFFER: usize = 1024 * 1024;

/// The spill files could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("cannot write or read the import's temporary files in {}: {source}", .dir.display())]
pub struct SpillError {
    /// Where the files go.
    pub dir: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// Records sorted by key with at most `budget` bytes in memory.
#[derive(Debug)]
pub(crate) struct Sorter {
    budget: usize,
    dir: PathBuf,
    max_runs: usize,
    /// The bytes of the records of the current run, back to back.
    buffer: Vec<u8>,
    /// The current run's records, in push order until sorted.
    index: Vec<Entry>,
    /// Spilled runs, oldest first.
    runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: i64,
    start: usize,
    len: u32,
}

const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

/// A sorted run in a spill file.
#[derive(Debug)]
struct Run {
    file: File,
    records: u64,
}

impl Sorter {
    /// A sorter holding at most `budget` bytes before it spills into files in `dir`.
    pub(crate) fn new(budget: usize, dir: PathBuf) -> Self {
        Self {
            budget,
            dir,
            max_runs: MAX_RUNS,
            buffer: Vec::new(),
            index: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Adds a record; among records of one key, the last pushed wins.
    pub(crate) fn push(&mut self, key: i64, bytes: &[u8]) -> Result<(), SpillError> {
        let needed = self.buffer.len() + bytes.len() + (self.index.len() + 1) * ENTRY_BYTES;
        if needed > self.budget && !self.index.is_empty() {
            self.spill()?;
        }
        if self.buffer.capacity() - self.buffer.len() < bytes.len() {
            // The whole budget at once (a record larger than the budget aside): the
            // memory is only taken as it is written, whereas growing by doubling copied
            // the run at each step and had the kernel clear the new pages again.
            let len = self.buffer.len();
            let wanted = self.budget.max(len + bytes.len());
            if self.buffer.try_reserve_exact(wanted - len).is_err() {
                // The system would not promise that much at once (a large
                // `--sort-memory`, or no overcommit): grow as needed, never past the
                // budget.
                let grown = (self.buffer.capacity() * 2)
                    .max(64 * 1024)
                    .min(wanted)
                    .max(len + bytes.len());
                self.buffer.reserve_exact(grown - len);
            }
        }
        let start = self.buffer.len();
        self.buffer.extend_from_slice(bytes);
        self.index.push(Entry {
            key,
            start,
            // An import line is at most 64 KiB, and so is its encoding.
            len: u32::try_from(bytes.len()).expect("a record is far below 4 GiB"),
        });
        Ok(())
    }

    /// Files spilled so far.
    #[cfg(test)]
    fn spilled(&self) -> usize {
        self.runs.len()
    }

    /// Calls `write` once per key, in ascending key order, with the last record pushed
    /// for that key; returns how many keys there were.
    pub(crate) fn merge<E>(
        mut self,
        mut write: impl FnMut(i64, &[u8]) -> Result<(), E>,
    ) -> Result<u64, E>
    where
        E: From<SpillError>,
    {
        sort_run(&mut self.index);
        let memory = MemoryRun {
            buffer: &self.buffer,
            index: &self.index,
        };
        let runs = std::mem::take(&mut self.runs);
        merge(runs, Some(memory), &self.dir, &mut write)
    }

    /// Writes the current run, sorted, to a spill file and empties the memory.
    fn spill(&mut self) -> Result<(), SpillError> {
        let error = |source| SpillError {
            dir: self.dir.clone(),
            source,
        };
        sort_run(&mut self.index);
        let file = spill_file(&self.dir).map_err(error)?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        for entry in &self.index {
            let bytes = &self.buffer[entry.start..entry.start + entry.len as usize];
            write_record(&mut out, entry.key, bytes).map_err(error)?;
        }
        let records = self.index.len() as u64;
        let file = out.into_inner().map_err(|e| error(e.into_error()))?;
        self.runs.push(Run { file, records });
        self.buffer.clear();
        self.index.clear();
        if self.runs.len() >= self.max_runs {
            self.compact()?;
        }
        Ok(())
    }

    /// Merges every spilled run into one.
    fn compact(&mut self) -> Result<(), SpillError> {
        let error = |source| SpillError {
            dir: self.dir.clone(),
            source,
        };
        let file = spill_file(&self.dir).map_err(error)?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let runs = std::mem::take(&mut self.runs);
        let records = merge(runs, None, &self.dir, &mut |key, bytes: &[u8]| {
            write_record(&mut out, key, bytes).map_err(error)
        })?;
        let file = out.into_inner().map_err(|e| error(e.into_error()))?;
        self.runs.push(Run { file, records });
        Ok(())
    }
}

/// A private, anonymous file in `dir` (see the module's documentation).
fn spill_file(dir: &Path) -> io::Result<File> {
    use std::os::unix::fs::PermissionsExt;
    let file = tempfile::tempfile_in(dir)?;
    // `tempfile` creates it 0600 already; said again so that no umask or library
    // change can make it readable by others.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Sorts a run by key, line order kept within a key, and keeps the last of each key.
fn sort_run(index: &mut Vec<Entry>) {
    index.sort_by_key(|entry| entry.key);
    let mut kept = 0;
    for i in 0..index.len() {
        if index.get(i + 1).is_none_or(|next| next.key != index[i].key) {
            index[kept] = index[i];
            kept += 1;
        }
    }
    index.truncate(kept);
}

fn write_record(out: &mut impl Write, key: i64, bytes: &[u8]) -> io::Result<()> {
    out.write_all(&key.to_le_bytes())?;
    let len = u32::try_from(bytes.len()).expect("a record is far below 4 GiB");
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// The last, unspilled run.
struct MemoryRun<'a> {
    buffer: &'a [u8],
    /// Sorted, each key once.
    index: &'a [Entry],
}

/// Where the merge is in one run.
enum Cursor<'a> {
    File {
        reader: BufReader<File>,
        left: u64,
        /// The current record's bytes.
        bytes: Vec<u8>,
    },
    Memory {
        run: MemoryRun<'a>,
        /// The current record's position in `run.index`.
        at: usize,
        /// The next one's.
        next: usize,
    },
}

impl Cursor<'_> {
    /// Moves to the next record; its key, or `None` at the end of the run.
    fn advance(&mut self) -> io::Result<Option<i64>> {
        match self {
            Self::File {
                reader,
                left,
                bytes,
            } => {
                if *left == 0 {
                    return Ok(None);
                }
                *left -= 1;
                let mut header = [0; 12];
                reader.read_exact(&mut header)?;
                let (key, len) = header.split_at(8);
                let key = i64::from_le_bytes(key.try_into().expect("8 bytes"));
                let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
                bytes.resize(len, 0);
                reader.read_exact(bytes)?;
                Ok(Some(key))
            }
            Self::Memory { run, at, next } => {
                *at = *next;
                *next += 1;
                Ok(run.index.get(*at).map(|entry| entry.key))
            }
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Self::File { bytes, .. } => bytes,
            Self::Memory { run, at, .. } => {
                let entry = run.index[*at];
                &run.buffer[entry.start..entry.start + entry.len as usize]
            }
        }
    }
}

/// Merges sorted runs (oldest first; `memory`, when given, is the newest) and calls
/// `write` once per key with the newest run's record of it.
fn merge<E: From<SpillError>>(
    runs: Vec<Run>,
    memory: Option<MemoryRun<'_>>,
    dir: &Path,
    write: &mut impl FnMut(i64, &[u8]) -> Result<(), E>,
) -> Result<u64, E> {
    let error = |source| SpillError {
        dir: dir.to_owned(),
        source,
    };
    let mut cursors = Vec::with_capacity(runs.len() + 1);
    for Run { mut file, records } in runs {
        file.rewind().map_err(error)?;
        cursors.push(Cursor::File {
            reader: BufReader::with_capacity(READ_BUFFER, file),
            left: records,
            bytes: Vec::new(),
        });
    }
    if let Some(run) = memory {
        cursors.push(Cursor::Memory {
            run,
            at: 0,
            next: 0,
        });
    }
    // The smallest key first and, for one key, the oldest run first.
    let mut heap = BinaryHeap::with_capacity(cursors.len());
    for (run, cursor) in cursors.iter_mut().enumerate() {
        if let Some(key) = cursor.advance().map_err(error)? {
            heap.push(Reverse((key, run)));
        }
    }
    let mut keys = 0;
    while let Some(Reverse((key, mut run))) = heap.pop() {
        // A newer run holds the same key: it wins, the older record is skipped.
        while let Some(&Reverse((next_key, next_run))) = heap.peek() {
            if next_key != key {
                break;
            }
            heap.pop();
            if let Some(skipped) = cursors[run].advance().map_err(error)? {
                heap.push(Reverse((skipped, run)));
            }
            run = next_run;
        }
        write(key, cursors[run].bytes())?;
        keys += 1;
        if let Some(next) = cursors[run].advance().map_err(error)? {
            heap.push(Reverse((next, run)));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn sorted(sorter: Sorter) -> Vec<(i64, String)> {
        let mut out = Vec::new();
        sorter
            .merge(|key, bytes| {
                out.push((key, String::from_utf8(bytes.to_vec()).unwrap()));
                Ok::<_, SpillError>(())
            })
            .unwrap();
        out
    }

    /// Pushes `records` and returns what the merge writes and how many files spilled.
    fn sort(
        budget: usize,
        max_runs: usize,
        records: &[(i64, String)],
    ) -> (Vec<(i64, String)>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut sorter = Sorter::new(budget, dir.path().to_owned());
        sorter.max_runs = max_runs;
        for (key, text) in records {
            sorter.push(*key, text.as_bytes()).unwrap();
        }
        let spilled = sorter.spilled();
        let out = sorted(sorter);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "spill files are never visible by name"
        );
        (out, spilled)
    }

    /// Keys in a scrambled order, each several times, with its line number as data.
    fn scrambled(count: usize) -> Vec<(i64, String)> {
        (0..count)
            .map(|line| {
                let key = (line as i64 * 7919) % 997;
                (key, format!("{key}@{line}"))
            })
            .collect()
    }

    /// The expected output: each key once, ascending, with its last line.
    fn reference(records: &[(i64, String)]) -> Vec<(i64, String)> {
        let mut last = std::collections::BTreeMap::new();
        for (key, text) in records {
            last.insert(*key, text.clone());
        }
        last.into_iter().collect()
    }

    #[test]
    fn records_come_out_in_key_order_with_the_last_line_of_each_key() {
        let records = scrambled(5_000);
        let (out, spilled) = sort(DEFAULT_SORT_MEMORY, MAX_RUNS, &records);
        assert_eq!(spilled, 0, "a small input stays in memory");
        assert_eq!(out, reference(&records));
    }

    #[test]
    fn spilled_runs_merge_to_the_same_result() {
        let records = scrambled(5_000);
        let (out, spilled) = sort(16 * 1024, MAX_RUNS, &records);
        assert!(spilled > 5, "{spilled}");
        assert_eq!(out, reference(&records));
    }

    #[test]
    fn many_runs_are_compacted_and_still_merge_to_the_same_result() {
        let records = scrambled(5_000);
        let (out, spilled) = sort(4 * 1024, 4, &records);
        assert!(spilled <= 4, "{spilled}");
        assert_eq!(out, reference(&records));
    }

    #[test]
    fn a_record_larger_than_the_budget_still_sorts() {
        let big = "x".repeat(10_000);
        let records = vec![(3, big.clone()), (1, "a".into()), (3, "b".into()), (2, big)];
        let (out, _) = sort(1_000, MAX_RUNS, &records);
        assert_eq!(out, reference(&records));
    }

    #[test]
    fn nothing_pushed_merges_to_nothing() {
        let (out, spilled) = sort(1_000, MAX_RUNS, &[]);
        assert!(out.is_empty() && spilled == 0);
    }

    #[test]
    fn spill_files_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = spill_file(dir.path()).unwrap();
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn an_unusable_spill_directory_is_named() {
        let mut sorter = Sorter::new(10, PathBuf::from("/no/such/dir"));
        sorter.push(1, b"0123456789").unwrap();
        let error = sorter.push(2, b"0123456789").unwrap_err();
        assert!(error.to_string().contains("/no/such/dir"), "{error}");
    }
}
