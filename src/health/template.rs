//! Check-argument templating (docs/COMPATIBILITY.md §11): the small subset of Go's `text/template`
//! that Sidecar check args use, plus the empty-host URL fix-up of docs/COMPATIBILITY.md §9.
//!
//! Supported actions inside `{{ … }}` (with Go's `{{-`/`-}}` trim markers): `host` (the
//! published IP), `container` (the service's Hostname), `tcp N` / `udp N` (the real port
//! whose ServicePort is N, -1 if none) and the fields `.ID`, `.Name`, `.Image`, `.Hostname`,
//! `.ProxyMode`. Anything else is an error, and the caller uses the raw args, as Go does.
//!
//! Pure: no I/O.

use crate::catalog::Service;

/// What a template can refer to.
#[derive(Clone, Copy, Debug)]
pub struct TemplateContext<'a> {
    /// The service being checked.
    pub service: &'a Service,
    /// This node's published (advertise) IP, for `{{ host }}`.
    pub published_ip: &'a str,
}

/// Why check args could not be rendered; the raw args are used instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot render check args {template:?}: {message}")]
pub struct TemplateError {
    /// The template (at most 200 characters of it).
    pub template: String,
    /// What was wrong.
    pub message: String,
}

/// Renders `template`; on error returns the raw template and the error (for the caller to
/// log), as Go does.
pub fn render_or_raw(template: &str, ctx: &TemplateContext<'_>) -> (String, Option<TemplateError>) {
    match render(template, ctx) {
        Ok(text) => (text, None),
        Err(err) => (template.to_string(), Some(err)),
    }
}

/// Renders `template` against `ctx`.
pub fn render(template: &str, ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
    let fail = |message: String| TemplateError {
        template: template.chars().take(200).collect(),
        message,
    };
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        let mut inner_and_rest = &rest[open + 2..];
        if let Some(after) = inner_and_rest.strip_prefix('-')
            && after.starts_with(char::is_whitespace)
        {
            text = text.trim_end();
            inner_and_rest = after;
        }
        let close = inner_and_rest
            .find("}}")
            .ok_or_else(|| fail("unclosed action".to_string()))?;
        let mut inner = &inner_and_rest[..close];
        rest = &inner_and_rest[close + 2..];
        if let Some(before) = inner.strip_suffix('-')
            && before.ends_with(char::is_whitespace)
        {
            inner = before;
            rest = rest.trim_start();
        }
        out.push_str(text);
        out.push_str(&eval(inner, ctx).map_err(fail)?);
    }
    out.push_str(rest);
    Ok(out)
}

/// Evaluates the inside of one action.
fn eval(action: &str, ctx: &TemplateContext<'_>) -> Result<String, String> {
    let words: Vec<&str> = action.split_whitespace().collect();
    let svc = ctx.service;
    let value = match words.as_slice() {
        [] => return Err("missing value for command".to_string()),
        ["host"] => ctx.published_ip.to_string(),
        ["container"] => svc.hostname.clone(),
        [kind @ ("tcp" | "udp"), port] => {
            let port: i64 = port
                .parse()
                .map_err(|_| format!("{kind}: {port:?} is not an integer"))?;
            svc.port_for_service_port(port, kind).to_string()
        }
        [f @ ("host" | "container" | "tcp" | "udp"), args @ ..] => {
            let want = if matches!(*f, "tcp" | "udp") { 1 } else { 0 };
            return Err(format!(
                "wrong number of args for {f}: want {want} got {}",
                args.len()
            ));
        }
        [".ID"] => svc.id.clone(),
        [".Name"] => svc.name.clone(),
        [".Image"] => svc.image.clone(),
        [".Hostname"] => svc.hostname.clone(),
        [".ProxyMode"] => svc.proxy_mode.clone(),
        [field] if field.starts_with('.') => return Err(format!("unsupported field {field}")),
        [word, ..] => return Err(format!("function {word:?} not defined")),
    };
    Ok(value)
}

/// The `{{ tcp N }}` / `{{ udp N }}` actions of `template` as `(kind, N)`, in order, so a
/// caller can warn about ports no service has (they render as -1). Malformed actions are
/// left out: [`render`] reports those.
pub fn port_references(template: &str) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        let inner = after[..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if let [kind @ ("tcp" | "udp"), port] = inner.split_whitespace().collect::<Vec<_>>()[..]
            && let Ok(port) = port.parse::<i64>()
        {
            found.push((kind.to_owned(), port));
        }
        rest = &after[close + 2..];
    }
    found
}

/// A URL with an empty host (`http://:10234/`, which Go's client dials on the local host)
/// gets `127.0.0.1` as its host; other strings are returned unchanged.
pub fn localhost_if_empty_host(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    let after = &url[authority_start..];
    let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    let host_start = authority_start + authority.rfind('@').map_or(0, |at| at + 1);
    let host_and_port = &url[host_start..authority_start + authority.len()];
    if host_and_port.is_empty() || host_and_port.starts_with(':') {
        format!("{}127.0.0.1{}", &url[..host_start], &url[host_start..])
    } else {
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Port;

    fn service() -> Service {
        let port = |kind: &str, port, service_port| Port {
            kind: kind.into(),
            port,
            service_port,
            ip: "10.0.0.1".into(),
        };
        Service {
            id: "deadbeef0001".into(),
            name: "awesome".into(),
            image: "awesome:1.2".into(),
            hostname: "indefatigable".into(),
            proxy_mode: "http".into(),
            ports: Some(vec![port("udp", 11234, 8080), port("tcp", 1234, 8081)]),
            ..Service::default()
        }
    }

    fn render_with(template: &str) -> Result<String, TemplateError> {
        let svc = service();
        let ctx = TemplateContext {
            service: &svc,
            published_ip: "192.168.1.7",
        };
        render(template, &ctx)
    }

    #[test]
    fn host_is_the_published_ip_and_tcp_maps_a_service_port() {
        assert_eq!(
            render_with("http://{{ host }}:{{ tcp 8081 }}/status/check").unwrap(),
            "http://192.168.1.7:1234/status/check"
        );
    }

    #[test]
    fn container_is_the_service_hostname() {
        assert_eq!(
            render_with("http://{{ container }}:{{ tcp 8081 }}/status/check").unwrap(),
            "http://indefatigable:1234/status/check"
        );
    }

    #[test]
    fn port_references_lists_every_tcp_and_udp_action() {
        let refs = port_references("http://{{ host }}:{{ tcp 8081 }}/{{- udp 53 -}}/{{ tcp x }}");
        assert_eq!(refs, [("tcp".to_owned(), 8081), ("udp".to_owned(), 53)]);
    }

    #[test]
    fn udp_ports_and_missing_ports_render_like_go() {
        assert_eq!(render_with("{{ udp 8080 }}").unwrap(), "11234");
        assert_eq!(render_with("{{ tcp 8080 }}").unwrap(), "-1");
    }

    #[test]
    fn service_fields_are_available() {
        assert_eq!(
            render_with("{{.Name}}/{{ .ID }}/{{ .Image }}/{{.Hostname}}/{{ .ProxyMode }}").unwrap(),
            "awesome/deadbeef0001/awesome:1.2/indefatigable/http"
        );
    }

    #[test]
    fn whitespace_inside_braces_does_not_matter_and_trim_markers_trim_outside() {
        assert_eq!(
            render_with("a{{host}}b{{   host\t}}c").unwrap(),
            "a192.168.1.7b192.168.1.7c"
        );
        assert_eq!(render_with("a  {{- host -}}  b").unwrap(), "a192.168.1.7b");
    }

    #[test]
    fn text_without_actions_is_unchanged() {
        assert_eq!(
            render_with("http://:10234/ }} x").unwrap(),
            "http://:10234/ }} x"
        );
    }

    #[test]
    fn errors_keep_the_raw_args() {
        let svc = service();
        let ctx = TemplateContext {
            service: &svc,
            published_ip: "1.2.3.4",
        };
        for bad in [
            "{{ host",
            "{{ }}",
            "{{ nope }}",
            "{{ tcp }}",
            "{{ tcp x }}",
            "{{ host 1 }}",
            "{{ .Ports }}",
        ] {
            let (text, err) = render_or_raw(bad, &ctx);
            assert_eq!(text, bad);
            assert!(err.is_some(), "{bad}");
        }
        let err = render_with("{{ tcp }}").unwrap_err();
        assert!(
            err.message
                .contains("wrong number of args for tcp: want 1 got 0")
        );
    }

    #[test]
    fn an_empty_host_in_a_url_means_localhost() {
        assert_eq!(
            localhost_if_empty_host("http://:10234/"),
            "http://127.0.0.1:10234/"
        );
        assert_eq!(localhost_if_empty_host("http:///x"), "http://127.0.0.1/x");
        assert_eq!(
            localhost_if_empty_host("http://user@:80/x"),
            "http://user@127.0.0.1:80/x"
        );
        for unchanged in [
            "http://10.0.0.1:80/",
            "http://h/x?y=:1",
            "true",
            "http://[::1]:8/",
        ] {
            assert_eq!(localhost_if_empty_host(unchanged), unchanged);
        }
    }
}
