//! Conformance suite (issue 3): Job scenarios as data files (`tests/conformance/*.yaml` at the
//! workspace root; the format is described in `conformance/format.rs`) run against the pure
//! controller on a virtual clock (`conformance/sim.rs`), each decision applied by the same
//! `wasmjob_controller::apply` the manager uses. Each scenario says where its expectation
//! comes from: the upstream Kubernetes source or test it mirrors.

#[path = "conformance/format.rs"]
mod format;
#[path = "conformance/sim.rs"]
mod sim;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MIN_SCENARIOS: usize = 80;
const TIME_BUDGET: Duration = Duration::from_secs(10);

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
// The suite's own time budget reads the clock; the controller it runs does not.
#[allow(clippy::disallowed_methods)]
fn conformance_scenarios() {
    let only = std::env::var("CONFORMANCE_ONLY").ok();
    let started = Instant::now();
    let (mut count, mut syncs) = (0usize, 0usize);
    let mut failures = Vec::new();
    for file in scenario_files() {
        let shown = format!(
            "tests/conformance/{}",
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let scenarios = format::parse(&text).unwrap_or_else(|e| panic!("{shown}: {e}"));
        for (i, s) in scenarios.iter().enumerate() {
            if only.as_deref().is_some_and(|o| !shown.contains(o)) {
                continue;
            }
            count += 1;
            match sim::run(s, &shown) {
                Ok(n) => syncs += n,
                Err(e) => failures.push(format!(
                    "{shown} (scenario {} of the file): {}\n  source: {}\n  {e}",
                    i + 1,
                    s.name,
                    s.source
                )),
            }
        }
    }
    let elapsed = started.elapsed();
    // Written to stderr directly so that it shows even when the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "conformance: {count} scenarios ({syncs} controller syncs) in {:.3} s",
        elapsed.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    if only.is_none() {
        assert!(
            count >= MIN_SCENARIOS,
            "only {count} scenarios, want at least {MIN_SCENARIOS}"
        );
    }
    assert!(
        elapsed < TIME_BUDGET,
        "the suite took {elapsed:?}, over {TIME_BUDGET:?}"
    );
}
