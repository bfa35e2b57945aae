//! Protection of the service: a bound on answers in progress (past it,
//! 503 at once) and a per-client rate limit on the chat endpoints (429).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{Error, Result};

/// A bound on answers in progress or waiting.
#[derive(Debug)]
pub struct Admission {
    capacity: usize,
    used: AtomicUsize,
}

/// One answer slot; freed when dropped.
#[derive(Debug)]
pub struct Permit(Arc<Admission>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// At most `capacity` answers at once.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            used: AtomicUsize::new(0),
        })
    }

    /// A slot, or [`Error::Overloaded`] when all are taken.
    pub fn acquire(self: &Arc<Self>) -> Result<Permit> {
        let mut used = self.used.load(Ordering::Acquire);
        loop {
            if used >= self.capacity {
                return Err(Error::Overloaded);
            }
            match self.used.compare_exchange_weak(
                used,
                used + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(Permit(self.clone())),
                Err(now) => used = now,
            }
        }
    }

    /// Slots in use.
    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Requests per minute per client address.
pub struct ClientLimiter {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for ClientLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLimiter")
            .field("enabled", &self.limiter.is_some())
            .finish()
    }
}

impl ClientLimiter {
    /// `per_minute` requests a minute per address (0: no limit), spread
    /// evenly with a burst of the whole minute's allowance.
    pub fn new(per_minute: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Counts a request from `ip`; [`Error::RateLimited`] past the limit.
    pub fn check(&self, ip: IpAddr) -> Result<()> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        match l.check_key(&ip) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Err(Error::RateLimited {
                    retry_after_secs: wait.as_secs() + 1,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_refuses_past_capacity_and_frees_on_drop() {
        let a = Admission::new(2);
        let p1 = a.acquire().unwrap();
        let _p2 = a.acquire().unwrap();
        assert!(matches!(a.acquire(), Err(Error::Overloaded)));
        drop(p1);
        assert!(a.acquire().is_ok());
    }

    #[test]
    fn rate_limit_is_per_address() {
        let l = ClientLimiter::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(l.check(a).is_ok() && l.check(a).is_ok());
        assert!(
            matches!(l.check(a), Err(Error::RateLimited { retry_after_secs }) if retry_after_secs >= 1)
        );
        assert!(l.check(b).is_ok());
        assert!(ClientLimiter::new(0).check(a).is_ok());
    }
}
