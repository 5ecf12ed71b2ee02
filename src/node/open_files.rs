//! The process's open-file limit: raised at start from the soft to the hard limit, so that
//! `SIDECAR_MAX_WATCHERS` streams (each one socket) fit (docs/COMPATIBILITY.md §16), with a
//! warning when even the hard limit is below what the node's limits need.
//!
//! Only [`raise`] touches the process; the decision is the pure [`decide`]. Used by
//! `node::run` only: tests and embedders keep their process's limit.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use slog::{Logger, info, warn};

/// What to do with the limit: the soft limit to set, if any, and whether the result still
/// falls short of what the node needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decision {
    /// The new soft limit, when it should move.
    raise_to: Option<u64>,
    /// The limit the node will run with.
    resulting: u64,
    /// Whether `resulting` is below the need.
    short: bool,
}

/// Raise the soft limit to the hard one (`None` = unlimited) when it is lower; never lower
/// it. Pure.
fn decide(soft: Option<u64>, hard: Option<u64>, needed: u64) -> Decision {
    let (soft, hard) = (soft.unwrap_or(u64::MAX), hard.unwrap_or(u64::MAX));
    let resulting = soft.max(hard);
    Decision {
        raise_to: (hard > soft).then_some(hard),
        resulting,
        short: resulting < needed,
    }
}

/// Raises the open-file limit to the hard limit and logs the result; warns when the node
/// could run out of files before reaching its own limits (`needed`).
pub(crate) fn raise(needed: u64, log: &Logger) {
    let limit = getrlimit(Resource::Nofile);
    let mut decision = decide(limit.current, limit.maximum, needed);
    if let Some(to) = decision.raise_to {
        let raised = Rlimit {
            current: Some(to).filter(|&to| to != u64::MAX),
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => info!(log, "Open-file limit raised";
                "from" => limit.current.unwrap_or(u64::MAX), "to" => to),
            Err(err) => {
                warn!(log, "Cannot raise the open-file limit"; "error" => %err);
                decision.resulting = limit.current.unwrap_or(u64::MAX);
                decision.short = decision.resulting < needed;
            }
        }
    }
    if decision.short {
        warn!(log, "Open-file limit below what the node may need";
            "limit" => decision.resulting, "needed" => needed,
            "fix" => "raise the hard limit (systemd LimitNOFILE, docker --ulimit nofile) \
                      or lower SIDECAR_MAX_WATCHERS");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one_and_never_lowered() {
        let raised = decide(Some(1024), Some(524_288), 12_560);
        assert_eq!(raised.raise_to, Some(524_288));
        assert!(!raised.short);
        assert_eq!(decide(Some(20_000), Some(20_000), 12_560).raise_to, None);
        assert_eq!(decide(Some(1024), None, 12_560).raise_to, Some(u64::MAX));
        assert_eq!(decide(None, None, 12_560).raise_to, None);
    }

    #[test]
    fn a_hard_limit_below_the_need_is_reported_short() {
        let short = decide(Some(1024), Some(4096), 12_560);
        assert_eq!(
            (short.raise_to, short.resulting, short.short),
            (Some(4096), 4096, true)
        );
    }
}
