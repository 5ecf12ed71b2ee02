//! The command-line client: `sidecar services`, `service NAME`, `members`, `watch`,
//! `drain ID`, `subsystems`, `restart NAME`, `gossip`, talking to a node's HTTP API
//! (README, "Command-line client").
//!
//! `main` hands the arguments here first ([`run_if_client`]); anything that is not a client
//! command runs the daemon exactly as before. What is printed comes from the pure
//! [`render`]; this module only parses the command line, makes the requests and maps
//! failures to messages and exit codes ([`Failure`]).

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub mod render;
#[cfg(test)]
mod tests;

/// The client commands (the first argument that selects the client).
pub const COMMANDS: [&str; 8] = [
    "services",
    "service",
    "members",
    "watch",
    "drain",
    "subsystems",
    "restart",
    "gossip",
];

/// How long a request (other than `watch`) may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest answer read (a watch document included).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// `sidecar <command>`: the client's command line.
#[derive(Debug, Parser)]
#[command(
    name = "sidecar",
    about = "Ask a Sidecar node about its services, members and subsystems",
    after_help = "Exit codes: 0 done, 1 other error, 2 usage, 3 node unreachable, \
                  4 refused (admin token), 5 unknown name or ID.\n\
                  The admin token is read from SIDECAR_ADMIN_TOKEN."
)]
pub struct ClientCli {
    /// The node's HTTP API.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = "http://localhost:7777"
    )]
    pub node: String,
    /// Print the node's JSON instead of a table (`watch`: one document per line).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The client's commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Every service: instances by status and service ports.
    Services,
    /// One service's instances.
    Service {
        /// The service name.
        name: String,
    },
    /// The cluster members.
    Members,
    /// Follow the catalogue: one line per instance that appears, changes status or goes.
    Watch,
    /// Take a local service instance out of rotation (DRAINING).
    Drain {
        /// The instance's ID.
        id: String,
    },
    /// The node's subsystems, their state and restarts (admin API).
    Subsystems,
    /// Restart one subsystem (admin API).
    Restart {
        /// The subsystem's name, as `sidecar subsystems` lists it.
        name: String,
    },
    /// The gossip statistics (admin API).
    Gossip,
}

/// Why a command failed, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Exit 3: no answer from the node.
    #[error("cannot reach the node at {node}: {reason}")]
    Unreachable {
        /// The `--node` URL.
        node: String,
        /// The connection error.
        reason: String,
    },
    /// Exit 4: the admin API refused the token (401) or the client (403).
    #[error("{0}")]
    Refused(String),
    /// Exit 5: the node knows no such service, instance or subsystem.
    #[error("{0}")]
    Unknown(String),
    /// Exit 1: anything else (an unexpected answer, a broken stream, a closed stdout).
    #[error("{0}")]
    Other(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Unreachable { .. } => 3,
            Failure::Refused(_) => 4,
            Failure::Unknown(_) => 5,
            Failure::Other(_) => 1,
        }
    }
}

/// Runs the client when `args` name a client command (or start with `--node`/`--json`);
/// `None` leaves them to the daemon.
pub fn run_if_client(args: &[OsString]) -> Option<ExitCode> {
    let first = args.get(1)?.to_str()?;
    let is_client = COMMANDS.contains(&first) || first.starts_with("--node") || first == "--json";
    if !is_client {
        return None;
    }
    let cli = match ClientCli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let token = std::env::var("SIDECAR_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    Some(run(&cli, token))
}

/// Runs one command to its end on a runtime of its own; prints failures on stderr.
pub fn run(cli: &ClientCli, token: Option<String>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(execute(cli, token)),
        Err(err) => Err(Failure::Other(format!("cannot start: {err}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("sidecar: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The node's API, as the client reaches it.
struct Node {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

async fn execute(cli: &ClientCli, token: Option<String>) -> Result<(), Failure> {
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|err| Failure::Other(format!("cannot build the HTTP client: {err}")))?;
    let node = Node {
        base: cli.node.trim_end_matches('/').to_owned(),
        token,
        http,
    };
    let json = cli.json;
    match &cli.command {
        Command::Services => show(&node, "/api/services.json", json, render::services).await,
        Command::Service { name } => {
            let path = format!("/api/services/{}.json", segment(name));
            show(&node, &path, json, render::service).await
        }
        Command::Members => show(&node, "/api/services.json", json, render::members).await,
        Command::Subsystems => show(&node, "/api/admin/subsystems", json, render::subsystems).await,
        Command::Gossip => show(&node, "/api/admin/gossip", json, render::gossip).await,
        Command::Drain { id } => {
            let path = format!("/api/services/{}/drain", segment(id));
            act(&node, &path, json, "Message").await
        }
        Command::Restart { name } => {
            let path = format!("/api/admin/subsystems/{}/restart", segment(name));
            act(&node, &path, json, "").await
        }
        Command::Watch => watch(&node, json).await,
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// GETs `path` and prints it as JSON or through `table`.
async fn show(
    node: &Node,
    path: &str,
    json: bool,
    table: fn(&Value) -> String,
) -> Result<(), Failure> {
    let doc = node.call(Method::GET, path).await?;
    if json {
        print_json(&doc)
    } else {
        print(&table(&doc))
    }
}

/// POSTs `path`; prints the answer's `field` (or the JSON with `--json`).
async fn act(node: &Node, path: &str, json: bool, field: &str) -> Result<(), Failure> {
    let doc = node.call(Method::POST, path).await?;
    if json {
        return print_json(&doc);
    }
    let line = match doc.get(field).and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => format!("done: {}", path.trim_start_matches("/api/")),
    };
    print(&format!("{line}\n"))
}

fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| Failure::Other(format!("cannot write the output: {err}")))
}

fn print_json(doc: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(doc).unwrap_or_default();
    print(&format!("{text}\n"))
}

impl Node {
    /// Sends one request; `Ok` with the JSON body (`null` if empty) on a 2xx.
    async fn call(&self, method: Method, path: &str) -> Result<Value, Failure> {
        let response = self.send(method, path, Some(REQUEST_TIMEOUT)).await?;
        let status = response.status();
        let body = read_limited(response).await?;
        let doc = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            Ok(doc)
        } else {
            Err(refusal(status, path, &doc))
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, Failure> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request.send().await.map_err(|err| Failure::Unreachable {
            node: self.base.clone(),
            reason: crate::actors::http::error_chain(&err),
        })
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(&mut response).await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Failure::Other("the node's answer is too large".to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn next_chunk(response: &mut reqwest::Response) -> Result<Option<bytes::Bytes>, Failure> {
    response
        .chunk()
        .await
        .map_err(|err| Failure::Other(format!("the answer broke off: {err}")))
}

/// The failure for a non-2xx answer, with the node's own message when it sent one.
fn refusal(status: StatusCode, path: &str, doc: &Value) -> Failure {
    let message = doc["message"].as_str().unwrap_or_default().to_owned();
    match status {
        StatusCode::UNAUTHORIZED => Failure::Refused(
            "the node refused the admin token (401): set SIDECAR_ADMIN_TOKEN to the node's token"
                .to_owned(),
        ),
        StatusCode::FORBIDDEN => Failure::Refused(
            "the node answers the admin API only on loopback when it has no token (403)".to_owned(),
        ),
        StatusCode::NOT_FOUND if !message.is_empty() => Failure::Unknown(message),
        StatusCode::NOT_FOUND => Failure::Unknown(format!("not found: {path}")),
        other if message.is_empty() => Failure::Other(format!("{path}: the node answered {other}")),
        other => Failure::Other(format!("{path}: the node answered {other}: {message}")),
    }
}

/// Follows `/api/watch` until the node ends the stream; prints each change as it comes.
async fn watch(node: &Node, json: bool) -> Result<(), Failure> {
    let mut response = node.send(Method::GET, "/api/watch", None).await?;
    if !response.status().is_success() {
        return Err(refusal(response.status(), "/api/watch", &Value::Null));
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut lines = render::WatchLines::default();
    while let Some(chunk) = next_chunk(&mut response).await? {
        pending.extend_from_slice(&chunk);
        if pending.len() > MAX_BODY {
            return Err(Failure::Other("a watch document is too large".to_owned()));
        }
        let (docs, used) = split_documents(&pending);
        pending.drain(..used);
        for doc in docs {
            if json {
                print(&format!("{doc}\n"))?;
            } else {
                let changes = lines.next(&doc);
                print(&changes.iter().map(|l| format!("{l}\n")).collect::<String>())?;
            }
        }
    }
    Err(Failure::Other("the node ended the watch stream".to_owned()))
}

/// The complete JSON documents at the start of `buffer` (concatenated, as the watch stream
/// sends them) and how many bytes they took; an incomplete last one waits for more.
pub fn split_documents(buffer: &[u8]) -> (Vec<Value>, usize) {
    let mut stream = serde_json::Deserializer::from_slice(buffer).into_iter::<Value>();
    let mut docs = Vec::new();
    let mut used = 0;
    while let Some(Ok(doc)) = stream.next() {
        docs.push(doc);
        used = stream.byte_offset();
    }
    (docs, used)
}
