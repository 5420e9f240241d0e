//! Failed-login throttling per client address: after too many wrong or missing
//! credentials from one address, that address is refused (still with the documented 401)
//! for a while, whatever it sends, so that guessing the password stops making progress.
//!
//! Memory is bounded by a capacity, and a full table keeps two promises together: a
//! live lockout is never dropped early (the attacker who fills the table cannot unlock
//! itself), and a client that has not failed is never refused for lack of room (the
//! attacker cannot lock strangers out by filling it). When the table of addresses is
//! full, the oldest entry that is not locked out makes room; when every entry is a live
//! lockout, new failures are counted per block (IPv4 /24, IPv6 /48) in a second table
//! with the same rules, and only when that one too holds nothing but lockouts does a
//! failure go uncounted.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How many failures lock an address out, for how long, and how many addresses are
/// remembered. Its `Default` (the `serve` defaults) is in `config.rs`, with every other
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failed logins (each within `lockout` of the previous one) that lock an address
    /// (or a block) out; 0 turns throttling off.
    pub max_failures: u32,
    /// How long an address stays refused after its last counted failure, and how long
    /// a failure is remembered.
    pub lockout: Duration,
    /// Most addresses remembered at once, and apart from them most blocks: a flood of
    /// new addresses cannot grow memory further.
    pub capacity: usize,
}

/// What a failed login led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Counted; the client may go on trying.
    Counted {
        /// Failures in a row counted against `tracked` so far.
        failures: u32,
        /// What the failure was counted against.
        tracked: Tracked,
    },
    /// This failure locked the client's address (or its block) out.
    LockedOut {
        /// Failures in a row counted against `tracked`.
        failures: u32,
        /// What is now locked out.
        tracked: Tracked,
    },
    /// Not counted: both tables hold nothing but live lockouts.
    Untracked,
    /// The address (or its block) had already used its budget when this attempt was
    /// decided (a parallel attempt got there first): not counted, refused as a lock-out.
    Refused {
        /// How much longer the address is refused.
        retry_after: Duration,
    },
    /// Throttling is off: nothing counted.
    Off,
}

/// What a failure was counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracked {
    /// The client's own address (IPv4) or /64 network (IPv6).
    Address,
    /// The client's block (IPv4 /24, IPv6 /48), because the table of addresses was
    /// full of live lockouts.
    Block,
}

/// The failed logins of every recent address, and of blocks once the addresses fill up.
///
/// Every decision (is the client over its budget? count this failure) is taken in one
/// step under one lock, so that parallel attempts cannot pass the budget. Entries
/// expire through a queue in the order they were made: each call pops what has aged,
/// so that no call scans a table.
#[derive(Debug)]
pub struct LoginThrottle {
    config: ThrottleConfig,
    tables: Mutex<Tables>,
    /// How many entries the tables hold, readable without the lock: while no client
    /// has failed lately (the usual case) a request takes no lock at all.
    tracked: AtomicUsize,
}

#[derive(Debug, Default)]
struct Tables {
    addresses: Table,
    blocks: Table,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<AddressKey, Entry>,
    /// `(deadline, key, generation)` per entry made, roughly in deadline order; an item
    /// whose generation no longer matches its entry is stale and skipped.
    expiry: VecDeque<(Instant, AddressKey, u64)>,
    /// `(key, generation)` per entry made, oldest first: the order in which entries
    /// that are not locked out give way when the table is full. Items of entries since
    /// locked out, forgotten or made anew are skipped.
    made: VecDeque<(AddressKey, u64)>,
    next_generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    generation: u64,
}

/// What failures are counted against: an IPv4 address or the /64 network of an IPv6
/// address (one IPv6 host usually holds a whole /64 and could otherwise rotate through
/// it), or, once those fill the table, the block around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKey {
    /// An IPv4 address (IPv4-mapped IPv6 included).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Network(u64),
    /// The first 24 bits of an IPv4 address.
    V4Block([u8; 3]),
    /// The first 48 bits of an IPv6 address.
    V6Block(u64),
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

impl AddressKey {
    /// The block this key belongs to (a block is its own block).
    pub fn block(self) -> Self {
        match self {
            Self::V4([a, b, c, _]) => Self::V4Block([a, b, c]),
            Self::V6Network(network) => Self::V6Block(network >> 16),
            block @ (Self::V4Block(_) | Self::V6Block(_)) => block,
        }
    }
}

impl LoginThrottle {
    /// A throttle with nothing recorded.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            tables: Mutex::new(Tables::default()),
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

    /// How much longer `address` is refused, if it (or its block) is locked out now. A
    /// cheap early answer only: [`failed`](Self::failed) and
    /// [`succeeded`](Self::succeeded) decide.
    pub fn locked_out(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        if !self.enabled() || self.tracked.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.retry_after(&self.lock(), AddressKey::from(address), now)
    }

    /// Decides a failed login from `address` and counts it, in one step: refused
    /// without counting when the address or its block has no budget left, counted
    /// otherwise (against the address when there is room for it, else its block).
    pub fn failed(&self, address: IpAddr, now: Instant) -> Failure {
        if !self.enabled() {
            return Failure::Off;
        }
        let key = AddressKey::from(address);
        let mut tables = self.lock();
        if let Some(retry_after) = self.retry_after(&tables, key, now) {
            return Failure::Refused { retry_after };
        }
        let config = self.config;
        tables.addresses.expire(now, config.lockout);
        tables.blocks.expire(now, config.lockout);
        let counted = match tables.addresses.count(key, now, &config) {
            Some(failures) => Some((failures, Tracked::Address)),
            None => tables
                .blocks
                .count(key.block(), now, &config)
                .map(|failures| (failures, Tracked::Block)),
        };
        self.tracked.store(tables.len(), Ordering::Relaxed);
        match counted {
            None => Failure::Untracked,
            Some((failures, tracked)) if failures == config.max_failures => {
                Failure::LockedOut { failures, tracked }
            }
            Some((failures, tracked)) => Failure::Counted { failures, tracked },
        }
    }

    /// Decides a successful login from `address`: refused (with how much longer) when
    /// the address or its block is locked out, otherwise let in, the address's failures
    /// forgotten (a block's are not: one client's success says nothing of its
    /// neighbours').
    ///
    /// # Errors
    ///
    /// How much longer the address is refused.
    pub fn succeeded(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.enabled() || self.tracked.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        let key = AddressKey::from(address);
        let mut tables = self.lock();
        if let Some(retry_after) = self.retry_after(&tables, key, now) {
            return Err(retry_after);
        }
        tables.addresses.entries.remove(&key);
        tables.addresses.expire(now, self.config.lockout);
        tables.blocks.expire(now, self.config.lockout);
        self.tracked.store(tables.len(), Ordering::Relaxed);
        Ok(())
    }

    /// How many addresses and blocks are remembered.
    pub fn tracked(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }

    /// How many addresses, and apart how many blocks, are remembered.
    pub fn tracked_apart(&self) -> (usize, usize) {
        let tables = self.lock();
        (tables.addresses.entries.len(), tables.blocks.entries.len())
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The longer of the address's and its block's remaining lockouts, if any.
    fn retry_after(&self, tables: &Tables, key: AddressKey, now: Instant) -> Option<Duration> {
        let address = tables.addresses.entries.get(&key);
        let block = tables.blocks.entries.get(&key.block());
        [address, block]
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.locked_until(&self.config, now))
            .max()
            .map(|until| until - now)
    }
}

impl Tables {
    fn len(&self) -> usize {
        self.addresses.entries.len() + self.blocks.entries.len()
    }
}

impl Entry {
    /// When this entry's lockout ends, if it is locked out at `now`.
    fn locked_until(&self, config: &ThrottleConfig, now: Instant) -> Option<Instant> {
        let until = self.last_failure + config.lockout;
        (self.failures >= config.max_failures && until > now).then_some(until)
    }
}

impl Table {
    /// Counts a failure against `key` and says how many it now has, or `None` when the
    /// table is full and every entry in it is a live lockout.
    fn count(&mut self, key: AddressKey, now: Instant, config: &ThrottleConfig) -> Option<u32> {
        if let Some(entry) = self.entries.get_mut(&key)
            // A failure long after the previous one starts a new count.
            && now.saturating_duration_since(entry.last_failure) < config.lockout
        {
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            return Some(entry.failures);
        }
        self.entries.remove(&key);
        if self.entries.len() >= config.capacity && !self.evict_oldest_unlocked(now, config) {
            return None;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.entries.insert(
            key,
            Entry {
                failures: 1,
                last_failure: now,
                generation,
            },
        );
        // A success or an eviction forgets its entry but not its queue items: keep each
        // queue within twice the table, dropping the items of forgotten entries
        // (amortised O(1): a queue then holds at most the table's size).
        if self.expiry.len() >= 2 * config.capacity {
            let entries = &self.entries;
            self.expiry
                .retain(|(_, key, generation)| is_current(entries, key, *generation));
        }
        if self.made.len() >= 2 * config.capacity {
            let entries = &self.entries;
            self.made.retain(|(key, generation)| {
                is_current(entries, key, *generation)
                    && entries[key].locked_until(config, now).is_none()
            });
        }
        self.expiry
            .push_back((now + config.lockout, key, generation));
        self.made.push_back((key, generation));
        Some(1)
    }

    /// Forgets the oldest entry that is not locked out; false when every entry is.
    /// An entry skipped as locked out never gives way again: it stays locked out
    /// until it expires.
    fn evict_oldest_unlocked(&mut self, now: Instant, config: &ThrottleConfig) -> bool {
        while let Some((key, generation)) = self.made.pop_front() {
            let Some(entry) = self.entries.get(&key) else {
                continue;
            };
            if entry.generation == generation && entry.locked_until(config, now).is_none() {
                self.entries.remove(&key);
                return true;
            }
        }
        false
    }

    /// Pops the queue's aged items: an expired entry goes, a live one (failed again
    /// since) goes back in with its new deadline. Each item is handled once per
    /// failure that made or moved it: O(1) amortised.
    fn expire(&mut self, now: Instant, lockout: Duration) {
        while let Some(&(deadline, key, generation)) = self.expiry.front() {
            if deadline > now {
                break;
            }
            self.expiry.pop_front();
            let Some(entry) = self.entries.get(&key) else {
                continue;
            };
            if entry.generation != generation {
                continue;
            }
            let real_deadline = entry.last_failure + lockout;
            if real_deadline <= now {
                self.entries.remove(&key);
            } else {
                self.expiry.push_back((real_deadline, key, generation));
            }
        }
    }
}

fn is_current(entries: &HashMap<AddressKey, Entry>, key: &AddressKey, generation: u64) -> bool {
    entries
        .get(key)
        .is_some_and(|entry| entry.generation == generation)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const ONE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn throttle(max_failures: u32, lockout_secs: u64) -> LoginThrottle {
        small_throttle(max_failures, lockout_secs, 65_536)
    }

    fn small_throttle(max_failures: u32, lockout_secs: u64, capacity: usize) -> LoginThrottle {
        LoginThrottle::new(ThrottleConfig {
            max_failures,
            lockout: Duration::from_secs(lockout_secs),
            capacity,
        })
    }

    fn v4(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    const fn counted(failures: u32) -> Failure {
        Failure::Counted {
            failures,
            tracked: Tracked::Address,
        }
    }

    #[test]
    fn the_nth_failure_locks_the_address_out_for_the_lockout() {
        let throttle = throttle(3, 60);
        let start = Instant::now();
        assert_eq!(throttle.failed(ONE, start), counted(1));
        assert_eq!(throttle.failed(ONE, start), counted(2));
        assert_eq!(throttle.locked_out(ONE, start), None);
        assert_eq!(
            throttle.failed(ONE, start),
            Failure::LockedOut {
                failures: 3,
                tracked: Tracked::Address
            }
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
            counted(1)
        );
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let throttle = throttle(2, 60);
        let now = Instant::now();
        throttle.failed(ONE, now);
        assert_eq!(throttle.succeeded(ONE, now), Ok(()));
        assert_eq!(throttle.failed(ONE, now), counted(1));
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
                            other => panic!("{other:?}"),
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

    /// Locks `address` out with `max_failures` failures at `now`.
    fn lock_out(throttle: &LoginThrottle, address: IpAddr, now: Instant) {
        for _ in 0..throttle.config.max_failures {
            throttle.failed(address, now);
        }
        assert!(throttle.locked_out(address, now).is_some(), "{address}");
    }

    #[test]
    fn a_full_table_never_forgets_a_live_lockout() {
        let throttle = small_throttle(2, 600, 8);
        let start = Instant::now();
        lock_out(&throttle, ONE, start);
        for n in 0..10_000 {
            throttle.failed(v4(0x0a00_0000 + n), start + Duration::from_millis(1));
        }
        let almost_over = start + Duration::from_secs(600) - Duration::from_millis(1);
        assert!(throttle.locked_out(ONE, almost_over).is_some());
        assert_eq!(
            throttle.succeeded(ONE, almost_over).map_err(|_| ()),
            Err(())
        );
        assert_eq!(
            throttle.succeeded(ONE, start + Duration::from_secs(600)),
            Ok(())
        );
    }

    #[test]
    fn a_full_table_makes_room_by_forgetting_its_oldest_entry_not_locked_out() {
        let throttle = small_throttle(2, 600, 3);
        let now = Instant::now();
        lock_out(&throttle, ONE, now);
        let (older, newer, newest) = (v4(0x0a00_0001), v4(0x0a00_0002), v4(0x0a00_0003));
        throttle.failed(older, now);
        throttle.failed(newer, now);
        assert_eq!(throttle.failed(newest, now), counted(1));
        assert_eq!(throttle.tracked_apart(), (3, 0));
        // `older` gave way: its next failure starts a new count; `newer` kept its own.
        assert_eq!(
            throttle.failed(newer, now),
            Failure::LockedOut {
                failures: 2,
                tracked: Tracked::Address
            }
        );
        assert!(throttle.locked_out(ONE, now).is_some());
        assert_eq!(throttle.locked_out(older, now), None);
    }

    #[test]
    fn past_a_table_full_of_lockouts_failures_are_counted_per_block() {
        let throttle = small_throttle(2, 600, 2);
        let now = Instant::now();
        lock_out(&throttle, v4(0xc000_0201), now);
        lock_out(&throttle, v4(0xc633_6401), now);
        let (first, second, neighbour) = (v4(0x0a00_0001), v4(0x0a00_0002), v4(0x0a00_0003));
        assert_eq!(
            throttle.failed(first, now),
            Failure::Counted {
                failures: 1,
                tracked: Tracked::Block
            }
        );
        assert_eq!(
            throttle.failed(second, now),
            Failure::LockedOut {
                failures: 2,
                tracked: Tracked::Block
            }
        );
        // The block is locked out: its addresses are refused, right password or not.
        assert_eq!(
            throttle.succeeded(neighbour, now + Duration::from_secs(1)),
            Err(Duration::from_secs(599))
        );
        // Another block is not.
        assert_eq!(throttle.succeeded(v4(0x0a00_0101), now), Ok(()));
    }

    #[test]
    fn ipv6_blocks_are_48_bit_prefixes() {
        let throttle = small_throttle(1, 600, 1);
        let now = Instant::now();
        lock_out(
            &throttle,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1)),
            now,
        );
        let rotating = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0xaaaa, 0, 0, 0, 1));
        assert!(matches!(
            throttle.failed(rotating, now),
            Failure::LockedOut {
                tracked: Tracked::Block,
                ..
            }
        ));
        let same_48 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0xbbbb, 0, 0, 0, 1));
        assert!(throttle.locked_out(same_48, now).is_some());
        let other_48 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0xaaaa, 0, 0, 0, 1));
        assert_eq!(throttle.locked_out(other_48, now), None);
    }

    #[test]
    fn a_client_that_has_not_failed_is_never_refused_for_lack_of_room() {
        let throttle = small_throttle(1, 600, 2);
        let now = Instant::now();
        // Both tables full of live lockouts.
        for n in 0..4 {
            lock_out(&throttle, v4(0x0a00_0000 + (n << 8)), now);
        }
        assert_eq!(throttle.tracked_apart(), (2, 2));
        let fresh = v4(0xcb00_7101);
        assert_eq!(throttle.succeeded(fresh, now), Ok(()));
        assert_eq!(throttle.failed(fresh, now), Failure::Untracked);
        assert_eq!(throttle.succeeded(fresh, now), Ok(()));
    }

    #[test]
    fn a_flood_of_locking_addresses_keeps_memory_bounded() {
        const CAPACITY: usize = 64;
        let throttle = small_throttle(3, 600, CAPACITY);
        let start = Instant::now();
        lock_out(&throttle, ONE, start);
        // 200 000 IPv6 /64 networks across 3 125 /48 blocks, each failing to lockout.
        for n in 0..200_000u128 {
            let address = IpAddr::V6(std::net::Ipv6Addr::from_bits(
                (0x2001_0db8_u128 << 96) | ((n / 64) << 80) | ((n % 64) << 64) | 1,
            ));
            for _ in 0..3 {
                throttle.failed(address, start + Duration::from_millis(1));
            }
        }
        let tables = throttle.lock();
        for table in [&tables.addresses, &tables.blocks] {
            assert!(table.entries.len() <= CAPACITY);
            assert!(table.expiry.len() <= 2 * CAPACITY);
            assert!(table.made.len() <= 2 * CAPACITY);
        }
        drop(tables);
        assert!(
            throttle
                .locked_out(ONE, start + Duration::from_secs(599))
                .is_some()
        );
    }

    #[test]
    fn an_entry_that_gave_way_while_counting_does_not_grow_the_queues() {
        let throttle = small_throttle(5, 600, 16);
        let now = Instant::now();
        for n in 0..100_000 {
            throttle.failed(v4(n), now);
        }
        let tables = throttle.lock();
        assert_eq!(tables.addresses.entries.len(), 16);
        assert!(tables.addresses.made.len() <= 32);
        assert!(tables.addresses.expiry.len() <= 32);
        assert!(tables.blocks.entries.is_empty());
    }
}
