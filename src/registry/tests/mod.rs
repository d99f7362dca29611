//! Integration tests for the registry module.

mod faults;
mod notifications;
mod real_registry;
mod support;
