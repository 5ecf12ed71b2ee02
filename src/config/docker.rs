//! Docker discovery settings that only make sense together: which engine to talk to
//! (`DOCKER_URL` or Docker's own `DOCKER_HOST`/`DOCKER_TLS_VERIFY`) and the service namer.
//!
//! Pure: the variables come in through [`DockerConfig`]/[`ServicesConfig`]; nothing here
//! reads the process environment or connects anywhere.

use super::ConfigError;
use super::sections::{DockerConfig, ServicesConfig};
use crate::discovery::namer::{Namer, NamerError};

/// The engine used when neither `DOCKER_URL` nor `DOCKER_HOST` is set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// The reason given when TLS is asked for.
pub const NO_TLS: &str = "TLS Docker connections are not supported in this build";

fn invalid(var: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        var: var.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

impl DockerConfig {
    /// The engine's address: `DOCKER_URL` when set and non-empty; else `DOCKER_HOST`; else
    /// [`DEFAULT_DOCKER_HOST`]. `DOCKER_TLS_VERIFY` counts only in the latter two cases (as
    /// in Go, an explicit `DOCKER_URL` is plain). `unix://`, `tcp://` and `http://` are
    /// accepted; TLS (`https://`, or `DOCKER_TLS_VERIFY` with a TCP host) is refused.
    pub fn endpoint(&self) -> Result<String, ConfigError> {
        let (var, url) = match (&self.url, &self.host) {
            (Some(url), _) => ("DOCKER_URL", url.as_str()),
            (None, Some(host)) => ("DOCKER_HOST", host.as_str()),
            (None, None) => ("DOCKER_HOST", DEFAULT_DOCKER_HOST),
        };
        if url.starts_with("https://") {
            return Err(invalid(var, url, NO_TLS));
        }
        if !["unix://", "tcp://", "http://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(invalid(var, url, "expected unix://, tcp:// or http://"));
        }
        if let (None, Some(tls)) = (&self.url, &self.tls_verify)
            && !url.starts_with("unix://")
        {
            return Err(invalid("DOCKER_TLS_VERIFY", tls, NO_TLS));
        }
        Ok(url.to_owned())
    }
}

impl ServicesConfig {
    /// The service namer, or an error naming `SERVICES_NAMER` or `SERVICES_NAME_MATCH`.
    pub fn namer(&self) -> Result<Namer, ConfigError> {
        Namer::new(&self.namer, &self.name_match, &self.name_label).map_err(|err| {
            let (var, value) = match err {
                NamerError::Unknown => ("SERVICES_NAMER", &self.namer),
                NamerError::BadRegex(_) | NamerError::NoCaptureGroup => {
                    ("SERVICES_NAME_MATCH", &self.name_match)
                }
            };
            invalid(var, value, &err.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(url: Option<&str>, host: Option<&str>, tls: Option<&str>) -> DockerConfig {
        DockerConfig {
            url: url.map(str::to_owned),
            host: host.map(str::to_owned),
            tls_verify: tls.map(str::to_owned),
            cert_path: None,
        }
    }

    fn reason(err: ConfigError) -> (String, String) {
        match err {
            ConfigError::Invalid { var, reason, .. } => (var, reason),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn docker_url_wins_over_docker_host_and_ignores_tls_verify() {
        let c = docker(Some("tcp://a:2375"), Some("unix:///b"), Some("1"));
        assert_eq!(c.endpoint().unwrap(), "tcp://a:2375");
    }

    #[test]
    fn without_docker_url_docker_host_is_used_else_the_default_socket() {
        let c = docker(None, Some("unix:///run/other.sock"), None);
        assert_eq!(c.endpoint().unwrap(), "unix:///run/other.sock");
        assert_eq!(
            docker(None, None, None).endpoint().unwrap(),
            DEFAULT_DOCKER_HOST
        );
    }

    #[test]
    fn tls_is_refused_with_a_clear_message() {
        let (var, why) = reason(
            docker(None, Some("tcp://h:2376"), Some("1"))
                .endpoint()
                .unwrap_err(),
        );
        assert_eq!((var.as_str(), why.as_str()), ("DOCKER_TLS_VERIFY", NO_TLS));
        let (var, why) = reason(
            docker(Some("https://h:2376"), None, None)
                .endpoint()
                .unwrap_err(),
        );
        assert_eq!((var.as_str(), why.as_str()), ("DOCKER_URL", NO_TLS));
    }

    #[test]
    fn an_unknown_scheme_is_refused_naming_the_variable() {
        let (var, _) = reason(docker(None, Some("ssh://h"), None).endpoint().unwrap_err());
        assert_eq!(var, "DOCKER_HOST");
    }

    #[test]
    fn namer_errors_name_their_variable() {
        let mut s = ServicesConfig {
            namer: "consul".into(),
            ..ServicesConfig::default()
        };
        assert_eq!(reason(s.namer().unwrap_err()).0, "SERVICES_NAMER");
        s.namer = "regex".into();
        s.name_match = "^/no-group$".into();
        assert_eq!(reason(s.namer().unwrap_err()).0, "SERVICES_NAME_MATCH");
    }
}
