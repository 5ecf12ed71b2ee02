use std::collections::BTreeMap;
use std::net::IpAddr;

use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::{address, config_source, socket_address};
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, lb_endpoint};
use envoy_types::pb::envoy::config::listener::v3::{Listener, filter};
use envoy_types::pb::envoy::config::route::v3::{route, route_action, route_match};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager,
};
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{TcpProxy, tcp_proxy};
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

use super::*;
use crate::xds::testdata::{
    catalogue, catalogue_with_more_web, options, record, resources_of, state,
};

fn decode<T: Message + Name + Default>(any: &Any) -> T {
    assert_eq!(any.type_url, T::type_url());
    T::decode(any.value.as_slice()).unwrap()
}

fn names(resources: &Resources, kind: ResourceType) -> Vec<&str> {
    resources.of(kind).keys().map(String::as_str).collect()
}

fn endpoints(resources: &Resources, name: &str) -> Vec<(String, u32)> {
    let cla: ClusterLoadAssignment = decode(&resources.of(ResourceType::Endpoint)[name].body);
    assert_eq!(cla.cluster_name, name);
    assert_eq!(cla.endpoints.len(), 1, "one locality");
    cla.endpoints[0]
        .lb_endpoints
        .iter()
        .map(|e| match &e.host_identifier {
            Some(lb_endpoint::HostIdentifier::Endpoint(ep)) => socket(ep.address.as_ref()),
            other => panic!("not an endpoint: {other:?}"),
        })
        .collect()
}

fn socket(address: Option<&envoy_types::pb::envoy::config::core::v3::Address>) -> (String, u32) {
    match address.and_then(|a| a.address.as_ref()) {
        Some(address::Address::SocketAddress(s)) => match s.port_specifier {
            Some(socket_address::PortSpecifier::PortValue(port)) => (s.address.clone(), port),
            _ => panic!("no port"),
        },
        other => panic!("not a socket address: {other:?}"),
    }
}

fn typed_filter(listener: &Listener) -> &Any {
    assert_eq!(listener.filter_chains.len(), 1, "one filter chain");
    let filters = &listener.filter_chains[0].filters;
    assert_eq!(filters.len(), 1, "one filter");
    match &filters[0].config_type {
        Some(filter::ConfigType::TypedConfig(any)) => any,
        other => panic!("no typed config: {other:?}"),
    }
}

#[test]
fn each_exported_port_of_an_alive_service_names_a_cluster_its_endpoints_and_a_listener() {
    let (resources, report) = build(&catalogue(), &options(), &|_| None);
    let all = ["chat:9000", "db:5432", "odd:7000", "web:8080"];
    assert_eq!(names(&resources, ResourceType::Cluster), all);
    assert_eq!(names(&resources, ResourceType::Endpoint), all);
    assert_eq!(
        names(&resources, ResourceType::Listener),
        ["chat:9000", "db:5432", "web:8080"],
        "an empty proxy mode makes no listener"
    );
    let odd = BTreeMap::from([("odd:7000".to_owned(), String::new())]);
    assert_eq!(report.unknown_modes, odd);
}

#[test]
fn a_cluster_is_eds_over_ads_with_half_a_second_to_connect_and_nothing_else() {
    let resources = resources_of(&catalogue());
    let cluster: Cluster = decode(&resources.of(ResourceType::Cluster)["web:8080"].body);
    let eds = cluster::EdsClusterConfig {
        eds_config: Some(envoy_types::pb::envoy::config::core::v3::ConfigSource {
            resource_api_version: 2,
            config_source_specifier: Some(config_source::ConfigSourceSpecifier::Ads(
                Default::default(),
            )),
            ..Default::default()
        }),
        service_name: String::new(),
    };
    let expected = Cluster {
        name: "web:8080".to_owned(),
        connect_timeout: Some(envoy_types::pb::google::protobuf::Duration {
            seconds: 0,
            nanos: 500_000_000,
        }),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(3)),
        eds_cluster_config: Some(eds),
        ..Default::default()
    };
    assert_eq!(cluster, expected);
}

#[test]
fn endpoints_are_every_alive_instance_on_that_service_port_and_unhealthy_ones_are_left_out() {
    let resources = resources_of(&catalogue());
    let web = vec![
        ("10.0.0.1".to_owned(), 10000),
        ("10.0.0.2".to_owned(), 10001),
    ];
    assert_eq!(endpoints(&resources, "web:8080"), web);
    assert_eq!(
        endpoints(&resources, "db:5432"),
        [("10.0.0.1".to_owned(), 15432)]
    );
}

#[test]
fn an_http_listener_routes_everything_to_its_cluster_through_the_router_without_a_timeout() {
    let resources = resources_of(&catalogue());
    let listener: Listener = decode(&resources.of(ResourceType::Listener)["web:8080"].body);
    assert_eq!(listener.name, "web:8080");
    assert_eq!(
        socket(listener.address.as_ref()),
        ("192.168.168.168".to_owned(), 8080)
    );
    let filter = &listener.filter_chains[0].filters[0];
    assert_eq!(filter.name, "envoy.filters.network.http_connection_manager");
    let manager: HttpConnectionManager = decode(typed_filter(&listener));
    assert_eq!(manager.stat_prefix, "ingress_http");
    assert!(manager.upgrade_configs.is_empty());
    let names: Vec<&str> = manager
        .http_filters
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["envoy.filters.http.router"]);
    let Some(http_connection_manager::RouteSpecifier::RouteConfig(routes)) =
        manager.route_specifier
    else {
        panic!("routes are inline");
    };
    assert_eq!(routes.validate_clusters.map(|b| b.value), Some(false));
    assert_eq!(routes.virtual_hosts.len(), 1);
    let host = &routes.virtual_hosts[0];
    assert_eq!(
        (host.name.as_str(), host.domains.clone()),
        ("web", vec!["*".to_owned()])
    );
    let route = &host.routes[0];
    let prefix = route
        .r#match
        .as_ref()
        .and_then(|m| m.path_specifier.clone());
    assert_eq!(
        prefix,
        Some(route_match::PathSpecifier::Prefix("/".to_owned()))
    );
    let Some(route::Action::Route(action)) = &route.action else {
        panic!("a route action");
    };
    let cluster = Some(route_action::ClusterSpecifier::Cluster(
        "web:8080".to_owned(),
    ));
    assert_eq!(action.cluster_specifier, cluster);
    assert_eq!(action.timeout, Some(Default::default()), "timeout 0s: none");
}

#[test]
fn a_ws_listener_is_the_http_one_with_the_websocket_upgrade() {
    let resources = resources_of(&catalogue());
    let listener: Listener = decode(&resources.of(ResourceType::Listener)["chat:9000"].body);
    let manager: HttpConnectionManager = decode(typed_filter(&listener));
    let upgrades: Vec<&str> = manager
        .upgrade_configs
        .iter()
        .map(|u| u.upgrade_type.as_str())
        .collect();
    assert_eq!(upgrades, ["websocket"]);
}

#[test]
fn a_tcp_listener_proxies_to_its_cluster() {
    let resources = resources_of(&catalogue());
    let listener: Listener = decode(&resources.of(ResourceType::Listener)["db:5432"].body);
    assert_eq!(
        listener.filter_chains[0].filters[0].name,
        "envoy.filters.network.tcp_proxy"
    );
    let proxy: TcpProxy = decode(typed_filter(&listener));
    assert_eq!(proxy.stat_prefix, "ingress_tcp");
    let cluster = Some(tcp_proxy::ClusterSpecifier::Cluster("db:5432".to_owned()));
    assert_eq!(proxy.cluster_specifier, cluster);
}

#[test]
fn the_first_service_on_a_service_port_owns_it_and_a_later_one_is_skipped() {
    let (resources, report) = build(&catalogue(), &options(), &|_| None);
    assert!(
        !resources
            .of(ResourceType::Cluster)
            .contains_key("squatter:8080")
    );
    let collision = Collision {
        service: "squatter".to_owned(),
        service_port: 8080,
        owner: "web".to_owned(),
    };
    assert_eq!(
        report.collisions.into_iter().collect::<Vec<_>>(),
        [collision]
    );
}

#[test]
fn listeners_bind_the_configured_address_and_endpoints_may_be_resolved_hostnames() {
    let options = XdsOptions {
        bind_ip: IpAddr::from([127, 0, 0, 80]),
        use_hostnames: true,
    };
    let resolve = |host: &str| (host == "host-a").then(|| IpAddr::from([10, 9, 9, 9]));
    let (resources, report) = build(&catalogue(), &options, &resolve);
    let listener: Listener = decode(&resources.of(ResourceType::Listener)["db:5432"].body);
    assert_eq!(socket(listener.address.as_ref()).0, "127.0.0.80");
    let web = vec![
        ("10.0.0.2".to_owned(), 10001),
        ("10.9.9.9".to_owned(), 10000),
    ];
    assert_eq!(
        endpoints(&resources, "web:8080"),
        web,
        "host-b falls back to its IP"
    );
    assert_eq!(
        report.unresolved.into_iter().collect::<Vec<_>>(),
        ["host-b"]
    );
}

#[test]
fn the_same_catalogue_builds_the_same_versions_and_a_change_touches_only_its_resources() {
    let before = resources_of(&catalogue());
    assert_eq!(before, resources_of(&catalogue()));
    let after = resources_of(&catalogue_with_more_web());
    for kind in ResourceType::ALL {
        let differing: Vec<&String> = after
            .of(kind)
            .iter()
            .filter(|(name, entry)| before.of(kind).get(*name) != Some(*entry))
            .map(|(name, _)| name)
            .collect();
        let expected: &[&str] = match kind {
            ResourceType::Endpoint => &["web:8080"],
            _ => &[],
        };
        assert_eq!(differing, expected, "{kind:?}");
    }
}

#[test]
fn ports_outside_what_envoy_accepts_are_not_exported() {
    let odd = record(
        "h",
        "x",
        "bad",
        "http",
        1,
        &[(70000, 8081, "10.0.0.1"), (1, 65536, "10.0.0.1")],
    );
    let resources = resources_of(&state(vec![odd]));
    assert_eq!(names(&resources, ResourceType::Cluster), ["bad:8081"]);
    assert!(endpoints(&resources, "bad:8081").is_empty());
}
