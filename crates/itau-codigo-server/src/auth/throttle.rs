//! Failed-login throttling per client address: after too many wrong or missing
//! credentials from one address, that address is refused (still with the documented 401)
//! for a while, whatever it sends, so that guessing the password stops making progress.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
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
}

/// The failed logins of every recent address.
#[derive(Debug)]
pub struct LoginThrottle {
    config: ThrottleConfig,
    addresses: Mutex<HashMap<AddressKey, Entry>>,
    /// How many entries `addresses` holds, readable without the lock: while no address
    /// has failed lately (the usual case) a request takes no lock at all.
    tracked: AtomicUsize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
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
            addresses: Mutex::new(HashMap::new()),
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

    /// How much longer `address` is refused, if it is locked out now.
    pub fn locked_out(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        if !self.enabled() || self.tracked.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let addresses = self
            .addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = addresses.get(&AddressKey::from(address))?;
        let until = entry.last_failure + self.config.lockout;
        (entry.failures >= self.config.max_failures && until > now).then(|| until - now)
    }

    /// Records a failed login from `address`.
    pub fn failed(&self, address: IpAddr, now: Instant) -> Failure {
        if !self.enabled() {
            return Failure::Counted { failures: 0 };
        }
        let key = AddressKey::from(address);
        let mut addresses = self
            .addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !addresses.contains_key(&key) && addresses.len() >= MAX_TRACKED_ADDRESSES {
            self.make_room(&mut addresses, now);
        }
        let entry = addresses.entry(key).or_insert(Entry {
            failures: 0,
            last_failure: now,
        });
        // A failure long after the previous one starts a new count.
        if now.saturating_duration_since(entry.last_failure) >= self.config.lockout {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        let failures = entry.failures;
        self.tracked.store(addresses.len(), Ordering::Relaxed);
        if failures == self.config.max_failures {
            Failure::LockedOut { failures }
        } else {
            Failure::Counted { failures }
        }
    }

    /// A successful login from `address` forgets its failures.
    pub fn succeeded(&self, address: IpAddr) {
        if !self.enabled() || self.tracked.load(Ordering::Relaxed) == 0 {
            return;
        }
        let key = AddressKey::from(address);
        let mut addresses = self
            .addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        addresses.remove(&key);
        self.tracked.store(addresses.len(), Ordering::Relaxed);
    }

    /// How many addresses are remembered.
    pub fn tracked(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }

    /// Forgets expired entries; when every entry is live, the stalest one.
    fn make_room(&self, addresses: &mut HashMap<AddressKey, Entry>, now: Instant) {
        let lockout = self.config.lockout;
        addresses.retain(|_, entry| now.saturating_duration_since(entry.last_failure) < lockout);
        if addresses.len() >= MAX_TRACKED_ADDRESSES {
            let stalest = addresses
                .iter()
                .min_by_key(|(_, entry)| entry.last_failure)
                .map(|(key, _)| *key);
            if let Some(key) = stalest {
                addresses.remove(&key);
            }
        }
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
        throttle.succeeded(ONE);
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
}
