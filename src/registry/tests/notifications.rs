//! A real registry configured to notify a listener in the test, as drydock's
//! `POST /hooks/registry` endpoint will be.

use std::time::Duration;

use axum::http::HeaderMap;
use tokio::sync::mpsc;

use super::support::{TestRegistry, build_unique_image, push};
use crate::registry::{ClientConfig, NOTIFICATION_MEDIA_TYPE, PushEvent, RegistryClient, parse_notification};

/// One delivery as the hook saw it.
struct Delivery {
    authorization: Option<String>,
    content_type: Option<String>,
    events: Vec<PushEvent>,
}

/// Serves `POST /hook` on a free port and forwards every delivery.
async fn hook_listener() -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sender = sender.clone();
            async move {
                let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let _ = sender.send(Delivery {
                    authorization: header("authorization"),
                    content_type: header("content-type"),
                    events: parse_notification(&body).expect("registry sent a valid envelope"),
                });
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, receiver)
}

#[tokio::test]
async fn push_notification_names_the_pushed_manifest_and_carries_the_secret() {
    let (hook, mut deliveries) = hook_listener().await;
    let registry = TestRegistry::start(&format!(
        "notifications:\n  endpoints:\n    - name: drydock\n      url: http://{hook}/hook\n\
         \x20     headers:\n        Authorization: [Bearer s3cret]\n\
         \x20     timeout: 1s\n      threshold: 1\n      backoff: 1s\n"
    ))
    .await;
    let image = build_unique_image().await;
    let pushed = push(&image.0, &format!("{}/team/notify:v1", registry.addr), None).await;

    // Blob pushes (and pulls) arrive first and must parse to nothing.
    let mut filtered_out = 0;
    let event = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let delivery = deliveries.recv().await.expect("hook listener stopped");
            assert_eq!(delivery.authorization.as_deref(), Some("Bearer s3cret"));
            assert_eq!(delivery.content_type.as_deref(), Some(NOTIFICATION_MEDIA_TYPE));
            match delivery.events.into_iter().next() {
                Some(event) => break event,
                None => filtered_out += 1,
            }
        }
    })
    .await
    .expect("no manifest push notification arrived");

    let head = RegistryClient::new(ClientConfig::default())
        .unwrap()
        .manifest_digest(&registry.addr, "team/notify", "v1", None)
        .await
        .unwrap();
    assert_eq!(event.repository, "team/notify");
    assert_eq!(event.tag.as_deref(), Some("v1"));
    assert_eq!(event.registry_host, registry.addr);
    assert_eq!(event.digest, head.digest);
    assert_eq!(event.digest, pushed);
    assert!(filtered_out >= 1, "expected blob events before the manifest push");
}
