//! The document's answers: finds the documented answer for a path, method and status, and
//! checks the headers it declares, the content type and the body against the schema, with
//! JSON Schema 2020-12 (OpenAPI 3.1's dialect) for JSON bodies.

use serde_json::Value;

use super::http::Answer;

/// The CORS headers: a documented answer declares them, or must not carry them.
const CORS_HEADERS: [&str; 2] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
];

/// The document.
pub(crate) struct Spec {
    doc: Value,
}

impl Spec {
    pub(crate) fn new(doc: Value) -> Spec {
        Spec { doc }
    }

    /// `(path template, method)` of every documented operation.
    pub(crate) fn operations(&self) -> Vec<(String, String)> {
        let methods = ["get", "put", "post", "delete", "options", "head", "patch"];
        let paths = self.doc["paths"].as_object().expect("paths");
        let mut all = Vec::new();
        for (path, item) in paths {
            for method in methods.iter().filter(|m| item.get(**m).is_some()) {
                all.push((path.clone(), (*method).to_owned()));
            }
        }
        all
    }

    /// The statuses documented for an operation.
    pub(crate) fn statuses(&self, template: &str, method: &str) -> Vec<String> {
        let responses = &self.doc["paths"][template][method]["responses"];
        responses
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `answer` to `method path` is as documented under `template`.
    pub(crate) fn check(
        &self,
        template: &str,
        method: &str,
        path: &str,
        answer: &Answer,
    ) -> Result<(), String> {
        if !matches_template(template, path) {
            return Err(format!("{path} is not an instance of {template}"));
        }
        let operation = &self.doc["paths"][template][method];
        let status = answer.status.to_string();
        let response = operation["responses"].get(&status).map(|r| self.resolve(r));
        let response = response.ok_or_else(|| format!("status {status} not documented"))?;
        self.check_headers(response, answer)?;
        self.check_content(response, answer)
    }

    fn check_headers(&self, response: &Value, answer: &Answer) -> Result<(), String> {
        let declared = response["headers"].as_object().cloned().unwrap_or_default();
        for (name, header) in &declared {
            let header = self.resolve(header);
            match answer.headers.get(&name.to_ascii_lowercase()) {
                Some(value) => self
                    .validate(&header["schema"], &Value::String(value.clone()))
                    .map_err(|e| format!("header {name}: {e}"))?,
                None if header["required"] == true => return Err(format!("no header {name}")),
                None => {}
            }
        }
        let undeclared = CORS_HEADERS.iter().find(|name| {
            answer.headers.contains_key(**name)
                && !declared.keys().any(|d| d.eq_ignore_ascii_case(name))
        });
        match undeclared {
            Some(name) => Err(format!("header {name} sent but not documented")),
            None => Ok(()),
        }
    }

    fn check_content(&self, response: &Value, answer: &Answer) -> Result<(), String> {
        let Some(content) = response["content"].as_object() else {
            return match answer.body.is_empty() {
                true => Ok(()),
                false => Err("a body where none is documented".to_owned()),
            };
        };
        let content_type = answer
            .headers
            .get("content-type")
            .map(String::as_str)
            .unwrap_or("");
        let media = content
            .get(content_type)
            .ok_or_else(|| format!("content type {content_type:?} not documented"))?;
        let text = std::str::from_utf8(&answer.body).map_err(|e| format!("body: {e}"))?;
        let body = match content_type.starts_with("application/json") {
            true => serde_json::from_str(text).map_err(|e| format!("body is not JSON: {e}"))?,
            false => Value::String(text.to_owned()),
        };
        self.validate(&media["schema"], &body)
    }

    /// Validates `instance` against `schema`, a part of the document: its `#/components/...`
    /// references resolve in a copy that carries the document's components.
    pub(crate) fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let mut schema = schema.clone();
        if let Value::Object(map) = &mut schema {
            map.insert("components".to_owned(), self.doc["components"].clone());
        }
        let validator = jsonschema::draft202012::new(&schema)
            .map_err(|e| format!("schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(errors.join("; ")),
        }
    }

    /// `value`, or what its `$ref` points to in the document.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => self.doc.pointer(pointer).unwrap_or(&Value::Null),
            None => value,
        }
    }
}

/// Whether `path` (its query left out) is an instance of the path template `template`:
/// every `{name}` stands for a non-empty text without `/`.
pub(crate) fn matches_template(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let mut pattern = String::from("^");
    for (i, part) in template.split(['{', '}']).enumerate() {
        match i % 2 {
            0 => pattern.push_str(&regex::escape(part)),
            _ => pattern.push_str("[^/]+"),
        }
    }
    pattern.push('$');
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(path))
}
