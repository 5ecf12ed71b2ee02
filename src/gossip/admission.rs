//! Which TCP connections a node takes on: the decisions that keep the direct liveness check
//! answerable however many connections an outsider opens (docs/PROTOCOL.md, "Sessions").
//!
//! A connection goes through two stages:
//!
//! 1. *Waiting for its hello*, which must come within [`AdmissionLimits::hello_deadline`].
//!    At most [`AdmissionLimits::per_ip`] connections per remote IP (in either stage) and
//!    [`AdmissionLimits::waiting`] in all wait at once; past that a connection is refused.
//! 2. After the hello: a liveness check is answered at once and takes no session slot; an
//!    exchange needs one of the [`AdmissionLimits::sessions`] slots (shared with the
//!    exchanges this node starts), or is refused.
//!
//! A refused peer is told "busy" (with this node's identity), never just dropped, so that a
//! node checking whether this one is alive counts "busy" as alive.
//!
//! Pure: no sockets, no clock; the caller reports each stage and each end.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// The limits (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Connections per remote IP, waiting or in a session. A peer needs one for its
    /// push/pull, one for a join or heal exchange and one per liveness check in flight.
    pub per_ip: usize,
    /// Connections waiting for their hello, from every IP together.
    pub waiting: usize,
    /// Exchanges at once, accepted and started together.
    pub sessions: usize,
    /// A connection that has not sent a valid hello by then is closed.
    pub hello_deadline: Duration,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        AdmissionLimits {
            per_ip: 4,
            waiting: 64,
            sessions: 8,
            hello_deadline: Duration::from_millis(500),
        }
    }
}

/// Why a connection was refused (a counter name each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its IP holds [`AdmissionLimits::per_ip`] connections already.
    PerIp,
    /// [`AdmissionLimits::waiting`] connections are waiting for their hello already.
    Waiting,
    /// Every session slot is taken.
    Sessions,
}

impl Refusal {
    /// A short stable name for counters.
    pub fn kind(self) -> &'static str {
        match self {
            Refusal::PerIp => "busy_per_ip",
            Refusal::Waiting => "busy_waiting",
            Refusal::Sessions => "busy_sessions",
        }
    }
}

/// What to do with a connection whose hello arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterHello {
    /// A liveness check: answer it (no session slot taken); then call
    /// [`Admission::closed`].
    AnswerCheck,
    /// An exchange, with a session slot: run it, then call [`Admission::session_ended`].
    RunSession,
    /// An exchange, but no slot is free: answer "busy" (the slot count is unchanged; the
    /// connection is already released).
    Busy,
}

/// The connection counts of one node (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Admission {
    limits: AdmissionLimits,
    per_ip: HashMap<IpAddr, usize>,
    waiting: usize,
    sessions: usize,
}

impl Admission {
    /// No connection yet.
    pub fn new(limits: AdmissionLimits) -> Admission {
        Admission {
            limits,
            ..Admission::default()
        }
    }

    /// The limits.
    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// A connection from `ip` was accepted: it may wait for its hello, or is refused.
    pub fn accept(&mut self, ip: IpAddr) -> Result<(), Refusal> {
        let held = self.per_ip.get(&ip).copied().unwrap_or(0);
        if held >= self.limits.per_ip {
            return Err(Refusal::PerIp);
        }
        if self.waiting >= self.limits.waiting {
            return Err(Refusal::Waiting);
        }
        self.waiting += 1;
        *self.per_ip.entry(ip).or_insert(0) += 1;
        Ok(())
    }

    /// The connection from `ip` sent its hello; `exchange` when it asks for one.
    pub fn hello(&mut self, ip: IpAddr, exchange: bool) -> AfterHello {
        self.waiting = self.waiting.saturating_sub(1);
        if !exchange {
            return AfterHello::AnswerCheck;
        }
        if self.sessions >= self.limits.sessions {
            self.release(ip);
            return AfterHello::Busy;
        }
        self.sessions += 1;
        AfterHello::RunSession
    }

    /// The connection from `ip` ended before its hello (deadline, garbage, closed).
    pub fn failed_before_hello(&mut self, ip: IpAddr) {
        self.waiting = self.waiting.saturating_sub(1);
        self.release(ip);
    }

    /// A liveness check from `ip` was answered (or not) and the connection closed.
    pub fn closed(&mut self, ip: IpAddr) {
        self.release(ip);
    }

    /// A session accepted from `ip` ended.
    pub fn session_ended(&mut self, ip: IpAddr) {
        self.sessions = self.sessions.saturating_sub(1);
        self.release(ip);
    }

    /// Takes a session slot for an exchange this node starts; false when none is free.
    pub fn start_outgoing(&mut self) -> bool {
        let free = self.sessions < self.limits.sessions;
        self.sessions += usize::from(free);
        free
    }

    /// An exchange this node started ended.
    pub fn outgoing_ended(&mut self) {
        self.sessions = self.sessions.saturating_sub(1);
    }

    /// Connections held now: (waiting for a hello, in a session).
    pub fn counts(&self) -> (usize, usize) {
        (self.waiting, self.sessions)
    }

    fn release(&mut self, ip: IpAddr) {
        if let Some(held) = self.per_ip.get_mut(&ip) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
#[path = "tests/admission.rs"]
mod tests;
