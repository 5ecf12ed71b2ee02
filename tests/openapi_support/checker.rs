//! Runs calls against a node and the document, and keeps count of the documented statuses
//! seen, so that a test can require every one of them to be called.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use super::http::{Answer, exchange, first_document};
use super::spec::Spec;

/// The admin token the test nodes that have one are given.
pub(crate) const TOKEN: &str = "openapi-test-token";

/// Statuses the document declares that no test here provokes, and why.
const NOT_PROVOKED: [(&str, &str); 2] = [
    ("500", "an encoding failure or an unreachable StateKeeper"),
    (
        "503",
        "an unreachable supervisor or gossiper (provoked for the xDS server only)",
    ),
];

/// One request and the status it must get.
pub(crate) struct Call {
    pub(crate) template: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<String>,
    body: String,
    status: u16,
}

/// `method path`, documented under `template`, answered with `status`.
pub(crate) fn call(method: &'static str, template: &'static str, path: &str, status: u16) -> Call {
    Call {
        template,
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        body: String::new(),
        status,
    }
}

impl Call {
    /// With the admin token.
    pub(crate) fn authorized(self) -> Call {
        self.header(&format!("Authorization: Bearer {TOKEN}"))
    }

    pub(crate) fn header(mut self, header: &str) -> Call {
        self.headers.push(header.to_owned());
        self
    }

    pub(crate) fn json(mut self, body: &str) -> Call {
        self.body = body.to_owned();
        self.header("Content-Type: application/json")
    }
}

/// Runs calls against the document and records which `(template, method, status)` were seen.
pub(crate) struct Checker {
    spec: Spec,
    seen: BTreeSet<(String, String, String)>,
}

impl Checker {
    pub(crate) fn new(spec: Spec) -> Checker {
        Checker {
            spec,
            seen: BTreeSet::new(),
        }
    }

    /// Makes `call` to `addr`; panics unless the answer has its status and is as documented.
    pub(crate) fn run(&mut self, addr: SocketAddr, call: &Call) -> Answer {
        let (method, path) = (call.method.to_ascii_uppercase(), call.path.as_str());
        let streams = call.template.ends_with("watch") && call.method == "get";
        let answer = match streams && call.status == 200 {
            true => first_document(addr, path),
            false => {
                let headers: Vec<&str> = call.headers.iter().map(String::as_str).collect();
                exchange(addr, &method, path, &headers, &call.body)
            }
        };
        let body = String::from_utf8_lossy(&answer.body);
        assert_eq!(answer.status, call.status, "{method} {path}: {body}");
        if let Err(error) = self.spec.check(call.template, call.method, path, &answer) {
            let headers = &answer.headers;
            panic!("{method} {path} is not as documented: {error}\n{headers:?}\n{body}");
        }
        let status = answer.status.to_string();
        let key = (call.template.to_owned(), call.method.to_owned(), status);
        self.seen.insert(key);
        answer
    }

    /// Every documented operation was called, and every documented status seen or excused.
    pub(crate) fn assert_everything_documented_was_seen(&self) {
        let excused: BTreeMap<&str, &str> = NOT_PROVOKED.into_iter().collect();
        let mut unseen = Vec::new();
        for (template, method) in self.spec.operations() {
            let statuses = self.spec.statuses(&template, &method);
            for status in statuses {
                let key = (template.clone(), method.clone(), status.clone());
                if !self.seen.contains(&key) && !excused.contains_key(status.as_str()) {
                    unseen.push(format!("{method} {template} {status}"));
                }
            }
        }
        assert!(unseen.is_empty(), "documented, never called: {unseen:#?}");
    }
}
