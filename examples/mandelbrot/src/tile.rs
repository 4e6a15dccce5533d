//! A tile: one horizontal band of the image, as one index of the render Job publishes it in
//! `<index>/tile.bin`. A 36-byte header (the magic `MBTILE01`, then seven little-endian `u32`:
//! index, tiles, width, height, first row, rows, max iterations) and the band's RGB pixels,
//! row by row (`width × rows × 3` bytes).

/// The file each index writes to its outputs.
pub const FILE: &str = "tile.bin";

const MAGIC: &[u8; 8] = b"MBTILE01";
const HEADER: usize = MAGIC.len() + 7 * 4;

/// The rows of tile `index` of `tiles` in an image `height` rows high: `[i·h/n, (i+1)·h/n)`.
pub fn rows_of(index: u32, tiles: u32, height: u32) -> std::ops::Range<u32> {
    let at = |i: u32| (u64::from(i) * u64::from(height) / u64::from(tiles)) as u32;
    at(index)..at(index + 1)
}

/// One tile, header and pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    pub index: u32,
    pub tiles: u32,
    pub width: u32,
    pub height: u32,
    pub first_row: u32,
    pub rows: u32,
    pub max_iter: u32,
    /// `width × rows × 3` bytes of RGB.
    pub rgb: Vec<u8>,
}

impl Tile {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.rgb.len());
        out.extend_from_slice(MAGIC);
        for v in [
            self.index,
            self.tiles,
            self.width,
            self.height,
            self.first_row,
            self.rows,
            self.max_iter,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.rgb);
        out
    }

    /// Reads a file's bytes, checking that it is whole and that its rows lie in the image.
    pub fn decode(bytes: &[u8]) -> Result<Tile, String> {
        if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
            return Err("not a tile (no MBTILE01 header)".into());
        }
        let field = |i: usize| {
            let at = MAGIC.len() + 4 * i;
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let [index, tiles, width, height, first_row, rows, max_iter] = std::array::from_fn(field);
        let tile = Tile {
            index,
            tiles,
            width,
            height,
            first_row,
            rows,
            max_iter,
            rgb: bytes[HEADER..].to_vec(),
        };
        let expected = width as usize * rows as usize * 3;
        if tile.rgb.len() != expected {
            return Err(format!(
                "{} bytes of pixels instead of {expected} ({width}x{rows} RGB)",
                tile.rgb.len()
            ));
        }
        if index >= tiles || u64::from(first_row) + u64::from(rows) > u64::from(height) {
            return Err(format!(
                "tile {index} of {tiles}, rows {first_row}..{} of {height}: out of range",
                u64::from(first_row) + u64::from(rows)
            ));
        }
        Ok(tile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tiles_cover_every_row_once() {
        for (tiles, height) in [(16, 600), (16, 16), (3, 10), (7, 1000), (1, 5)] {
            let mut next = 0;
            for i in 0..tiles {
                let r = rows_of(i, tiles, height);
                assert_eq!(r.start, next, "{tiles} tiles of {height}");
                assert!(!r.is_empty());
                next = r.end;
            }
            assert_eq!(next, height);
        }
        assert_eq!(rows_of(3, 16, 600), 112..150);
    }

    #[test]
    fn a_tile_survives_the_round_trip() {
        let tile = Tile {
            index: 3,
            tiles: 16,
            width: 2,
            height: 600,
            first_row: 112,
            rows: 2,
            max_iter: 500,
            rgb: (0..12).collect(),
        };
        let bytes = tile.encode();
        assert_eq!(bytes.len(), HEADER + 12);
        assert_eq!(Tile::decode(&bytes), Ok(tile));
    }

    #[test]
    fn damaged_tiles_are_refused() {
        let tile = Tile {
            index: 0,
            tiles: 1,
            width: 2,
            height: 1,
            first_row: 0,
            rows: 1,
            max_iter: 10,
            rgb: vec![1; 6],
        };
        let bytes = tile.encode();
        assert!(Tile::decode(b"PNG").unwrap_err().contains("not a tile"));
        assert!(
            Tile::decode(&bytes[..bytes.len() - 1])
                .unwrap_err()
                .contains("5 bytes of pixels instead of 6")
        );
        let mut bad = tile.clone();
        bad.first_row = 1;
        assert!(
            Tile::decode(&bad.encode())
                .unwrap_err()
                .contains("out of range")
        );
    }
}
