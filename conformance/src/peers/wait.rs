//! Bounded polling: the only way the harness waits for a peer.
//!
//! A fixed sleep is never the assertion: [`wait_until`] polls a probe until it yields a value
//! or the timeout passes, and the timeout error carries the last thing the probe saw.

use std::time::{Duration, Instant};

use super::HarnessError;

/// How often [`wait_until`] polls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Default bound for a BGP session between two local daemons to reach Established. GoBGP
/// dialling GoBGP takes about 5 s (its first connect is delayed), others well under 2 s.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// Default bound for a route to propagate once sessions are up.
pub const ROUTE_TIMEOUT: Duration = Duration::from_secs(15);

/// The result of one poll of a probe.
#[derive(Debug)]
pub enum Poll<T> {
    /// The condition holds; stop waiting with this value.
    Ready(T),
    /// Not yet; the text says what was seen (kept for the timeout message).
    Pending(String),
}

/// Polls `probe` every [`POLL_INTERVAL`] until it returns [`Poll::Ready`] or `timeout` passes.
///
/// ```
/// use std::time::Duration;
/// use bagpipe_conformance::peers::{wait_until, Poll};
/// let mut n = 0;
/// let v = wait_until("counter reaches 3", Duration::from_secs(5), || {
///     n += 1;
///     if n >= 3 { Poll::Ready(n) } else { Poll::Pending(format!("n = {n}")) }
/// })
/// .unwrap();
/// assert_eq!(v, 3);
/// ```
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Poll<T>,
) -> Result<T, HarnessError> {
    let start = Instant::now();
    loop {
        let last = match probe() {
            Poll::Ready(v) => return Ok(v),
            Poll::Pending(seen) => seen,
        };
        if start.elapsed() >= timeout {
            return Err(HarnessError::Timeout {
                what: what.to_string(),
                waited: start.elapsed(),
                last_seen: last,
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_times_out_with_the_last_observation() {
        let err = wait_until::<()>("never", Duration::from_millis(250), || {
            Poll::Pending("still nothing".into())
        })
        .unwrap_err();
        match err {
            HarnessError::Timeout {
                what,
                waited,
                last_seen,
            } => {
                assert_eq!(what, "never");
                assert!(waited >= Duration::from_millis(250));
                assert_eq!(last_seen, "still nothing");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
}
