//! The configuration layers above the defaults: the TOML file and the environment (the flags
//! layer is built in `cli.rs` with the same [`Layer`] type).
//!
//! The environment is read from an injected map (`std::env::vars()` in `main`, a literal map
//! in tests), never from the process directly, so tests run in parallel without `set_var`.
//! Every value is parsed and checked here, so a bad value is reported with the variable name
//! that was actually read and its text: `invalid BIND_PORT="abc": expected an integer`.

use std::collections::BTreeMap;
use std::path::Path;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::ConfigError;
use super::env_table::{ENV_VARS, EnvVar};

/// A finished set of `section.field = value` overrides, handed to figment as one provider.
#[derive(Debug, Clone)]
pub struct Layer {
    name: String,
    dict: Dict,
}

impl Layer {
    /// An empty layer; `name` appears in errors about its values ("environment", "TOML file
    /// sidecar.toml", "command line").
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            dict: Dict::new(),
        }
    }

    /// Sets `section.field`, replacing an earlier value for the same key.
    pub fn set(&mut self, section: &str, field: &str, value: impl Into<Value>) {
        let table = self
            .dict
            .entry(section.to_owned())
            .or_insert_with(|| Value::from(Dict::new()));
        if let Value::Dict(_, fields) = table {
            fields.insert(field.to_owned(), value.into());
        }
    }

    /// The value set for `section.field`, if any.
    pub fn get(&self, section: &str, field: &str) -> Option<&Value> {
        match self.dict.get(section)? {
            Value::Dict(_, fields) => fields.get(field),
            _ => None,
        }
    }

    /// Whether nothing has been set.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// The environment layer: every variable of [`ENV_VARS`] that is set (prefixed name first,
/// then the bare fallback), parsed by its kind. Set-but-empty counts as set, as in Go.
pub fn env_layer(env: &BTreeMap<String, String>) -> Result<Layer, ConfigError> {
    let mut layer = Layer::new("environment");
    for var in ENV_VARS {
        if let Some((name, text)) = lookup(env, var) {
            let value = var
                .kind
                .parse(text)
                .map_err(|reason| ConfigError::Invalid {
                    var: name.to_owned(),
                    value: text.to_owned(),
                    reason,
                })?;
            layer.set(var.section, var.field, value);
        }
    }
    Ok(layer)
}

/// The name that was read and its text: the prefixed name if set, else the bare fallback.
pub(crate) fn lookup<'a>(
    env: &'a BTreeMap<String, String>,
    var: &EnvVar,
) -> Option<(&'a str, &'a str)> {
    let names = std::iter::once(var.name).chain(var.bare);
    names
        .filter_map(|name| env.get_key_value(name))
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .next()
}

/// The TOML file layer. The file must exist (it was named explicitly) and parse; its values
/// are type-checked later, when the layers are extracted together.
pub fn toml_layer(path: &Path) -> Result<Layer, ConfigError> {
    let file_error = |message: String| ConfigError::File {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let mut data = Toml::string(&text)
        .data()
        .map_err(|e| file_error(e.kind.to_string()))?;
    let dict = data.remove(&Profile::Default).unwrap_or_default();
    Ok(Layer {
        name: format!("TOML file {}", path.display()),
        dict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn invalid(pairs: &[(&str, &str)]) -> String {
        env_layer(&env(pairs)).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn bare_fallback_name_is_used_when_prefixed_is_unset() {
        let layer = env_layer(&env(&[("BIND_PORT", "1234")])).unwrap();
        assert_eq!(
            layer.get("sidecar", "bind_port"),
            Some(&Value::from(1234_u64))
        );
    }

    #[test]
    fn prefixed_name_beats_the_bare_fallback() {
        let layer = env_layer(&env(&[("SIDECAR_SEEDS", "a"), ("SEEDS", "b")])).unwrap();
        assert_eq!(layer.get("sidecar", "seeds"), Some(&Value::from(vec!["a"])));
    }

    #[test]
    fn set_but_empty_prefixed_name_hides_the_bare_fallback() {
        let layer = env_layer(&env(&[("SIDECAR_SEEDS", ""), ("SEEDS", "b")])).unwrap();
        assert_eq!(
            layer.get("sidecar", "seeds"),
            Some(&Value::from(Vec::<String>::new()))
        );
    }

    #[test]
    fn bare_bind_ip_feeds_haproxy_and_envoy_but_not_the_new_sidecar_bind_ip() {
        let layer = env_layer(&env(&[("BIND_IP", "10.0.0.1")])).unwrap();
        assert_eq!(
            layer.get("haproxy", "bind_ip"),
            Some(&Value::from("10.0.0.1"))
        );
        assert_eq!(
            layer.get("envoy", "bind_ip"),
            Some(&Value::from("10.0.0.1"))
        );
        assert_eq!(layer.get("sidecar", "bind_ip"), None);
    }

    #[test]
    fn unset_variables_leave_the_layer_empty() {
        assert!(env_layer(&env(&[("HOME", "/root")])).unwrap().is_empty());
    }

    #[test]
    fn bad_values_name_the_variable_that_was_read_and_its_text() {
        assert_eq!(
            invalid(&[("SIDECAR_BIND_PORT", "abc")]),
            r#"invalid SIDECAR_BIND_PORT="abc": expected an integer"#
        );
        assert_eq!(
            invalid(&[("BIND_PORT", "abc")]),
            r#"invalid BIND_PORT="abc": expected an integer"#
        );
        assert!(
            invalid(&[("SIDECAR_PUSH_PULL_INTERVAL", "20x")])
                .starts_with(r#"invalid SIDECAR_PUSH_PULL_INTERVAL="20x": unknown unit "x""#)
        );
        assert!(
            invalid(&[("HAPROXY_DISABLE", "yes")])
                .starts_with(r#"invalid HAPROXY_DISABLE="yes": expected a boolean"#)
        );
        assert!(
            invalid(&[("ENVOY_GRPC_PORT", "70000")])
                .starts_with(r#"invalid ENVOY_GRPC_PORT="70000": out of range"#)
        );
        assert!(
            invalid(&[("LOGGING_LEVEL", "loud")])
                .starts_with(r#"invalid LOGGING_LEVEL="loud": expected one of"#)
        );
    }

    #[test]
    fn set_but_empty_numbers_and_booleans_are_errors_as_in_go() {
        assert!(invalid(&[("SIDECAR_DEBUG", "")]).starts_with(r#"invalid SIDECAR_DEBUG="""#));
        assert!(invalid(&[("K8S_KUBE_TIMEOUT", "")]).starts_with(r#"invalid K8S_KUBE_TIMEOUT="""#));
    }

    #[test]
    fn missing_toml_file_is_an_error_naming_its_path() {
        let error = toml_layer(Path::new("/nonexistent/sidecar.toml")).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/sidecar.toml"),
            "{error}"
        );
    }
}
