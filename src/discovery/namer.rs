//! Service namers (docs/COMPATIBILITY.md §10): how a Docker container's service name is chosen.
//!
//! `docker_label` reads a label (default `ServiceName`); `regex` takes capture group 1 of a
//! regex matched against the container's first name. Both fall back to the image.
//!
//! Pure: no I/O. Built once at start; an unusable namer is a start-up error, never a panic
//! (Go panicked on a regex without a capture group, docs/COMPATIBILITY.md §13.6).

use regex::Regex;

use super::docker::ContainerInfo;

/// How containers are named as services.
#[derive(Clone, Debug)]
pub enum Namer {
    /// `SERVICES_NAMER=docker_label`: the value of this label.
    Label(String),
    /// `SERVICES_NAMER=regex`: capture group 1 of this regex on the first container name.
    Regex(Regex),
}

/// Why a namer cannot be built (the daemon does not start).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NamerError {
    /// `SERVICES_NAMER` is neither `docker_label` nor `regex`.
    #[error("unknown namer (expected docker_label or regex)")]
    Unknown,
    /// `SERVICES_NAME_MATCH` does not compile.
    #[error("not a valid regex: {0}")]
    BadRegex(String),
    /// `SERVICES_NAME_MATCH` has no capture group, so there is no group 1 to take.
    #[error("the regex needs a capture group: the service name is group 1")]
    NoCaptureGroup,
}

impl Namer {
    /// Builds the namer named `kind` (`SERVICES_NAMER`) from `name_match`
    /// (`SERVICES_NAME_MATCH`) or `name_label` (`SERVICES_NAME_LABEL`).
    pub fn new(kind: &str, name_match: &str, name_label: &str) -> Result<Namer, NamerError> {
        match kind {
            "docker_label" => Ok(Namer::Label(name_label.to_owned())),
            "regex" => {
                let regex =
                    Regex::new(name_match).map_err(|e| NamerError::BadRegex(e.to_string()))?;
                if regex.captures_len() < 2 {
                    return Err(NamerError::NoCaptureGroup);
                }
                Ok(Namer::Regex(regex))
            }
            _ => Err(NamerError::Unknown),
        }
    }

    /// The service name of `container`: the label or group 1, else (absent, empty or no
    /// match) the image.
    pub fn name(&self, container: &ContainerInfo) -> String {
        let found = match self {
            Namer::Label(label) => container.labels.get(label).map(String::as_str),
            Namer::Regex(regex) => container
                .names
                .first()
                .and_then(|first| regex.captures(first))
                .and_then(|caps| caps.get(1))
                .map(|group| group.as_str()),
        };
        match found {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => container.image.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str, labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo {
            id: "deadbeef123456789".into(),
            names: vec![name.into()],
            image: "gonitro/awesome:1".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..ContainerInfo::default()
        }
    }

    const GO_REGEX: &str = "^/(.+)(-[0-9a-z]{7,14})$";

    #[test]
    fn regex_namer_takes_the_first_capture_group_of_the_first_name() {
        let namer = Namer::new("regex", GO_REGEX, "ServiceName").unwrap();
        assert_eq!(
            namer.name(&container("/awesome-svc-1231b1b12323", &[])),
            "awesome-svc"
        );
    }

    #[test]
    fn regex_namer_falls_back_to_the_image_when_nothing_matches() {
        let namer = Namer::new("regex", GO_REGEX, "ServiceName").unwrap();
        assert_eq!(namer.name(&container("/plain", &[])), "gonitro/awesome:1");
    }

    #[test]
    fn regex_namer_falls_back_to_the_image_for_a_container_without_names() {
        let namer = Namer::new("regex", GO_REGEX, "ServiceName").unwrap();
        let mut nameless = container("/x", &[]);
        nameless.names.clear();
        assert_eq!(namer.name(&nameless), "gonitro/awesome:1");
    }

    #[test]
    fn a_container_with_nothing_to_name_it_gets_an_empty_name() {
        let namer = Namer::new("docker_label", "", "ServiceName").unwrap();
        assert_eq!(namer.name(&ContainerInfo::default()), "");
    }

    #[test]
    fn label_namer_takes_the_label_value() {
        let namer = Namer::new("docker_label", "", "ServiceName").unwrap();
        let c = container("/x", &[("ServiceName", "beowulf")]);
        assert_eq!(namer.name(&c), "beowulf");
    }

    #[test]
    fn label_namer_reads_the_configured_label() {
        let namer = Namer::new("docker_label", "", "app").unwrap();
        let c = container("/x", &[("ServiceName", "no"), ("app", "grendel")]);
        assert_eq!(namer.name(&c), "grendel");
    }

    #[test]
    fn label_namer_falls_back_to_the_image_when_the_label_is_missing_or_empty() {
        let namer = Namer::new("docker_label", "", "ServiceName").unwrap();
        assert_eq!(namer.name(&container("/x", &[])), "gonitro/awesome:1");
        let empty = container("/x", &[("ServiceName", "")]);
        assert_eq!(namer.name(&empty), "gonitro/awesome:1");
    }

    #[test]
    fn a_regex_without_a_capture_group_is_refused_instead_of_panicking_later() {
        let err = Namer::new("regex", "^/awesome", "ServiceName").unwrap_err();
        assert_eq!(err, NamerError::NoCaptureGroup);
    }

    #[test]
    fn a_regex_that_does_not_compile_is_refused() {
        let err = Namer::new("regex", "^/(unclosed", "ServiceName").unwrap_err();
        assert!(matches!(err, NamerError::BadRegex(_)), "{err:?}");
    }

    #[test]
    fn an_unknown_namer_is_refused() {
        let err = Namer::new("consul", "", "ServiceName").unwrap_err();
        assert_eq!(err, NamerError::Unknown);
    }
}
