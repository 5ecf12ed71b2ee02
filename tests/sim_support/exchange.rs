//! TCP sessions through the daemon's own code: push/pull exchanges and direct liveness
//! checks, over the TCP model of [`super::tcp`].
//!
//! Real: every frame is built and read by the production functions with the cluster's keys
//! (`gossip::handshake` for the hellos and "busy", `gossip::wire::encode`/`decode` with the
//! session binding, `gossip::exchange::PushPull` for the push/pull dialogue), each node's
//! connection counts are a real `gossip::admission::Admission` (per-IP, waiting and session
//! limits, the hello deadline, checks without a slot, "busy"), and what an exchange brought
//! is handled by `gossip::lifecycle::Lifecycle::after_exchange`.
//!
//! Modelled: a call goes connect → accept (the callee's `Admission::accept`) → the caller's
//! hello arrives (`Admission::hello`) → the callee's answer arrives → the push/pull frames,
//! each side reading before it writes. The dialogue is run at the instant the answer is sent
//! (both sides' catalogues as they are then: the daemon also serves a session from one
//! snapshot); its frames' transit times add up, and each side takes the outcome when the
//! last frame has arrived. A read that waits longer than the session timeout (or a check's
//! whole budget) ends the call. A callee frozen when the connection arrives never reads it;
//! a freeze that starts within a call's few milliseconds does not affect that call.

use sidecar::config::plan::GOSSIP_SESSION_TIMEOUT;
use sidecar::gossip::admission::AfterHello;
use sidecar::gossip::exchange::{ExchangeError, Outcome, PushPull};
use sidecar::gossip::handshake::{self, CallerHello};
use sidecar::gossip::membership::Checked;
use sidecar::gossip::node_id::NodeId;
use sidecar::gossip::wire::{Challenge, FrameContext, Message, decode, encode};

use super::metrics::{Tcp, Why};
use super::tcp::{CLOSE, Connect};
use super::{Ev, Sim, addr};

/// `GossiperSettings::session_timeout`: every connect and read of an exchange.
const SESSION_TIMEOUT: u64 = GOSSIP_SESSION_TIMEOUT.as_micros() as u64;

/// What a call is for.
#[derive(Clone, Debug)]
pub(super) enum Purpose {
    Exchange,
    /// The direct check of a member foca declared down.
    Check(NodeId),
}

/// One TCP call from `from` to `to`.
#[derive(Debug)]
pub(super) struct Call {
    pub(super) from: usize,
    pub(super) to: usize,
    purpose: Purpose,
    started: u64,
    /// The caller's challenge.
    mine: Challenge,
}

/// What the callee holds of a call until it ends (`Admission`'s counterpart calls).
#[derive(Clone, Copy, Debug)]
pub(super) enum Slot {
    /// Waiting for the hello: `failed_before_hello`.
    BeforeHello,
    /// A liveness check: `closed`.
    Check,
    /// An exchange: `session_ended`.
    Session,
}

/// How a call ended for the caller.
#[derive(Debug)]
pub(super) enum Ended {
    /// A check's verdict.
    Checked(Checked),
    /// An exchange: the peer and what it brought, or `None` when it failed.
    Exchanged(Option<Box<(NodeId, Outcome)>>),
}

/// A push/pull dialogue as run at once: each frame's direction (true: caller → callee)
/// and length, and both outcomes (caller's, callee's) unless it broke off.
struct Dialogue {
    frames: Vec<(bool, usize)>,
    outcomes: Result<(Outcome, Outcome), ExchangeError>,
}

impl Call {
    fn kind(&self) -> Tcp {
        match self.purpose {
            Purpose::Exchange => Tcp::Exchange,
            Purpose::Check(_) => Tcp::Check,
        }
    }

    fn failed(&self) -> Ended {
        match self.purpose {
            Purpose::Exchange => Ended::Exchanged(None),
            Purpose::Check(_) => Ended::Checked(Checked::NoAnswer),
        }
    }

    /// How the call ended when the callee's host refused the connection.
    fn refused(&self) -> Ended {
        match self.purpose {
            Purpose::Exchange => Ended::Exchanged(None),
            Purpose::Check(_) => Ended::Checked(Checked::Refused),
        }
    }
}

impl Sim {
    /// Node `from` opens a push/pull session to `to` (within its session slots).
    pub(super) fn connect(&mut self, from: usize, to: usize, why: Why) {
        self.exchanges.opened(why);
        if !self.nodes[from].admission.start_outgoing() {
            self.exchanges.busy_here += 1;
            return;
        }
        self.call(from, to, Purpose::Exchange);
    }

    /// Node `from` checks `target` directly (`net::probe`): alive when it answers as itself
    /// within half the confirmation timeout.
    pub(super) fn check(&mut self, from: usize, target: NodeId) {
        let Some(to) = super::index(target.addr) else {
            return;
        };
        self.checks += 1;
        if self.nodes[to].alive && !self.frozen(to) && self.nodes[to].m.is_active() {
            self.foca_false_downs += 1;
        }
        self.call(from, to, Purpose::Check(target));
    }

    /// How long the caller waits for the whole call (check) or for each step (exchange).
    fn budget(&self, purpose: &Purpose) -> u64 {
        match purpose {
            Purpose::Exchange => SESSION_TIMEOUT,
            Purpose::Check(_) => self.cfg.membership.confirm_timeout.as_micros() as u64 / 2,
        }
    }

    fn call(&mut self, from: usize, to: usize, purpose: Purpose) {
        let budget = self.budget(&purpose);
        let mine = self.challenge();
        let call = Box::new(Call {
            from,
            to,
            purpose,
            started: self.now_us,
            mine,
        });
        let (connect, bytes) = self.handshake(from, to, budget);
        self.bytes.add(call.kind(), bytes + CLOSE);
        match connect {
            Connect::Up(after) => self.push(after, Ev::Accepted { call }),
            Connect::Refused(after) => {
                let ended = call.refused();
                self.caller_done(call, after, Some(ended));
            }
            Connect::Silent => self.caller_done(call, budget, None),
        }
    }

    /// The caller learns how its call ended `after` µs from now (at most at the end of a
    /// check's budget, as a failure past it).
    fn caller_done(&mut self, call: Box<Call>, after: u64, ended: Option<Ended>) {
        let deadline = match call.purpose {
            Purpose::Check(_) => call.started + self.budget(&call.purpose),
            Purpose::Exchange => u64::MAX,
        };
        let at = self.now_us + after;
        let (at, ended) = match ended {
            Some(ended) if at <= deadline => (at, ended),
            _ => (at.min(deadline), call.failed()),
        };
        self.push(
            at.saturating_sub(self.now_us),
            Ev::CallerDone { call, ended },
        );
    }

    fn callee_done(&mut self, call: &Call, after: u64, slot: Slot, got: Option<(NodeId, Outcome)>) {
        let ev = Ev::CalleeDone {
            node: call.to,
            peer: call.from,
            slot,
            got: got.map(Box::new),
        };
        self.push(after, ev);
    }

    /// The callee's process takes the connection on (`Gossiper::serve`), or not.
    pub(super) fn accepted(&mut self, call: Box<Call>) {
        let (from, to) = (call.from, call.to);
        if !self.nodes[to].alive || self.frozen(to) {
            let budget = self.budget(&call.purpose);
            return self.caller_done(call, budget, None);
        }
        if self.nodes[to].admission.accept(addr(from).ip()).is_err() {
            self.exchanges.busy_there += 1;
            let busy = self.answers_peers(to).then(|| self.busy(to, None));
            return self.reply(call, busy);
        }
        let exchange = matches!(call.purpose, Purpose::Exchange);
        let hello = handshake::hello(self.id(from), exchange, call.mine, None);
        let Some((frame, transit)) = self.send_frame(&call, from, to, &hello) else {
            self.callee_done(&call, 0, Slot::BeforeHello, None);
            return self.caller_done(call, 0, None);
        };
        let deadline = self.nodes[to].admission.limits().hello_deadline.as_micros() as u64;
        if transit > deadline {
            self.callee_done(&call, deadline, Slot::BeforeHello, None);
            let budget = self.budget(&call.purpose);
            return self.caller_done(call, budget, None);
        }
        self.push(transit, Ev::Hello { call, frame });
    }

    /// The caller's hello reached the callee (`await_hello`, then `Gossiper::greeted`).
    pub(super) fn hello_arrived(&mut self, call: Box<Call>, frame: Vec<u8>) {
        let to = call.to;
        let read =
            handshake::greeting(&frame, &self.stream_ctx(to)).and_then(handshake::caller_hello);
        let Ok(hello) = read else {
            self.errors += 1;
            self.callee_done(&call, 0, Slot::BeforeHello, None);
            let budget = self.budget(&call.purpose);
            return self.caller_done(call, budget, None);
        };
        match self.nodes[to]
            .admission
            .hello(addr(call.from).ip(), hello.exchange)
        {
            AfterHello::AnswerCheck => {
                self.callee_done(&call, 0, Slot::Check, None);
                let challenge = self.challenge();
                let me = self.id(to);
                let answer = self
                    .answers_peers(to)
                    .then(|| handshake::hello(me, false, challenge, Some(hello.challenge)));
                self.reply(call, answer);
            }
            AfterHello::Busy => {
                self.exchanges.busy_there += 1;
                let busy = self
                    .answers_peers(to)
                    .then(|| self.busy(to, Some(hello.challenge)));
                self.reply(call, busy);
            }
            AfterHello::RunSession => self.session(call, &hello),
        }
    }

    /// The callee answers the greeting with `answer` (`None`: nothing, the caller waits out
    /// its budget), and the caller reads it (`net::initiate` / `net::probe`).
    fn reply(&mut self, call: Box<Call>, answer: Option<Message>) {
        let (from, to) = (call.from, call.to);
        let budget = self.budget(&call.purpose);
        let Some(answer) = answer else {
            return self.caller_done(call, budget, None);
        };
        let Some((frame, transit)) = self.send_frame(&call, to, from, &answer) else {
            return self.caller_done(call, 0, None);
        };
        let greeting = handshake::greeting(&frame, &self.stream_ctx(from));
        let ended = match (&call.purpose, greeting) {
            (Purpose::Check(target), Ok(g))
                if handshake::check_says_alive(&g, &target.name, &call.mine, self.unix_secs()) =>
            {
                Ended::Checked(Checked::Alive)
            }
            (Purpose::Check(_), Ok(_)) => Ended::Checked(Checked::NoAnswer),
            (Purpose::Exchange, _) | (Purpose::Check(_), Err(_)) => call.failed(),
        };
        let after = if transit > budget { budget } else { transit };
        self.caller_done(call, after, Some(ended));
    }

    /// The callee has a session slot: it answers the hello, and the two run the push/pull
    /// dialogue (`net::respond` / `net::initiate`).
    fn session(&mut self, call: Box<Call>, hello: &CallerHello) {
        let (from, to) = (call.from, call.to);
        if !self.answers_peers(to) {
            self.callee_done(&call, 0, Slot::Session, None);
            return self.caller_done(call, SESSION_TIMEOUT, None);
        }
        let theirs = self.challenge();
        let answer = handshake::hello(self.id(to), true, theirs, Some(hello.challenge));
        let Some((frame, mut took)) = self.send_frame(&call, to, from, &answer) else {
            self.callee_done(&call, 0, Slot::Session, None);
            return;
        };
        let read = handshake::greeting(&frame, &self.stream_ctx(from))
            .and_then(|g| handshake::answer_to_caller(g, &call.mine));
        let Ok((peer, theirs)) = read else {
            self.errors += 1;
            self.callee_done(&call, SESSION_TIMEOUT, Slot::Session, None);
            return self.caller_done(call, took, None);
        };
        self.exchanges.sessions += 1;
        let dialogue = self.dialogue(&call, &theirs);
        let mut broke = took > SESSION_TIMEOUT;
        for &(forward, len) in &dialogue.frames {
            let (a, b) = if forward { (from, to) } else { (to, from) };
            let (bytes, transit) = self.segments(a, b, len);
            self.bytes.add(Tcp::Exchange, bytes);
            broke |= transit > SESSION_TIMEOUT;
            took += transit.min(SESSION_TIMEOUT);
            if broke {
                break;
            }
        }
        match dialogue.outcomes {
            Ok((at_caller, at_callee)) if !broke => {
                self.exchanges.note(&at_caller, &at_callee);
                let caller = self.id(from).clone();
                self.callee_done(&call, took, Slot::Session, Some((caller, at_callee)));
                self.caller_done(
                    call,
                    took,
                    Some(Ended::Exchanged(Some(Box::new((peer, at_caller))))),
                );
            }
            _ => {
                self.callee_done(&call, took, Slot::Session, None);
                self.caller_done(call, took, None);
            }
        }
    }

    /// The push/pull dialogue between the caller and the callee, run now through
    /// `PushPull`, every frame sealed by its sender and opened by its reader with the
    /// session's binding.
    fn dialogue(&self, call: &Call, theirs: &Challenge) -> Dialogue {
        let (from, to) = (call.from, call.to);
        let caller_ctx = self.stream_ctx(from).bound(&call.mine, theirs);
        let callee_ctx = self.stream_ctx(to).bound(&call.mine, theirs);
        let (local_caller, local_callee) = (
            self.nodes[from].catalog.state(),
            self.nodes[to].catalog.state(),
        );
        let (mut caller, first) = PushPull::initiator(local_caller);
        let mut callee = PushPull::responder();
        let mut frames = Vec::new();
        let (mut at_caller, mut at_callee) = (None, None);
        let mut next = Some((true, first));
        let mut run = || -> Result<(), ExchangeError> {
            while let Some((forward, message)) = next.take() {
                let (send_ctx, read_ctx) = if forward {
                    (&caller_ctx, &callee_ctx)
                } else {
                    (&callee_ctx, &caller_ctx)
                };
                let frame = encode(&message, send_ctx)?;
                frames.push((forward, frame.len()));
                let read = decode(&frame, read_ctx)?;
                let step = if forward {
                    callee.step(read, local_callee)?
                } else {
                    caller.step(read, local_caller)?
                };
                if let Some(done) = step.done {
                    *(if forward {
                        &mut at_callee
                    } else {
                        &mut at_caller
                    }) = Some(done);
                }
                next = step.send.map(|m| (!forward, m));
            }
            Ok(())
        };
        let ran = run();
        let outcomes = match (ran, at_caller, at_callee) {
            (Err(err), _, _) => Err(err),
            (Ok(()), Some(a), Some(b)) => Ok((a, b)),
            _ => Err(ExchangeError::Closed),
        };
        Dialogue { frames, outcomes }
    }

    /// Encodes `message` as `sender`'s greeting frame of this call and sends it to
    /// `reader`: the frame and its transit time; `None` when it cannot be framed.
    fn send_frame(
        &mut self,
        call: &Call,
        sender: usize,
        reader: usize,
        message: &Message,
    ) -> Option<(Vec<u8>, u64)> {
        let frame = encode(message, &self.stream_ctx(sender)).ok()?;
        let (bytes, transit) = self.segments(sender, reader, frame.len());
        self.bytes.add(call.kind(), bytes);
        Some((frame, transit))
    }

    /// The caller's side of an ended call (`Gossiper::exchange_with` / `confirm`).
    pub(super) fn caller_ended(&mut self, call: Call, ended: Ended) {
        let from = call.from;
        match ended {
            Ended::Checked(found) => {
                let Purpose::Check(target) = call.purpose else {
                    return;
                };
                let fx = self.nodes[from].m.checked(&target, found);
                self.effects(from, fx);
            }
            Ended::Exchanged(result) => {
                self.nodes[from].admission.outgoing_ended();
                match result.map(|got| *got) {
                    Some((peer, outcome)) => self.exchanged(from, &peer, outcome),
                    None => self.exchanges.failed += 1,
                }
            }
        }
    }

    /// The callee's side of an ended call (`Gossiper::greeted`'s ends).
    pub(super) fn callee_ended(
        &mut self,
        node: usize,
        peer: usize,
        slot: Slot,
        got: Option<Box<(NodeId, Outcome)>>,
    ) {
        let ip = addr(peer).ip();
        let admission = &mut self.nodes[node].admission;
        match slot {
            Slot::BeforeHello => admission.failed_before_hello(ip),
            Slot::Check => admission.closed(ip),
            Slot::Session => admission.session_ended(ip),
        }
        if let Some((peer, outcome)) = got.map(|got| *got) {
            self.exchanged(node, &peer, outcome);
        }
    }

    /// What the Gossiper does with a finished session (`Gossiper::exchanged`): the
    /// lifecycle's decisions (relay the peer's own records, add it as a member), and the
    /// records merged.
    fn exchanged(&mut self, at: usize, peer: &NodeId, outcome: Outcome) {
        let node = &self.nodes[at];
        let known = node.m.members().any(|m| m.name == peer.name);
        let me = &node.m.identity().name;
        let next = node.lifecycle.after_exchange(
            (me, node.catalog.state()),
            peer,
            &outcome.received,
            false,
            known,
        );
        for svc in &next.relay {
            self.broadcast(at, svc);
        }
        self.by_exchange = true;
        self.merge(at, outcome.received);
        self.by_exchange = false;
        if let Some(peer) = next.add_member {
            let fx = self.nodes[at].m.apply_members(std::iter::once(peer));
            self.effects(at, fx);
        }
        for host in &next.check {
            let fx = self.nodes[at].m.heard_dead(host);
            self.effects(at, fx);
        }
    }

    fn busy(&self, node: usize, answer: Option<Challenge>) -> Message {
        handshake::busy(self.id(node), answer, self.unix_secs())
    }

    /// Whether node `i` answers peers (`Lifecycle::answers_peers`).
    pub(super) fn answers_peers(&self, i: usize) -> bool {
        let node = &self.nodes[i];
        node.lifecycle.answers_peers(node.m.is_active())
    }

    /// Node `i`'s context for TCP frames (`Wire::stream_ctx`).
    fn stream_ctx(&self, i: usize) -> FrameContext<'_> {
        FrameContext::stream(self.cluster, self.ring.as_ref())
            .sealed_by(&self.nodes[i].m.identity().name)
    }

    fn id(&self, i: usize) -> &NodeId {
        self.nodes[i].m.identity()
    }

    /// A fresh challenge, from the seeded generator.
    fn challenge(&mut self) -> Challenge {
        rand::RngExt::random::<u128>(&mut self.rng).to_le_bytes()
    }
}
