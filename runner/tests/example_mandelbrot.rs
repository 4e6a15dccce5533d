//! The `mandelbrot` example end to end: its real `job.yaml` (an Indexed Job whose pods publish
//! their tiles to an atomic outputs volume) and `assemble.yaml` (a Job that stacks the tiles
//! into a PNG), their image paths replaced by the module built from source, run by
//! `wasmjob run`. The PNG is decoded and checked pixel by pixel against an independent
//! rendering; a missing tile must fail the assembly, naming it, and a re-run must restore it.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const IMAGE: &str = "../../target/wasm32-wasip1/release/mandelbrot.wasm";

/// Writes `examples/mandelbrot/<name>`, its image path replaced by the module built from
/// source, into `env`'s folder (which then holds the manifests' relative volume paths).
fn example(env: &Env, name: &str) -> PathBuf {
    let source = format!(
        "{}/../examples/mandelbrot/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let yaml = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{source}: {e}"));
    assert!(yaml.contains(IMAGE), "{source} does not run {IMAGE}");
    wasmjob_tests::write_manifest(env.path(), name, &yaml.replace(IMAGE, MANDELBROT_WASM))
}

/// `wasmjob run FILE --replace -o json` with a short back-off.
fn run(env: &Env, file: &Path) -> Run {
    env.wasmjob(&[
        "run",
        file.to_str().unwrap(),
        "--replace",
        "-o",
        "json",
        "--backoff-base",
        "20ms",
        "--backoff-max",
        "200ms",
    ])
}

/// The decoded PNG: width, height and RGB bytes.
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane image size")];
    let info = reader.next_frame(&mut buf).expect("the PNG's pixels");
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Whether `re + im·i` stays bounded for `max_iter` steps: plain iteration, independent of the
/// example's code (no cardioid short-cut, another bail-out radius).
fn in_set(re: f64, im: f64, max_iter: u32) -> bool {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for _ in 0..max_iter {
        if zr * zr + zi * zi > 4.0 {
            return false;
        }
        (zr, zi) = (zr * zr - zi * zi + re, 2.0 * zr * zi + im);
    }
    true
}

/// The pixel that shows `re + im·i`, by the view the example's README documents: centre
/// −0.75 + 0i, square pixels, at least 3.5 × 2.625 of the plane in view.
fn pixel_of(re: f64, im: f64, w: u32, h: u32) -> (u32, u32) {
    let s = (3.5 / f64::from(w)).max(2.625 / f64::from(h));
    let x = (re + 0.75) / s + f64::from(w) / 2.0;
    let y = f64::from(h) / 2.0 - im / s;
    (x.floor() as u32, y.floor() as u32)
}

/// The point at the centre of pixel (`x`, `y`), by the same view.
fn point_of(x: u32, y: u32, w: u32, h: u32) -> (f64, f64) {
    let s = (3.5 / f64::from(w)).max(2.625 / f64::from(h));
    (
        -0.75 + (f64::from(x) + 0.5 - f64::from(w) / 2.0) * s,
        (f64::from(h) / 2.0 - f64::from(y) - 0.5) * s,
    )
}

/// The published units of an output directory (its folders but `.staging`), sorted by index.
fn published(dir: &Path) -> Vec<String> {
    let mut units: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".staging")
        .collect();
    units.sort_by_key(|u| u.parse::<u32>().unwrap_or(u32::MAX));
    units
}

/// The message of a pod's condition `type_`.
fn condition_message<'a>(pod: &'a Value, type_: &str) -> Option<&'a str> {
    pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?["message"]
        .as_str()
}

#[test]
fn the_example_renders_tiles_and_assembles_a_png() {
    let env = Env::new();
    let render = example(&env, "job.yaml");
    let assemble = example(&env, "assemble.yaml");

    // 1. The Indexed render Job: 16 tiles, 4 at a time.
    let r = run(&env, &render);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = r.json();
    assert!(
        has_condition(&job, "Complete", "CompletionsReached"),
        "{job}"
    );
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["parallelism"], 4);
    let tiles = job["spec"]["completions"].as_u64().unwrap() as u32;
    assert_eq!(tiles, 16);
    assert_eq!(job["status"]["succeeded"], 16);
    let args: Vec<&str> = job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "tile", "{args:?}");
    let [w, h, max_iter] = [1, 2, 3].map(|i| args[i].parse::<u32>().unwrap());
    assert_eq!((w, h), (800, 600));

    // Each index published its folder, and nothing is left staged.
    let tiles_dir = env.path().join("out/tiles");
    let expected: Vec<String> = (0..tiles).map(|i| i.to_string()).collect();
    assert_eq!(published(&tiles_dir), expected);
    assert!(!tiles_dir.join(".staging").exists());
    for i in 0..tiles {
        let tile = tiles_dir.join(i.to_string()).join("tile.bin");
        assert!(tile.is_file(), "{} missing", tile.display());
    }

    // Each pod set its termination message and reported its progress to the end.
    let pods = env.pods("batch.kubernetes.io/job-name=mandelbrot-render");
    assert_eq!(pods.len(), 16);
    let mut indexes = Vec::new();
    for pod in &pods {
        let i: u32 = pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        indexes.push(i);
        let (first, end) = (i * h / tiles, (i + 1) * h / tiles);
        assert_eq!(
            terminated(pod)["message"],
            format!("tile {i}: rows {first}..{end}"),
            "{pod}"
        );
        let rows = end - first;
        assert_eq!(
            condition_message(pod, "wasmjob.dev/Progress"),
            Some(format!("100%: tile {i}: {rows}/{rows} rows").as_str()),
            "{pod}"
        );
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..16).collect::<Vec<_>>());
    let wide = env.wasmjob(&["get", "pods", "-o", "wide"]);
    assert!(wide.stdout.contains("PROGRESS"), "{}", wide.stdout);
    assert!(
        wide.stdout.contains("100%: tile 3: 38/38 rows"),
        "{}",
        wide.stdout
    );

    // 2. The assembly.
    let r = run(&env, &assemble);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(has_condition(&r.json(), "Complete", "CompletionsReached"));
    let pods = env.pods("batch.kubernetes.io/job-name=mandelbrot-assemble");
    assert_eq!(
        terminated(&pods[0])["message"],
        "800x600 image of 16 tiles written to /image/mandelbrot.png"
    );
    let png_path = env.path().join("out/mandelbrot.png");
    let (pw, ph, rgb) = decode(&png_path);
    assert_eq!((pw, ph), (w, h));
    let pixel = |x: u32, y: u32| {
        let at = (y as usize * w as usize + x as usize) * 3;
        [rgb[at], rgb[at + 1], rgb[at + 2]]
    };
    const BLACK: [u8; 3] = [0, 0, 0];

    // Not blank: many colours, the set black, the corners coloured.
    let colours: std::collections::BTreeSet<[u8; 3]> =
        rgb.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    assert!(colours.len() > 500, "only {} colours", colours.len());
    for (re, im) in [(-0.5, 0.0), (-1.0, 0.0), (0.0, 0.0), (-0.1226, 0.7449)] {
        let (x, y) = pixel_of(re, im, w, h);
        assert_eq!(pixel(x, y), BLACK, "{re}+{im}i at ({x}, {y})");
    }
    for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w / 2, 0)] {
        assert_ne!(pixel(x, y), BLACK, "corner ({x}, {y})");
        assert_ne!(pixel(x, y), [255, 255, 255], "corner ({x}, {y})");
    }
    let black = rgb.chunks(3).filter(|p| *p == BLACK).count() as f64 / f64::from(w * h);
    // The set's area is about 1.506 of the 9.19 in view.
    assert!((0.13..0.20).contains(&black), "{black} of the pixels black");

    // Every tile in its place: black exactly where an independent rendering finds the set
    // (but for a few pixels on the boundary), on a grid across every tile.
    let (mut checked, mut wrong) = (0, Vec::new());
    for y in (0..h).step_by(7) {
        for x in (0..w).step_by(13) {
            let (re, im) = point_of(x, y, w, h);
            checked += 1;
            if (pixel(x, y) == BLACK) != in_set(re, im, max_iter) {
                wrong.push((x, y));
            }
        }
    }
    assert!(
        wrong.len() * 200 < checked,
        "{} of {checked} pixels disagree: {wrong:?}",
        wrong.len()
    );

    // 3. A missing tile: the assembly fails, naming it, and leaves the image alone.
    let before = std::fs::read(&png_path).unwrap();
    std::fs::remove_dir_all(tiles_dir.join("5")).unwrap();
    let r = run(&env, &assemble);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(has_condition(&r.json(), "Failed", "BackoffLimitExceeded"));
    assert!(
        r.stderr
            .contains("tile 5 is missing: /tiles holds 15 of the 16 tiles"),
        "{}",
        r.stderr
    );
    let pods = env.pods("batch.kubernetes.io/job-name=mandelbrot-assemble");
    assert_eq!(terminated(&pods[0])["exitCode"], 1);
    assert!(
        terminated(&pods[0])["message"]
            .as_str()
            .unwrap()
            .contains("tile 5 is missing"),
        "{}",
        pods[0]
    );
    assert_eq!(std::fs::read(&png_path).unwrap(), before);

    // 4. Rendering again adds the missing tile only (the others were published before and
    //    are never overwritten), and the same image comes out.
    let r = run(&env, &render);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(published(&tiles_dir), expected);
    let events = env.wasmjob(&["get", "events"]);
    let not_published = events
        .stdout
        .lines()
        .filter(|l| l.contains("OutputsNotPublished") && l.contains("was published before"))
        .count();
    assert_eq!(not_published, 15, "{}", events.stdout);
    assert!(!events.stdout.contains("out/tiles/5 was published before"));
    std::fs::remove_file(&png_path).unwrap();
    let r = run(&env, &assemble);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read(&png_path).unwrap(), before);
}
