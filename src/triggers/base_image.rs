//! Base-image triggers: recording what builds used, the watcher, registry notifications and
//! cascades.
//!
//! - `record`: after each successful run, the images it built from and pushed (with the digests
//!   actually used) replace the task's previous record, and the tasks building from what it
//!   pushed are queued at once (the cascade).
//! - `watch`: every distinct base image is asked of its registry once per interval, however many
//!   tasks use it; a digest change waits out the quiet period (`change`) and then queues the
//!   dependents.
//! - `notify`: registry notifications make the pushed images due for a check at once.
//! - `view`: what `task deps` and `image list` show.
//!
//! All of them queue through `change::queue_dependents`, whose idempotency key
//! `image:<task>:<image>:<digest>` makes the watcher, a notification and a cascade that see the
//! same new digest queue one run.

mod change;
pub mod notify;
mod record;
mod refs;
mod view;
mod watch;

pub use record::run_finished;
pub use refs::canonical;
pub use view::{task_dependencies, watched_images};
pub use watch::run;
