//! When to run anti-entropy. Pure: the cluster size and a random draw are passed in.
//!
//! Records spread on broadcasts; anti-entropy repairs what broadcasts missed, within one
//! period. An exchange of two nodes that agree costs two summaries of a dozen bytes, and one
//! that does not costs the per-host digests (some 30 bytes a host) plus the records that
//! differ, so the period stays the base up to 1,024 nodes: a change that gossip left short
//! of a node under heavy loss still reaches it within 20 s. Past 1,024 nodes the period
//! lengthens with the cluster size, by memberlist's rule (which the Go original applies from
//! 32 nodes on, its exchanges sending whole catalogues). A member that comes back gets a few
//! exchanges from the whole cluster, not one from every node.

use std::time::Duration;

/// Clusters up to this size exchange every base period.
const FULL_RATE_UP_TO: usize = 1024;

/// About this many nodes of the cluster exchange with each member that comes back.
pub const HEAL_EXCHANGES: f64 = 3.0;

/// The push/pull period in a cluster of `size` nodes: `base` up to 1,024 nodes, then
/// `base × (⌈log2 size − log2 1024⌉ + 1)` (memberlist's scaling from there): 20 s stays
/// 20 s at 1,000 nodes, is 40 s at 2,048 and 100 s at 10,000.
pub fn push_pull_period(base: Duration, size: usize) -> Duration {
    if size <= FULL_RATE_UP_TO {
        return base;
    }
    let extra = (size as f64).log2() - (FULL_RATE_UP_TO as f64).log2();
    let factor = extra.ceil().clamp(0.0, 64.0) as u32 + 1;
    base.saturating_mul(factor)
}

/// Whether this node should exchange with a member that just came up (after a false down, a
/// partition, a restart), given a uniform `draw` in `[0, 1)`. With probability
/// `min(1, HEAL_EXCHANGES / size)`, so that a handful of nodes hand the member the tombstones
/// its records got while it was away, and it re-asserts them at once; the member does the
/// same from its side when it notices it was declared down.
pub fn heal_exchange(size: usize, draw: f64) -> bool {
    draw < HEAL_EXCHANGES / size.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_stays_the_base_up_to_1024_nodes_then_grows_with_log2_of_the_size() {
        let base = Duration::from_secs(20);
        let sizes = [
            (1, 20),
            (32, 20),
            (1000, 20),
            (1024, 20),
            (1025, 40),
            (2048, 40),
        ];
        for (size, want) in sizes {
            assert_eq!(push_pull_period(base, size).as_secs(), want, "{size} nodes");
        }
        assert_eq!(push_pull_period(base, 10_000).as_secs(), 100);
        assert_eq!(push_pull_period(base, 0), base);
    }

    #[test]
    fn about_three_nodes_of_any_cluster_exchange_with_a_member_that_comes_back() {
        for size in [1_usize, 2, 3, 10, 100, 1000, 10_000] {
            let draws = 100_000;
            let yes = (0..draws)
                .filter(|i| heal_exchange(size, *i as f64 / draws as f64))
                .count();
            let expected = size as f64 * yes as f64 / draws as f64;
            let want = HEAL_EXCHANGES.min(size as f64);
            assert!((expected - want).abs() < 0.05, "{size} nodes: {expected}");
        }
    }
}
