//! Protection of the service: a bound on answers in progress (past it,
//! 503 at once), a per-client rate limit on the public routes that cost
//! work (429), and who the client is behind a reverse proxy.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

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

/// The citizen's address: the peer's, unless the peer is a trusted proxy;
/// then the forwarding chain (`Forwarded: for=` of RFC 7239, else
/// `X-Forwarded-For`, every header in order) is read from the right, past
/// the trusted proxies, and its first other address is the client. A
/// chain written by the client itself is never believed: only what the
/// last untrusted hop could not forge counts.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let forwarded: Vec<IpAddr> = values("forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| node_address(v))?
            })
        })
        .collect();
    let chain = if forwarded.is_empty() {
        values("x-forwarded-for")
            .iter()
            .filter_map(|v| node_address(v))
            .collect()
    } else {
        forwarded
    };
    chain
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(chain.first())
        .copied()
        .unwrap_or(peer)
}

/// An address as forwarding headers write it: `192.0.2.1`,
/// `"[2001:db8::1]:4711"`, `192.0.2.1:80`.
fn node_address(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    v.parse::<IpAddr>()
        .ok()
        .or_else(|| v.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            v.strip_prefix('[')
                .and_then(|r| r.split(']').next())
                .and_then(|a| a.parse().ok())
        })
}

/// The client of a request (see [`client_address`]); `None` when the
/// server runs without connection info (tests).
#[derive(Debug, Clone, Copy)]
pub struct Client(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<super::AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &super::AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(
            |c| client_address(c.0.ip(), &parts.headers, &state.trusted),
        )))
    }
}

/// Keys kept before idle ones are dropped: the state of one address is a
/// few dozen bytes, so this bounds the limiter to a few MB.
const MAX_KEYS: usize = 100_000;

/// Requests per minute per client address; addresses idle for a full
/// minute are forgotten, so the state stays bounded.
pub struct ClientLimiter {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
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
            checks: AtomicU64::new(0),
        }
    }

    /// Addresses the limiter holds state for.
    pub fn tracked(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }

    /// Forgets the addresses whose allowance is whole again (idle for a
    /// minute): they would start afresh anyway.
    pub fn prune(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// Counts a request from `ip`; [`Error::RateLimited`] past the limit.
    pub fn check(&self, ip: IpAddr) -> Result<()> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        let n = self.checks.fetch_add(1, Ordering::Relaxed);
        if n % 4096 == 4095 || l.len() > MAX_KEYS {
            self.prune();
        }
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

    #[test]
    fn idle_addresses_are_forgotten_and_busy_ones_kept() {
        let l = ClientLimiter::new(60_000);
        // Fewer checks than the automatic pruning period.
        for i in 0..3000u32 {
            l.check(IpAddr::from(i.to_be_bytes())).unwrap();
        }
        // One request a millisecond: every address is whole again after
        // a few milliseconds, and pruning drops them.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(l.tracked(), 3000);
        l.prune();
        assert_eq!(l.tracked(), 0);
        let slow = ClientLimiter::new(1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        slow.check(a).unwrap();
        slow.prune();
        assert_eq!(slow.tracked(), 1, "an address still limited is kept");
        assert!(slow.check(a).is_err());
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let citizen: IpAddr = "203.0.113.7".parse().unwrap();
        // Untrusted peer: its header is ignored.
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(client_address(stranger, &h, &trusted), stranger);
        assert_eq!(client_address(proxy, &h, &[]), proxy);
        // Trusted: the last address before the trusted hops.
        assert_eq!(client_address(proxy, &h, &trusted), citizen);
        // A spoofed first entry written by the citizen is not believed.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.1.2.3")]);
        assert_eq!(client_address(proxy, &h, &trusted), citizen);
        // Several headers, in order; RFC 7239 first, with quotes and ports.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(client_address(proxy, &h, &trusted), citizen);
        let h = headers(&[
            (
                "forwarded",
                r#"for="[2001:db8::1]:4711";proto=https, for=10.0.0.2"#,
            ),
            ("x-forwarded-for", "9.9.9.9"),
        ]);
        assert_eq!(
            client_address(proxy, &h, &trusted),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        // Nothing usable: the proxy itself.
        let h = headers(&[("x-forwarded-for", "unknown")]);
        assert_eq!(client_address(proxy, &h, &trusted), proxy);
    }
}
