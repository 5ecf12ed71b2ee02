//! Tests of [`super::load`]: defaults, layering, validation and the start-up description.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn cli(args: &[&str]) -> Cli {
    Cli::from_args(std::iter::once("sidecar").chain(args.iter().copied())).unwrap()
}

fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load(&Cli::default(), &env(pairs))
}

fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn sidecar_defaults_equal_spec_section_10_1() {
    let c = load_env(&[]).unwrap();
    let s = &c.sidecar;
    assert_eq!(
        (s.logging_level, s.logging_format),
        (LogLevel::Info, LogFormat::Text)
    );
    assert_eq!(
        (s.discovery.clone(), s.seeds.clone()),
        (vec![DiscoveryMethod::Docker], vec![])
    );
    assert_eq!((s.cluster_name.as_str(), s.bind_port), ("default", 7946));
    assert_eq!(
        (&s.advertise_ip, &s.stats_addr, &s.hostname),
        (&None, &None, &None)
    );
    assert_eq!(s.exclude_ips, strings(&["192.168.168.168"]));
    assert_eq!(s.push_pull_interval, Duration::from_secs(20));
    assert_eq!(
        (s.gossip_messages, s.gossip_interval),
        (15, Duration::from_millis(200))
    );
    assert_eq!(
        (s.handoff_queue_depth, s.default_check_endpoint.as_str()),
        (1024, "/version")
    );
    assert_eq!(
        (s.debug, s.discovery_sleep_interval),
        (false, Duration::from_secs(1))
    );
    assert_eq!(
        (s.bind_ip.as_str(), s.http_bind_ip.as_str()),
        ("0.0.0.0", "0.0.0.0")
    );
    assert_eq!((s.http_port, s.health_concurrency), (7777, 64));
    assert_eq!(s.max_watchers, 10_000);
    assert_eq!(s.health_interval, Duration::from_secs(3));
    assert_eq!(
        (s.health_timeout, &s.admin_token),
        (Duration::from_millis(2999), &None)
    );
    assert_eq!(c, Config::default());
}

#[test]
fn defaults_of_the_other_sections_equal_spec_section_10_1() {
    let c = load_env(&[]).unwrap();
    assert_eq!(c.docker, DockerConfig::default());
    assert_eq!(c.docker.endpoint().unwrap(), "unix:///var/run/docker.sock");
    assert_eq!(c.static_discovery.config_file, PathBuf::from("static.json"));
    assert_eq!(c.static_discovery.reload_interval, Duration::from_secs(1));
    assert_eq!(c.services, ServicesConfig::default());
    assert_eq!(c.services.namer, "docker_label");
    assert_eq!(c.services.name_label, "ServiceName");
    assert!(c.listeners.urls.is_empty());
    let h = &c.haproxy;
    assert_eq!(
        (h.disable, &h.reload_command, &h.verify_command),
        (false, &None, &None)
    );
    assert_eq!(
        (h.bind_ip.as_str(), h.user.as_str(), h.group.as_str()),
        ("192.168.168.168", "haproxy", "")
    );
    assert_eq!(h.template_file, Path::new("views/haproxy.cfg"));
    assert_eq!(h.config_file, Path::new("/etc/haproxy.cfg"));
    assert_eq!(
        (h.pid_file.as_path(), h.use_hostnames),
        (Path::new("/var/run/haproxy.pid"), false)
    );
    let e = &c.envoy;
    assert_eq!(
        (e.use_grpc_api, e.bind_ip.as_str(), e.use_hostnames),
        (true, "192.168.168.168", false)
    );
    assert_eq!((e.grpc_port, e.grpc_bind_ip.as_str()), (7776, "0.0.0.0"));
    let k = &c.k8s;
    assert_eq!(
        (
            k.kube_api_ip.as_str(),
            k.kube_api_port,
            k.namespace.as_str()
        ),
        ("127.0.0.1", 8080, "default")
    );
    assert_eq!(
        (k.kube_timeout, k.announce_all_nodes),
        (Duration::from_secs(3), false)
    );
    assert_eq!(
        k.creds_path,
        Path::new("/var/run/secrets/kubernetes.io/serviceaccount")
    );
    assert_eq!(c, Config::default());
}

#[test]
fn every_kind_of_environment_value_reaches_its_field() {
    let c = load_env(&[
        ("SIDECAR_LOGGING_LEVEL", "Debug"),
        ("SIDECAR_LOGGING_FORMAT", "json"),
        ("SIDECAR_DISCOVERY", "docker, static"),
        ("SIDECAR_BIND_PORT", "0x1f90"),
        ("SIDECAR_ADVERTISE_IP", "10.0.0.9"),
        ("SIDECAR_PUSH_PULL_INTERVAL", "1m30s"),
        ("SIDECAR_HEALTH_CONCURRENCY", "8"),
        ("SIDECAR_MAX_WATCHERS", "3"),
        ("SIDECAR_DEBUG", "T"),
        ("SIDECAR_ADMIN_TOKEN", "s3cret"),
        ("DOCKER_URL", ""),
        ("DOCKER_HOST", "tcp://127.0.0.1:2375"),
        ("DOCKER_CERT_PATH", "/certs"),
        ("STATIC_CONFIG_FILE", "/etc/static.json"),
        ("LISTENERS_URLS", ""),
        ("K8S_KUBE_TIMEOUT", "1.5s"),
    ])
    .unwrap();
    let s = &c.sidecar;
    assert_eq!(
        (s.logging_level, s.logging_format),
        (LogLevel::Debug, LogFormat::Json)
    );
    assert_eq!(
        s.discovery,
        [DiscoveryMethod::Docker, DiscoveryMethod::Static]
    );
    assert_eq!(
        (s.bind_port, s.advertise_ip.as_deref()),
        (8080, Some("10.0.0.9"))
    );
    assert_eq!(s.push_pull_interval, Duration::from_secs(90));
    assert_eq!(
        (s.health_concurrency, s.debug, s.admin_token.as_deref()),
        (8, true, Some("s3cret"))
    );
    assert_eq!(s.max_watchers, 3);
    assert_eq!(c.docker.url, None);
    assert_eq!(c.docker.host.as_deref(), Some("tcp://127.0.0.1:2375"));
    assert_eq!(c.docker.cert_path.as_deref(), Some("/certs"));
    assert_eq!(c.docker.endpoint().unwrap(), "tcp://127.0.0.1:2375");
    assert_eq!(
        c.static_discovery.config_file,
        PathBuf::from("/etc/static.json")
    );
    assert!(c.listeners.urls.is_empty());
    assert_eq!(c.k8s.kube_timeout, Duration::from_millis(1500));
}

#[test]
fn bare_fallbacks_keep_go_compatibility() {
    let c = load_env(&[
        ("BIND_IP", "10.1.1.1"),
        ("CONFIG_FILE", "x.cfg"),
        ("USER", "root"),
    ])
    .unwrap();
    assert_eq!(
        (c.haproxy.bind_ip.as_str(), c.envoy.bind_ip.as_str()),
        ("10.1.1.1", "10.1.1.1")
    );
    assert_eq!(c.static_discovery.config_file, PathBuf::from("x.cfg"));
    assert_eq!(c.haproxy.config_file, PathBuf::from("x.cfg"));
    assert_eq!(c.haproxy.user, "root");
    assert_eq!(c.sidecar.bind_ip, "0.0.0.0");
}

#[test]
fn zero_push_pull_interval_and_gossip_messages_get_go_substitutes() {
    let c = load_env(&[
        ("SIDECAR_PUSH_PULL_INTERVAL", "0"),
        ("GOSSIP_MESSAGES", "0"),
    ])
    .unwrap();
    assert_eq!(c.sidecar.push_pull_interval, Duration::from_secs(79));
    assert_eq!(c.sidecar.gossip_messages, 3);
}

#[test]
fn the_clock_skew_bound_is_five_minutes_unless_set() {
    assert_eq!(
        load_env(&[]).unwrap().sidecar.max_clock_skew,
        Duration::from_secs(300)
    );
    let set = load_env(&[("SIDECAR_MAX_CLOCK_SKEW", "90s")]).unwrap();
    assert_eq!(set.sidecar.max_clock_skew, Duration::from_secs(90));
}

#[test]
fn ports_may_be_zero_for_tests() {
    let c = load_env(&[("SIDECAR_BIND_PORT", "0"), ("SIDECAR_HTTP_PORT", "0")]).unwrap();
    assert_eq!((c.sidecar.bind_port, c.sidecar.http_port), (0, 0));
}

#[test]
fn validation_errors_name_the_variable() {
    let cases: [(&[(&str, &str)], &str); 9] = [
        (
            &[("SIDECAR_MAX_CLOCK_SKEW", "0s")],
            r#"invalid SIDECAR_MAX_CLOCK_SKEW="0s": must be longer than zero"#,
        ),
        (
            &[("SIDECAR_MAX_CLOCK_SKEW", "five minutes")],
            r#"invalid SIDECAR_MAX_CLOCK_SKEW="five minutes""#,
        ),
        (
            &[("SIDECAR_DISCOVERY", "docker,consul")],
            r#"invalid SIDECAR_DISCOVERY="docker,consul": unknown discovery method "consul""#,
        ),
        (
            &[("SIDECAR_HEALTH_TIMEOUT", "3s")],
            r#"invalid SIDECAR_HEALTH_TIMEOUT="3s": must be shorter than SIDECAR_HEALTH_INTERVAL (3s)"#,
        ),
        (
            &[("SIDECAR_ADVERTISE_IP", "host.example")],
            r#"invalid SIDECAR_ADVERTISE_IP="host.example""#,
        ),
        (
            &[("SIDECAR_HEALTH_CONCURRENCY", "0")],
            r#"invalid SIDECAR_HEALTH_CONCURRENCY="0""#,
        ),
        (
            &[("SIDECAR_MAX_WATCHERS", "0")],
            r#"invalid SIDECAR_MAX_WATCHERS="0""#,
        ),
        (
            &[("SIDECAR_MAX_WATCHERS", "many")],
            r#"invalid SIDECAR_MAX_WATCHERS="many""#,
        ),
        (
            &[("STATIC_RELOAD_INTERVAL", "0s")],
            r#"invalid STATIC_RELOAD_INTERVAL="0s""#,
        ),
    ];
    for (pairs, expected) in cases {
        let error = load_env(pairs).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error}");
    }
}

#[test]
fn toml_file_is_below_environment_which_is_below_flags() {
    let file = toml_file(
        "[sidecar]\ncluster_name = \"from-toml\"\nseeds = \"t1, t2\"\nbind_port = 1000\n\
         gossip_interval = \"50ms\"\ndiscovery = [\"static\"]\n[haproxy]\ndisable = true\n",
    );
    let path = file.path().to_str().unwrap();
    let pairs = [
        ("SIDECAR_CONFIG_FILE", path),
        ("SIDECAR_BIND_PORT", "2000"),
        ("SEEDS", "e1"),
    ];
    let c = load(&cli(&["-n", "from-cli"]), &env(&pairs)).unwrap();
    assert_eq!(c.sidecar.cluster_name, "from-cli");
    assert_eq!(c.sidecar.bind_port, 2000);
    assert_eq!(c.sidecar.seeds, strings(&["e1"]));
    assert_eq!(c.sidecar.gossip_interval, Duration::from_millis(50));
    assert_eq!(c.sidecar.discovery, [DiscoveryMethod::Static]);
    assert!(c.haproxy.disable);
    let from_toml_only = load(&cli(&["--config", path]), &BTreeMap::new()).unwrap();
    assert_eq!(from_toml_only.sidecar.seeds, strings(&["t1", "t2"]));
}

#[test]
fn repeatable_flags_replace_the_environment_lists() {
    let pairs = [("SIDECAR_SEEDS", "e1,e2"), ("SIDECAR_DISCOVERY", "docker")];
    let c = load(
        &cli(&["-c", "c1", "-c", "c2", "-d", "static"]),
        &env(&pairs),
    )
    .unwrap();
    assert_eq!(c.sidecar.seeds, strings(&["c1", "c2"]));
    assert_eq!(c.sidecar.discovery, [DiscoveryMethod::Static]);
}

#[test]
fn bad_toml_value_names_the_key_and_the_file() {
    let file = toml_file("[sidecar]\nbind_port = \"abc\"\n");
    let error = load(
        &cli(&["--config", file.path().to_str().unwrap()]),
        &BTreeMap::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("invalid sidecar.bind_port in TOML file "),
        "{error}"
    );
}

#[test]
fn bad_toml_duration_and_unknown_key_are_named() {
    for (text, key) in [
        (
            "[sidecar]\ngossip_interval = \"20x\"\n",
            "sidecar.gossip_interval",
        ),
        ("[sidecar]\nbind_prot = 1\n", "sidecar.bind_prot"),
        ("[nope]\n", "nope"),
    ] {
        let file = toml_file(text);
        let error = load(
            &cli(&["--config", file.path().to_str().unwrap()]),
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with(&format!("invalid {key} in TOML file")),
            "{error}"
        );
    }
}

#[test]
fn missing_explicit_config_file_errors_with_its_path() {
    let error = load(
        &cli(&["--config", "/no/such/sidecar.toml"]),
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&error, ConfigError::File { path, .. } if path == Path::new("/no/such/sidecar.toml"))
    );
    assert!(error.to_string().contains("/no/such/sidecar.toml"));
}

#[test]
fn toml_syntax_error_is_a_file_error() {
    let file = toml_file("[sidecar\n");
    let error = load(
        &cli(&["--config", file.path().to_str().unwrap()]),
        &BTreeMap::new(),
    );
    assert!(matches!(error, Err(ConfigError::File { .. })));
}

#[test]
fn describe_lists_every_field_and_hides_the_admin_token() {
    let c = load_env(&[("SIDECAR_ADMIN_TOKEN", "s3cret")]).unwrap();
    let lines = c.describe();
    assert_eq!(lines.len(), ENV_VARS.len());
    assert!(lines.contains(&"sidecar.admin_token = <set>".to_owned()));
    assert!(lines.contains(&"sidecar.push_pull_interval = 20s".to_owned()));
    assert!(lines.contains(&"sidecar.discovery = [docker]".to_owned()));
    assert!(lines.contains(&"sidecar.advertise_ip = <unset>".to_owned()));
    assert!(lines.contains(&"k8s.kube_timeout = 3s".to_owned()));
    assert!(lines.iter().all(|line| !line.contains("s3cret")));
    let unset = Config::default().describe();
    assert!(unset.contains(&"sidecar.admin_token = <unset>".to_owned()));
}

#[test]
fn every_config_field_has_exactly_one_environment_variable() {
    let mut described: Vec<String> = Config::default()
        .describe()
        .iter()
        .filter_map(|line| line.split(" = ").next().map(str::to_owned))
        .collect();
    let mut table: Vec<String> = ENV_VARS
        .iter()
        .map(|v| format!("{}.{}", v.section, v.field))
        .collect();
    described.sort();
    table.sort();
    assert_eq!(described, table);
}

#[test]
fn example_env_file_documents_every_variable() {
    let example = include_str!("../../config/sidecar.example.env");
    for var in ENV_VARS.iter().map(|v| v.name).chain([CONFIG_FILE_VAR]) {
        assert!(
            example.contains(&format!("{var}=")),
            "{var} missing from sidecar.example.env"
        );
    }
}

#[test]
fn example_toml_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sidecar.example.toml");
    let c = load(&cli(&["--config", path]), &BTreeMap::new()).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn gossip_keys_are_a_comma_list_validated_at_load_and_never_shown() {
    let (k16, k32) = (
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=",
    );
    let c = load_env(&[("SIDECAR_GOSSIP_KEYS", &format!("{k32}, {k16}"))]).unwrap();
    assert_eq!(c.sidecar.gossip_keys, strings(&[k32, k16]));
    let lines = c.describe();
    assert!(lines.contains(&"sidecar.gossip_keys = <2 keys>".to_owned()));
    assert!(
        lines
            .iter()
            .all(|line| !line.contains(k32) && !line.contains(k16))
    );
    assert!(Config::default().sidecar.gossip_keys.is_empty());
    for bad in [format!("{k32},not-base64!"), "MTIzNDU2Nzg5MA==".to_owned()] {
        let error = load_env(&[("SIDECAR_GOSSIP_KEYS", &bad)])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(r#"invalid SIDECAR_GOSSIP_KEYS="<redacted>": key "#),
            "{error}"
        );
        assert!(!error.contains("MTIz"), "{error}");
    }
}
