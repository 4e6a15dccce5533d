//! `embed-host MODULE [ARGS…]`: runs a WASI module as a Job through the wasmjob library and
//! prints what the host learnt (see `lib.rs`).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(module) = args.next() else {
        eprintln!("usage: embed-host MODULE.wasm [ARGS…]");
        return ExitCode::from(2);
    };
    let rest: Vec<String> = args.collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let state = std::env::temp_dir().join(format!("embed-host-{}", std::process::id()));
    let result = embed_host::run_plugin(&state, std::path::Path::new(&module), &rest).await;
    let _ = std::fs::remove_dir_all(&state);
    match result {
        Ok(out) => {
            println!(
                "job {}: {} ({} failed pods)",
                if out.succeeded { "succeeded" } else { "failed" },
                out.reason,
                out.failed_pods
            );
            print!("{}", out.output);
            if out.succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
