//! The DockerWatcher's side of bollard: list running containers (with a timeout), follow the
//! container event stream on a task, and turn bollard's types into our [`ContainerInfo`].
//!
//! Must not: keep state or decide anything; the actor does.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use bollard::Docker;
use bollard::models::{ContainerSummary, EventMessage, PortSummaryTypeEnum};
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::StreamExt;

use crate::discovery::docker::{ContainerInfo, ContainerPort};

/// The container events the watcher acts on.
pub(super) const EVENTS: [&str; 4] = ["start", "die", "stop", "destroy"];

/// One container event of connection `generation` (internal).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct ContainerEvent {
    pub(super) generation: u64,
    pub(super) action: String,
    pub(super) id: String,
}

/// The event stream of connection `generation` ended or failed (internal).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct EventsEnded {
    pub(super) generation: u64,
    pub(super) why: String,
}

/// Lists the running containers; an error or `timeout` is the error text.
pub(super) async fn list(docker: Docker, timeout: Duration) -> Result<Vec<ContainerInfo>, String> {
    let options = ListContainersOptionsBuilder::default().all(false).build();
    match tokio::time::timeout(timeout, docker.list_containers(Some(options))).await {
        Ok(Ok(list)) => Ok(list.iter().map(container_info).collect()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("listing containers took longer than {timeout:?}")),
    }
}

/// Follows the container events on a task of its own, sending them to `to`; ends with one
/// [`EventsEnded`]. Aborting the handle stops it.
pub(super) fn follow_events<A>(
    docker: Docker,
    generation: u64,
    to: Addr<A>,
) -> tokio::task::JoinHandle<()>
where
    A: Actor<Context = Context<A>> + Handler<ContainerEvent> + Handler<EventsEnded>,
{
    actix::spawn(async move {
        let filters = HashMap::from([("type", vec!["container"]), ("event", EVENTS.to_vec())]);
        let options = EventsOptionsBuilder::default().filters(&filters).build();
        let mut stream = docker.events(Some(options));
        let why = loop {
            match stream.next().await {
                Some(Ok(event)) => {
                    if let Some((action, id)) = action_and_id(event) {
                        to.do_send(ContainerEvent {
                            generation,
                            action,
                            id,
                        });
                    }
                }
                Some(Err(err)) => break err.to_string(),
                None => break "the event stream ended".to_owned(),
            }
        };
        to.do_send(EventsEnded { generation, why });
    })
}

/// The action and container ID of an event; `None` when either is missing.
fn action_and_id(event: EventMessage) -> Option<(String, String)> {
    let id = event.actor?.id.filter(|id| !id.is_empty())?;
    // Some engines send `exec_start: sh` etc.: keep the verb only.
    let action = event.action?.split(':').next()?.trim().to_owned();
    Some((action, id))
}

/// Our own small view of a listed container; missing fields are empty, never a panic.
pub(super) fn container_info(c: &ContainerSummary) -> ContainerInfo {
    let ports = c.ports.iter().flatten().map(|p| ContainerPort {
        private: p.private_port,
        public: p.public_port.unwrap_or(0),
        kind: match p.typ {
            Some(PortSummaryTypeEnum::TCP) => "tcp",
            Some(PortSummaryTypeEnum::UDP) => "udp",
            Some(PortSummaryTypeEnum::SCTP) => "sctp",
            Some(PortSummaryTypeEnum::EMPTY) | None => "",
        }
        .to_owned(),
        ip: p.ip.clone().unwrap_or_default(),
    });
    ContainerInfo {
        id: c.id.clone().unwrap_or_default(),
        names: c.names.clone().unwrap_or_default(),
        image: c.image.clone().unwrap_or_default(),
        created: c.created.unwrap_or(0),
        labels: c
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ports: ports.collect(),
    }
}
