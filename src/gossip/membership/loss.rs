//! The packet loss this node sees, read off its own direct probes, and the transmissions that
//! make up for it (docs/PROTOCOL.md, "Dissemination under loss").
//!
//! A direct probe is a ping out and an ack back, each crossing a link that loses a share `p`
//! of its datagrams: a share `(1 − p)²` of pings is acked, so `p = 1 − √acked`. Each node
//! sends one probe a second, so an estimate over [`EPOCH`] probes is some 16 s old at most:
//! the first epoch sets it, each later one moves it halfway to what it saw.
//!
//! Gossip sends each item `tx` times from every node that holds it; a node then hears it
//! about `tx · (1 − p)` times, and misses it with a probability of about `e^(−tx·(1−p))` if
//! the copies came independently. The simulation measured more misses than that: at 1,000
//! nodes and 20 % loss, foca's 14 transmissions left one change in twenty short of some node
//! until anti-entropy repaired it, `tx / (1 − p)` (18) still 8 in 3,000 (one seed's p99 at
//! 9.1 s), and `tx / (1 − p)²` (22) none in 3,000, for 15 % more bytes under churn
//! (BENCHMARKS.md, "Session 7"). The square is used, at most three times `tx`. On a
//! lossless network nothing changes.

/// Probes per estimate.
pub(super) const EPOCH: u32 = 16;

/// Loss beyond this is not made up for: past it, the failure detector, not dissemination, is
/// the problem.
pub(super) const MAX_COMPENSATED: f64 = 0.5;

/// At most this many times the lossless transmissions.
const MAX_FACTOR: f64 = 3.0;

/// Estimates are rounded to this step, so that noise does not re-tune foca every epoch.
const STEP: f64 = 0.05;

/// The running estimate (pure: fed the counts of each foca call).
#[derive(Clone, Debug, Default)]
pub(super) struct LossEstimate {
    pings: u32,
    acks: u32,
    /// None until the first epoch ends.
    loss: Option<f64>,
}

impl LossEstimate {
    /// Counts `pings` sent and `acks` received; each [`EPOCH`] pings, the estimate is set
    /// (the first time) or moves halfway to what that epoch saw.
    pub(super) fn record(&mut self, pings: u32, acks: u32) {
        self.pings = self.pings.saturating_add(pings);
        self.acks = self.acks.saturating_add(acks);
        if self.pings < EPOCH {
            return;
        }
        let acked = (f64::from(self.acks) / f64::from(self.pings)).min(1.0);
        let seen = 1.0 - acked.sqrt();
        self.loss = Some(self.loss.map_or(seen, |loss| (loss + seen) / 2.0));
        self.pings = 0;
        self.acks = 0;
    }

    /// The loss estimate, rounded to 5 % and at most [`MAX_COMPENSATED`].
    pub(super) fn loss(&self) -> f64 {
        let loss = self.loss.unwrap_or(0.0);
        ((loss / STEP).round() * STEP).clamp(0.0, MAX_COMPENSATED)
    }
}

/// The transmissions that make up for `loss` (see the module docs): `⌈tx / (1 − loss)²⌉`, at
/// most three times `tx`, within `u8`.
pub(super) fn compensated(tx: u8, loss: f64) -> u8 {
    let loss = loss.clamp(0.0, MAX_COMPENSATED);
    let factor = (1.0 / ((1.0 - loss) * (1.0 - loss))).min(MAX_FACTOR);
    let wanted = (f64::from(tx) * factor - 1e-9).ceil();
    wanted.clamp(f64::from(tx), f64::from(u8::MAX)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after_epochs(acked_of_16: u32, epochs: usize) -> LossEstimate {
        let mut estimate = LossEstimate::default();
        for _ in 0..epochs {
            for i in 0..EPOCH {
                estimate.record(1, u32::from(i < acked_of_16));
            }
        }
        estimate
    }

    #[test]
    fn a_lossless_network_reads_as_no_loss_and_keeps_the_transmissions() {
        let estimate = after_epochs(16, 5);
        assert_eq!(estimate.loss(), 0.0);
        assert_eq!(compensated(14, estimate.loss()), 14);
    }

    #[test]
    fn twenty_percent_loss_each_way_is_read_from_the_share_of_pings_acked() {
        // (1 − 0.2)² = 64 % of pings acked: 10 of 16 (62.5 %).
        let estimate = after_epochs(10, 1);
        assert!((estimate.loss() - 0.2).abs() < 1e-9, "{}", estimate.loss());
        assert_eq!(compensated(14, estimate.loss()), 22);
    }

    #[test]
    fn nothing_is_made_up_for_before_the_first_epoch_ends() {
        let mut estimate = LossEstimate::default();
        estimate.record(EPOCH - 1, 0);
        assert_eq!(estimate.loss(), 0.0);
        estimate.record(1, 0);
        assert_eq!(estimate.loss(), MAX_COMPENSATED);
    }

    #[test]
    fn the_estimate_follows_a_change_within_a_few_epochs_and_ignores_acks_beyond_pings() {
        let mut estimate = after_epochs(10, 8);
        for _ in 0..4 {
            estimate.record(EPOCH, EPOCH + 3);
        }
        assert_eq!(estimate.loss(), 0.0);
    }

    #[test]
    fn compensation_is_capped_at_three_times_the_transmissions() {
        assert_eq!(after_epochs(0, 10).loss(), MAX_COMPENSATED);
        assert_eq!(compensated(14, 0.9), 42);
        assert_eq!(compensated(100, 0.5), u8::MAX);
        assert_eq!(compensated(5, 0.0), 5);
        assert_eq!(compensated(10, 0.2), 16);
    }
}
