//! The API listener against hostile clients: half-sent headers, stalled bodies and floods of
//! sockets are cut off, while a live log stream that only waits keeps going.

use crate::helper::daemon::TestDaemon;
use crate::helper::wait;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(mut socket: TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, socket.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept the connection open for {within:?}; it sent {got:?}");
    String::from_utf8_lossy(&got).into_owned()
}

async fn connect(d: &TestDaemon) -> TcpStream {
    TcpStream::connect(d.daemon.as_ref().unwrap().addr).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_header_client_is_cut_off_while_a_log_stream_goes_on() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |config| {
        config.connections.header_read_timeout = Duration::from_secs(1);
        config.connections.idle_timeout = Duration::from_secs(3);
    })
    .await;
    // A run that prints slowly: its follower waits longer than both timeouts between lines... and
    // at the start, before the first line.
    let script =
        "steps:\n  - cmd: busybox sh -c 'busybox sleep 2; for i in 1 2 3 4; do echo tick-$i; busybox sleep 2; done'\n";
    let (status, run) = d.post("/v1/runs", json!({"step": {"kind": "file", "content": script}})).await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let follower = {
        let d = &d;
        let id = id.clone();
        async move { crate::daemon::follow(d, &id, None).await }
    };
    let slow = async {
        // Half a request, then nothing: the header-read timeout closes it without an answer.
        let mut socket = connect(&d).await;
        socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: drydock\r\nX-Slow: ").await.unwrap();
        let answer = read_to_close(socket, Duration::from_secs(20)).await;
        assert!(!answer.contains("200 OK"), "{answer}");
        // A whole, authenticated header and a body that never comes: the handler waits for the
        // body, and the idle timeout closes the connection without an answer.
        let mut socket = connect(&d).await;
        let head = format!(
            "POST /v1/runs HTTP/1.1\r\nHost: drydock\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
            d.token
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let answer = read_to_close(socket, Duration::from_secs(30)).await;
        assert!(!answer.contains("HTTP/1.1"), "answered instead of waiting for the body: {answer}");
    };
    let ((live, end), ()) = tokio::join!(follower, slow);
    assert_eq!(end["status"], "Succeeded", "{end}");
    for i in 1..=4 {
        assert!(live.contains(&format!("tick-{i}")), "the follower missed tick-{i}: {live}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_get_a_clear_503_until_one_closes() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |config| {
        config.connections.max_connections = 3;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&d).await);
    }
    // The daemon accepts in order, so by the time this one is answered the three hold every slot.
    let mut extra = connect(&d).await;
    extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: drydock\r\n\r\n").await.unwrap();
    let answer = read_to_close(extra, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many connections") && answer.contains("--max-connections"), "{answer}");
    drop(held);
    let client = drydock::tls::client();
    wait::until("a slot frees once the held connections close", Duration::from_secs(10), || async {
        client.get(format!("{}/healthz", d.url)).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
}
