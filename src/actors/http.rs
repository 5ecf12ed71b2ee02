//! What the actors that call out over HTTP (health checks, listeners) share.
//!
//! Must not: hold clients or state (each actor owns its own reqwest client).

/// An error with its sources, `outer: inner: …` (reqwest's own message hides the cause).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
