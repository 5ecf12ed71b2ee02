//! The description against the route table and the OpenAPI rules a test can check without a
//! server: every route described and nothing else, every `$ref` resolving, every operation
//! answering, every path parameter declared, every schema valid JSON Schema 2020-12.

use std::collections::BTreeSet;

use serde_json::Value;

use super::DOCUMENT;
use crate::api::routes::ROUTES;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(DOCUMENT).unwrap()
}

/// Every `(path, method)` the document describes.
fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().unwrap();
    let mut all = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            all.insert((path.clone(), (*method).to_owned()));
        }
    }
    all
}

/// Every `(pattern, method)` the server registers, the preflights included.
fn registered() -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for route in ROUTES {
        let method = route.method.as_str().to_ascii_lowercase();
        all.insert((route.pattern.to_owned(), method));
        if route.preflight {
            all.insert((route.pattern.to_owned(), "options".to_owned()));
        }
    }
    all
}

#[test]
fn the_document_describes_every_registered_route_and_nothing_else() {
    let (described, registered) = (described(&document()), registered());
    let missing: Vec<_> = registered.difference(&described).collect();
    let extra: Vec<_> = described.difference(&registered).collect();
    assert!(missing.is_empty(), "routes not described: {missing:?}");
    assert!(extra.is_empty(), "described but not routed: {extra:?}");
}

/// Every `$ref` in `value`, with where it was found.
fn refs<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push((at.clone(), target)),
                    _ => refs(inner, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                refs(inner, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_points_into_the_document() {
    let doc = document();
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(found.len() > 50, "{}", found.len());
    for (at, target) in found {
        let pointer = target.strip_prefix('#');
        let resolved = pointer.and_then(|p| doc.pointer(p));
        assert!(resolved.is_some(), "{at}: {target} does not resolve");
    }
}

/// The operations of the document: `(path, method, operation)`.
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let paths = doc["paths"].as_object().unwrap();
    let mut all = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                all.push((path.as_str(), method, operation));
            }
        }
    }
    all
}

/// A parameter, or the component it refers to.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(target) => doc.pointer(target.trim_start_matches('#')).unwrap(),
        None => value,
    }
}

#[test]
fn every_operation_has_an_id_answers_and_declares_its_path_parameters() {
    let doc = document();
    let mut ids = BTreeSet::new();
    for (path, method, operation) in operations(&doc) {
        let what = format!("{method} {path}");
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{what}: operationId {id:?} again"
        );
        let responses = operation["responses"].as_object();
        assert!(
            responses.is_some_and(|r| !r.is_empty()),
            "{what}: no responses"
        );
        for (status, response) in responses.into_iter().flatten() {
            let known = status.len() == 3 && status.parse::<u16>().is_ok_and(|s| s >= 100);
            assert!(known, "{what}: response key {status}");
            assert!(
                resolve(&doc, response)["description"].is_string(),
                "{what} {status}"
            );
        }
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let templated: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        assert_eq!(declared, templated, "{what}: path parameters");
    }
}

#[test]
fn every_schema_is_valid_json_schema_2020_12() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        let checked = jsonschema::draft202012::meta::validate(schema);
        assert!(checked.is_ok(), "{name}: {checked:?}");
    }
    assert_eq!(doc["openapi"], "3.1.0");
    for key in ["title", "version"] {
        assert!(doc["info"][key].is_string(), "info.{key}");
    }
}
