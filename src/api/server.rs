//! The HTTP server of the API: actix-server accepting on the listener the node bound, each
//! connection going in by the front door (`front_door.rs`: a first request for the watch
//! stream is served there) or else to actix-web's HTTP/1 service with the routes of
//! [`super::configure`] and the metrics middleware.
//!
//! Built like `actix_web::HttpServer` builds its own (same timeouts, graceful shutdown of
//! keep-alive connections), which cannot put anything in front of its HTTP service.
//!
//! Must not: bind (the listener comes bound, so that bind errors surface at start) or handle
//! signals (the node does).

use std::net::TcpListener;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::HttpService;
use actix_service::map_config;
use actix_web::dev::{AppConfig, Server, Service, ServiceFactory, fn_factory};
use actix_web::{App, middleware, web};
use futures_util::future::LocalBoxFuture;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::front_door::{self, FirstRequest};
use super::state::ApiState;

/// Time a client has to send its request head.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a closing connection is given to be shut down (actix-web's default).
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How the server runs.
#[derive(Clone, Copy, Debug)]
pub struct ServerSettings {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Open connections per worker.
    pub max_connections: usize,
    /// Seconds a graceful stop waits for open connections.
    pub shutdown_timeout_secs: u64,
}

/// Starts serving `api` on `listener`; the returned server runs until stopped by its handle.
pub fn run(
    listener: TcpListener,
    api: ApiState,
    settings: ServerSettings,
) -> std::io::Result<Server> {
    let addr = listener.local_addr()?;
    let builder = Server::build();
    let signal = builder.graceful_shutdown_signal();
    let server = builder
        .workers(settings.workers.max(1))
        .max_concurrent_connections(settings.max_connections)
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .disable_signals()
        .listen("sidecar-http", listener, move || {
            let signal = signal.clone();
            let http = HttpService::build()
                .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
                .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
                // A client that closes its side has gone (Go's CloseNotify).
                .h1_allow_half_closed(false)
                .local_addr(addr)
                .graceful_shutdown_signal(move || {
                    let signal = signal.clone();
                    async move { signal.notified().await }
                })
                .finish(map_config(app(api.clone()), |()| AppConfig::default()))
                .tcp();
            front_door(http, api.clone())
        })?
        .run();
    Ok(server)
}

/// The actix-web application: the routes, the app data and the metrics middleware.
fn app(
    api: ApiState,
) -> App<
    impl ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(api))
        .wrap(middleware::from_fn(super::metrics::count_requests))
        .configure(super::configure)
}

/// Each connection: watch requests to [`front_door::serve`], the rest to `http`.
fn front_door<F>(
    http: F,
    api: ApiState,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = F::Error, InitError = ()>
where
    F: ServiceFactory<TcpStream, Config = (), Response = (), InitError = ()>,
    F::Service: 'static,
    F::Error: 'static,
{
    let http = Rc::new(http);
    fn_factory(move || {
        let (http, api) = (Rc::clone(&http), api.clone());
        async move {
            let service = http.new_service(()).await?;
            Ok(FrontDoor {
                http: Rc::new(service),
                api,
            })
        }
    })
}

/// The service of one worker: see [`front_door`].
struct FrontDoor<S> {
    http: Rc<S>,
    api: ApiState,
}

impl<S> Service<TcpStream> for FrontDoor<S>
where
    S: Service<TcpStream, Response = ()> + 'static,
{
    type Response = ();
    type Error = S::Error;
    type Future = LocalBoxFuture<'static, Result<(), S::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.http.poll_ready(cx)
    }

    fn call(&self, io: TcpStream) -> Self::Future {
        let (http, api) = (Rc::clone(&self.http), self.api.clone());
        Box::pin(async move {
            let deadline = Instant::now() + CLIENT_REQUEST_TIMEOUT;
            match front_door::first_request(&io, deadline).await {
                Some(FirstRequest::Watch) => {
                    drop(http);
                    front_door::serve(io, api, deadline).await;
                    Ok(())
                }
                Some(_) => {
                    drop(api);
                    // Boxed: the dispatcher's state is not reserved in every stream's task.
                    Box::pin(http.call(io)).await
                }
                None => Ok(()),
            }
        })
    }
}
