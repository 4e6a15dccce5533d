//! Putting the image together: every tile the render Job published (`<index>/tile.bin` in its
//! output directory) is read and checked (all present, all of the same render), then the rows
//! are stacked and encoded as a PNG.

use crate::tile::{self, Tile};
use std::path::Path;

/// The whole image: `width × height × 3` bytes of RGB.
#[derive(Debug)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// How many tiles it was made of.
    pub tiles: u32,
    pub rgb: Vec<u8>,
}

/// Reads the tiles in `dir` into one image; `progress` is told after each tile how many of how
/// many were read. The error says what is wrong and what to do about it.
pub fn assemble(dir: &Path, mut progress: impl FnMut(u32, u32)) -> Result<Image, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    // Published units are folders named by their index; `.staging` and anything else is not.
    let mut present: Vec<u32> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let i: u32 = name.parse().ok()?;
            (i.to_string() == name).then_some(i)
        })
        .collect();
    present.sort_unstable();
    let Some(&first) = present.first() else {
        return Err(format!(
            "no tiles in {}: run the render Job (job.yaml) first",
            dir.display()
        ));
    };
    let reference = read(dir, first)?;
    let n = reference.tiles;
    let missing: Vec<u32> = (0..n)
        .filter(|i| present.binary_search(i).is_err())
        .collect();
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(u32::to_string).collect();
        let which = match missing.len() {
            1 => format!("tile {} is missing", list[0]),
            _ => format!("tiles {} are missing", list.join(", ")),
        };
        return Err(format!(
            "{which}: {} holds {} of the {n} tiles (no {}); run the render Job (job.yaml) \
             again: the tiles already published are kept, the missing ones are added",
            dir.display(),
            n as usize - missing.len(),
            dir.join(missing[0].to_string()).join(tile::FILE).display(),
        ));
    }
    let (width, height) = (reference.width, reference.height);
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for &i in &present {
        let t = if i == first {
            reference.clone()
        } else {
            read(dir, i)?
        };
        let same = i < n
            && (t.index, t.tiles, t.width, t.height, t.max_iter)
                == (i, n, width, height, reference.max_iter)
            && (t.first_row..t.first_row + t.rows) == tile::rows_of(i, n, height);
        if !same {
            return Err(format!(
                "tile {i} is of another render ({} tiles of {}x{}, {} iterations, rows {}..{}) \
                 than tile {first} ({n} tiles of {width}x{height}, {} iterations): published \
                 tiles are never overwritten, so remove the render Job's output directory \
                 before rendering with other arguments",
                t.tiles,
                t.width,
                t.height,
                t.max_iter,
                t.first_row,
                t.first_row + t.rows,
                reference.max_iter
            ));
        }
        rgb.extend_from_slice(&t.rgb);
        progress(i + 1, n);
    }
    Ok(Image {
        width,
        height,
        tiles: n,
        rgb,
    })
}

/// Reads and decodes `<dir>/<index>/tile.bin`.
fn read(dir: &Path, index: u32) -> Result<Tile, String> {
    let path = dir.join(index.to_string()).join(tile::FILE);
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("tile {index}: cannot read {}: {e}", path.display()))?;
    Tile::decode(&bytes).map_err(|e| format!("tile {index}: {}: {e}", path.display()))
}

/// Writes the image as an 8-bit RGB PNG to `path`, through a temporary file beside it, so that
/// a reader never sees half an image.
pub fn write_png(image: &Image, path: &Path) -> Result<(), String> {
    let tmp = path.with_extension("png.tmp");
    let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let file = std::fs::File::create(&tmp).map_err(|e| fail(&e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(&image.rgb).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A folder of the tiles of a tiny render, as the render Job publishes them.
    fn published(name: &str, tiles: u32, width: u32, height: u32) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mandelbrot-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for i in 0..tiles {
            put(&dir, i, tiles, width, height, 50);
        }
        std::fs::create_dir_all(dir.join(".staging/some-pod")).unwrap();
        dir
    }

    fn put(dir: &Path, i: u32, tiles: u32, width: u32, height: u32, max_iter: u32) {
        let rows = tile::rows_of(i, tiles, height);
        let t = Tile {
            index: i,
            tiles,
            width,
            height,
            first_row: rows.start,
            rows: rows.len() as u32,
            max_iter,
            rgb: vec![i as u8; width as usize * rows.len() * 3],
        };
        std::fs::create_dir_all(dir.join(i.to_string())).unwrap();
        std::fs::write(dir.join(i.to_string()).join(tile::FILE), t.encode()).unwrap();
    }

    #[test]
    fn the_tiles_are_stacked_in_order() {
        let dir = published("stack", 4, 3, 10);
        let mut seen = Vec::new();
        let image = assemble(&dir, |i, n| seen.push((i, n))).unwrap();
        assert_eq!((image.width, image.height), (3, 10));
        assert_eq!(image.rgb.len(), 3 * 10 * 3);
        // Rows 0..2 are tile 0, 2..5 tile 1, 5..7 tile 2, 7..10 tile 3.
        let row = |r: usize| image.rgb[r * 9];
        assert_eq!(
            (0..10).map(row).collect::<Vec<_>>(),
            [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]
        );
        assert_eq!(seen, [(1, 4), (2, 4), (3, 4), (4, 4)]);
        let png = dir.join("image.png");
        write_png(&image, &png).unwrap();
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        assert!(!dir.join("image.png.tmp").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_tile_is_named() {
        let dir = published("missing", 4, 3, 10);
        std::fs::remove_dir_all(dir.join("2")).unwrap();
        let err = assemble(&dir, |_, _| {}).unwrap_err();
        assert!(err.starts_with("tile 2 is missing: "), "{err}");
        assert!(err.contains("3 of the 4 tiles"), "{err}");
        std::fs::remove_dir_all(dir.join("0")).unwrap();
        let err = assemble(&dir, |_, _| {}).unwrap_err();
        assert!(err.starts_with("tiles 0, 2 are missing: "), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let err = assemble(&dir, |_, _| {}).unwrap_err();
        assert!(err.starts_with("no tiles in "), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn tiles_of_different_renders_are_not_mixed() {
        let dir = published("mixed", 4, 3, 10);
        put(&dir, 1, 4, 3, 10, 51);
        let err = assemble(&dir, |_, _| {}).unwrap_err();
        assert!(err.starts_with("tile 1 is of another render"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        let dir = published("more", 4, 3, 10);
        put(&dir, 4, 5, 3, 10, 50);
        let err = assemble(&dir, |_, _| {}).unwrap_err();
        assert!(err.starts_with("tile 4 is of another render"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
