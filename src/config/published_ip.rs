//! The published (advertise) IP of this node (docs/COMPATIBILITY.md §2).
//!
//! [`choose_published_ip`] is the pure rule; [`interface_ips`] is the only function here that
//! touches the system (it lists the network interfaces).

use std::net::{IpAddr, Ipv4Addr};

use super::ConfigError;

/// Picks the published IP. `advertise` (from `SIDECAR_ADVERTISE_IP`/`--advertise-ip`) wins
/// verbatim when set and not empty; an unparseable one is an error naming
/// `SIDECAR_ADVERTISE_IP`. Otherwise the first of `candidates` (interface addresses in OS
/// order) that is IPv4 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 and not listed in
/// `exclude`. `Ok(None)` when no candidate qualifies.
pub fn choose_published_ip(
    advertise: Option<&str>,
    exclude: &[String],
    candidates: &[IpAddr],
) -> Result<Option<IpAddr>, ConfigError> {
    if let Some(text) = advertise.filter(|text| !text.is_empty()) {
        return text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::Invalid {
                var: "SIDECAR_ADVERTISE_IP".to_owned(),
                value: text.to_owned(),
                reason: "expected an IP address".to_owned(),
            });
    }
    let excluded = |ip: &Ipv4Addr| {
        exclude
            .iter()
            .any(|entry| entry.trim().parse::<Ipv4Addr>().is_ok_and(|e| e == *ip))
    };
    Ok(candidates
        .iter()
        .find_map(|candidate| match candidate {
            IpAddr::V4(ip) if ip.is_private() && !excluded(ip) => Some(*ip),
            _ => None,
        })
        .map(IpAddr::V4))
}

/// The addresses of every network interface, in OS order.
pub fn interface_ips() -> Result<Vec<IpAddr>, ConfigError> {
    let interfaces = if_addrs::get_if_addrs().map_err(ConfigError::Interfaces)?;
    Ok(interfaces.iter().map(if_addrs::Interface::ip).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    fn exclude(list: &[&str]) -> Vec<String> {
        list.iter().map(|ip| (*ip).to_owned()).collect()
    }

    fn choose(advertise: Option<&str>, excluded: &[&str], candidates: &[&str]) -> Option<IpAddr> {
        choose_published_ip(advertise, &exclude(excluded), &ips(candidates)).unwrap()
    }

    #[test]
    fn first_private_ipv4_in_os_order_is_published() {
        let candidates = ["127.0.0.1", "::1", "8.8.8.8", "172.17.0.2", "10.0.0.5"];
        assert_eq!(
            choose(None, &[], &candidates),
            Some(ips(&["172.17.0.2"])[0])
        );
    }

    #[test]
    fn every_private_range_qualifies_and_nothing_else_does() {
        for ip in ["10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1"] {
            assert_eq!(choose(None, &[], &[ip]), Some(ips(&[ip])[0]), "{ip}");
        }
        for ip in [
            "172.32.0.1",
            "172.15.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "fd00::1",
            "1.2.3.4",
        ] {
            assert_eq!(choose(None, &[], &[ip]), None, "{ip}");
        }
    }

    #[test]
    fn excluded_addresses_are_skipped() {
        let candidates = ["192.168.168.168", "10.0.0.7"];
        let chosen = choose(None, &["192.168.168.168"], &candidates);
        assert_eq!(chosen, Some(ips(&["10.0.0.7"])[0]));
    }

    #[test]
    fn advertise_ip_is_used_verbatim_even_if_public_or_excluded() {
        let chosen = choose(Some("8.8.4.4"), &["8.8.4.4"], &["10.0.0.1"]);
        assert_eq!(chosen, Some(ips(&["8.8.4.4"])[0]));
    }

    #[test]
    fn empty_advertise_ip_falls_back_to_the_interfaces() {
        assert_eq!(
            choose(Some(""), &[], &["10.0.0.1"]),
            Some(ips(&["10.0.0.1"])[0])
        );
    }

    #[test]
    fn no_private_address_means_none() {
        assert_eq!(choose(None, &[], &["127.0.0.1", "8.8.8.8"]), None);
        assert_eq!(choose(None, &[], &[]), None);
    }

    #[test]
    fn unparseable_advertise_ip_names_the_variable() {
        let error = choose_published_ip(Some("nope"), &[], &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid SIDECAR_ADVERTISE_IP="nope": expected an IP address"#
        );
    }
}
