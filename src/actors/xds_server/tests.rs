//! XdsServer with real gRPC clients over loopback (127.0.0.98): many streams at once, bursts
//! coalesced into one build, and nothing sent when a change leaves the resources as they were.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use super::*;
use crate::actors::recorder::Recorder;
use crate::catalog::ServicesState;
use crate::xds::ResourceType;
use crate::xds::testdata::{catalogue, options, record, state};

const STREAMS: usize = 20;

fn changed(state: ServicesState, version: u64) -> StateChanged {
    StateChanged {
        snapshot: Arc::new(Snapshot::new(state, Vec::new(), version, version)),
        changes: Arc::new([]),
        announced: Arc::new([]),
        refreshed: Arc::new([]),
    }
}

fn with_api(version: i64) -> ServicesState {
    let mut grown = catalogue();
    let api = record(
        "host-e",
        "e1",
        "api",
        "http",
        20 + version,
        &[(11000, 8181, "10.0.0.5")],
    );
    grown.servers.extend(state(vec![api]).servers);
    grown
}

fn start_server() -> (Addr<XdsServer>, SocketAddr) {
    start_server_with(options())
}

fn start_server_with(options: crate::xds::XdsOptions) -> (Addr<XdsServer>, SocketAddr) {
    let listener = bind("127.0.0.98:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let settings = XdsSettings::new(addr, options);
    let keeper = Recorder::<Subscribe>(Arc::new(Mutex::new(Vec::new()))).start();
    let log = Logger::root(slog::Discard, o!());
    let server = XdsServer::new(
        settings,
        Arc::new(listener),
        Link::fixed(keeper.recipient()),
        &log,
    );
    (server.start(), addr)
}

/// A state-of-the-world client subscribed to every cluster, with its first response.
struct Client {
    /// The names subscribed to, repeated in every ACK as Envoy does.
    names: Vec<String>,
    requests: mpsc::Sender<DiscoveryRequest>,
    responses: Streaming<DiscoveryResponse>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> (Client, DiscoveryResponse) {
        Client::subscribe(addr, ResourceType::Cluster, &[]).await
    }

    /// A client asking for `names` of `kind`.
    async fn subscribe(
        addr: SocketAddr,
        kind: ResourceType,
        names: &[&str],
    ) -> (Client, DiscoveryResponse) {
        let mut grpc = AggregatedDiscoveryServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let (requests, outbound) = mpsc::channel(4);
        let ask = DiscoveryRequest {
            type_url: kind.type_url().to_owned(),
            resource_names: names.iter().map(|n| (*n).to_owned()).collect(),
            ..Default::default()
        };
        let names = ask.resource_names.clone();
        requests.send(ask).await.unwrap();
        let stream = grpc.stream_aggregated_resources(ReceiverStream::new(outbound));
        let mut responses = stream.await.unwrap().into_inner();
        let first = responses.message().await.unwrap().unwrap();
        (
            Client {
                names,
                requests,
                responses,
            },
            first,
        )
    }

    async fn ack(&self, response: &DiscoveryResponse) {
        let ack = DiscoveryRequest {
            type_url: response.type_url.clone(),
            version_info: response.version_info.clone(),
            response_nonce: response.nonce.clone(),
            resource_names: self.names.clone(),
            ..Default::default()
        };
        self.requests.send(ack).await.unwrap();
    }

    async fn next(&mut self) -> DiscoveryResponse {
        let next = tokio::time::timeout(Duration::from_secs(10), self.responses.message());
        next.await.unwrap().unwrap().unwrap()
    }
}

async fn stats(server: &Addr<XdsServer>) -> XdsStats {
    server.send(GetXdsStats).await.unwrap()
}

/// Waits for the server's `n`th build.
async fn built(server: &Addr<XdsServer>, n: u64) {
    while stats(server).await.builds < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[actix::test]
async fn every_connected_stream_gets_one_push_for_a_burst_of_changes() {
    let (server, addr) = start_server();
    server.send(changed(catalogue(), 1)).await.unwrap();
    built(&server, 1).await;
    let mut clients = Vec::new();
    for _ in 0..STREAMS {
        let (client, first) = Client::connect(addr).await;
        assert_eq!(first.resources.len(), 4);
        client.ack(&first).await;
        clients.push(client);
    }
    for version in 2..7 {
        server.do_send(changed(with_api(version as i64), version));
    }
    for client in &mut clients {
        let pushed = client.next().await;
        assert_eq!(pushed.resources.len(), 5, "the new service's cluster");
        client.ack(&pushed).await;
    }
    let after = stats(&server).await;
    assert_eq!(after.builds, 2, "the burst was built once");
    assert_eq!(after.streams.len(), STREAMS);
    assert_eq!(after.responses, 2 * STREAMS as u64);
    assert!(after.streams.iter().all(|s| s.responses == 2));
}

#[actix::test]
async fn a_change_that_leaves_the_resources_as_they_were_publishes_nothing() {
    let (server, addr) = start_server();
    server.send(changed(catalogue(), 1)).await.unwrap();
    built(&server, 1).await;
    let (mut client, first) = Client::connect(addr).await;
    client.ack(&first).await;
    // The same catalogue in a new snapshot (a refresh): built, but the same resources.
    server.send(changed(catalogue(), 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stats(&server).await.builds, 1, "nothing published");
    server.send(changed(with_api(0), 3)).await.unwrap();
    let pushed = client.next().await;
    assert_eq!(
        pushed.resources.len(),
        5,
        "the next push is the real change"
    );
    assert_eq!(stats(&server).await.builds, 2);
}

/// The socket addresses of the first load assignment in `response`.
fn endpoint_ips(response: &DiscoveryResponse) -> Vec<IpAddr> {
    use envoy_types::pb::envoy::config::core::v3::address;
    use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, lb_endpoint};
    use prost::Message;
    let cla = ClusterLoadAssignment::decode(response.resources[0].value.as_slice()).unwrap();
    cla.endpoints[0]
        .lb_endpoints
        .iter()
        .filter_map(|e| match &e.host_identifier {
            Some(lb_endpoint::HostIdentifier::Endpoint(ep)) => {
                match ep.address.as_ref()?.address.as_ref()? {
                    address::Address::SocketAddress(s) => s.address.parse().ok(),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

#[actix::test]
async fn with_hostnames_the_endpoints_are_resolved_off_the_actor_and_pushed_when_known() {
    let mut options = options();
    options.use_hostnames = true;
    let (server, addr) = start_server_with(options);
    let local = record(
        "localhost",
        "l1",
        "web",
        "http",
        1,
        &[(10000, 8080, "10.0.0.1")],
    );
    server.send(changed(state(vec![local]), 1)).await.unwrap();
    built(&server, 1).await;
    let (mut client, mut response) =
        Client::subscribe(addr, ResourceType::Endpoint, &["web:8080"]).await;
    // Until `localhost` resolves, the port's IP stands in; then the resolved one is pushed.
    while endpoint_ips(&response) == [IpAddr::from([10, 0, 0, 1])] {
        client.ack(&response).await;
        response = client.next().await;
    }
    let ips = endpoint_ips(&response);
    assert!(ips.len() == 1 && ips[0].is_loopback(), "{ips:?}");
}
