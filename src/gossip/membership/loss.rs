//! The packet loss this node sees, read off its own direct probes, and the transmissions that
//! make up for it (docs/PROTOCOL.md, "Dissemination under loss").
//!
//! A direct probe is a ping out and an ack back, each crossing a link that loses a share `p`
//! of its datagrams: a share `(1 − p)²` of pings is acked, so `p = 1 − √acked`. Each node
//! sends one probe a second, so an estimate over [`EPOCH`] probes is some 16 s old at most.
//!
//! Gossip sends each item `tx` times from every node that holds it; a node then hears it
//! about `tx · (1 − p)` times and misses it with a probability of about `e^(−tx·(1−p))`. At
//! 1,000 nodes and 20 % loss, foca's 14 transmissions leave one change in twenty short of
//! some node until anti-entropy repairs it; `tx / (1 − p)` transmissions keep every node
//! hearing each item as often as on a lossless network. On a lossless network nothing changes.

/// Probes per estimate.
pub(super) const EPOCH: u32 = 16;

/// Loss beyond this is not made up for (at most twice the transmissions): past it, the
/// failure detector, not dissemination, is the problem.
pub(super) const MAX_COMPENSATED: f64 = 0.5;

/// Estimates are rounded to this step, so that noise does not re-tune foca every epoch.
const STEP: f64 = 0.05;

/// The running estimate (pure: fed the counts of each foca call).
#[derive(Clone, Debug, Default)]
pub(super) struct LossEstimate {
    pings: u32,
    acks: u32,
    loss: f64,
}

impl LossEstimate {
    /// Counts `pings` sent and `acks` received; each [`EPOCH`] pings, the estimate moves
    /// halfway to what that epoch saw.
    pub(super) fn record(&mut self, pings: u32, acks: u32) {
        self.pings = self.pings.saturating_add(pings);
        self.acks = self.acks.saturating_add(acks);
        if self.pings < EPOCH {
            return;
        }
        let acked = (f64::from(self.acks) / f64::from(self.pings)).min(1.0);
        self.loss = (self.loss + (1.0 - acked.sqrt())) / 2.0;
        self.pings = 0;
        self.acks = 0;
    }

    /// The loss estimate, rounded to 5 % and at most [`MAX_COMPENSATED`].
    pub(super) fn loss(&self) -> f64 {
        ((self.loss / STEP).round() * STEP).clamp(0.0, MAX_COMPENSATED)
    }
}

/// The transmissions that give each node as many receptions at `loss` as `tx` give on a
/// lossless network: `⌈tx / (1 − loss)⌉`, within `u8`.
pub(super) fn compensated(tx: u8, loss: f64) -> u8 {
    let loss = loss.clamp(0.0, MAX_COMPENSATED);
    let wanted = (f64::from(tx) / (1.0 - loss) - 1e-9).ceil();
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
        let estimate = after_epochs(10, 8);
        assert!((estimate.loss() - 0.2).abs() < 1e-9, "{}", estimate.loss());
        assert_eq!(compensated(14, estimate.loss()), 18);
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
    fn compensation_is_capped_at_twice_the_transmissions() {
        assert_eq!(after_epochs(0, 10).loss(), MAX_COMPENSATED);
        assert_eq!(compensated(14, 0.9), 28);
        assert_eq!(compensated(200, 0.5), u8::MAX);
        assert_eq!(compensated(5, 0.0), 5);
        assert_eq!(compensated(10, 0.2), 13);
    }
}
