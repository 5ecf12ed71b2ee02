//! The gossip part of a node's start: the bound gossip ports and the Gossiper's settings
//! derived from the configuration.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use slog::Logger;

use super::StartError;
use crate::actors::StateKeeper;
use crate::actors::gossiper::{
    GossipKeys, GossipSockets, Gossiper, GossiperMemory, GossiperSettings, StateLinks,
};
use crate::clock::SharedClock;
use crate::config::{Config, ConfigError};
use crate::gossip::crypto::KeyRing;
use crate::supervisor::{ActorChild, Slot, Supervisor};

/// Binds the gossip ports on `SIDECAR_BIND_IP`:`SIDECAR_BIND_PORT` and settles what the
/// Gossiper advertises: `SIDECAR_ADVERTISE_IP`, else the bind IP unless unspecified, else an
/// interface's IP as chosen for the published IP (even without discovery, where the node's
/// `published_ip` is 127.0.0.1, which peers on other hosts cannot reach); with the bound port.
pub(super) fn gossip_setup(
    config: &Config,
    hostname: &str,
    published_ip: IpAddr,
) -> Result<(GossipSockets, GossiperSettings), StartError> {
    let sc = &config.sidecar;
    let invalid = |var: &str, value: &str, reason: &str| ConfigError::Invalid {
        var: var.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let bind_ip: IpAddr = sc
        .bind_ip
        .parse()
        .map_err(|_| invalid("SIDECAR_BIND_IP", &sc.bind_ip, "expected an IP address"))?;
    let keys = KeyRing::from_base64(&sc.gossip_keys)
        .map_err(|e| invalid("SIDECAR_GOSSIP_KEYS", "(hidden)", &e.to_string()))?;
    let bind_error = |source| StartError::GossipBind {
        addr: SocketAddr::new(bind_ip, sc.bind_port).to_string(),
        source,
    };
    let sockets = GossipSockets::bind(bind_ip, sc.bind_port).map_err(bind_error)?;
    let port = sockets.port().map_err(bind_error)?;
    let advertise_ip = match sc.advertise_ip.as_deref().filter(|ip| !ip.is_empty()) {
        Some(_) => config.published_ip()?,
        None if !bind_ip.is_unspecified() => bind_ip,
        None => config.published_ip().unwrap_or(published_ip),
    };
    let advertise = SocketAddr::new(advertise_ip, port);
    let mut settings = GossiperSettings::new(hostname, advertise, &sc.cluster_name);
    settings.keys = GossipKeys::new(keys);
    settings.push_pull_interval = sc.push_pull_interval.max(Duration::from_secs(1));
    settings.seeds = sc
        .seeds
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| seed_address(s, sc.bind_port))
        .collect();
    Ok((sockets, settings))
}

/// Starts the supervised "gossiper" subsystem on the bound `sockets`; every instance shares
/// one [`GossiperMemory`], so a restart keeps the node's identity and members.
pub(super) fn start_gossiper(
    supervisor: &mut Supervisor,
    state_keeper: &Slot<StateKeeper>,
    (settings, sockets): (GossiperSettings, Arc<GossipSockets>),
    clock: &SharedClock,
    log: &Logger,
) -> Slot<Gossiper> {
    let state = StateLinks {
        subscribe: state_keeper.link(),
        remote: state_keeper.link(),
        expire: state_keeper.link(),
        members: state_keeper.link(),
    };
    warn_if_open(&settings, &sockets, log);
    let (clk, memory, lg) = (Arc::clone(clock), GossiperMemory::default(), log.clone());
    let (child, gossiper) = ActorChild::start("gossiper", move || {
        let (settings, sockets) = (settings.clone(), Arc::clone(&sockets));
        let (clk, memory) = (Arc::clone(&clk), memory.clone());
        Gossiper::new(settings, sockets, clk, state.clone(), memory, &lg).start()
    });
    supervisor.add(Box::new(child));
    gossiper
}

/// Without keys anyone who can reach the gossip port can join, read every record and forge
/// SWIM messages (such as "this node is down"): say so at start unless the port is only on
/// loopback.
fn warn_if_open(settings: &GossiperSettings, sockets: &GossipSockets, log: &Logger) {
    let bound = sockets.tcp.local_addr().map(|a| a.ip()).ok();
    if open_to_outsiders(settings.keys.is_set(), bound) {
        slog::warn!(log, "Gossip is not encrypted: anyone who can reach the gossip port can \
            join the cluster, read its records and forge membership messages; set \
            SIDECAR_GOSSIP_KEYS"; "gossip" => %settings.advertise);
    }
}

/// Whether a gossip port bound on `bound` is open to anyone: no keys, and not loopback only.
fn open_to_outsiders(has_keys: bool, bound: Option<IpAddr>) -> bool {
    !has_keys && !bound.is_some_and(|ip| ip.is_loopback())
}

/// `host` or `host:port` (`[v6]:port` too) as `host:port`, with `default_port`.
fn seed_address(seed: &str, default_port: u16) -> String {
    let seed = seed.trim();
    if seed.parse::<SocketAddr>().is_ok() {
        return seed.to_owned();
    }
    match seed.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => seed.to_owned(),
        _ if seed.parse::<std::net::Ipv6Addr>().is_ok() => format!("[{seed}]:{default_port}"),
        _ => format!("{seed}:{default_port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{open_to_outsiders, seed_address};

    #[test]
    fn only_a_keyless_port_off_loopback_is_open_to_outsiders() {
        let any = "0.0.0.0".parse().ok();
        assert!(open_to_outsiders(false, any));
        assert!(open_to_outsiders(false, "10.0.0.5".parse().ok()));
        assert!(!open_to_outsiders(false, "127.0.0.3".parse().ok()));
        assert!(!open_to_outsiders(true, any));
    }

    #[test]
    fn seeds_get_the_default_port_unless_they_have_one() {
        assert_eq!(seed_address("10.0.0.1", 7946), "10.0.0.1:7946");
        assert_eq!(seed_address(" 10.0.0.1:8000 ", 7946), "10.0.0.1:8000");
        assert_eq!(seed_address("seed.example", 7946), "seed.example:7946");
        assert_eq!(seed_address("seed.example:81", 7946), "seed.example:81");
        assert_eq!(seed_address("::1", 7946), "[::1]:7946");
        assert_eq!(seed_address("[::1]:81", 7946), "[::1]:81");
    }
}
