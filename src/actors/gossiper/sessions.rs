//! The Gossiper's TCP sessions: serving peers, joining through the seeds with backoff, and
//! the periodic push/pull with a random member, within the
//! [`Admission`](crate::gossip::admission::Admission) limits.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use actix::prelude::*;
use rand::RngExt;
use slog::{debug, info};
use tokio::net::TcpStream;

use super::Gossiper;
use super::net::{self, Exchanged, Greeted};
use crate::gossip::admission::AfterHello;
use crate::gossip::exchange::ExchangeError;
use crate::gossip::lifecycle::JoinStep;
use crate::gossip::membership::Effects;
use crate::gossip::schedule::push_pull_period;
use crate::messages::RemoteSource;

impl Gossiper {
    /// Takes an accepted connection on, within the admission limits, and waits for its hello;
    /// a refused one is told "busy" (unless this node no longer answers peers).
    pub(super) fn serve(&mut self, stream: TcpStream, ctx: &mut Context<Self>) {
        let Ok(ip) = stream.peer_addr().map(|a| a.ip()) else {
            return;
        };
        if let Err(refusal) = self.admission.accept(ip) {
            self.count(format!("tcp.{}", refusal.kind()));
            if self.answers_peers() {
                let now = self.unix_secs();
                self.wire
                    .refuse(&stream, self.membership.identity(), None, now);
            }
            return;
        }
        let deadline = self.admission.limits().hello_deadline;
        let hello = net::await_hello(self.wire.conn(stream), self.wire.clone(), deadline);
        ctx.spawn(
            hello
                .into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(greeted) => act.greeted(ip, greeted, ctx),
                    Err(err) => {
                        act.admission.failed_before_hello(ip);
                        act.session_failed(&err);
                    }
                }),
        );
    }

    fn answers_peers(&self) -> bool {
        self.lifecycle.answers_peers(self.membership.is_active())
    }

    /// A connection from `ip` said hello: answer the liveness check at once (no session
    /// slot), or run the exchange in a slot, or say "busy".
    fn greeted(&mut self, ip: IpAddr, greeted: Greeted, ctx: &mut Context<Self>) {
        let (me, active) = (self.membership.identity().clone(), self.answers_peers());
        match self.admission.hello(ip, greeted.exchange) {
            AfterHello::AnswerCheck => {
                let answer = net::answer_check(greeted, me, active, self.wire.clone());
                ctx.spawn(
                    answer
                        .into_actor(self)
                        .map(move |(), act, _| act.admission.closed(ip)),
                );
            }
            AfterHello::Busy => {
                self.count("tcp.busy_sessions".to_owned());
                if active {
                    let now = self.unix_secs();
                    let answer = Some(greeted.challenge);
                    self.wire.refuse(greeted.conn.stream(), &me, answer, now);
                }
            }
            AfterHello::RunSession => {
                let local = Arc::clone(&self.local);
                let session = net::respond(greeted, me, active, local, self.wire.clone());
                ctx.spawn(session.into_actor(self).map(move |result, act, ctx| {
                    act.admission.session_ended(ip);
                    match result {
                        Ok(Some(done)) => act.exchanged(done, false, ctx),
                        Ok(None) => {}
                        Err(err) => act.session_failed(&err),
                    }
                }));
            }
        }
    }

    /// Starts one exchange with `addr`; `join` when it is a seed being joined.
    pub(super) fn exchange_with(&mut self, addr: SocketAddr, join: bool, ctx: &mut Context<Self>) {
        if !self.admission.start_outgoing() {
            self.count("tcp.busy".to_owned());
            return;
        }
        let me = self.membership.identity().clone();
        let session = net::initiate(addr, me, Arc::clone(&self.local), self.wire.clone());
        ctx.spawn(session.into_actor(self).map(move |result, act, ctx| {
            act.admission.outgoing_ended();
            match result {
                Ok(done) => act.exchanged(done, join, ctx),
                Err(err) => {
                    debug!(act.log, "Exchange failed"; "peer" => %addr, "error" => %err);
                    act.session_failed(&err);
                }
            }
        }));
    }

    fn session_failed(&mut self, err: &ExchangeError) {
        self.count(format!("tcp.{}", err.kind()));
    }

    /// Merges what an exchange brought and carries out what the lifecycle decides about it
    /// (relay the peer's own records, add it as a member, announce to a seed).
    fn exchanged(&mut self, mut done: Exchanged, join: bool, ctx: &mut Context<Self>) {
        done.received = self.refuse_future(done.received, "tcp.future_record");
        let in_sync = done.sent == 0 && done.received.is_empty();
        let (sent, received) = (done.sent as u64, done.received.len() as u64);
        self.memory.count(|s| {
            s.exchanges += 1;
            s.exchanges_in_sync += u64::from(in_sync);
            s.exchange_records_sent += sent;
            s.exchange_records_received += received;
        });
        let known = self.membership.members().any(|m| m.name == done.peer.name);
        let me = (self.settings.hostname.as_str(), self.local.state());
        let next = (self.lifecycle).after_exchange(me, &done.peer, &done.received, join, known);
        for svc in &next.relay {
            self.broadcast(svc, ctx);
        }
        let source = RemoteSource::Exchange {
            peer: done.peer.name.clone(),
        };
        self.hand_over(done.received, source);
        let mut effects = Effects::default();
        if let Some(peer) = next.add_member {
            effects = self.membership.apply_members(std::iter::once(peer));
        }
        if let Some(seed) = next.announce_to {
            info!(self.log, "Joined the cluster through a seed"; "seed" => %seed);
            effects.extend(self.membership.announce(seed));
        }
        for host in &next.check {
            effects.extend(self.membership.heard_dead(host));
        }
        self.apply(effects, ctx);
    }

    /// After a restart: takes the remembered members back and announces to them, so the
    /// cluster and this instance know each other again at once.
    pub(super) fn resume(&mut self, ctx: &mut Context<Self>) {
        let members = self.memory.members();
        if members.is_empty() {
            return;
        }
        info!(self.log, "Resuming membership"; "members" => members.len());
        let mut effects = self.membership.apply_members(members.clone().into_iter());
        for member in members {
            effects.extend(self.membership.announce(member));
        }
        self.apply(effects, ctx);
    }

    /// Tries every seed, and again after the lifecycle's backoff while no member is known.
    pub(super) fn join(&mut self, ctx: &mut Context<Self>) {
        let has_members = self.membership.members().next().is_some();
        let JoinStep::TrySeeds { retry } = self.lifecycle.join_due(has_members) else {
            return;
        };
        let seeds = self.settings.seeds.clone();
        let advertise = self.settings.advertise;
        let lookup = async move {
            let mut addrs = Vec::new();
            for seed in seeds {
                if let Ok(found) = tokio::net::lookup_host(seed.as_str()).await {
                    addrs.extend(found.filter(|a| a.is_ipv4()).take(1));
                }
            }
            addrs.retain(|a| *a != advertise);
            addrs
        };
        ctx.spawn(lookup.into_actor(self).map(|addrs, act, ctx| {
            if addrs.is_empty() {
                debug!(act.log, "No seed to join (unresolved, or only this node)");
            }
            for addr in addrs {
                act.exchange_with(addr, true, ctx);
            }
        }));
        ctx.run_later(retry, |act, ctx| act.join(ctx));
    }

    /// One exchange with a random live member every push/pull period (anti-entropy).
    pub(super) fn schedule_push_pull(&mut self, ctx: &mut Context<Self>) {
        let size = self.membership.members().count() + 1;
        let period = push_pull_period(self.settings.push_pull_interval, size);
        ctx.run_later(period, |act, ctx| {
            if act.lifecycle.runs_anti_entropy() {
                act.exchange_with_random_member(ctx);
            }
            act.schedule_push_pull(ctx);
        });
    }

    /// One exchange with a random live member, if there is one.
    pub(super) fn exchange_with_random_member(&mut self, ctx: &mut Context<Self>) {
        let members: Vec<SocketAddr> = self.membership.members().map(|m| m.addr).collect();
        if members.is_empty() {
            return;
        }
        let addr = members[self.rng.random_range(0..members.len())];
        self.exchange_with(addr, false, ctx);
    }
}
