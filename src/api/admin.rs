//! The admin API under `/api/admin/`: list the subsystems (state, restarts, last error,
//! uptime), restart one by name, show the gossiper's statistics (members, exchanges,
//! dropped input by reason), and replace the gossip key list.
//!
//! Access: without `SIDECAR_ADMIN_TOKEN` only loopback clients are answered (403 otherwise);
//! with it, every client must send `Authorization: Bearer <token>` (401 otherwise), loopback
//! included. The decision is the pure [`authorize`]; handlers only translate.

use std::net::IpAddr;
use std::time::Duration;

use actix::Addr;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::state::ApiState;
use crate::actors::gossiper::GossipKeys;
use crate::gossip::crypto::KeyRing;
use crate::messages::supervisor::{GetSubsystems, RestartSubsystem, UnknownSubsystem};
use crate::messages::{GetGossipStats, GetXdsStats};
use crate::supervisor::{Link, Supervisor};

/// How long `GET /api/admin/gossip` and `/api/admin/envoy` wait for their subsystem (busy, or
/// being replaced).
const STATS_TIMEOUT: Duration = Duration::from_secs(2);

/// What the admin API reaches and who may use it.
#[derive(Clone, Debug)]
pub struct AdminAccess {
    /// The node's supervisor.
    pub supervisor: Addr<Supervisor>,
    /// `SIDECAR_ADMIN_TOKEN`, if set.
    pub token: Option<String>,
    /// The gossiper's statistics; `None` on a node without a gossiper (503).
    pub gossip: Option<Link<GetGossipStats>>,
    /// The gossip key ring in force, replaced by `PUT /api/admin/gossip/keys`; `None` on a
    /// node without a gossiper (503).
    pub keys: Option<GossipKeys>,
    /// The xDS server's statistics; `None` when the gRPC API is off (503).
    pub xds: Option<Link<GetXdsStats>>,
}

/// Why a request to the admin API is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401: a token is configured and the request lacks it (or has another).
    Unauthorized,
    /// 403: no token is configured and the client is not on loopback.
    Forbidden,
}

/// Decides whether a client at `peer` sending `authorization` may use the admin API.
pub fn authorize(
    peer: Option<IpAddr>,
    token: Option<&str>,
    authorization: Option<&str>,
) -> Result<(), Refusal> {
    match token {
        Some(token) => {
            let given = authorization.and_then(|h| h.strip_prefix("Bearer "));
            match given {
                Some(given) if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) => {
                    Ok(())
                }
                _ => Err(Refusal::Unauthorized),
            }
        }
        None if peer.is_some_and(|ip| ip.is_loopback() || is_mapped_loopback(ip)) => Ok(()),
        None => Err(Refusal::Forbidden),
    }
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        IpAddr::V4(_) => false,
    }
}

/// Compares without an early exit, so the time taken does not tell how much of a guess was
/// right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let same_len = a.len() == b.len();
    let diff = a
        .iter()
        .zip(b.iter().cycle())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    same_len && !b.is_empty() && diff == 0
}

/// The supervisor, once the client passed [`authorize`].
fn admitted<'a>(req: &HttpRequest, state: &'a ApiState) -> Result<&'a AdminAccess, ApiError> {
    let access = state.admin().ok_or_else(ApiError::supervisor_unavailable)?;
    let peer = req.peer_addr().map(|a| a.ip());
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    match authorize(peer, access.token.as_deref(), header) {
        Ok(()) => Ok(access),
        Err(Refusal::Unauthorized) => Err(ApiError::unauthorized()),
        Err(Refusal::Forbidden) => Err(ApiError::forbidden()),
    }
}

/// `GET /api/admin/subsystems`.
pub(super) async fn subsystems(
    req: HttpRequest,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let access = admitted(&req, &state)?;
    let list = access.supervisor.send(GetSubsystems).await;
    let list = list.map_err(|_| ApiError::supervisor_unavailable())?;
    Ok(pretty(StatusCode::OK, &list))
}

/// `POST /api/admin/subsystems/{name}/restart`.
pub(super) async fn restart(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let access = admitted(&req, &state)?;
    let name = name.into_inner();
    let asked = access
        .supervisor
        .send(RestartSubsystem { name: name.clone() });
    answer(asked.await, &format!("restarting {name}"), &name)
}

/// `GET /api/admin/gossip`: 503 when there is no gossiper or it does not answer in time.
pub(super) async fn gossip(
    req: HttpRequest,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let access = admitted(&req, &state)?;
    statistics(
        access.gossip.as_ref(),
        GetGossipStats,
        ApiError::gossiper_unavailable,
    )
    .await
}

/// The body of `PUT /api/admin/gossip/keys`.
#[derive(Debug, Deserialize)]
pub(super) struct NewKeys {
    /// Base64 keys (16, 24 or 32 bytes each), the sealing key first.
    #[serde(rename = "Keys")]
    keys: Vec<String>,
}

/// `PUT /api/admin/gossip/keys` with `{"Keys": ["<base64>", …]}`: puts a new key list in
/// force at once (rotation without a restart; docs/PROTOCOL.md, "Encryption"). 400 for an
/// empty list or a bad key (the message names its position, never its value); turning
/// encryption off takes a restart.
pub(super) async fn replace_keys(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: web::Json<NewKeys>,
) -> Result<HttpResponse, ApiError> {
    let access = admitted(&req, &state)?;
    let keys = access
        .keys
        .as_ref()
        .ok_or_else(ApiError::gossiper_unavailable)?;
    let ring = match KeyRing::from_base64(&body.keys) {
        Ok(Some(ring)) => ring,
        Ok(None) => return Err(ApiError::bad_keys("no key given")),
        Err(err) => return Err(ApiError::bad_keys(&err.to_string())),
    };
    let count = ring.len();
    keys.replace(ring);
    let body = serde_json::json!({ "Keys": count });
    Ok(pretty(StatusCode::OK, &body))
}

/// `GET /api/admin/envoy`: the xDS server's streams and counters; 503 when it is off or does
/// not answer in time.
pub(super) async fn envoy(
    req: HttpRequest,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let access = admitted(&req, &state)?;
    statistics(
        access.xds.as_ref(),
        GetXdsStats,
        ApiError::xds_server_unavailable,
    )
    .await
}

/// 200 with what `subsystem` answers to `ask` within [`STATS_TIMEOUT`]; `unavailable` (503)
/// when the node has no such subsystem or it does not answer in time.
async fn statistics<M>(
    subsystem: Option<&Link<M>>,
    ask: M,
    unavailable: fn() -> ApiError,
) -> Result<HttpResponse, ApiError>
where
    M: actix::Message + Send + 'static,
    M::Result: Serialize + Send,
{
    let subsystem = subsystem.ok_or_else(unavailable)?;
    let stats = subsystem.send(ask).timeout(STATS_TIMEOUT).await;
    let stats = stats.map_err(|_| unavailable())?;
    Ok(pretty(StatusCode::OK, &stats))
}

/// `POST /api/admin/subsystems/{name}/panic`: the fault-injection hook (tests only).
#[cfg(feature = "fault-injection")]
pub(super) async fn inject_panic(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    use crate::messages::supervisor::PanicSubsystem;
    let access = admitted(&req, &state)?;
    let name = name.into_inner();
    let asked = access
        .supervisor
        .send(PanicSubsystem { name: name.clone() });
    answer(asked.await, &format!("panicking {name}"), &name)
}

/// 202 with `message` once the supervisor took the request; 404 for an unknown name.
fn answer(
    asked: Result<Result<(), UnknownSubsystem>, actix::MailboxError>,
    message: &str,
    name: &str,
) -> Result<HttpResponse, ApiError> {
    asked
        .map_err(|_| ApiError::supervisor_unavailable())?
        .map_err(|_| ApiError::unknown_subsystem(name))?;
    Ok(accepted(message))
}

fn accepted(message: &str) -> HttpResponse {
    #[derive(Serialize)]
    struct Body<'a> {
        message: &'a str,
    }
    pretty(StatusCode::ACCEPTED, &Body { message })
}

fn pretty<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    match serde_json::to_vec_pretty(body) {
        Ok(bytes) => HttpResponse::build(status)
            .content_type("application/json")
            .body(bytes),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_a_token_only_loopback_clients_are_answered() {
        assert_eq!(authorize(ip("127.0.0.1"), None, None), Ok(()));
        assert_eq!(authorize(ip("127.5.6.7"), None, None), Ok(()));
        assert_eq!(authorize(ip("::1"), None, None), Ok(()));
        assert_eq!(authorize(ip("::ffff:127.0.0.1"), None, None), Ok(()));
        assert_eq!(
            authorize(ip("10.1.2.3"), None, None),
            Err(Refusal::Forbidden)
        );
        assert_eq!(authorize(None, None, None), Err(Refusal::Forbidden));
    }

    #[test]
    fn with_a_token_every_client_needs_it_loopback_included() {
        let token = Some("s3cret");
        assert_eq!(
            authorize(ip("10.1.2.3"), token, Some("Bearer s3cret")),
            Ok(())
        );
        assert_eq!(
            authorize(ip("127.0.0.1"), token, None),
            Err(Refusal::Unauthorized)
        );
        let wrong = authorize(ip("10.1.2.3"), token, Some("Bearer s3cre"));
        assert_eq!(wrong, Err(Refusal::Unauthorized));
        let basic = authorize(ip("10.1.2.3"), token, Some("Basic s3cret"));
        assert_eq!(basic, Err(Refusal::Unauthorized));
    }

    #[test]
    fn token_comparison_needs_the_exact_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abcabc", b"abc"));
        assert!(!constant_time_eq(b"", b""));
    }
}
