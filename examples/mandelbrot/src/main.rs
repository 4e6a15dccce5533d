//! `mandelbrot` — renders a Mandelbrot image in tiles with two Jobs (see `job.yaml` and
//! `assemble.yaml`):
//!
//! ```text
//! mandelbrot tile [WIDTH HEIGHT MAX_ITER]   one pod of an Indexed Job: render band <index>
//!                                           of <completions>, publish it as tile.bin
//! mandelbrot assemble TILES_DIR OUTPUT_PNG  stack the published tiles into a PNG
//! ```
//!
//! `tile` (default 800 600 1000) learns its completion index and the Job's completions from
//! wasmjob (`wasmjob_guest::Context`), so it runs under wasmjob only; it reports progress row
//! by row, writes its tile to the atomic outputs volume, and sets the termination message
//! `tile 3: rows 112..150`. `assemble` needs nothing from the host and also runs natively
//! (`cargo run -p mandelbrot -- assemble examples/mandelbrot/out/tiles /tmp/m.png`).
//!
//! Exit status: 0 on success, 1 when the work fails (a missing or foreign tile, an unwritable
//! file), 2 for a usage error or a pod that is not an Indexed Job's or mounts no outputs volume.

mod assemble;
mod render;
mod tile;

use std::path::Path;
use wasmjob_guest::{Context, fail, outputs, progress, termination_message};

const USAGE: &str = "usage: mandelbrot tile [WIDTH HEIGHT MAX_ITER]\n       mandelbrot assemble TILES_DIR OUTPUT_PNG";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Tile {
        width: u32,
        height: u32,
        max_iter: u32,
    },
    Assemble {
        tiles: String,
        output: String,
    },
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).unwrap_or_else(|e| fail(2, format!("mandelbrot: {e}\n{USAGE}"))) {
        Command::Tile {
            width,
            height,
            max_iter,
        } => tile(width, height, max_iter),
        Command::Assemble { tiles, output } => assemble(Path::new(&tiles), Path::new(&output)),
    }
}

/// Parses the arguments (without argv[0]).
fn parse(args: &[String]) -> Result<Command, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let number = |what: &str, v: &str, max: u32| match v.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} must be a whole number from 1 to {max}, not {v:?}"
        )),
    };
    match args[..] {
        ["tile"] => Ok(Command::Tile {
            width: 800,
            height: 600,
            max_iter: 1000,
        }),
        ["tile", w, h, it] => Ok(Command::Tile {
            width: number("WIDTH", w, 16384)?,
            height: number("HEIGHT", h, 16384)?,
            max_iter: number("MAX_ITER", it, 1_000_000)?,
        }),
        ["assemble", tiles, output] => Ok(Command::Assemble {
            tiles: tiles.to_string(),
            output: output.to_string(),
        }),
        _ => Err(format!("unexpected arguments {args:?}")),
    }
}

/// Renders this pod's band of the image and writes it to the atomic outputs, which wasmjob
/// publishes as `<index>/tile.bin` once the pod succeeds.
fn tile(width: u32, height: u32, max_iter: u32) {
    let ctx = Context::get().unwrap_or_else(|e| {
        fail(
            2,
            format!("mandelbrot tile: needs wasmjob's context (run it in an Indexed Job): {e}"),
        )
    });
    let (Some(index), Some(tiles)) = (ctx.completion_index, ctx.completions) else {
        fail(
            2,
            "mandelbrot tile: the pod has no completion index: run it in an Indexed Job \
             (completionMode: Indexed, completions = the number of tiles)",
        )
    };
    if ctx.outputs.is_none() {
        fail(
            2,
            "mandelbrot tile: the container mounts no atomic outputs volume (a csi volume \
             with driver outputs.wasmjob.dev) to write its tile to",
        );
    }
    if tiles > height {
        fail(
            2,
            format!("mandelbrot tile: {tiles} tiles for {height} rows: at most one tile a row"),
        );
    }
    let rows = tile::rows_of(index, tiles, height);
    let n = rows.len() as u32;
    let rgb = render::render_rows(width, height, rows.start, n, max_iter, |done| {
        let text = format!("tile {index}: {done}/{n} rows");
        let _ = progress(f64::from(done) / f64::from(n), &text);
    });
    let inside = rgb.chunks(3).filter(|p| *p == [0, 0, 0]).count();
    let bytes = tile::Tile {
        index,
        tiles,
        width,
        height,
        first_row: rows.start,
        rows: n,
        max_iter,
        rgb,
    }
    .encode();
    if let Err(e) = outputs::write(tile::FILE, bytes) {
        fail(
            1,
            format!("mandelbrot tile {index}: cannot write {}: {e}", tile::FILE),
        );
    }
    println!(
        "tile {index} of {tiles}: rows {}..{} of a {width}x{height} image, {inside} of {} pixels in the set",
        rows.start,
        rows.end,
        width * n
    );
    let _ = termination_message(&format!("tile {index}: rows {}..{}", rows.start, rows.end));
}

/// Stacks the tiles published in `tiles` into the PNG `output`.
fn assemble(tiles: &Path, output: &Path) {
    let image = assemble::assemble(tiles, |done, n| {
        let _ = progress(
            f64::from(done) / f64::from(n),
            &format!("{done}/{n} tiles read"),
        );
    })
    .unwrap_or_else(|e| fail(1, format!("mandelbrot assemble: {e}")));
    if let Err(e) = assemble::write_png(&image, output) {
        fail(1, format!("mandelbrot assemble: {e}"));
    }
    let message = format!(
        "{}x{} image of {} tiles written to {}",
        image.width,
        image.height,
        image.tiles,
        output.display()
    );
    println!("{message}");
    let _ = termination_message(&message);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_both_modes() {
        assert_eq!(
            parse(&args("tile")),
            Ok(Command::Tile {
                width: 800,
                height: 600,
                max_iter: 1000
            })
        );
        assert_eq!(
            parse(&args("tile 64 48 200")),
            Ok(Command::Tile {
                width: 64,
                height: 48,
                max_iter: 200
            })
        );
        assert_eq!(
            parse(&args("assemble /tiles /out/m.png")),
            Ok(Command::Assemble {
                tiles: "/tiles".into(),
                output: "/out/m.png".into()
            })
        );
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(parse(&args("tile 0 48 200")).unwrap_err().contains("WIDTH"));
        assert!(
            parse(&args("tile 64 x 200"))
                .unwrap_err()
                .contains("HEIGHT")
        );
        assert!(parse(&args("tile 64 48")).is_err());
        assert!(parse(&args("assemble /tiles")).is_err());
        assert!(parse(&args("")).is_err());
    }
}
