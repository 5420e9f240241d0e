//! Failed-login throttling per client address: after too many wrong or missing
//! credentials from one address, that address is refused (still with the documented 401)
//! for a while, whatever it sends, so that guessing the password stops making progress.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Most addresses tracked at once; a flood of new addresses cannot grow memory further.
pub const MAX_TRACKED_ADDRESSES: usize = 65_536;

/// How many failures lock an address out, and for how long. Its `Default` (the
/// `serve` defaults) is in `config.rs`, with every other default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failed logins (each within `lockout` of the previous one) that lock an address
    /// out; 0 turns throttling off.
    pub max_failures: u32,
    /// How long an address stays refused after its last counted failure, and how long
    /// a failure is remembered.
    pub lockout: Duration,
}

/// What a failed login led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Counted; the address may go on trying.
    Counted {
        /// Failures in a row from this address so far.
        failures: u32,
    },
    /// This failure locked the address out.
    LockedOut {
        /// Failures in a row from this address.
        failures: u32,
    },
    /// The address had already used its budget when this attempt was decided (a
    /// parallel attempt got there first): not counted, refused as a lock-out.
    Refused {
        /// How much longer the address is refused.
        retry_after: Duration,
    },
}

/// The failed logins of every recent address.
///
/// Every decision (is the address over its budget? count this failure) is taken in one
/// step under one lock, so that parallel attempts cannot pass the budget. Entries
/// expire through a queue in the order they were made: each call pops what has aged,
/// and a full table drops its oldest entry, so that no call scans the table.
#[derive(Debug)]
pub struct LoginThrottle {
    config: ThrottleConfig,
    table: Mutex<Table>,
    /// How many entries the table holds, readable without the lock: while no address
    /// has failed lately (the usual case) a request takes no lock at all.
    tracked: AtomicUsize,
}

#[derive(Debug, Default)]
struct Table {
    addresses: HashMap<AddressKey, Entry>,
    /// `(deadline, address, generation)` per entry made, roughly in deadline order;
    /// an item whose generation no longer matches its entry is stale and skipped.
    expiry: VecDeque<(Instant, AddressKey, u64)>,
    next_generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    generation: u64,
}

/// An IPv4 address, or the /64 network of an IPv6 address: one IPv6 host usually holds
/// a whole /64 and could otherwise rotate through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKey {
    /// An IPv4 address (IPv4-mapped IPv6 included).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Network(u64),
}

impl From<IpAddr> for AddressKey {
    fn from(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => Self::V6Network((v6.to_bits() >> 64) as u64),
            },
        }
    }
}

impl LoginThrottle {
    /// A throttle with nothing recorded.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            table: Mutex::new(Table::default()),
            tracked: AtomicUsize::new(0),
        }
    }

    /// How long an address stays locked out.
    pub fn lockout(&self) -> Duration {
        self.config.lockout
    }

    /// Whether throttling is on.
    pub fn enabled(&self) -> bool {
        self.config.max_failures > 0
    }

    /// How much longer `address` is refused, if it is locked out now. A cheap early
    /// answer only: [`failed`](Self::failed) and [`succeeded`](Self::succeeded) decide.
    pub fn locked_out(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        if !self.enabled() || self.tracked.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let table = self.lock();
        self.retry_after(table.addresses.get(&AddressKey::from(address)), now)
    }

    /// Decides a failed login from `address` and counts it, in one step: refused
    /// without counting when the address has no budget left, counted otherwise.
    pub fn failed(&self, address: IpAddr, now: Instant) -> Failure {
        if !self.enabled() {
            return Failure::Counted { failures: 0 };
        }
        let key = AddressKey::from(address);
        let mut table = self.lock();
        if let Some(retry_after) = self.retry_after(table.addresses.get(&key), now) {
            return Failure::Refused { retry_after };
        }
        self.expire(&mut table, now);
        let lockout = self.config.lockout;
        let failures = match table.addresses.get_mut(&key) {
            // A failure long after the previous one starts a new count.
            Some(entry) if now.saturating_duration_since(entry.last_failure) < lockout => {
                entry.failures = entry.failures.saturating_add(1);
                entry.last_failure = now;
                entry.failures
            }
            _ => {
                while table.addresses.len() >= MAX_TRACKED_ADDRESSES {
                    table.drop_oldest();
                }
                let generation = table.next_generation;
                table.next_generation += 1;
                table.addresses.insert(
                    key,
                    Entry {
                        failures: 1,
                        last_failure: now,
                        generation,
                    },
                );
                // A success forgets its entry but not its queue item: keep the queue
                // within twice the table, dropping the items of forgotten entries
                // (amortised O(1): it then holds at most the table's size).
                if table.expiry.len() >= 2 * MAX_TRACKED_ADDRESSES {
                    let Table {
                        expiry, addresses, ..
                    } = &mut *table;
                    expiry.retain(|(_, key, generation)| {
                        addresses
                            .get(key)
                            .is_some_and(|entry| entry.generation == *generation)
                    });
                }
                table.expiry.push_back((now + lockout, key, generation));
                1
            }
        };
        self.tracked.store(table.addresses.len(), Ordering::Relaxed);
        if failures == self.config.max_failures {
            Failure::LockedOut { failures }
        } else {
            Failure::Counted { failures }
        }
    }

    /// Decides a successful login from `address`: refused (with how much longer) when
    /// the address is locked out, otherwise let in, its failures forgotten.
    ///
    /// # Errors
    ///
    /// How much longer the address is refused.
    pub fn succeeded(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.enabled() || self.tracked.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        let key = AddressKey::from(address);
        let mut table = self.lock();
        if let Some(retry_after) = self.retry_after(table.addresses.get(&key), now) {
            return Err(retry_after);
        }
        table.addresses.remove(&key);
        self.expire(&mut table, now);
        self.tracked.store(table.addresses.len(), Ordering::Relaxed);
        Ok(())
    }

    /// How many addresses are remembered.
    pub fn tracked(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn retry_after(&self, entry: Option<&Entry>, now: Instant) -> Option<Duration> {
        let entry = entry?;
        let until = entry.last_failure + self.config.lockout;
        (entry.failures >= self.config.max_failures && until > now).then(|| until - now)
    }

    /// Pops the queue's aged items: an expired entry goes, a live one (failed again
    /// since) goes back in with its new deadline. Each item is handled once per
    /// failure that made or moved it: O(1) amortised.
    fn expire(&self, table: &mut Table, now: Instant) {
        while let Some(&(deadline, key, generation)) = table.expiry.front() {
            if deadline > now {
                break;
            }
            table.expiry.pop_front();
            let Some(entry) = table.addresses.get(&key) else {
                continue;
            };
            if entry.generation != generation {
                continue;
            }
            let real_deadline = entry.last_failure + self.config.lockout;
            if real_deadline <= now {
                table.addresses.remove(&key);
            } else {
                table.expiry.push_back((real_deadline, key, generation));
            }
        }
    }
}

impl Table {
    /// Forgets the entry made longest ago (live or not), skipping stale queue items.
    fn drop_oldest(&mut self) {
        while let Some((_, key, generation)) = self.expiry.pop_front() {
            if self
                .addresses
                .get(&key)
                .is_some_and(|entry| entry.generation == generation)
            {
                self.addresses.remove(&key);
                return;
            }
        }
        // The queue holds an item for every entry; this is not reached.
        self.addresses.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const ONE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn throttle(max_failures: u32, lockout_secs: u64) -> LoginThrottle {
        LoginThrottle::new(ThrottleConfig {
            max_failures,
            lockout: Duration::from_secs(lockout_secs),
        })
    }

    #[test]
    fn the_nth_failure_locks_the_address_out_for_the_lockout() {
        let throttle = throttle(3, 60);
        let start = Instant::now();
        assert_eq!(
            throttle.failed(ONE, start),
            Failure::Counted { failures: 1 }
        );
        assert_eq!(
            throttle.failed(ONE, start),
            Failure::Counted { failures: 2 }
        );
        assert_eq!(throttle.locked_out(ONE, start), None);
        assert_eq!(
            throttle.failed(ONE, start),
            Failure::LockedOut { failures: 3 }
        );
        assert_eq!(
            throttle.locked_out(ONE, start + Duration::from_secs(10)),
            Some(Duration::from_secs(50))
        );
        assert_eq!(
            throttle.locked_out(ONE, start + Duration::from_secs(60)),
            None
        );
    }

    #[test]
    fn another_address_is_not_locked_out() {
        let throttle = throttle(1, 60);
        let now = Instant::now();
        throttle.failed(ONE, now);
        assert!(throttle.locked_out(ONE, now).is_some());
        assert_eq!(throttle.locked_out(TWO, now), None);
    }

    #[test]
    fn failures_further_apart_than_the_lockout_do_not_add_up() {
        let throttle = throttle(2, 60);
        let start = Instant::now();
        throttle.failed(ONE, start);
        assert_eq!(
            throttle.failed(ONE, start + Duration::from_secs(61)),
            Failure::Counted { failures: 1 }
        );
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let throttle = throttle(2, 60);
        let now = Instant::now();
        throttle.failed(ONE, now);
        assert_eq!(throttle.succeeded(ONE, now), Ok(()));
        assert_eq!(throttle.failed(ONE, now), Failure::Counted { failures: 1 });
    }

    #[test]
    fn zero_max_failures_turns_throttling_off() {
        let throttle = throttle(0, 60);
        let now = Instant::now();
        for _ in 0..100 {
            throttle.failed(ONE, now);
        }
        assert_eq!(throttle.locked_out(ONE, now), None);
        assert_eq!(throttle.tracked(), 0);
    }

    #[test]
    fn ipv6_addresses_of_one_64_network_count_together() {
        let throttle = throttle(2, 60);
        let now = Instant::now();
        throttle.failed(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1)),
            now,
        );
        throttle.failed(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9)),
            now,
        );
        let same_network = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 7));
        assert!(throttle.locked_out(same_network, now).is_some());
        let other_network = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert_eq!(throttle.locked_out(other_network, now), None);
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(AddressKey::from(mapped), AddressKey::from(ONE));
    }

    #[test]
    fn a_flood_of_addresses_stays_within_the_tracking_limit() {
        let throttle = throttle(5, 60);
        let now = Instant::now();
        for n in 0..(MAX_TRACKED_ADDRESSES as u32 + 10) {
            throttle.failed(IpAddr::V4(Ipv4Addr::from(n)), now);
        }
        assert_eq!(throttle.tracked(), MAX_TRACKED_ADDRESSES);
    }

    #[test]
    fn parallel_failures_cannot_pass_the_budget() {
        const MAX: u32 = 7;
        let throttle = throttle(MAX, 60);
        let now = Instant::now();
        let let_through = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..200 {
                        match throttle.failed(ONE, now) {
                            Failure::Counted { .. } | Failure::LockedOut { .. } => {
                                let_through.fetch_add(1, Ordering::Relaxed);
                            }
                            Failure::Refused { .. } => {}
                        }
                    }
                });
            }
        });
        assert_eq!(let_through.into_inner(), MAX as usize);
        // A right password from the locked-out address is refused too.
        assert!(throttle.succeeded(ONE, now).is_err());
    }

    #[test]
    fn a_success_decided_after_the_lockout_is_refused() {
        let throttle = throttle(2, 60);
        let now = Instant::now();
        throttle.failed(ONE, now);
        throttle.failed(ONE, now);
        assert_eq!(
            throttle.succeeded(ONE, now + Duration::from_secs(20)),
            Err(Duration::from_secs(40))
        );
        assert_eq!(
            throttle.succeeded(ONE, now + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn aged_entries_leave_the_table_as_time_passes() {
        let throttle = throttle(5, 60);
        let start = Instant::now();
        for n in 0..1000u32 {
            throttle.failed(IpAddr::V4(Ipv4Addr::from(n)), start);
        }
        assert_eq!(throttle.tracked(), 1000);
        // One address failing again keeps its entry; the others age out on the next call.
        throttle.failed(ONE, start + Duration::from_secs(30));
        throttle.failed(TWO, start + Duration::from_secs(61));
        assert_eq!(throttle.tracked(), 2);
        throttle.failed(TWO, start + Duration::from_secs(95));
        assert_eq!(throttle.tracked(), 1);
    }

    #[test]
    fn a_full_table_forgets_its_oldest_entry_first() {
        let throttle = throttle(2, 600);
        let start = Instant::now();
        throttle.failed(ONE, start);
        for n in 0..(MAX_TRACKED_ADDRESSES as u32) {
            throttle.failed(
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)),
                start + Duration::from_millis(1),
            );
        }
        assert_eq!(throttle.tracked(), MAX_TRACKED_ADDRESSES);
        // ONE was the oldest: its failure is forgotten.
        assert_eq!(
            throttle.failed(ONE, start + Duration::from_secs(1)),
            Failure::Counted { failures: 1 }
        );
    }
}
