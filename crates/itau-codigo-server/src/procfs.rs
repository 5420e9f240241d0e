//! What Linux says about a process, read from `/proc` (proc(5)): CPU time, memory, file
//! descriptors, when it started. The one reader of `/proc/PID/stat` and
//! `/proc/PID/status`: `/metrics` reads its own process (the `process_*` families), the
//! benchmark (`xtask`) the service's.

use std::io;

/// Which process to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pid {
    /// The calling process (`/proc/self`).
    Own,
    /// Another process, by its ID.
    Of(u32),
}

impl Pid {
    fn dir(self) -> String {
        match self {
            Self::Own => "/proc/self".to_owned(),
            Self::Of(pid) => format!("/proc/{pid}"),
        }
    }
}

/// What `/proc/PID/stat` says, in seconds and bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// CPU time spent in user mode, all threads.
    pub user_seconds: f64,
    /// CPU time spent in the kernel, all threads.
    pub system_seconds: f64,
    /// CPU time (user and kernel) of the children it has waited for.
    pub waited_children_seconds: f64,
    /// When it started, in seconds after the machine booted.
    pub started_after_boot_seconds: f64,
    /// Virtual memory size.
    pub virtual_bytes: u64,
    /// Resident set size.
    pub resident_bytes: u64,
}

/// Fields of `/proc/PID/stat` after the command name, numbered as in proc(5) minus 3.
const UTIME: usize = 11;
const STIME: usize = 12;
const CUTIME: usize = 13;
const CSTIME: usize = 14;
const STARTTIME: usize = 19;
const VSIZE: usize = 20;
const RSS: usize = 21;

impl Stat {
    /// Reads `/proc/PID/stat`.
    ///
    /// # Errors
    ///
    /// The file cannot be read (no such process, no `/proc`) or is not as proc(5) says.
    pub fn read(pid: Pid) -> io::Result<Self> {
        let path = format!("{}/stat", pid.dir());
        let text = std::fs::read_to_string(&path)?;
        Self::parse(
            &text,
            rustix::param::clock_ticks_per_second() as f64,
            rustix::param::page_size() as u64,
        )
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {path}")))
    }

    /// The fields of a `stat` line, with times in clock ticks of `ticks_per_second` and
    /// the resident set in pages of `page_size` bytes.
    fn parse(text: &str, ticks_per_second: f64, page_size: u64) -> Option<Self> {
        // The command name is in parentheses and may hold spaces and parentheses:
        // split after the last one.
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |index: usize| fields.get(index)?.parse::<u64>().ok();
        let seconds = |index: usize| Some(number(index)? as f64 / ticks_per_second);
        Some(Self {
            user_seconds: seconds(UTIME)?,
            system_seconds: seconds(STIME)?,
            waited_children_seconds: seconds(CUTIME)? + seconds(CSTIME)?,
            started_after_boot_seconds: seconds(STARTTIME)?,
            virtual_bytes: number(VSIZE)?,
            resident_bytes: number(RSS)? * page_size,
        })
    }

    /// CPU time in user mode and in the kernel, all threads.
    pub fn cpu_seconds(&self) -> f64 {
        self.user_seconds + self.system_seconds
    }
}

/// What `/proc/PID/status` says about the process's resident memory, in bytes: the
/// whole, its peak, and its parts. Anonymous pages are the process's own (heap, stacks);
/// file pages are mapped files, the binary's and a memory-mapped store's, which are the
/// OS cache's pages shared with every other reader, counted once per mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size (`VmRSS`).
    pub resident_bytes: u64,
    /// Its peak so far (`VmHWM`).
    pub peak_resident_bytes: u64,
    /// Anonymous pages (`RssAnon`).
    pub anonymous_bytes: u64,
    /// Pages of mapped files (`RssFile`).
    pub file_bytes: u64,
    /// Shared memory (`RssShmem`: System V, tmpfs, shared anonymous maps).
    pub shared_memory_bytes: u64,
}

impl Memory {
    /// Reads `/proc/PID/status`.
    ///
    /// # Errors
    ///
    /// The file cannot be read (no such process, no `/proc`) or lacks a field above
    /// (a kernel older than 4.5 has no `RssAnon`).
    pub fn read(pid: Pid) -> io::Result<Self> {
        let path = format!("{}/status", pid.dir());
        Self::parse(&std::fs::read_to_string(&path)?)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {path}")))
    }

    fn parse(status: &str) -> Option<Self> {
        let kib = |name: &str| -> Option<u64> {
            let value = status.lines().find_map(|line| line.strip_prefix(name))?;
            let (number, unit) = value.strip_prefix(':')?.trim().split_once(' ')?;
            (unit == "kB").then_some(())?;
            Some(number.parse::<u64>().ok()? * 1024)
        };
        Some(Self {
            resident_bytes: kib("VmRSS")?,
            peak_resident_bytes: kib("VmHWM")?,
            anonymous_bytes: kib("RssAnon")?,
            file_bytes: kib("RssFile")?,
            shared_memory_bytes: kib("RssShmem")?,
        })
    }
}

/// When the machine booted, in seconds since the Unix epoch (`btime` of `/proc/stat`).
///
/// # Errors
///
/// `/proc/stat` cannot be read or has no `btime` line.
pub fn boot_time_seconds() -> io::Result<u64> {
    let text = std::fs::read_to_string("/proc/stat")?;
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no btime in /proc/stat"))
}

/// The file descriptors the process has open (the entries of `/proc/PID/fd`).
///
/// # Errors
///
/// The folder cannot be read.
pub fn open_fds(pid: Pid) -> io::Result<u64> {
    let mut count = 0;
    for entry in std::fs::read_dir(format!("{}/fd", pid.dir()))? {
        entry?;
        count += 1;
    }
    Ok(count)
}

/// The most file descriptors the process may open (the soft limit, "Max open files" in
/// `/proc/PID/limits`); `None` when unlimited.
///
/// # Errors
///
/// The file cannot be read or has no such line.
pub fn max_fds(pid: Pid) -> io::Result<Option<u64>> {
    let path = format!("{}/limits", pid.dir());
    parse_max_fds(&std::fs::read_to_string(&path)?)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {path}")))
}

fn parse_max_fds(limits: &str) -> Option<Option<u64>> {
    let soft = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(None),
        number => number.parse().ok().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_after_the_last_parenthesis_of_the_command() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 50 30 20 20 0 \
                    9 0 123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 \
                    17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
        let stat = Stat::parse(line, 100.0, 4096).unwrap();
        assert_eq!(
            stat,
            Stat {
                user_seconds: 2.5,
                system_seconds: 0.5,
                waited_children_seconds: 0.5,
                started_after_boot_seconds: 1234.56,
                virtual_bytes: 104_857_600,
                resident_bytes: 2560 * 4096,
            }
        );
        assert_eq!(stat.cpu_seconds(), 3.0);
        assert_eq!(Stat::parse("4242 (cut short) S 1 2", 100.0, 4096), None);
    }

    #[test]
    fn resident_memory_is_read_whole_and_in_parts_from_status() {
        let status = "Name:\titau-codigo\nVmPeak:\t  900000 kB\nVmHWM:\t   40000 kB\n\
                      VmRSS:\t   30000 kB\nRssAnon:\t   20000 kB\nRssFile:\t    9000 kB\n\
                      RssShmem:\t    1000 kB\nThreads:\t4\n";
        assert_eq!(
            Memory::parse(status),
            Some(Memory {
                resident_bytes: 30_000 * 1024,
                peak_resident_bytes: 40_000 * 1024,
                anonymous_bytes: 20_000 * 1024,
                file_bytes: 9_000 * 1024,
                shared_memory_bytes: 1_000 * 1024,
            })
        );
        assert_eq!(Memory::parse("VmRSS:\t 1 kB\nVmHWM:\t 1 kB\n"), None);
    }

    #[test]
    fn the_soft_limit_of_open_files_is_the_most_fds() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63427                63427                processes \n\
                      Max open files            1024                 1048576              files     \n";
        assert_eq!(parse_max_fds(limits), Some(Some(1024)));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_max_fds(unlimited), Some(None));
        assert_eq!(parse_max_fds("Max processes 1 1 processes\n"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let stat = Stat::read(Pid::Own).unwrap();
        assert!(stat.resident_bytes > 0 && stat.virtual_bytes >= stat.resident_bytes);
        assert!(boot_time_seconds().unwrap() > 0);
        let memory = Memory::read(Pid::Own).unwrap();
        assert!(memory.anonymous_bytes > 0 && memory.file_bytes > 0);
        assert!(memory.peak_resident_bytes >= memory.resident_bytes);
        assert!(open_fds(Pid::Own).unwrap() >= 3);
        assert!(max_fds(Pid::Own).unwrap().is_none_or(|max| max >= 3));
    }
}
