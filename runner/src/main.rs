//! The `wasmjob` binary: see `wasmjob --help` and the crate's `cli` module.

fn main() -> std::process::ExitCode {
    wasmjob::cli::main()
}
