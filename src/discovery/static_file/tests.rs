//! Tests of the static file parser (docs/COMPATIBILITY.md §9, the stable IDs included).

use std::path::Path;

use super::*;

fn ctx() -> StaticContext {
    StaticContext {
        hostname: "vm".into(),
        published_ip: "10.0.0.5".into(),
        now: Timestamp::parse("2026-11-23T07:59:37.419536457Z").unwrap(),
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn one(text: &str) -> Discovered {
    let mut all = parse(text, &ctx()).unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn the_go_fixture_yields_one_target_with_a_tcp_port() {
    let all = load(&fixture("static.json"), &ctx()).unwrap();
    assert_eq!(all.len(), 1);
    let svc = &all[0].service;
    assert_eq!(svc.name, "some_service");
    assert_eq!(svc.image, "bb6268ff91dc42a51f51db53846f72102ed9ff3f");
    assert_eq!(svc.proxy_mode, "http");
    assert_eq!(
        svc.ports(),
        [Port {
            kind: "tcp".into(),
            port: 10234,
            service_port: 9999,
            ip: "10.0.0.5".into(),
        }]
    );
    assert_eq!(svc.created, ctx().now);
    let check = all[0].check.as_ref().unwrap();
    assert_eq!(
        (check.kind.as_str(), check.args.as_str()),
        ("HttpGet", "http://:10234/")
    );
}

#[test]
fn the_local_hostname_is_applied_when_none_is_given() {
    let all = load(&fixture("static.json"), &ctx()).unwrap();
    assert_eq!(all[0].service.hostname, "vm");
}

#[test]
fn a_given_hostname_is_kept() {
    let all = load(&fixture("static-hostnamed.json"), &ctx()).unwrap();
    assert_eq!(all[0].service.hostname, "chaucer");
}

#[test]
fn listeners_use_the_os_hostname_and_the_listen_port() {
    let all = load(&fixture("static-hostnamed.json"), &ctx()).unwrap();
    let id = &all[0].service.id;
    assert_eq!(
        all[0].listener,
        Some(ListenerDefinition {
            name: format!("Service(some_service-{id})"),
            url: "http://vm:9999/sidecar/update".into(),
        })
    );
}

#[test]
fn the_shipped_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/static.example.json");
    let all = load(&path, &ctx()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].service.name, "sidecar-api");
    assert_eq!(all[0].service.ports()[0].ip, "127.0.0.1");
    assert_eq!(all[0].listener, None);
}

#[test]
fn keys_are_matched_case_insensitively() {
    let d = one(
        r#"[{"service":{"name":"a","ports":[{"type":"udp","port":53}]},
                    "CHECK":{"type":"External","ARGS":"true"},"listenport":80}]"#,
    );
    assert_eq!(d.service.name, "a");
    assert_eq!(d.service.ports()[0].kind, "udp");
    assert_eq!(d.check.unwrap().kind, "External");
    assert!(d.listener.is_some());
}

#[test]
fn an_empty_or_missing_check_type_means_the_default_check() {
    assert_eq!(one(r#"[{"Service":{"Name":"a"}}]"#).check, None);
    assert_eq!(
        one(r#"[{"Service":{"Name":"a"},"Check":{"Type":"","Args":"x"}}]"#).check,
        None
    );
    assert_eq!(
        one(r#"[{"Service":{"Name":"a"},"Check":null}]"#).check,
        None
    );
}

#[test]
fn proxy_mode_has_no_default_and_file_status_and_id_are_ignored() {
    let d = one(r#"[{"Service":{"Name":"a","ID":"mine","Status":1}}]"#);
    assert_eq!(d.service.proxy_mode, "");
    assert_eq!(d.service.status, Default::default());
    assert_ne!(d.service.id, "mine");
    assert_eq!(d.service.ports, None);
}

#[test]
fn ids_are_twelve_lowercase_hex_chars() {
    let id = one(r#"[{"Service":{"Name":"a"}}]"#).service.id;
    assert_eq!(id.len(), 12);
    assert!(
        id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{id}"
    );
}

#[test]
fn ids_are_stable_across_reads_and_releases() {
    let a = load(&fixture("static.json"), &ctx()).unwrap();
    let later = StaticContext {
        now: ctx().now.plus(std::time::Duration::from_secs(60)),
        ..ctx()
    };
    let b = load(&fixture("static.json"), &later).unwrap();
    assert_eq!(a[0].service.id, b[0].service.id);
    // Pinned: a change here would re-ID every static service on upgrade.
    assert_eq!(a[0].service.id, "bf1af49a8a9a");
}

#[test]
fn a_changed_entry_gets_a_new_id() {
    let base = one(r#"[{"Service":{"Name":"a","Image":"x:1"}}]"#)
        .service
        .id;
    for changed in [
        r#"[{"Service":{"Name":"a","Image":"x:2"}}]"#,
        r#"[{"Service":{"Name":"a","Image":"x:1","Hostname":"other"}}]"#,
        r#"[{"Service":{"Name":"a","Image":"x:1","Ports":[]}}]"#,
        r#"[{"Service":{"Name":"a","Image":"x:1"},"Check":{"Type":"External","Args":"true"}}]"#,
        r#"[{"Service":{"Name":"a","Image":"x:1"},"ListenPort":9}]"#,
    ] {
        assert_ne!(one(changed).service.id, base, "{changed}");
    }
}

#[test]
fn identical_entries_get_distinct_ids_by_occurrence() {
    let text = r#"[{"Service":{"Name":"a"}},{"Service":{"Name":"b"}},{"Service":{"Name":"a"}}]"#;
    let all = parse(text, &ctx()).unwrap();
    assert_ne!(all[0].service.id, all[2].service.id);
    // Removing an unrelated entry does not re-ID the others.
    let fewer = parse(
        r#"[{"Service":{"Name":"a"}},{"Service":{"Name":"a"}}]"#,
        &ctx(),
    )
    .unwrap();
    assert_eq!(fewer[0].service.id, all[0].service.id);
    assert_eq!(fewer[1].service.id, all[2].service.id);
}

#[test]
fn fnv1a_matches_the_published_test_vectors() {
    assert_eq!(Fnv1a::new().finish(), 0xcbf2_9ce4_8422_2325);
    assert_eq!(Fnv1a::new().bytes(b"a").finish(), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(
        Fnv1a::new().bytes(b"foobar").finish(),
        0x8594_4171_f739_67e8
    );
}

#[test]
fn json_errors_give_line_and_column() {
    let err = parse("[\n  {\"Service\": {\"Name\": \"a\",}}\n]", &ctx()).unwrap_err();
    let StaticFileError::Json { line, column, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!((*line, *column), (2, 28));
    assert!(err.to_string().starts_with("line 2, column 28: "), "{err}");
}

#[test]
fn a_wrongly_typed_field_is_reported_where_it_is() {
    let err = parse(
        "[{\"Service\": {\"Name\": \"a\"},\n \"ListenPort\": \"80\"}]",
        &ctx(),
    )
    .unwrap_err();
    assert!(
        matches!(err, StaticFileError::Json { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn a_top_level_object_is_not_an_array() {
    let err = parse(r#"  {"Service":{"Name":"a"}}"#, &ctx()).unwrap_err();
    assert!(matches!(err, StaticFileError::NotAnArray));
    assert!(err.to_string().contains("JSON array"));
}

#[test]
fn a_target_without_a_name_is_named_by_its_index() {
    let text = r#"[{"Service":{"Name":"a"}},{"Service":{"Image":"x"}}]"#;
    let err = parse(text, &ctx()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "target #1 (0-based): the service has no \"Name\""
    );
    let err = parse(r#"[{"Check":{"Type":"x"}}]"#, &ctx()).unwrap_err();
    assert!(matches!(err, StaticFileError::Target { index: 0, .. }));
}

#[test]
fn errors_from_load_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    std::fs::write(&path, "[\n  {\"Service\": 7}\n]").unwrap();
    let text = load(&path, &ctx()).unwrap_err().to_string();
    assert!(
        text.starts_with(&format!("static file {path:?}: line 2, column")),
        "{text}"
    );
    let missing = load(&dir.path().join("nope.json"), &ctx()).unwrap_err();
    assert!(matches!(missing, StaticFileError::Read { .. }));
    assert!(missing.to_string().contains("nope.json"));
}

#[test]
fn files_over_the_size_cap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_FILE_SIZE + 1).unwrap();
    let err = load(&path, &ctx()).unwrap_err();
    assert!(matches!(err, StaticFileError::TooLarge { .. }), "{err:?}");
}

#[test]
fn an_empty_array_is_no_services() {
    assert!(parse(" [ ] ", &ctx()).unwrap().is_empty());
}
