//! Registry notifications, the fast path of base-image triggers. A notification is only a hint
//! (anyone who knows the token could send one): it makes the named images due for a check, and
//! the digest that fires is always the one the registry answers.

use super::refs;
use crate::daemon::Service;
use crate::registry::PushEvent;
use crate::store::{ImageState, StoreResult};
use crate::triggers::Hub;
use std::collections::BTreeSet;

/// Handles the push events of one notification: each pushed tag that some task builds from is
/// made due for a check now, in the database (the watcher may run on another node, and a
/// recheck that fails on this one is not lost), and the watcher on this node is woken. Returns
/// the images it asked to recheck.
pub async fn pushed(svc: &Service, hub: &Hub, events: &[PushEvent]) -> StoreResult<BTreeSet<String>> {
    let tracked: BTreeSet<String> = svc.store().base_images().await?.into_iter().collect();
    let mut rechecks = BTreeSet::new();
    for e in events {
        let Some(tag) = &e.tag else { continue };
        let Some(image) = refs::canonical(&format!("{}/{}:{tag}", e.registry_host, e.repository)) else {
            continue;
        };
        if tracked.contains(&image) && rechecks.insert(image.clone()) {
            due_now(svc, &image).await;
            // Wakes the watcher at once when it runs on this node; the digest tells it when its
            // rechecks have seen the push.
            let _ = hub.recheck.send(format!("{image}@{}", e.digest));
        }
    }
    Ok(rechecks)
}

/// Makes the image due for a check now.
async fn due_now(svc: &Service, image: &str) {
    let now = svc.clock().now();
    let result = async {
        let mut state = svc.store().image_state(image).await?.unwrap_or_else(|| ImageState::new(image));
        if state.next_check.is_none_or(|t| t > now) {
            state.next_check = Some(now);
            svc.store().put_image_state(&state).await?;
        }
        Ok::<_, crate::store::StoreError>(())
    };
    if let Err(e) = result.await {
        tracing::warn!(image, error = %e, "registry notification: cannot mark the image for a recheck");
    }
}
