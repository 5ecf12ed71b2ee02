//! Real-engine Docker helpers: build the test image from local files (no registry), run
//! labelled containers that are removed on drop, and a unix-socket proxy to the engine that a
//! test can cut and restore.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The test image: `FROM scratch` + static busybox running `httpd -f -p 8080` on `/www`.
pub const IMAGE: &str = "sidecar-test-web:local";

/// The engine's socket.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// Runs `docker args…`, panicking with its stderr on failure; returns trimmed stdout.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Builds [`IMAGE`] once per test process (idempotent: same tag, same content).
pub fn build_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let busybox = Path::new("/bin/busybox");
        assert!(
            busybox.exists(),
            "/bin/busybox missing: apt-get install busybox-static (.ci/install-deps)"
        );
        std::fs::copy(busybox, dir.path().join("busybox")).unwrap();
        std::fs::create_dir(dir.path().join("www")).unwrap();
        std::fs::write(dir.path().join("www/index.html"), "ok\n").unwrap();
        let dockerfile = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n\
            ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n";
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
        docker(&[
            "build",
            "-q",
            "-t",
            IMAGE,
            &dir.path().display().to_string(),
        ]);
    });
}

/// A name no other test (or test run) uses: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// A running container of [`IMAGE`], force-removed when dropped.
pub struct Container {
    pub name: String,
    pub id: String,
}

impl Container {
    /// `docker run -d --name <name> -p 127.0.0.1::8080 -l k=v… IMAGE`.
    pub fn run(name: &str, labels: &[(&str, &str)]) -> Container {
        build_image();
        let mut args: Vec<String> = ["run", "-d", "--name", name, "-p", "127.0.0.1::8080"]
            .map(String::from)
            .to_vec();
        for (k, v) in labels {
            args.push("-l".into());
            args.push(format!("{k}={v}"));
        }
        args.push(IMAGE.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = docker(&args);
        Container {
            name: name.to_owned(),
            id,
        }
    }

    /// The service ID: the first 12 characters of the container ID.
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }

    /// The host port 8080 is published on.
    pub fn public_port(&self) -> i64 {
        let mapping = docker(&["port", &self.name, "8080/tcp"]);
        let first = mapping.lines().next().unwrap();
        first.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// `docker stop -t 1` (busybox httpd as PID 1 ignores SIGTERM; 1 s, then SIGKILL).
    pub fn stop(&self) {
        docker(&["stop", "-t", "1", &self.name]);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

/// A unix-socket proxy to the Docker engine. While cut, open connections are shut down and
/// new ones are closed at once.
pub struct SocketProxy {
    pub path: PathBuf,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<UnixStream>>>,
    _dir: tempfile::TempDir,
}

impl SocketProxy {
    pub fn start() -> SocketProxy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (flag, conns) = (Arc::clone(&cut), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(engine) = UnixStream::connect(DOCKER_SOCKET) else {
                    continue;
                };
                let mut conns = conns.lock().unwrap();
                conns.push(client.try_clone().unwrap());
                conns.push(engine.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), engine.try_clone().unwrap());
                pipe(engine, client);
            }
        });
        SocketProxy {
            path,
            cut,
            open,
            _dir: dir,
        }
    }

    /// `unix://<path>`, for `DOCKER_URL`.
    pub fn url(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for conn in self.open.lock().unwrap().drain(..) {
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Accepts and forwards connections again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` → `to` on a thread until either side closes.
fn pipe(mut from: UnixStream, mut to: UnixStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}
