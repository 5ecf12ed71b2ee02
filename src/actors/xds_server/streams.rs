//! The ADS gRPC service: one task per Envoy stream, driving that stream's state machine
//! ([`SotwStream`] or [`DeltaStream`]) with Envoy's requests and the shared resources.
//!
//! A stream task owns only its state machine and the receiving end of the resources channel.
//! It ends when Envoy closes the stream, when a response cannot be handed over within
//! [`StreamLimits::send_timeout`], or when the server's actor drops the channel's sender (a
//! stop or a restart): then Envoy reconnects, to the next instance.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::Recipient;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::AggregatedDiscoveryService;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::messages::{XdsProtocol, XdsStreamEvent};
use crate::xds::delta::DeltaStream;
use crate::xds::sotw::SotwStream;
use crate::xds::{Received, Resources, Sent};

/// How streams are bounded.
#[derive(Clone, Copy, Debug)]
pub(super) struct StreamLimits {
    /// Responses queued for Envoy before the task waits.
    pub(super) buffer: usize,
    /// How long a response may wait for room before the stream is dropped.
    pub(super) send_timeout: Duration,
}

/// The service behind the gRPC server. Cloned into tonic; every clone shares the counters.
#[derive(Clone)]
pub(super) struct Ads {
    pub(super) resources: watch::Receiver<Arc<Resources>>,
    pub(super) events: Recipient<XdsStreamEvent>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) next_id: Arc<AtomicU64>,
    pub(super) limits: StreamLimits,
}

type Outbound<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream's state machine, either variant.
trait Machine: Send + Sync + 'static {
    type Request: Send + 'static;
    type Response: Send + 'static;
    const PROTOCOL: XdsProtocol;
    fn node(request: &Self::Request) -> Option<&Node>;
    fn on_request(
        &mut self,
        request: &Self::Request,
        resources: &Resources,
    ) -> (Received, Option<(Self::Response, Sent)>);
    fn on_resources(&mut self, resources: &Resources) -> Vec<(Self::Response, Sent)>;
}

impl Machine for SotwStream {
    type Request = DiscoveryRequest;
    type Response = DiscoveryResponse;
    const PROTOCOL: XdsProtocol = XdsProtocol::StateOfTheWorld;
    fn node(request: &DiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }
    fn on_request(
        &mut self,
        request: &DiscoveryRequest,
        resources: &Resources,
    ) -> (Received, Option<(DiscoveryResponse, Sent)>) {
        SotwStream::on_request(self, request, resources)
    }
    fn on_resources(&mut self, resources: &Resources) -> Vec<(DiscoveryResponse, Sent)> {
        SotwStream::on_resources(self, resources)
    }
}

impl Machine for DeltaStream {
    type Request = DeltaDiscoveryRequest;
    type Response = DeltaDiscoveryResponse;
    const PROTOCOL: XdsProtocol = XdsProtocol::Delta;
    fn node(request: &DeltaDiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }
    fn on_request(
        &mut self,
        request: &DeltaDiscoveryRequest,
        resources: &Resources,
    ) -> (Received, Option<(DeltaDiscoveryResponse, Sent)>) {
        DeltaStream::on_request(self, request, resources)
    }
    fn on_resources(&mut self, resources: &Resources) -> Vec<(DeltaDiscoveryResponse, Sent)> {
        DeltaStream::on_resources(self, resources)
    }
}

impl Ads {
    /// Starts a stream task for `machine`, or refuses when too many streams are open.
    fn open<M: Machine>(
        &self,
        machine: M,
        inbound: Streaming<M::Request>,
    ) -> Result<Response<Outbound<M::Response>>, Status>
    where
        M::Request: prost::Message + Default,
    {
        let permit = Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| Status::resource_exhausted("too many xDS streams"))?;
        let (sender, receiver) = mpsc::channel(self.limits.buffer.max(1));
        let task = StreamTask {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            machine,
            outbound: sender,
            resources: self.resources.clone(),
            events: self.events.clone(),
            limits: self.limits,
            _permit: permit,
        };
        let _ = task.events.try_send(XdsStreamEvent::Opened {
            id: task.id,
            protocol: M::PROTOCOL,
        });
        tokio::spawn(task.run(inbound));
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for Ads {
    type StreamAggregatedResourcesStream = Outbound<DiscoveryResponse>;
    type DeltaAggregatedResourcesStream = Outbound<DeltaDiscoveryResponse>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        self.open(SotwStream::new(), request.into_inner())
    }

    async fn delta_aggregated_resources(
        &self,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        self.open(DeltaStream::new(), request.into_inner())
    }
}

/// One Envoy's stream. See the [module docs](self).
struct StreamTask<M: Machine> {
    id: u64,
    machine: M,
    outbound: mpsc::Sender<Result<M::Response, Status>>,
    resources: watch::Receiver<Arc<Resources>>,
    events: Recipient<XdsStreamEvent>,
    limits: StreamLimits,
    /// Held for the stream's life: one of the server's stream slots.
    _permit: OwnedSemaphorePermit,
}

impl<M: Machine> StreamTask<M>
where
    M::Request: prost::Message + Default,
{
    async fn run(mut self, mut inbound: Streaming<M::Request>) {
        let mut identified = false;
        // Changes before the first request are in the first answer anyway.
        self.resources.mark_unchanged();
        loop {
            let responses = tokio::select! {
                message = inbound.message() => match message {
                    Ok(Some(request)) => {
                        if !identified && let Some(node) = M::node(&request) {
                            identified = true;
                            self.report(XdsStreamEvent::Identified { id: self.id, node: node.id.clone() });
                        }
                        let current = Arc::clone(&self.resources.borrow());
                        let (received, response) = self.machine.on_request(&request, &current);
                        self.report(XdsStreamEvent::Received { id: self.id, received });
                        response.into_iter().collect()
                    }
                    Ok(None) | Err(_) => break,
                },
                changed = self.resources.changed() => match changed {
                    Ok(()) => {
                        let current = Arc::clone(&self.resources.borrow_and_update());
                        self.machine.on_resources(&current)
                    }
                    Err(_) => break,
                },
            };
            if !self.send_all(responses).await {
                break;
            }
        }
        self.report(XdsStreamEvent::Closed { id: self.id });
    }

    /// Hands the responses to tonic; false when Envoy is gone or does not read.
    async fn send_all(&self, responses: Vec<(M::Response, Sent)>) -> bool {
        for (response, sent) in responses {
            let handed = self
                .outbound
                .send_timeout(Ok(response), self.limits.send_timeout);
            if handed.await.is_err() {
                return false;
            }
            self.report(XdsStreamEvent::Sent { id: self.id, sent });
        }
        true
    }

    fn report(&self, event: XdsStreamEvent) {
        let _ = self.events.try_send(event);
    }
}
