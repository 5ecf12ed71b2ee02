//! The restart policy, OTP style: restart a failed subsystem after an exponential backoff, and
//! give up (so the process exits and systemd or Docker restarts the whole node) when one
//! subsystem fails more than `max_restarts` times within `window`.
//!
//! Pure: time is passed in as the offset from an arbitrary origin.

use std::collections::VecDeque;
use std::time::Duration;

/// How failures are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// More failures than this within `window` stop the process.
    pub max_restarts: u32,
    /// The window over which failures are counted.
    pub window: Duration,
    /// The delay before the first restart; doubled for each failure in a row.
    pub backoff_initial: Duration,
    /// The longest delay.
    pub backoff_max: Duration,
}

/// What to do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start a new instance after this delay.
    RestartAfter(Duration),
    /// Too many failures: stop the process with exit code 1.
    GiveUp,
}

/// The failures of one subsystem.
#[derive(Clone, Debug, Default)]
pub struct FailureHistory {
    recent: VecDeque<Duration>,
    in_a_row: u32,
    total: u64,
}

impl FailureHistory {
    /// Records a failure at `now` and decides what to do.
    pub fn on_failure(&mut self, now: Duration, policy: &RestartPolicy) -> Decision {
        self.total += 1;
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|&at| now.saturating_sub(at) > policy.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() > policy.max_restarts as usize {
            return Decision::GiveUp;
        }
        let exponent = self.in_a_row.min(16);
        self.in_a_row += 1;
        let delay = policy.backoff_initial.saturating_mul(1 << exponent);
        Decision::RestartAfter(delay.min(policy.backoff_max))
    }

    /// The subsystem has run without failing for a while: the next failure starts the
    /// backoff from the beginning again.
    pub fn on_stable(&mut self) {
        self.in_a_row = 0;
    }

    /// Failures since start.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn backoff_doubles_for_failures_in_a_row_and_is_capped() {
        let policy = RestartPolicy {
            max_restarts: 100,
            ..RestartPolicy::default()
        };
        let mut history = FailureHistory::default();
        let delays: Vec<_> = (0..8)
            .map(|i| history.on_failure(secs(i), &policy))
            .collect();
        assert_eq!(
            delays[0],
            Decision::RestartAfter(Duration::from_millis(100))
        );
        assert_eq!(
            delays[1],
            Decision::RestartAfter(Duration::from_millis(200))
        );
        assert_eq!(delays[7], Decision::RestartAfter(secs(5)));
    }

    #[test]
    fn more_than_max_restarts_within_the_window_gives_up() {
        let policy = RestartPolicy {
            max_restarts: 2,
            window: secs(10),
            ..RestartPolicy::default()
        };
        let mut history = FailureHistory::default();
        assert!(matches!(
            history.on_failure(secs(0), &policy),
            Decision::RestartAfter(_)
        ));
        assert!(matches!(
            history.on_failure(secs(1), &policy),
            Decision::RestartAfter(_)
        ));
        assert_eq!(history.on_failure(secs(2), &policy), Decision::GiveUp);
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let policy = RestartPolicy {
            max_restarts: 2,
            window: secs(10),
            ..RestartPolicy::default()
        };
        let mut history = FailureHistory::default();
        for at in [0, 20, 40, 60] {
            assert!(matches!(
                history.on_failure(secs(at), &policy),
                Decision::RestartAfter(_)
            ));
        }
        assert_eq!(history.total(), 4);
    }

    #[test]
    fn a_stable_run_resets_the_backoff() {
        let policy = RestartPolicy {
            max_restarts: 100,
            ..RestartPolicy::default()
        };
        let mut history = FailureHistory::default();
        let _ = history.on_failure(secs(0), &policy);
        let _ = history.on_failure(secs(1), &policy);
        history.on_stable();
        let first = Decision::RestartAfter(Duration::from_millis(100));
        assert_eq!(history.on_failure(secs(2), &policy), first);
    }
}
