//! Authentication: who may call the API. The configured [`Credentials`], the
//! [`Verdict`] on a request's headers, and the [`LoginThrottle`] that locks out an
//! address after repeated failures, brought together by [`Gatekeeper::authenticate`].

mod credentials;
mod reload;
mod throttle;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;

use crate::metrics::Metrics;

pub use credentials::{
    Credentials, CredentialsError, MAX_PASSWORDS, MIN_PASSWORD_CHARS, PasswordSource, Verdict,
};
pub use reload::{LiveCredentials, POLL_INTERVAL, watch_password_file};
pub use throttle::{AddressKey, Failure, LoginThrottle, ThrottleConfig, Tracked};

/// How often, at most, a full throttle table is logged: a flood would otherwise log a
/// line per guess.
const TABLE_FULL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The credentials and the failed logins they have seen: what a request must get past.
#[derive(Debug)]
pub struct Gatekeeper {
    credentials: Arc<LiveCredentials>,
    throttle: LoginThrottle,
    metrics: Arc<Metrics>,
    /// When a full throttle table was last logged.
    table_full_logged: Mutex<Option<Instant>>,
}

/// Why a request was not let in. Either way the client gets the same 401 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The credential headers are missing, empty, repeated or wrong.
    #[error("credentials missing or wrong ({0:?})")]
    Unauthorized(Verdict),
    /// The client's address failed too often lately; its credentials were not looked at.
    #[error("too many failed logins from this address")]
    LockedOut {
        /// How much longer the address is refused.
        retry_after: Duration,
    },
}

impl Gatekeeper {
    /// A gatekeeper for `credentials`, with no failed login recorded, counting failures
    /// and lockouts in `metrics`.
    pub fn new(credentials: Credentials, throttle: ThrottleConfig, metrics: Arc<Metrics>) -> Self {
        Self {
            credentials: Arc::new(LiveCredentials::new(credentials)),
            throttle: LoginThrottle::new(throttle),
            metrics,
            table_full_logged: Mutex::new(None),
        }
    }

    /// The credentials in force, which a reload replaces.
    pub fn credentials(&self) -> &Arc<LiveCredentials> {
        &self.credentials
    }

    /// Lets a request in when its credentials are right, unless its client (the
    /// address `request_context` worked out) is locked out by failed logins: then the
    /// credentials are not even looked at, so that guessing makes no progress. Whether
    /// the address is over its budget and the counting of this attempt are one step
    /// (parallel guesses cannot pass the budget). Logs say which verdict and which
    /// address, never what was sent.
    ///
    /// # Errors
    ///
    /// The [`Refusal`]: wrong or missing credentials, or a locked-out address.
    pub fn authenticate(&self, headers: &HeaderMap, client: Option<IpAddr>) -> Result<(), Refusal> {
        let now = Instant::now();
        if let Some(address) = client
            && let Some(retry_after) = self.throttle.locked_out(address, now)
        {
            return Err(locked_out(address, retry_after));
        }
        let verdict = self.credentials.current().verify(headers);
        match (verdict, client) {
            (Verdict::Accepted, Some(address)) => self
                .throttle
                .succeeded(address, now)
                .map_err(|retry_after| locked_out(address, retry_after)),
            (Verdict::Accepted, None) => Ok(()),
            (verdict, Some(address)) => {
                let failure = self.throttle.failed(address, now);
                if let Failure::Refused { retry_after } = failure {
                    return Err(locked_out(address, retry_after));
                }
                self.metrics.login_failure();
                self.record(failure, verdict, address, now);
                Err(Refusal::Unauthorized(verdict))
            }
            (verdict, None) => {
                self.metrics.login_failure();
                tracing::warn!(verdict = ?verdict, "authentication failed");
                Err(Refusal::Unauthorized(verdict))
            }
        }
    }

    /// Logs and counts what the throttle made of a failed login.
    fn record(&self, failure: Failure, verdict: Verdict, address: IpAddr, now: Instant) {
        let tracked = match failure {
            Failure::Counted { failures, tracked } => {
                tracing::warn!(
                    verdict = ?verdict,
                    client = %address,
                    failures,
                    counted_against = ?tracked,
                    "authentication failed"
                );
                Some(tracked)
            }
            Failure::LockedOut { failures, tracked } => {
                self.metrics.lockout();
                tracing::warn!(
                    verdict = ?verdict,
                    client = %address,
                    failures,
                    counted_against = ?tracked,
                    lockout_s = self.throttle.lockout().as_secs(),
                    "authentication failed; too many failures: this {} is locked out",
                    match tracked {
                        Tracked::Address => "address",
                        Tracked::Block => "address's block",
                    }
                );
                Some(tracked)
            }
            Failure::Untracked => {
                tracing::warn!(verdict = ?verdict, client = %address, "authentication failed");
                None
            }
            Failure::Refused { .. } | Failure::Off => {
                tracing::warn!(verdict = ?verdict, client = %address, "authentication failed");
                return;
            }
        };
        if tracked != Some(Tracked::Address) {
            self.metrics.login_throttle_table_full();
            self.log_table_full(tracked.is_some(), now);
        }
    }

    /// Says, at most once per [`TABLE_FULL_LOG_INTERVAL`] and without any address, that
    /// the throttle's table is full of lockouts.
    fn log_table_full(&self, in_blocks: bool, now: Instant) {
        let mut logged = self
            .table_full_logged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if logged.is_some_and(|last| now.saturating_duration_since(last) < TABLE_FULL_LOG_INTERVAL)
        {
            return;
        }
        *logged = Some(now);
        if in_blocks {
            tracing::warn!(
                "login throttle: the table of client addresses is full of live lockouts; failed logins are now counted per block (IPv4 /24, IPv6 /48), which locks out every client of a block that fails too often (itau_codigo_login_throttle_table_full_total counts them)"
            );
        } else {
            tracing::error!(
                "login throttle: the tables of client addresses and blocks are both full of live lockouts; failed logins go uncounted until lockouts expire (itau_codigo_login_throttle_table_full_total counts them)"
            );
        }
    }
}

fn locked_out(address: IpAddr, retry_after: Duration) -> Refusal {
    tracing::info!(
        client = %address,
        retry_after_s = retry_after.as_secs(),
        "login refused: this address is locked out after failed logins"
    );
    Refusal::LockedOut { retry_after }
}
