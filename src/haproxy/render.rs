//! Renders a [`ProxyModel`] into HAProxy's configuration with a tera template: the built-in
//! `templates/haproxy.cfg` (embedded in the binary) or the user's `HAPROXY_TEMPLATE_FILE`.
//!
//! The template sees the model as data and Go's template functions under snake-case names
//! (README, "HAProxy"). Pure: the caller passes the template text and the time to print.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Arc;

use serde_json::Value;
use tera::{Context, Tera};

use super::model::{ProxyModel, ip_for, port_for, sanitize_name, service_ports};
use crate::catalog::Service;

/// The built-in template.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../templates/haproxy.cfg");

const TEMPLATE_NAME: &str = "haproxy.cfg";

/// A template that cannot be parsed, or that failed while rendering.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

impl RenderError {
    fn from_tera(context: &str, err: &tera::Error) -> RenderError {
        let mut text = format!("{context}: {err}");
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        RenderError(text)
    }
}

/// A parsed template. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Renderer {
    tera: Tera,
    builtin: bool,
}

impl Renderer {
    /// The built-in template.
    pub fn builtin() -> Result<Renderer, RenderError> {
        Ok(Renderer {
            tera: parse(DEFAULT_TEMPLATE)?,
            builtin: true,
        })
    }

    /// A user's template, from its text.
    pub fn from_source(source: &str) -> Result<Renderer, RenderError> {
        Ok(Renderer {
            tera: parse(source)?,
            builtin: false,
        })
    }

    /// Whether this is the built-in template (whose server names the runtime API can use).
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// The configuration for `model`, stamped with `now` (Go's time format).
    pub fn render(&self, model: &ProxyModel, now: &str) -> Result<String, RenderError> {
        let mut tera = self.tera.clone();
        register_functions(&mut tera, model, now);
        let context = context(model, now);
        tera.render(TEMPLATE_NAME, &context)
            .map_err(|e| RenderError::from_tera("cannot render the HAProxy template", &e))
    }
}

fn parse(source: &str) -> Result<Tera, RenderError> {
    let mut tera = Tera::default();
    tera.autoescape_on(Vec::new());
    tera.add_raw_template(TEMPLATE_NAME, source)
        .map_err(|e| RenderError::from_tera("invalid HAProxy template", &e))?;
    Ok(tera)
}

fn context(model: &ProxyModel, now: &str) -> Context {
    let settings = &model.settings;
    let mut context = Context::new();
    context.insert("services", &model.services);
    context.insert("proxied", &model.proxied);
    context.insert("modes", &model.modes);
    context.insert("user", &settings.user);
    context.insert("group", &settings.group);
    context.insert("bind_ip", &settings.bind_ip);
    context.insert("use_hostnames", &settings.use_hostnames);
    context.insert("stats_bind_ip", &settings.stats_bind_ip);
    context.insert("stats_socket", &settings.stats_socket);
    context.insert("now", now);
    context
}

/// Go's template functions: `now`, `bindIP`, `getMode`, `getPorts`, `portFor`, `ipFor`
/// (as functions) and `sanitizeName` (as a filter and a function).
fn register_functions(tera: &mut Tera, model: &ProxyModel, now: &str) {
    let model = Arc::new(model.clone());
    let now = now.to_owned();
    tera.register_function("now", move |_: &HashMap<String, Value>| {
        Ok(Value::String(now.clone()))
    });
    let bind_ip = model.settings.bind_ip.clone();
    tera.register_function("bind_ip", move |_: &HashMap<String, Value>| {
        Ok(Value::String(bind_ip.clone()))
    });
    let m = Arc::clone(&model);
    tera.register_function("get_mode", move |args: &HashMap<String, Value>| {
        let name = string_arg(args, "name")?;
        let mode = m.modes.get(&name).map_or("http", String::as_str);
        Ok(Value::String(mode.to_owned()))
    });
    let m = Arc::clone(&model);
    tera.register_function("get_ports", move |args: &HashMap<String, Value>| {
        let name = string_arg(args, "name")?;
        let ports = m.services.get(&name).map(|g| service_ports(g));
        Ok(serde_json::to_value(ports.unwrap_or_default()).unwrap_or(Value::Null))
    });
    tera.register_function("port_for", |args: &HashMap<String, Value>| {
        let (port, svc) = (port_arg(args)?, service_arg(args)?);
        Ok(Value::from(port_for(port, &svc)))
    });
    let use_hostnames = model.settings.use_hostnames;
    tera.register_function("ip_for", move |args: &HashMap<String, Value>| {
        let (port, svc) = (port_arg(args)?, service_arg(args)?);
        Ok(Value::String(ip_for(port, &svc, use_hostnames)))
    });
    tera.register_function("sanitize_name", |args: &HashMap<String, Value>| {
        Ok(Value::String(sanitize_name(&string_arg(args, "name")?)))
    });
    tera.register_filter(
        "sanitize_name",
        |value: &Value, _: &HashMap<String, Value>| match value {
            Value::String(s) => Ok(Value::String(sanitize_name(s))),
            other => Ok(Value::String(sanitize_name(&other.to_string()))),
        },
    );
}

fn string_arg(args: &HashMap<String, Value>, name: &str) -> tera::Result<String> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(tera::Error::msg(format!("missing argument `{name}`"))),
    }
}

/// `port=`: a ServicePort as a number or a string (`get_ports` keys are strings, as Go's).
fn port_arg(args: &HashMap<String, Value>) -> tera::Result<i64> {
    let port = match args.get("port") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    port.ok_or_else(|| tera::Error::msg("`port` must be a ServicePort (number or string)"))
}

/// `svc=`: one instance, as found in `services`.
fn service_arg(args: &HashMap<String, Value>) -> tera::Result<Service> {
    let value = args
        .get("svc")
        .ok_or_else(|| tera::Error::msg("missing argument `svc`"))?;
    serde_json::from_value(value.clone())
        .map_err(|e| tera::Error::msg(format!("`svc` is not a service: {e}")))
}
