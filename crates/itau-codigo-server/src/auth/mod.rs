//! Authentication: who may call the API. The configured [`Credentials`], the
//! [`Verdict`] on a request's headers, and the [`LoginThrottle`] that locks out an
//! address after repeated failures, brought together by [`Gatekeeper::authenticate`].

mod credentials;
mod reload;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;

pub use credentials::{
    Credentials, CredentialsError, MAX_PASSWORDS, MIN_PASSWORD_CHARS, PasswordSource, Verdict,
};
pub use reload::{LiveCredentials, POLL_INTERVAL, watch_password_file};
pub use throttle::{AddressKey, Failure, LoginThrottle, MAX_TRACKED_ADDRESSES, ThrottleConfig};

/// The credentials and the failed logins they have seen: what a request must get past.
#[derive(Debug)]
pub struct Gatekeeper {
    credentials: Arc<LiveCredentials>,
    throttle: LoginThrottle,
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
    /// A gatekeeper for `credentials`, with no failed login recorded.
    pub fn new(credentials: Credentials, throttle: ThrottleConfig) -> Self {
        Self {
            credentials: Arc::new(LiveCredentials::new(credentials)),
            throttle: LoginThrottle::new(throttle),
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
                match self.throttle.failed(address, now) {
                    Failure::Counted { failures } => tracing::warn!(
                        verdict = ?verdict,
                        client = %address,
                        failures,
                        "authentication failed"
                    ),
                    Failure::LockedOut { failures } => tracing::warn!(
                        verdict = ?verdict,
                        client = %address,
                        failures,
                        lockout_s = self.throttle.lockout().as_secs(),
                        "authentication failed; too many failures: this address is locked out"
                    ),
                    Failure::Refused { retry_after } => {
                        return Err(locked_out(address, retry_after));
                    }
                }
                Err(Refusal::Unauthorized(verdict))
            }
            (verdict, None) => {
                tracing::warn!(verdict = ?verdict, "authentication failed");
                Err(Refusal::Unauthorized(verdict))
            }
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
