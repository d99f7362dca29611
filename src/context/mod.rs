//! Build contexts: where a run's files come from, and what the task-file pipeline may read of them.

pub mod alias_sources;
pub mod git_head;
