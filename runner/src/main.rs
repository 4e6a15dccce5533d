//! The `wasmjob` binary: see `wasmjob --help` and the crate's `cli` module.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process before anything is allocated. With them,
/// the first touch of each 2 MiB region of the heap (and of every thread's arena) zeroes all of
/// it: a third of a short `wasmjob run`, and a fifth of the controller's time in a Job of tiny
/// pods. Small pages cost nothing measurable in return (`wasmjob bench`). It runs as a
/// constructor, not in `main`: the Rust runtime allocates before `main` (the main thread's
/// record), and that first touch of the allocator's arena, which the allocator asks to be
/// backed by huge pages, zeroed 2 MiB in every process (0.4 ms of CPU of a one-pod `run`).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NO_HUGE_PAGES: extern "C" fn() = {
    extern "C" fn no_huge_pages() {
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
    no_huge_pages
};

fn main() {
    // Many pods, each with a few open files: take the descriptors the system allows.
    wasmjob::sandbox::raise_descriptor_limit();
    let code = wasmjob::cli::main();
    // A command has committed what it wrote, closed its files and waited for its work when it
    // returns (`run` leaves the store's connections to the process's end when closing them
    // would do nothing: `Manager::close_before_exit`); what is left is tearing down memory the
    // kernel takes back at once anyway — the allocator alone gives its arenas back page range
    // by page range, a tenth of a short `wasmjob run`. So the process ends here, with its
    // output flushed, and no destructors run.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process; nothing runs after it.
    unsafe { libc::_exit(i32::from(code)) }
}
