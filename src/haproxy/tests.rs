use super::*;
use crate::catalog::{Port, Service, ServiceStatus, ServicesState};
use crate::clock::Timestamp;

const NOW: &str = "2023-01-02 03:04:05.123456789 +0000 UTC";

fn port(port: i64, service_port: i64, ip: &str) -> Port {
    Port {
        kind: "tcp".to_owned(),
        port,
        service_port,
        ip: ip.to_owned(),
    }
}

fn service(host: &str, id: &str, name: &str, mode: &str, ports: Vec<Port>) -> Service {
    Service {
        id: id.to_owned(),
        name: name.to_owned(),
        image: format!("{name}:latest"),
        hostname: host.to_owned(),
        ports: Some(ports),
        updated: Timestamp::from_unix_secs(1_700_000_000),
        proxy_mode: mode.to_owned(),
        status: ServiceStatus::Alive,
        ..Service::default()
    }
}

fn state(records: Vec<Service>) -> ServicesState {
    let mut state = ServicesState::new("indomitable", "default");
    for svc in records {
        state.insert(svc);
    }
    state
}

/// The services of the original's documented render.
fn documented_services() -> Vec<Service> {
    vec![
        service(
            "indomitable",
            "deadbeef123",
            "awesome-svc",
            "http",
            vec![
                port(10450, 8080, "127.0.0.1"),
                port(10020, 9000, "127.0.0.1"),
            ],
        ),
        service(
            "indefatigable",
            "deadbeef101",
            "awesome-svc",
            "http",
            vec![
                port(32763, 8080, "127.0.0.3"),
                port(10020, 9000, "127.0.0.3"),
            ],
        ),
        service(
            "indefatigable",
            "deadbeef105",
            "some-svc",
            "tcp",
            vec![port(9999, 8090, "127.0.0.3")],
        ),
    ]
}

fn model(records: Vec<Service>) -> ProxyModel {
    ProxyModel::build(&state(records), &ProxySettings::default())
}

fn render(model: &ProxyModel) -> String {
    Renderer::builtin().unwrap().render(model, NOW).unwrap()
}

#[test]
fn the_builtin_template_renders_the_documented_configuration_byte_for_byte() {
    let expected = include_str!("../../tests/fixtures/haproxy/default.cfg");
    assert_eq!(render(&model(documented_services())), expected);
}

#[test]
fn only_alive_instances_with_ports_are_routed() {
    let mut records = documented_services();
    records[0].status = ServiceStatus::Unhealthy;
    records[2].status = ServiceStatus::Draining;
    records.push(service("h", "noports", "bare", "http", Vec::new()));
    let model = model(records);
    assert_eq!(model.services.keys().collect::<Vec<_>>(), ["awesome-svc"]);
    let text = render(&model);
    assert!(!text.contains("indomitable-deadbeef123"), "{text}");
    assert!(text.contains("server indefatigable-deadbeef101 127.0.0.3:32763"));
    assert!(!text.contains("some-svc-8090"), "{text}");
}

#[test]
fn an_instance_with_fewer_ports_than_the_first_is_left_out_instead_of_crashing() {
    let mut records = documented_services();
    records[0].ports = Some(vec![port(10450, 8080, "127.0.0.1")]);
    let model = model(records);
    assert_eq!(model.services["awesome-svc"].len(), 1);
    assert_eq!(model.rejected.len(), 1);
    assert_eq!(model.rejected[0].hostname, "indomitable");
    assert_eq!(model.rejected[0].found, ["8080"]);
}

#[test]
fn an_instance_with_more_ports_than_the_first_is_routed_on_the_common_ones() {
    let mut records = documented_services();
    let ports = records[0].ports.as_mut().unwrap();
    ports.push(port(10021, 9100, "127.0.0.1"));
    let model = model(records);
    assert_eq!(model.services["awesome-svc"].len(), 2);
    let names: Vec<&str> = model.frontends().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["awesome-svc-8080", "awesome-svc-9000", "some-svc-8090"]
    );
}

#[test]
fn names_are_sanitized_and_ws_is_served_as_http() {
    assert_eq!(
        sanitize_name("public/something-longish:latest"),
        "public-something-longish-latest"
    );
    assert_eq!(sanitize_name("Web_App"), "-eb--pp");
    let records = vec![service(
        "h1",
        "a1",
        "chat/ws",
        "ws",
        vec![port(7000, 7070, "10.0.0.1")],
    )];
    let model = model(records);
    let frontend = model.frontends().next().unwrap();
    assert_eq!(
        (frontend.name.as_str(), frontend.mode.as_str()),
        ("chat-ws-7070", "http")
    );
}

#[test]
fn with_use_hostnames_servers_are_addressed_by_host_name() {
    let settings = ProxySettings {
        use_hostnames: true,
        ..ProxySettings::default()
    };
    let model = ProxyModel::build(&state(documented_services()), &settings);
    let text = render(&model);
    assert!(
        text.contains("server indefatigable-deadbeef105 indefatigable:9999 cookie"),
        "{text}"
    );
}

#[test]
fn the_group_line_appears_only_when_a_group_is_set_and_an_empty_user_leaves_an_empty_line() {
    let settings = ProxySettings {
        user: String::new(),
        group: "proxies".to_owned(),
        ..ProxySettings::default()
    };
    let text = render(&ProxyModel::build(&state(Vec::new()), &settings));
    assert!(
        text.contains("\tdaemon\n\n\tgroup proxies\n\n\tmaxconn 4096"),
        "{text}"
    );
}

#[test]
fn a_user_template_gets_the_data_and_the_functions_of_the_go_template() {
    let source = "{% for name, group in services %}{% set ports = get_ports(name=name) %}\
        {% for sp, _ in ports %}{{ name | sanitize_name }}-{{ sp }} {{ get_mode(name=name) }}:\
        {% for svc in group %} {{ svc.Hostname }}-{{ svc.ID }}@{{ ip_for(port=sp, svc=svc) }}:\
        {{ port_for(port=sp, svc=svc) }}{% endfor %}\n{% endfor %}{% endfor %}\
        {{ bind_ip() }} {{ user }} {{ now() }}";
    let renderer = Renderer::from_source(source).unwrap();
    assert!(!renderer.is_builtin());
    let text = renderer.render(&model(documented_services()), NOW).unwrap();
    assert_eq!(
        text,
        "awesome-svc-8080 http: indefatigable-deadbeef101@127.0.0.3:32763 \
         indomitable-deadbeef123@127.0.0.1:10450\n\
         awesome-svc-9000 http: indefatigable-deadbeef101@127.0.0.3:10020 \
         indomitable-deadbeef123@127.0.0.1:10020\n\
         some-svc-8090 tcp: indefatigable-deadbeef105@127.0.0.3:9999\n\
         192.168.168.168 haproxy 2023-01-02 03:04:05.123456789 +0000 UTC"
    );
}

#[test]
fn a_broken_user_template_is_refused_with_the_reason() {
    let err = Renderer::from_source("{% for x in %}").unwrap_err();
    assert!(err.0.starts_with("invalid HAProxy template"), "{err}");
    assert!(err.0.len() > "invalid HAProxy template: ".len(), "{err}");
    let renderer = Renderer::from_source("{{ no_such_variable }}").unwrap();
    let err = renderer.render(&model(Vec::new()), NOW).unwrap_err();
    assert!(err.0.contains("no_such_variable"), "{err}");
}

// ---- plan ----

fn running(records: Vec<Service>) -> Running {
    Running::reloaded(model(records))
}

#[test]
fn nothing_applied_yet_means_a_reload() {
    assert_eq!(
        plan(None, &model(documented_services()), true),
        Plan::Reload
    );
}

#[test]
fn an_unchanged_routing_needs_nothing_even_when_records_were_refreshed() {
    let current = running(documented_services());
    let mut records = documented_services();
    records[0].updated = Timestamp::from_unix_secs(1_800_000_000);
    assert_eq!(plan(Some(&current), &model(records), true), Plan::Nothing);
}

#[test]
fn a_backend_that_fails_its_check_leaves_the_rotation_through_the_runtime_api() {
    let current = running(documented_services());
    let mut records = documented_services();
    records[1].status = ServiceStatus::Unhealthy;
    let Plan::Runtime(commands) = plan(Some(&current), &model(records), true) else {
        panic!("expected runtime commands");
    };
    let lines: Vec<String> = commands.iter().map(RuntimeCommand::line).collect();
    assert_eq!(
        lines,
        [
            "set server awesome-svc-8080/indefatigable-deadbeef101 state maint",
            "del server awesome-svc-8080/indefatigable-deadbeef101",
            "set server awesome-svc-9000/indefatigable-deadbeef101 state maint",
            "del server awesome-svc-9000/indefatigable-deadbeef101",
        ]
    );
}

#[test]
fn a_new_instance_of_a_known_service_is_added_without_a_reload() {
    let current = running(documented_services());
    let mut records = documented_services();
    records.push(service(
        "intrepid",
        "cafe",
        "some-svc",
        "tcp",
        vec![port(9998, 8090, "127.0.0.4")],
    ));
    let Plan::Runtime(commands) = plan(Some(&current), &model(records), true) else {
        panic!("expected runtime commands");
    };
    let lines: Vec<String> = commands.iter().map(RuntimeCommand::line).collect();
    assert_eq!(
        lines,
        [
            "add server some-svc-8090/intrepid-cafe 127.0.0.4:9998",
            "set server some-svc-8090/intrepid-cafe state ready",
        ]
    );
}

#[test]
fn a_server_parked_after_a_refused_deletion_comes_back_with_state_ready() {
    let mut records = documented_services();
    records[0].status = ServiceStatus::Unhealthy;
    let flapped = model(records);
    let current = running(documented_services());
    let Plan::Runtime(commands) = plan(Some(&current), &flapped, true) else {
        panic!("expected runtime commands");
    };
    // HAProxy refused the deletion (connections open): the server stays parked.
    let refused: Vec<RuntimeCommand> = commands.into_iter().filter(|c| c.may_fail()).collect();
    let parked = Running::after_runtime(flapped, &refused);
    assert_eq!(parked.parked.len(), 2);
    let Plan::Runtime(back) = plan(Some(&parked), &model(documented_services()), true) else {
        panic!("expected runtime commands");
    };
    let lines: Vec<String> = back.iter().map(RuntimeCommand::line).collect();
    assert_eq!(
        lines,
        [
            "set server awesome-svc-8080/indomitable-deadbeef123 state ready",
            "set server awesome-svc-9000/indomitable-deadbeef123 state ready",
        ]
    );
}

#[test]
fn a_new_service_or_a_user_template_or_a_moved_server_needs_a_reload() {
    let current = running(documented_services());
    let mut records = documented_services();
    records.push(service(
        "h",
        "x1",
        "new-svc",
        "http",
        vec![port(1, 8100, "10.0.0.9")],
    ));
    assert_eq!(plan(Some(&current), &model(records), true), Plan::Reload);

    let mut records = documented_services();
    records[1].status = ServiceStatus::Unhealthy;
    assert_eq!(plan(Some(&current), &model(records), false), Plan::Reload);

    let mut records = documented_services();
    records[2].ports = Some(vec![port(9000, 8090, "127.0.0.3")]);
    assert_eq!(plan(Some(&current), &model(records), true), Plan::Reload);
}

#[test]
fn runtime_replies_are_read_as_haproxy_writes_them() {
    let add = RuntimeCommand::AddServer {
        backend: "b".into(),
        server: "s".into(),
        address: "127.0.0.1:1".into(),
    };
    assert!(add.succeeded("New server registered.\n\n"));
    assert!(!add.succeeded("No such backend.\n"));
    let ready = RuntimeCommand::SetReady {
        backend: "b".into(),
        server: "s".into(),
    };
    assert!(ready.succeeded("\n"));
    assert!(!ready.succeeded("No such server.\n"));
}
