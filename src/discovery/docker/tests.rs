//! Tests of the container → service mapping (docs/COMPATIBILITY.md §10), including what Go's own
//! tests of the mapping and of Docker discovery checked of a pure mapping.

use super::*;

fn label_namer() -> Namer {
    Namer::new("docker_label", "", "ServiceName").unwrap()
}

fn port(private: u16, public: u16, kind: &str, ip: &str) -> ContainerPort {
    ContainerPort {
        private,
        public,
        kind: kind.into(),
        ip: ip.into(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The container of Go's `Test_ToService`.
fn go_container() -> ContainerInfo {
    ContainerInfo {
        id: "deadbeef123412341234".into(),
        names: vec!["/modest_mccarthy".into()],
        image: "gonitro/sidecar:latest".into(),
        created: 1_457_144_774,
        labels: labels(&[
            ("ServicePort_80", "8080"),
            ("ServicePort_9090", "9090"),
            ("ProxyMode", "tcp"),
            ("ServiceName", "modest_mccarthy"),
        ]),
        ports: vec![
            port(80, 8080, "tcp", "192.168.77.13"),
            port(9090, 9090, "tcp", ""),
            port(6379, 0, "tcp", ""),
        ],
    }
}

fn map_with(c: &ContainerInfo, namer: &Namer) -> Result<Mapped, Skip> {
    let ctx = DockerContext {
        hostname: "indefatigable",
        published_ip: "10.0.0.5",
        namer,
    };
    to_discovered(c, &ctx)
}

fn map(c: &ContainerInfo) -> Mapped {
    map_with(c, &label_namer()).unwrap()
}

fn tcp(port: i64, service_port: i64, ip: &str) -> Port {
    Port {
        kind: "tcp".into(),
        port,
        service_port,
        ip: ip.into(),
    }
}

#[test]
fn a_container_maps_to_a_service_like_go_to_service() {
    let mapped = map(&go_container());
    let svc = &mapped.discovered.service;
    assert_eq!(svc.id, "deadbeef1234");
    assert_eq!(svc.image, "gonitro/sidecar:latest");
    assert_eq!(svc.name, "modest_mccarthy");
    assert_eq!(
        svc.created,
        Timestamp::parse("2016-03-05T02:26:14Z").unwrap()
    );
    assert_eq!(svc.hostname, "indefatigable");
    assert_eq!(svc.proxy_mode, "tcp");
    assert_eq!(svc.status.code(), 0);
    assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
}

#[test]
fn only_published_ports_are_kept_and_a_binding_ip_is_kept() {
    let mapped = map(&go_container());
    assert_eq!(
        mapped.discovered.service.ports(),
        [
            tcp(8080, 8080, "192.168.77.13"),
            tcp(9090, 9090, "10.0.0.5")
        ]
    );
}

#[test]
fn a_service_port_label_maps_the_container_port_to_its_proxy_port() {
    let mut c = go_container();
    c.ports = vec![port(80, 8723, "tcp", "")];
    c.labels = labels(&[("ServicePort_80", "8080")]);
    assert_eq!(
        map(&c).discovered.service.ports(),
        [tcp(8723, 8080, "10.0.0.5")]
    );
}

#[test]
fn ports_bound_to_all_addresses_get_the_published_ip() {
    let mut c = go_container();
    c.ports = vec![port(80, 1000, "tcp", ""), port(81, 1001, "udp", "0.0.0.0")];
    let ips: Vec<String> = (map(&c).discovered.service.ports().iter())
        .map(|p| p.ip.clone())
        .collect();
    assert_eq!(ips, ["10.0.0.5", "10.0.0.5"]);
}

#[test]
fn a_missing_service_port_label_gives_service_port_zero_without_a_warning() {
    let mut c = go_container();
    c.labels.clear();
    c.ports = vec![port(80, 8723, "tcp", "")];
    let mapped = map(&c);
    assert_eq!(
        mapped.discovered.service.ports(),
        [tcp(8723, 0, "10.0.0.5")]
    );
    assert!(mapped.warnings.is_empty());
}

#[test]
fn a_non_numeric_service_port_label_gives_zero_keeps_the_port_and_warns() {
    let mut c = go_container();
    c.labels = labels(&[("ServicePort_80", "eighty")]);
    c.ports = vec![port(80, 8723, "tcp", "")];
    let mapped = map(&c);
    assert_eq!(
        mapped.discovered.service.ports(),
        [tcp(8723, 0, "10.0.0.5")]
    );
    assert_eq!(
        mapped.warnings,
        [LabelWarning::BadServicePort {
            label: "ServicePort_80".into(),
            value: "eighty".into()
        }]
    );
}

#[test]
fn ipv6_duplicate_bindings_do_not_duplicate_ports() {
    let mut c = go_container();
    c.labels = labels(&[("ServicePort_80", "8080")]);
    c.ports = vec![
        port(80, 32768, "tcp", "0.0.0.0"),
        port(80, 32768, "tcp", "::"),
    ];
    assert_eq!(
        map(&c).discovered.service.ports(),
        [tcp(32768, 8080, "10.0.0.5")]
    );
}

#[test]
fn proxy_mode_defaults_to_http_but_an_empty_label_is_kept() {
    let mut c = go_container();
    c.labels.remove("ProxyMode");
    assert_eq!(map(&c).discovered.service.proxy_mode, "http");
    c.labels.insert("ProxyMode".into(), String::new());
    assert_eq!(map(&c).discovered.service.proxy_mode, "");
}

#[test]
fn sidecar_discover_false_skips_the_container_and_other_values_do_not() {
    let mut c = go_container();
    c.labels.insert("SidecarDiscover".into(), "false".into());
    assert_eq!(map_with(&c, &label_namer()), Err(Skip::DiscoveryDisabled));
    c.labels.insert("SidecarDiscover".into(), "False".into());
    assert!(map_with(&c, &label_namer()).is_ok());
}

#[test]
fn short_and_missing_container_ids_do_not_panic() {
    let mut c = go_container();
    c.id = "abc".into();
    assert_eq!(map(&c).discovered.service.id, "abc");
    c.id = String::new();
    assert_eq!(map_with(&c, &label_namer()), Err(Skip::NoId));
}

#[test]
fn the_name_comes_from_the_regex_namer_when_configured() {
    let namer = Namer::new("regex", "^/(.+)(-[0-9a-z]{7,14})$", "ServiceName").unwrap();
    let mut c = go_container();
    c.names = vec!["/awesome-svc-1231b1b12323".into()];
    assert_eq!(
        map_with(&c, &namer).unwrap().discovered.service.name,
        "awesome-svc"
    );
}

#[test]
fn health_check_labels_become_the_check_definition() {
    let mut c = go_container();
    c.labels.insert("HealthCheck".into(), "External".into());
    c.labels
        .insert("HealthCheckArgs".into(), "/bin/true {{ tcp 8080 }}".into());
    let mapped = map(&c);
    let check = mapped.discovered.check.unwrap();
    assert_eq!(check.kind, "External");
    assert_eq!(check.args, "/bin/true {{ tcp 8080 }}");
    assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
}

#[test]
fn without_a_health_check_label_the_default_check_is_used() {
    let mut c = go_container();
    c.labels.insert("HealthCheckArgs".into(), "ignored".into());
    assert_eq!(map(&c).discovered.check, None);
}

#[test]
fn an_unknown_check_type_is_kept_and_warned_about() {
    let mut c = go_container();
    c.labels.insert("HealthCheck".into(), "Telepathy".into());
    let mapped = map(&c);
    assert_eq!(mapped.discovered.check.unwrap().kind, "Telepathy");
    assert_eq!(
        mapped.warnings,
        [LabelWarning::UnknownCheckType {
            kind: "Telepathy".into()
        }]
    );
}

#[test]
fn check_args_naming_an_unmapped_port_are_warned_about() {
    let mut c = go_container();
    c.labels.insert("HealthCheck".into(), "HttpGet".into());
    let args = "http://{{ host }}:{{ tcp 7777 }}/ {{ udp 8080 }}";
    c.labels.insert("HealthCheckArgs".into(), args.into());
    let mapped = map(&c);
    assert_eq!(mapped.discovered.check.unwrap().args, args);
    let unmapped = |kind: &str, service_port| LabelWarning::UnmappedCheckPort {
        kind: kind.into(),
        service_port,
    };
    assert_eq!(
        mapped.warnings,
        [unmapped("tcp", 7777), unmapped("udp", 8080)]
    );
}

#[test]
fn sidecar_listener_registers_the_tcp_port_with_that_service_port() {
    let c = ContainerInfo {
        id: "deadbeef12312345".into(),
        image: "img".into(),
        labels: labels(&[
            ("ServiceName", "beowulf"),
            ("ServicePort_8080", "10000"),
            ("SidecarListener", "10000"),
        ]),
        ports: vec![port(8080, 80, "tcp", "127.0.0.1")],
        ..ContainerInfo::default()
    };
    let listener = map(&c).discovered.listener.unwrap();
    assert_eq!(listener.name, "Service(beowulf-deadbeef1231)");
    assert_eq!(listener.url, "http://127.0.0.1:80/sidecar/update");
}

#[test]
fn a_sidecar_listener_without_a_matching_tcp_port_is_warned_about() {
    let mut c = go_container();
    c.labels.insert("SidecarListener".into(), "12345".into());
    let mapped = map(&c);
    assert_eq!(mapped.discovered.listener, None);
    assert_eq!(
        mapped.warnings,
        [LabelWarning::ListenerPortNotFound {
            service_port: 12345
        }]
    );
    c.labels.insert("SidecarListener".into(), "http".into());
    let warnings = map(&c).warnings;
    assert_eq!(
        warnings,
        [LabelWarning::BadListener {
            value: "http".into()
        }]
    );
}

#[test]
fn warnings_read_clearly() {
    let w = LabelWarning::UnmappedCheckPort {
        kind: "tcp".into(),
        service_port: 7777,
    };
    assert_eq!(
        w.to_string(),
        "label HealthCheckArgs uses {{ tcp 7777 }} but no tcp port has that ServicePort: it renders as -1"
    );
}
