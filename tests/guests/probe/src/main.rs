//! `probe` — a multi-purpose WASI (preview 1) guest for wasmjob's tests.
//!
//! The program executes a sequence of *steps* given on its command line
//! (`argv[0]` is the program name, the steps follow), in order, e.g.
//!
//! ```text
//! probe print hello eprint oops exit 3
//! ```
//!
//! Every step takes a fixed number of arguments, the words that follow it.
//! When all steps have run the program exits with status 0. A step that
//! fails exits with status 1 (after a message on stderr); a malformed command
//! line (unknown step, missing argument, bad number) exits with status 2:
//! `probe: unknown step <s>`, `probe: step <s> needs N argument(s): …` or
//! `probe: step <s>: <what> must be …, got "<x>"`.
//!
//! Steps (`TEXT`, `PATH`, … are single arguments; numbers are decimal):
//!
//! | step | effect |
//! | --- | --- |
//! | **output** | |
//! | `print TEXT` | `TEXT` and a newline on stdout |
//! | `eprint TEXT` | `TEXT` and a newline on stderr |
//! | `printn COUNT TEXT` | `TEXT` on stdout `COUNT` times, one per line |
//! | `flood BYTES` | exactly `BYTES` bytes on stdout, written in 64 KiB chunks: byte `i` is `\n` when `i % 100 == 99`, else `x` |
//! | `binary` | the 256 bytes `00..=ff`, then the invalid UTF-8 `c3 28 a0 a1 ff fe`, then `\n` (263 bytes) on stdout |
//! | **ending** | |
//! | `exit CODE` | `std::process::exit(CODE)` (`CODE` is an `i32`) |
//! | `panic` | `panic!` (prints `probe: panic step` in the panic message, then traps) |
//! | `abort` | `std::process::abort()` (traps) |
//! | **time and CPU** | |
//! | `sleep MS` | `std::thread::sleep` for `MS` milliseconds |
//! | `spin` | loop forever without any host call |
//! | `spin-ms MS` | busy loop for `MS` milliseconds, reading the clock |
//! | `burn N` | `N` iterations of a cheap arithmetic loop, no host calls |
//! | **memory** | |
//! | `alloc MIB` | allocate `MIB` MiB in 1 MiB blocks, write every byte, keep them until exit; prints `allocated MIB MiB`; on failure prints `alloc: out of memory after K of MIB MiB` to stderr and aborts |
//! | `grow-pages N` | `memory.grow` memory 0 by `N` 64 KiB pages and print the result: the old size in pages, or `-1` on failure |
//! | `recurse` | unbounded recursion (stack overflow, traps) |
//! | **environment** | |
//! | `env` | every environment variable as `K=V`, sorted by name, one per line |
//! | `args` | every argv entry (including argv\[0\]) on its own line |
//! | `cwd` | the current directory (`std::env::current_dir`) |
//! | **files** | |
//! | `read PATH` | the file's bytes, exactly, on stdout; on error prints `error: <Kind>` (e.g. `error: NotFound`) to stderr and exits 1 |
//! | `write PATH TEXT` | create/truncate the file and write `TEXT` (no newline added) |
//! | `append PATH TEXT` | append `TEXT` (no newline added), creating the file if needed |
//! | `ls PATH` | the entries' names, sorted, one per line |
//! | `mkdir PATH` | create the directory and missing parents |
//! | `rm PATH` | remove a file or symlink, or a directory recursively |
//! | `rename FROM TO` | `std::fs::rename` |
//! | `symlink TARGET LINK` | create symlink `LINK` pointing to `TARGET` |
//! | `exists PATH` | `yes` or `no` (follows symlinks) |
//! | `hardlink FROM TO` | create hard link `TO` to the file `FROM` |
//! | `fill PATH MIB` | write `MIB` MiB (0: without end) of `x` to the file, in 64 KiB chunks; on error prints `fill: <Kind> after K bytes` to stderr and exits 1 |
//! | `files DIR COUNT` | create `COUNT` (0: without end) empty files `DIR/f<n>`; on error prints `files: <Kind> after K files` to stderr and exits 1 |
//! | `hold-files DIR COUNT` | create `COUNT` files `DIR/h<n>` (0: until an open fails) and keep them open until the program ends; prints `held K files` or `held K files, then <Kind>` |
//! | `long-name DIR LEN` | create the file `DIR/` + `LEN` times `a`; prints `created` or `error: <Kind>` (never exits 1) |
//! | `expect-file PATH TEXT` | exit 1 (with a message) unless the file holds exactly `TEXT` |
//! | `fail-unless-exists PATH` | exit 1 (with a message) if `PATH` does not exist |
//! | `fail-if-exists PATH` | exit 1 (with a message) if `PATH` exists |
//! | **restarts** | |
//! | `count-runs PATH` | read the integer in `PATH` (0 if missing), add 1, write it back (`N\n`) and print it |
//! | `fail-until PATH N` | same counter update (nothing printed); if the new count is below `N`, print `fail-until: run K of N, failing` to stderr and exit 1, else go on |
//! | **scenarios** | |
//! | `plan DIR RULES` | behave as the first matching rule of `RULES` says (see below); ends the program |
//!
//! `plan DIR RULES` plays one pod of a conformance scenario. `DIR` is a
//! directory shared by every pod of the Job (a hostPath volume). The pod
//! learns its *pod number* (creation order among all the Job's pods, as seen
//! by the guests starting) by creating `DIR/pod-<n>` for `n = 0, 1, 2, …`
//! with `create_new` (the first that succeeds is its number), and its
//! *attempt* (the n-th pod of its completion index, or of the Job for a
//! NonIndexed Job) the same way with `DIR/index-<i>-<n>` (`DIR/job-<n>`
//! without `JOB_COMPLETION_INDEX`). `RULES` is a `;`-separated list of
//! `SELECTORS:ACTION`; `SELECTORS` is `*` or a `,`-separated list of
//! `KEY=V|V|…` with `KEY` one of `index`, `attempt`, `pod`; a rule matches
//! when every selector does. The first matching rule's `ACTION` runs:
//! `succeed@MS` (sleep `MS` ms, exit 0), `fail=CODE@MS` (sleep `MS` ms, exit
//! `CODE`) or `run` (sleep forever); without a match the pod also sleeps
//! forever. It prints `plan: pod P index I attempt A: ACTION` first. A
//! malformed `RULES` exits 2.
//!
//! Errors of the file steps other than `read` (and of `cwd`, `count-runs`,
//! `fail-until`) print `error: <Kind>: <message>` to stderr (`<Kind>` is the
//! `std::io::ErrorKind` name, e.g. `error: NotFound: No such file or
//! directory (os error 44)`) and exit 1.
//!
//! Stdout is flushed after every step, so output written before a trap is
//! not lost.

use std::fs;
use std::hint::black_box;
use std::io::{self, Write};
use std::path::Path;
use std::process;
use std::str::FromStr;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut steps = Steps {
        args: args.get(1..).unwrap_or_default(),
        pos: 0,
    };
    // Memory allocated by `alloc`, kept alive until the program ends.
    let mut kept: Vec<Vec<u8>> = Vec::new();
    // Files opened by `hold-files`, kept open until the program ends.
    let mut kept_files: Vec<fs::File> = Vec::new();
    while let Some(step) = steps.next_step() {
        run_step(step, &mut steps, &mut kept, &mut kept_files);
        // Nothing to do if stdout is closed; the step's own writes reported it.
        let _ = io::stdout().flush();
    }
}

/// The command line being consumed.
struct Steps<'a> {
    args: &'a [String],
    pos: usize,
}

impl<'a> Steps<'a> {
    fn next_step(&mut self) -> Option<&'a str> {
        let s = self.args.get(self.pos)?;
        self.pos += 1;
        Some(s)
    }

    /// Takes the `N` arguments of `step` (named by `names`, for the error
    /// message), or exits 2 if the command line ends too early.
    fn take<const N: usize>(&mut self, step: &str, names: [&str; N]) -> [&'a str; N] {
        let Some(args) = self.args.get(self.pos..self.pos + N) else {
            usage_error(&format!(
                "step {step} needs {N} argument(s): {}",
                names.join(" ")
            ));
        };
        self.pos += N;
        std::array::from_fn(|i| args[i].as_str())
    }

    /// Takes one numeric argument of `step`.
    fn number<T: FromStr>(&mut self, step: &str, name: &str) -> T {
        let [text] = self.take(step, [name]);
        parse_number(step, name, text)
    }
}

fn parse_number<T: FromStr>(step: &str, name: &str, text: &str) -> T {
    text.parse().unwrap_or_else(|_| {
        usage_error(&format!(
            "step {step}: {name} must be a {}, got {text:?}",
            std::any::type_name::<T>()
        ))
    })
}

/// Reports a malformed command line and exits 2.
fn usage_error(message: &str) -> ! {
    eprintln!("probe: {message}");
    process::exit(2);
}

/// Reports a failed step and exits 1.
fn fail(message: &str) -> ! {
    let _ = io::stdout().flush();
    eprintln!("{message}");
    process::exit(1);
}

/// Reports an I/O error as `error: <Kind>: <message>` and exits 1.
fn io_fail(e: &io::Error) -> ! {
    fail(&format!("error: {:?}: {e}", e.kind()));
}

fn or_fail<T>(r: io::Result<T>) -> T {
    r.unwrap_or_else(|e| io_fail(&e))
}

/// Writes bytes to stdout, exiting 1 if stdout is gone.
fn out(bytes: &[u8]) {
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        // stdout is broken: report on stderr.
        eprintln!("error: {:?}: writing stdout: {e}", e.kind());
        process::exit(1);
    }
}

fn out_line(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    out(line.as_bytes());
}

fn run_step<'a>(
    step: &str,
    steps: &mut Steps<'a>,
    kept: &mut Vec<Vec<u8>>,
    kept_files: &mut Vec<fs::File>,
) {
    match step {
        // ---- output ----
        "print" => {
            let [text] = steps.take(step, ["TEXT"]);
            out_line(text);
        }
        "eprint" => {
            let [text] = steps.take(step, ["TEXT"]);
            eprintln!("{text}");
        }
        "printn" => {
            let count: u64 = steps.number(step, "COUNT");
            let [text] = steps.take(step, ["TEXT"]);
            printn(count, text);
        }
        "flood" => flood(steps.number(step, "BYTES")),
        "binary" => {
            let mut bytes: Vec<u8> = (0..=255u8).collect();
            bytes.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe, b'\n']);
            out(&bytes);
        }

        // ---- ending ----
        "exit" => {
            let code: i32 = steps.number(step, "CODE");
            let _ = io::stdout().flush();
            process::exit(code);
        }
        "panic" => {
            let _ = io::stdout().flush();
            panic!("probe: panic step");
        }
        "abort" => {
            let _ = io::stdout().flush();
            process::abort();
        }

        // ---- time and CPU ----
        "sleep" => std::thread::sleep(Duration::from_millis(steps.number(step, "MS"))),
        "spin" => spin(),
        "spin-ms" => {
            let ms: u64 = steps.number(step, "MS");
            let deadline = Duration::from_millis(ms);
            let start = Instant::now();
            let mut x = 0u64;
            while start.elapsed() < deadline {
                x = black_box(x.wrapping_add(1));
            }
        }
        "burn" => {
            black_box(burn(steps.number(step, "N")));
        }

        // ---- memory ----
        "alloc" => alloc(steps.number(step, "MIB"), kept),
        "grow-pages" => grow_pages(steps.number(step, "N")),
        "recurse" => {
            let _ = io::stdout().flush();
            black_box(recurse(black_box(0)));
        }

        // ---- environment ----
        "env" => {
            let mut vars: Vec<(String, String)> = std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect();
            vars.sort();
            let mut text = String::new();
            for (k, v) in vars {
                text.push_str(&format!("{k}={v}\n"));
            }
            out(text.as_bytes());
        }
        "args" => {
            let mut text = String::new();
            for a in std::env::args_os() {
                text.push_str(&a.to_string_lossy());
                text.push('\n');
            }
            out(text.as_bytes());
        }
        "cwd" => out_line(&or_fail(std::env::current_dir()).display().to_string()),

        // ---- files ----
        "read" => {
            let [path] = steps.take(step, ["PATH"]);
            match fs::read(path) {
                Ok(bytes) => out(&bytes),
                Err(e) => fail(&format!("error: {:?}", e.kind())),
            }
        }
        "write" => {
            let [path, text] = steps.take(step, ["PATH", "TEXT"]);
            or_fail(fs::write(path, text));
        }
        "append" => {
            let [path, text] = steps.take(step, ["PATH", "TEXT"]);
            let mut file = or_fail(fs::OpenOptions::new().append(true).create(true).open(path));
            or_fail(file.write_all(text.as_bytes()));
        }
        "ls" => {
            let [path] = steps.take(step, ["PATH"]);
            let mut names = Vec::new();
            for entry in or_fail(fs::read_dir(path)) {
                names.push(or_fail(entry).file_name().to_string_lossy().into_owned());
            }
            names.sort();
            let mut text = String::new();
            for name in names {
                text.push_str(&name);
                text.push('\n');
            }
            out(text.as_bytes());
        }
        "mkdir" => {
            let [path] = steps.take(step, ["PATH"]);
            or_fail(fs::create_dir_all(path));
        }
        "rm" => {
            let [path] = steps.take(step, ["PATH"]);
            let meta = or_fail(fs::symlink_metadata(path));
            if meta.is_dir() {
                or_fail(fs::remove_dir_all(path));
            } else {
                or_fail(fs::remove_file(path));
            }
        }
        "rename" => {
            let [from, to] = steps.take(step, ["FROM", "TO"]);
            or_fail(fs::rename(from, to));
        }
        "symlink" => {
            let [target, link] = steps.take(step, ["TARGET", "LINK"]);
            or_fail(symlink(target, link));
        }
        "hardlink" => {
            let [from, to] = steps.take(step, ["FROM", "TO"]);
            or_fail(fs::hard_link(from, to));
        }
        "fill" => {
            let [path] = steps.take(step, ["PATH"]);
            fill(path, steps.number(step, "MIB"));
        }
        "files" => {
            let [dir] = steps.take(step, ["DIR"]);
            files(dir, steps.number(step, "COUNT"));
        }
        "hold-files" => {
            let [dir] = steps.take(step, ["DIR"]);
            let count: u64 = steps.number(step, "COUNT");
            hold_files(dir, count, kept_files);
        }
        "long-name" => {
            let [dir] = steps.take(step, ["DIR"]);
            let len: usize = steps.number(step, "LEN");
            let path = format!("{dir}/{}", "a".repeat(len));
            match fs::write(&path, "x") {
                Ok(()) => out_line("created"),
                Err(e) => out_line(&format!("error: {:?}", e.kind())),
            }
        }
        "exists" => {
            let [path] = steps.take(step, ["PATH"]);
            out_line(if Path::new(path).exists() {
                "yes"
            } else {
                "no"
            });
        }
        "expect-file" => {
            let [path, text] = steps.take(step, ["PATH", "TEXT"]);
            match fs::read(path) {
                Ok(bytes) if bytes == text.as_bytes() => {}
                Ok(bytes) => fail(&format!(
                    "expect-file: {path} holds {:?}, expected {text:?}",
                    String::from_utf8_lossy(&bytes)
                )),
                Err(e) => fail(&format!(
                    "expect-file: cannot read {path}: {:?}: {e}",
                    e.kind()
                )),
            }
        }
        "fail-unless-exists" => {
            let [path] = steps.take(step, ["PATH"]);
            if !Path::new(path).exists() {
                fail(&format!("fail-unless-exists: {path} does not exist"));
            }
        }
        "fail-if-exists" => {
            let [path] = steps.take(step, ["PATH"]);
            if Path::new(path).exists() {
                fail(&format!("fail-if-exists: {path} exists"));
            }
        }

        // ---- restarts ----
        "count-runs" => {
            let [path] = steps.take(step, ["PATH"]);
            out_line(&bump_counter(path).to_string());
        }
        "fail-until" => {
            let [path] = steps.take(step, ["PATH"]);
            let n: u64 = steps.number(step, "N");
            let run = bump_counter(path);
            if run < n {
                fail(&format!("fail-until: run {run} of {n}, failing"));
            }
        }

        // ---- scenarios ----
        "plan" => {
            let [dir, rules] = steps.take(step, ["DIR", "RULES"]);
            plan(dir, rules);
        }

        _ => usage_error(&format!("unknown step {step}")),
    }
}

/// Prints `text` `count` times, one per line, buffering the writes.
fn printn(count: u64, text: &str) {
    let mut stdout = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let result = (0..count)
        .try_for_each(|_| writeln!(stdout, "{text}"))
        .and_then(|()| stdout.flush());
    if let Err(e) = result {
        eprintln!("error: {:?}: writing stdout: {e}", e.kind());
        process::exit(1);
    }
}

/// Writes exactly `bytes` bytes of `x`, with a newline as every 100th byte,
/// in chunks of at most 64 KiB.
fn flood(bytes: u64) {
    const CHUNK: u64 = 64 * 1024;
    let mut written = 0u64;
    let mut buf = Vec::with_capacity(CHUNK as usize);
    while written < bytes {
        let n = CHUNK.min(bytes - written);
        buf.clear();
        buf.extend((written..written + n).map(|i| if i % 100 == 99 { b'\n' } else { b'x' }));
        out(&buf);
        written += n;
    }
}

/// Writes `mib` MiB (without end when 0) to `path`, 64 KiB at a time.
fn fill(path: &str, mib: u64) {
    let mut file = or_fail(fs::File::create(path));
    let chunk = vec![b'x'; 64 * 1024];
    let mut written = 0u64;
    while mib == 0 || written < mib << 20 {
        if let Err(e) = file.write_all(&chunk) {
            fail(&format!("fill: {:?} after {written} bytes", e.kind()));
        }
        written += chunk.len() as u64;
    }
}

/// Creates `count` files in `dir` (until an open fails when 0) and keeps them open.
fn hold_files(dir: &str, count: u64, kept: &mut Vec<fs::File>) {
    let mut n = 0u64;
    while count == 0 || n < count {
        match fs::File::create(format!("{dir}/h{n}")) {
            Ok(f) => kept.push(f),
            Err(e) => {
                out_line(&format!("held {n} files, then {:?}", e.kind()));
                return;
            }
        }
        n += 1;
    }
    out_line(&format!("held {n} files"));
}

/// Creates `count` (without end when 0) empty files in `dir`.
fn files(dir: &str, count: u64) {
    let mut n = 0u64;
    while count == 0 || n < count {
        if let Err(e) = fs::File::create(format!("{dir}/f{n}")) {
            fail(&format!("files: {:?} after {n} files", e.kind()));
        }
        n += 1;
    }
}

/// Loops forever without host calls (an epoch/fuel/timeout target).
fn spin() -> ! {
    let mut x = 0u64;
    loop {
        x = black_box(x.wrapping_add(1));
    }
}

/// `n` iterations of a cheap arithmetic recurrence (no host calls).
fn burn(n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        acc = black_box(
            acc.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(i | 1),
        );
    }
    acc
}

/// Allocates `mib` MiB in 1 MiB blocks, writes every byte and keeps them.
fn alloc(mib: u64, kept: &mut Vec<Vec<u8>>) {
    const MIB: usize = 1024 * 1024;
    for done in 0..mib {
        let mut block: Vec<u8> = Vec::new();
        if block.try_reserve_exact(MIB).is_err() {
            let _ = io::stdout().flush();
            eprintln!("alloc: out of memory after {done} of {mib} MiB");
            process::abort();
        }
        block.resize(MIB, 0xa5);
        kept.push(black_box(block));
    }
    out_line(&format!("allocated {mib} MiB"));
}

/// `memory.grow` on memory 0, printing the old size in pages or -1.
#[cfg(target_arch = "wasm32")]
fn grow_pages(pages: usize) {
    let old = core::arch::wasm32::memory_grow(0, pages);
    if old == usize::MAX {
        out_line("-1");
    } else {
        out_line(&old.to_string());
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn grow_pages(_pages: usize) {
    usage_error("step grow-pages is only available on wasm32");
}

/// Recurses until the stack overflows; each frame keeps 512 bytes alive.
#[allow(unconditional_recursion)]
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    recurse(black_box(depth + 1)).wrapping_add(frame[depth as usize % 64])
}

/// Creates a symlink through wasi-libc's `symlink(3)` (which resolves `link`
/// against the preopened directories), since std's `symlink_path` is
/// unstable.
#[cfg(target_os = "wasi")]
fn symlink(target: &str, link: &str) -> io::Result<()> {
    use std::ffi::{CString, c_char, c_int};
    unsafe extern "C" {
        fn symlink(target: *const c_char, linkpath: *const c_char) -> c_int;
    }
    let nul = |s: &str| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let (target, link) = (nul(target)?, nul(link)?);
    // SAFETY: both arguments are valid NUL-terminated strings that outlive
    // the call; wasi-libc's symlink only reads them.
    if unsafe { symlink(target.as_ptr(), link.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(unix)]
fn symlink(target: &str, link: &str) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(any(unix, target_os = "wasi")))]
fn symlink(_target: &str, _link: &str) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Reads the counter in `path` (0 if the file is missing), increments it,
/// writes it back and returns the new value. Exits 1 on I/O errors or if the
/// file holds something else than a number.
fn bump_counter(path: &str) -> u64 {
    let current = match fs::read_to_string(path) {
        Ok(text) => text.trim().parse::<u64>().unwrap_or_else(|_| {
            fail(&format!(
                "error: InvalidData: {path} holds {text:?}, not a number"
            ))
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => io_fail(&e),
    };
    let next = current + 1;
    or_fail(fs::write(path, format!("{next}\n")));
    next
}

/// What a `plan` rule makes the pod do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PlanAction {
    Succeed(u64),
    Fail(i32, u64),
    Run,
}

/// One rule of `plan`: selectors (key, accepted values) and an action.
struct PlanRule {
    selectors: Vec<(String, Vec<i64>)>,
    action: PlanAction,
}

fn parse_plan_rules(rules: &str) -> Vec<PlanRule> {
    let bad = |what: &str| -> ! { usage_error(&format!("step plan: {what} in RULES {rules:?}")) };
    let mut out = Vec::new();
    for rule in rules.split(';').map(str::trim).filter(|r| !r.is_empty()) {
        let Some((sels, action)) = rule.split_once(':') else {
            bad(&format!("rule {rule:?} has no ':'"));
        };
        let mut selectors = Vec::new();
        if sels.trim() != "*" {
            for sel in sels.split(',') {
                let Some((key, values)) = sel.split_once('=') else {
                    bad(&format!("selector {sel:?} has no '='"));
                };
                let key = key.trim();
                if !matches!(key, "index" | "attempt" | "pod") {
                    bad(&format!("unknown selector key {key:?}"));
                }
                let values = values
                    .split('|')
                    .map(|v| v.trim().parse::<i64>())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap_or_else(|_| bad(&format!("bad values in selector {sel:?}")));
                selectors.push((key.to_string(), values));
            }
        }
        let action = action.trim();
        let action = if action == "run" {
            PlanAction::Run
        } else if let Some(ms) = action.strip_prefix("succeed@") {
            PlanAction::Succeed(
                ms.parse()
                    .unwrap_or_else(|_| bad(&format!("bad time in {action:?}"))),
            )
        } else if let Some(rest) = action.strip_prefix("fail=") {
            let parsed = rest
                .split_once('@')
                .and_then(|(code, ms)| Some((code.parse().ok()?, ms.parse().ok()?)));
            let Some((code, ms)) = parsed else {
                bad(&format!("bad action {action:?}"));
            };
            PlanAction::Fail(code, ms)
        } else {
            bad(&format!("unknown action {action:?}"))
        };
        out.push(PlanRule { selectors, action });
    }
    out
}

/// The first `n` for which `DIR/<prefix>-<n>` could be created anew.
fn claim(dir: &str, prefix: &str) -> i64 {
    for n in 0.. {
        let path = Path::new(dir).join(format!("{prefix}-{n}"));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return n,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => io_fail(&e),
        }
    }
    unreachable!()
}

/// The `plan DIR RULES` step: never returns.
fn plan(dir: &str, rules: &str) -> ! {
    let rules = parse_plan_rules(rules);
    let index: Option<i64> = std::env::var("JOB_COMPLETION_INDEX")
        .ok()
        .and_then(|v| v.trim().parse().ok());
    let pod = claim(dir, "pod");
    let attempt = match index {
        Some(i) => claim(dir, &format!("index-{i}")),
        None => claim(dir, "job"),
    };
    let action = rules
        .iter()
        .find(|r| {
            r.selectors.iter().all(|(key, values)| {
                let got = match key.as_str() {
                    "index" => index,
                    "attempt" => Some(attempt),
                    _ => Some(pod),
                };
                got.is_some_and(|g| values.contains(&g))
            })
        })
        .map_or(PlanAction::Run, |r| r.action);
    let shown = index.map_or_else(|| "-".to_string(), |i| i.to_string());
    out_line(&format!(
        "plan: pod {pod} index {shown} attempt {attempt}: {action:?}"
    ));
    match action {
        PlanAction::Succeed(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            process::exit(0);
        }
        PlanAction::Fail(code, ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            process::exit(code);
        }
        PlanAction::Run => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}
