//! The process-level tests of the `wasmjob` binary, in one test binary (one link instead of one
//! per file): each module is a suite over the real binary, `common` is their harness, `hostile`
//! and `kube` are the helpers of the hardening and real-client suites. Run one suite with
//! `cargo test -p wasmjob --test suite <module>::`.

mod common;
mod hostile;
mod kube;

mod cli;
mod cluster;
mod conformance_e2e;
mod example_mandelbrot;
mod example_wordfreq;
mod examples_flaky_runaway;
mod faults;
mod faults_disk;
mod faults_large;
mod hostile_files;
mod hostile_guests;
mod hostile_modules;
mod indexed_and_policies;
mod inspect;
mod isolation;
mod job_semantics;
mod kube_api;
mod kube_clients;
mod kube_openapi;
mod kube_writes;
mod lifecycle;
mod live_changes;
mod malformed_cli;
mod nodes;
mod outputs;
mod queue;
mod sandbox_escape;
mod scheduling;
mod sdk;
