//! `GET /metrics` (the Prometheus/OpenMetrics text format) and the middleware that counts
//! every HTTP request by route pattern, method and status (docs/ARCHITECTURE.md, "Metrics").
//!
//! Open to every client, like the JSON API: the figures name services and members, which the
//! JSON API shows anyway, and nothing else.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use tokio::time::Instant;

use super::state::ApiState;
use crate::messages::supervisor::GetSubsystems;
use crate::messages::{GetGossipStats, GetXdsStats};
use crate::metrics::{CONTENT_TYPE, ScrapeFigures};

/// How long a scrape waits for each actor it asks (busy, or being restarted): its figures are
/// left out of that scrape rather than delaying it.
const ASK_TIMEOUT: Duration = Duration::from_millis(500);

/// `GET /metrics`.
pub(super) async fn metrics(state: web::Data<ApiState>) -> HttpResponse {
    let figures = gather(&state).await;
    let text = state.metrics().render(&figures);
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(text)
}

/// Reads what the scrape-time figures come from: the snapshot and watch count at hand, and
/// the Supervisor, Gossiper and xDS server under a short timeout each.
pub async fn gather(state: &ApiState) -> ScrapeFigures {
    let mut figures = ScrapeFigures {
        snapshot: Some(state.snapshot()),
        watch_streams: state.watchers(),
        ..ScrapeFigures::default()
    };
    let Some(admin) = state.admin() else {
        return figures;
    };
    let subsystems = admin.supervisor.send(GetSubsystems).timeout(ASK_TIMEOUT);
    figures.subsystems = subsystems.await.ok();
    if let Some(gossiper) = &admin.gossip {
        figures.gossip = gossiper
            .send(GetGossipStats)
            .timeout(ASK_TIMEOUT)
            .await
            .ok();
    }
    if let Some(xds) = &admin.xds {
        figures.xds = xds.send(GetXdsStats).timeout(ASK_TIMEOUT).await.ok();
    }
    figures
}

/// Counts each request into the node's metrics once its response head is ready. The route is
/// the matched pattern (`/api/services/{name}.{ext}`), `unmatched` for a 404 of the default
/// service, so that the label sets stay bounded whatever paths clients ask for.
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<ApiState>>()
        .map(|state| state.metrics().clone());
    let method = method_label(req.method());
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response.request().match_pattern();
        let route = route.as_deref().unwrap_or("unmatched");
        let status = response.status().as_u16();
        metrics.http_request(route, method, status, started.elapsed());
    }
    Ok(response)
}

/// The standard methods by name, anything else as `other`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::PATCH, "PATCH"),
    ];
    KNOWN
        .iter()
        .find(|(m, _)| m == method)
        .map_or("other", |(_, name)| name)
}
