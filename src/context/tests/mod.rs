//! Tests of the context module against real tools: GNU tar, git daemon, dockerd.

mod archive;
mod git;
mod pack;
mod pack_bench;
mod support;
mod tarball;
mod volume_tar;
