//! What a run prints and draws: the table of figures, the SVG, and the machine it ran on.

use super::*;

pub fn print_table(report: &Report) {
    println!(
        "wasmjob bench{}",
        if report.quick { " --quick" } else { "" }
    );
    for (k, v) in &report.machine {
        println!("  {k}: {v}");
    }
    println!();
    let mut tw = tabwriter::TabWriter::new(Vec::new()).padding(2);
    let _ = writeln!(tw, "FIGURE\tWASMJOB\tBASELINE\tRATIO\tGOAL\tRESULT");
    for r in &report.rows {
        let _ = writeln!(
            tw,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.figure,
            r.wasmjob,
            r.baseline,
            r.ratio.map_or("-".into(), |x| format!("{x:.3}")),
            r.goal,
            match r.pass {
                Some(true) => "pass",
                Some(false) => "FAIL",
                None => "-",
            }
        );
    }
    let _ = tw.flush();
    let text = String::from_utf8(tw.into_inner().unwrap_or_default()).unwrap_or_default();
    print!("{text}");
    if !report.by_parallelism.is_empty() {
        let line: Vec<String> = report
            .by_parallelism
            .iter()
            .map(|(p, r)| format!("{p}: {r:.0}/s"))
            .collect();
        println!("\npods/s by parallelism: {}", line.join(", "));
    }
    if !report.by_size.is_empty() {
        let line: Vec<String> = report
            .by_size
            .iter()
            .map(|(s, r)| format!("{s}: {r:.0}/s"))
            .collect();
        println!("pods/s by Job size (parallelism 64): {}", line.join(", "));
    }
}

pub fn svg(report: &Report) -> String {
    // The raw loop is two orders of magnitude above: named in the caption, not drawn.
    let reference = None;
    let panels = [
        plot::Panel {
            title: "pods/s by parallelism",
            x_label: "parallelism (Job of tiny pods)",
            points: &report.by_parallelism,
            reference,
        },
        plot::Panel {
            title: "pods/s by Job size",
            x_label: "completions (parallelism 64)",
            points: &report.by_size,
            reference,
        },
    ];
    let mut caption: Vec<String> = report
        .machine
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if let Some(raw) = report.raw_loop {
        caption.push(format!("raw loop {raw:.0}/s"));
    }
    plot::svg(&panels, &caption.join(", "))
}

/// What the figures were measured on.
pub fn machine(work: &Path) -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| jobs::proc_number(&t, "MemTotal:"))
        .map_or("unknown".into(), |kb| format!("{} GiB", kb >> 20));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    vec![
        ("cpu".into(), format!("{cpu} ({cores} cores)")),
        ("memory".into(), memory),
        ("kernel".into(), kernel),
        ("state file system".into(), file_system(work)),
    ]
}

/// The type of the file system holding `path` (from `/proc/mounts`, longest mount point).
fn file_system(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, at, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(at).then(|| (at.len(), kind.to_string()))
        })
        .max()
        .map_or("unknown".into(), |(_, k)| k)
}
