//! The `wasmjob` binary: see `wasmjob --help` and the crate's `cli` module.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // With transparent huge pages, the first touch of each 2 MiB region of the heap (and of
    // every thread's arena) zeroes all of it: a third of a short `wasmjob run`, and a fifth of
    // the controller's time in a Job of tiny pods. Small pages cost nothing measurable in
    // return (`wasmjob bench`).
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // Many pods, each with a few open files: take the descriptors the system allows.
    wasmjob::sandbox::raise_descriptor_limit();
    let code = wasmjob::cli::main();
    // A command has closed what it opened (the store's connections, files) and waited for its
    // work when it returns; what is left is tearing down memory the kernel takes back at once
    // anyway — the allocator alone gives its arenas back page range by page range, a tenth of
    // a short `wasmjob run`. So the process ends here, with its output flushed, and no
    // destructors run.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process; nothing runs after it.
    unsafe { libc::_exit(i32::from(code)) }
}
