//! The one polling backoff: every wait of the keeper (a run's new snapshots, a restore's
//! safety snapshot, the restore itself) sleeps from `initial`, doubling up to `max`, never past
//! its deadline.

use std::time::Duration;

use tokio::time::Instant;

/// Sleeps that double from `initial` up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            next: initial,
            max: max.max(initial),
        }
    }

    /// The next sleep, cut to end at `until`; `None` once `until` has come.
    pub fn next_before(&mut self, until: Instant) -> Option<Duration> {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let sleep = self.next.min(left);
        self.next = (self.next * 2).min(self.max);
        Some(sleep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn doubles_up_to_the_max_and_stops_at_the_deadline() {
        let mut b = Backoff::new(Duration::from_secs(5), Duration::from_secs(60));
        let until = Instant::now() + Duration::from_secs(100);
        let sleeps: Vec<u64> = std::iter::from_fn(|| b.next_before(until))
            .take(6)
            .map(|d| d.as_secs())
            .collect();
        // Time does not pass here, so each is cut only by the 100 s left.
        assert_eq!(sleeps, vec![5, 10, 20, 40, 60, 60]);
        tokio::time::advance(Duration::from_secs(95)).await;
        assert_eq!(b.next_before(until), Some(Duration::from_secs(5)));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(b.next_before(until), None);
    }
}
