//! The listener registry: static listeners plus one list of discovered listeners per source.
//!
//! Pure: callers apply the returned [`RegistryChanges`] (start and stop workers, log).

use std::collections::BTreeMap;

use crate::discovery::{DiscoverySource, ListenerDefinition};

/// One listener: where events go and whether discovery manages it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// `UrlListener(<url>)` for static listeners, `Service(<Name>-<ID>)` for discovered ones.
    pub name: String,
    /// The URL events are POSTed to.
    pub url: String,
    /// Whether it is removed when discovery stops reporting it (false for static ones).
    pub managed: bool,
}

/// What one observation changed. A listener whose URL changed is in both lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryChanges {
    /// Listeners to start.
    pub added: Vec<Listener>,
    /// Names of listeners to stop.
    pub removed: Vec<String>,
    /// Discovered listeners skipped because their URL is not a valid http(s) URL: `(name,
    /// reason)`.
    pub rejected: Vec<(String, String)>,
}

/// Every registered listener by name. Static names (`UrlListener(…)`) and discovered names
/// (`Service(…)`) never collide; if two sources report the same name, the first source (in
/// [`DiscoverySource`] order) wins.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    statics: BTreeMap<String, String>,
    discovered: BTreeMap<DiscoverySource, BTreeMap<String, String>>,
}

/// The name of the static listener for `url` (Go: `UrlListener(<url>)`).
pub fn static_name(url: &str) -> String {
    format!("UrlListener({url})")
}

/// Checks that every URL of `LISTENERS_URLS` is an absolute http URL; the error names the
/// first bad one. https is refused until the HTTP client is built with TLS (every POST would
/// fail at run time otherwise).
pub fn validate_urls(urls: &[String]) -> Result<(), String> {
    urls.iter()
        .try_for_each(|url| check_url(url).map_err(|reason| format!("{url:?}: {reason}")))
}

fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|err| err.to_string())?;
    match parsed.scheme() {
        "http" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "http" => Err("no host".to_owned()),
        "https" => Err("https listeners are not supported by this build (no TLS)".to_owned()),
        other => Err(format!("unsupported scheme {other:?}")),
    }
}

impl Registry {
    /// A registry with one static listener per valid URL; invalid ones are returned as
    /// `(url, reason)` and skipped (call [`validate_urls`] first to refuse them instead).
    pub fn with_static(urls: &[String]) -> (Registry, Vec<(String, String)>) {
        let mut registry = Registry::default();
        let mut rejected = Vec::new();
        for url in urls {
            match check_url(url) {
                Ok(()) => {
                    registry.statics.insert(static_name(url), url.clone());
                }
                Err(reason) => rejected.push((url.clone(), reason)),
            }
        }
        (registry, rejected)
    }

    /// Every active listener, by name.
    pub fn active(&self) -> BTreeMap<String, Listener> {
        let mut all = BTreeMap::new();
        for (name, url) in self.discovered.values().rev().flatten() {
            all.insert(name.clone(), listener(name, url, true));
        }
        for (name, url) in &self.statics {
            all.insert(name.clone(), listener(name, url, false));
        }
        all
    }

    /// Replaces `source`'s list of discovered listeners by `definitions` (a full list: what is
    /// missing is gone) and says which listeners start and stop.
    pub fn observe(
        &mut self,
        source: DiscoverySource,
        definitions: impl IntoIterator<Item = ListenerDefinition>,
    ) -> RegistryChanges {
        let before = self.active();
        let mut changes = RegistryChanges::default();
        let mut list = BTreeMap::new();
        for def in definitions {
            match check_url(&def.url) {
                Ok(()) => {
                    list.insert(def.name, def.url);
                }
                Err(reason) => changes.rejected.push((def.name, reason)),
            }
        }
        self.discovered.insert(source, list);
        let after = self.active();
        for (name, old) in &before {
            if after.get(name).is_none_or(|new| new.url != old.url) {
                changes.removed.push(name.clone());
            }
        }
        for (name, new) in after {
            if before.get(&name).is_none_or(|old| old.url != new.url) {
                changes.added.push(new);
            }
        }
        changes
    }
}

fn listener(name: &str, url: &str, managed: bool) -> Listener {
    Listener {
        name: name.to_owned(),
        url: url.to_owned(),
        managed,
    }
}
