//! Running HAProxy's commands and talking to its sockets, always with a time limit and a
//! bounded read.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::process::Command;

/// How much of a command's stdout and of its stderr is kept for the error message.
const OUTPUT_LIMIT: usize = 4096;
/// How much of a socket's reply is read.
const REPLY_LIMIT: usize = 64 * 1024;
/// How long a command's output is still read once it exited (a daemon it started may hold
/// the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// Runs `command` with `/bin/bash -c`, as Go did.
pub(super) async fn run_shell(command: &str, timeout: Duration) -> Result<(), String> {
    let mut cmd = Command::new("/bin/bash");
    cmd.arg("-c").arg(command);
    run(cmd, command, timeout).await
}

/// Runs `program` with `args`, no shell.
pub(super) async fn run_program(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<(), String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run(cmd, &format!("{program} {}", args.join(" ")), timeout).await
}

/// Runs `cmd`; an error says `Error running '<shown>': <status>` and what it printed.
async fn run(mut cmd: Command, shown: &str, timeout: Duration) -> Result<(), String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("Error running '{shown}': {e}"))?;
    let stdout = tokio::spawn(read_bounded(child.stdout.take(), OUTPUT_LIMIT));
    let stderr = tokio::spawn(read_bounded(child.stderr.take(), OUTPUT_LIMIT));
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(format!("Error running '{shown}': {e}")),
        Err(_) => {
            let _ = child.kill().await;
            stdout.abort();
            stderr.abort();
            return Err(format!(
                "Error running '{shown}': timed out after {timeout:?}"
            ));
        }
    };
    if status.success() {
        stdout.abort();
        stderr.abort();
        return Ok(());
    }
    let out = collect(stdout).await;
    let err = collect(stderr).await;
    Err(format!("Error running '{shown}': {status}\n{out}\n{err}"))
}

async fn collect(task: tokio::task::JoinHandle<String>) -> String {
    let abort = task.abort_handle();
    match tokio::time::timeout(OUTPUT_GRACE, task).await {
        Ok(Ok(text)) => text,
        _ => {
            abort.abort();
            String::new()
        }
    }
}

/// Reads `from` to its end, keeping the first `limit` bytes (the rest is drained, so the
/// writer never blocks on a full pipe).
async fn read_bounded<R: AsyncRead + Unpin>(from: Option<R>, limit: usize) -> String {
    let Some(mut from) = from else {
        return String::new();
    };
    let (mut kept, mut buf) = (Vec::new(), [0u8; 4096]);
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
    }
    String::from_utf8_lossy(&kept).trim().to_owned()
}

/// Sends one command line to an HAProxy CLI socket (stats or master) and returns the reply.
pub(super) async fn cli(socket: &Path, line: &str, timeout: Duration) -> Result<String, String> {
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await?;
        stream.write_all(format!("{line}\n").as_bytes()).await?;
        stream.shutdown().await?;
        let mut reply = Vec::new();
        (&mut stream)
            .take(REPLY_LIMIT as u64)
            .read_to_end(&mut reply)
            .await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&reply).into_owned())
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(format!("{}: {e}", socket.display())),
        Err(_) => Err(format!("{}: no reply within {timeout:?}", socket.display())),
    }
}
