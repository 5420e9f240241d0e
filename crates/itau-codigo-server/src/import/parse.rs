//! The parallel stage of an import: the calling thread reads batches of lines, one
//! thread per core parses, validates and encodes them, and the results come back in
//! line order, so that errors are reported in order and the sort can let the later of
//! two lines for one account win.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::ops::Range;
use std::sync::{Mutex, mpsc};

use indicatif::ProgressBar;
use itau_codigo::{FieldError, RegistroCliente};

use super::ImportError;
use super::lines::{Content, parse, read_line};
use crate::store;

/// Lines per batch handed to a parsing thread: large enough that the hand-over costs
/// nothing next to parsing, small enough that a few batches in flight stay small.
pub(super) const BATCH_LINES: usize = 256;

/// Raw lines, numbered from 1 over the whole input: their bytes back to back in one
/// buffer (one allocation per batch, not one growing buffer per line).
struct Batch {
    sequence: usize,
    bytes: Vec<u8>,
    lines: Vec<(usize, Content, Range<usize>)>,
}

/// The lines of a batch parsed, in order, each numbered from 1 over the whole input
/// with its record's key and stored bytes, or its errors; blank lines are left out.
pub(super) struct Parsed {
    sequence: usize,
    pub(super) lines: Vec<(usize, Result<Encoded, Vec<FieldError>>)>,
}

/// A record's key, and its bytes as the store keeps them.
pub(super) type Encoded = (i64, Vec<u8>);

/// Reads `input` to its end in batches of lines, parses them on one thread per core
/// and hands each batch's results to `take`, in line order; returns how many lines
/// were read, blank ones included. `progress` advances by the bytes read.
///
/// # Errors
///
/// The input could not be read, or `take` failed: reading stops at once and the
/// parsing threads with it.
pub(super) fn parse_in_line_order<R: BufRead>(
    mut input: R,
    progress: &ProgressBar,
    mut take: impl FnMut(Parsed) -> Result<(), ImportError>,
) -> Result<usize, ImportError> {
    let parsers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (to_parsers, batches) = mpsc::sync_channel::<Batch>(parsers * 2);
    let batches = Mutex::new(batches);
    let (to_reader, parsed) = mpsc::sync_channel::<Parsed>(parsers * 2);
    std::thread::scope(|scope| {
        for _ in 0..parsers {
            let to_reader = to_reader.clone();
            let batches = &batches;
            scope.spawn(move || parse_batches(batches, &to_reader));
        }
        drop(to_reader);
        // Owned by this closure, so that an early return (a failed read or `take`) drops
        // both ends and the parsers, blocked on either, stop instead of being waited for.
        let (to_parsers, parsed) = (to_parsers, parsed);
        let mut in_order = InLineOrder::default();
        let mut lines_read = 0;
        let mut sequence = 0;
        let mut in_flight = 0;
        let mut read_all = false;
        while !read_all || in_flight > 0 {
            // Keep every parser busy, then take whatever is next in line order.
            while !read_all && in_flight < parsers * 2 {
                let batch = read_batch(&mut input, &mut lines_read, sequence, progress)?;
                read_all = batch.lines.len() < BATCH_LINES;
                if batch.lines.is_empty() {
                    break;
                }
                sequence += 1;
                in_flight += 1;
                // The parsers only stop when this sender is dropped.
                to_parsers.send(batch).expect("parsers outlive the sender");
            }
            if in_flight == 0 {
                break;
            }
            in_flight -= 1;
            take(in_order.next(&parsed))?;
        }
        Ok(lines_read)
    })
}

/// Parsed batches put back in the order they were read in.
#[derive(Default)]
struct InLineOrder {
    /// The sequence number of the batch to hand on next.
    next: usize,
    /// Batches that came back before their turn.
    early: BTreeMap<usize, Parsed>,
}

impl InLineOrder {
    /// The next batch in line order, waiting on `parsed` until it is back.
    fn next(&mut self, parsed: &mpsc::Receiver<Parsed>) -> Parsed {
        loop {
            if let Some(batch) = self.early.remove(&self.next) {
                self.next += 1;
                return batch;
            }
            let batch = parsed.recv().expect("a parser died");
            self.early.insert(batch.sequence, batch);
        }
    }
}

fn read_batch<R: BufRead>(
    input: &mut R,
    lines_read: &mut usize,
    sequence: usize,
    progress: &ProgressBar,
) -> io::Result<Batch> {
    let mut lines = Vec::with_capacity(BATCH_LINES);
    // Room for lines of a typical record (about 1.4 KiB); it grows for larger ones.
    let mut bytes = Vec::with_capacity(BATCH_LINES * 2048);
    let mut bytes_read = 0;
    while lines.len() < BATCH_LINES {
        let start = bytes.len();
        let Some(line) = read_line(input, &mut bytes)? else {
            break;
        };
        *lines_read += 1;
        bytes_read += line.bytes_read as u64;
        lines.push((*lines_read, line.content, start..bytes.len()));
    }
    // Once per batch: the bar takes a lock and reads the clock on each call.
    progress.inc(bytes_read);
    Ok(Batch {
        sequence,
        bytes,
        lines,
    })
}

/// A parsing thread: takes batches until the reader stops sending, or stops taking.
fn parse_batches(batches: &Mutex<mpsc::Receiver<Batch>>, to_reader: &mpsc::SyncSender<Parsed>) {
    loop {
        let batch = match batches.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(batch) = batch else {
            return;
        };
        let lines = batch
            .lines
            .into_iter()
            .filter_map(|(number, content, range)| {
                let parsed = parse(number, &content, &batch.bytes[range])?;
                Some((number, parsed.map(|registro| encode(&registro))))
            })
            .collect();
        let parsed = Parsed {
            sequence: batch.sequence,
            lines,
        };
        if to_reader.send(parsed).is_err() {
            return;
        }
    }
}

/// A record's key, and its bytes as the store keeps them.
fn encode(registro: &RegistroCliente) -> Encoded {
    (
        store::key(&registro.codigo_conta),
        store::encode_record(registro),
    )
}
