//! The write-ahead log's check before the store opens: a `state.db-wal` that is no WAL, or
//! whose committed frames SQLite would silently drop behind a damaged one, is refused with the
//! file named and both files left as they were. Must not: open the database (SQLite would
//! rewrite the log it was asked to judge).

use super::open::io;
use super::{Result, StoreError};
use std::path::Path;

/// Refuses a write-ahead log that is not one, or whose committed frames SQLite would drop.
/// SQLite treats a WAL whose header is invalid as empty, and stops reading at the first frame
/// whose checksum fails; either way it rewrites the log at the next write, so a damaged or
/// foreign `state.db-wal` would silently vanish with the commits it held. Checked before
/// SQLite opens the database, so a refusal leaves both files exactly as they were.
///
/// A bad frame with nothing intact of the same log after it is the tail of a commit a crash
/// interrupted, which SQLite rightly rolls back: accepted. A bad frame followed by an intact
/// commit frame of the same log (same salts, its checksum right from the frame before it)
/// means committed changes would be lost: refused. After a power loss, a file system that
/// writes blocks out of order can leave such a log too; the refusal then names what a restart
/// would otherwise drop without a word. Reading the log costs one pass over it (the
/// controller's writer keeps it to about a second of commits, and `journal_size_limit` caps
/// what stays once it starts over; a command that only reads beside a live controller does not
/// check it, see `open::connect`).
///
/// Another process may be writing the log while it is read (a `serve` beside a `get`): a
/// frame or header caught half-written looks damaged. So a problem counts only when a second
/// reading, 50 ms later, finds the same one: a writer only appends (or starts a new log with
/// new salts), so what it was writing is whole by then, while real damage stays where it is.
pub(super) fn check_wal(dir: &Path) -> Result<()> {
    let wal = super::StateDir::new(dir).wal();
    let Some(problem) = wal_problem(&wal).map_err(io(&wal))? else {
        return Ok(());
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    match wal_problem(&wal).map_err(io(&wal))? {
        Some(again) if again == problem => Err(StoreError::Corrupt {
            path: wal.display().to_string(),
            what: "write-ahead log".into(),
            detail: format!(
                "{problem}; the database was not opened and neither file was changed (move \
                 state.db-wal away to open the store without the changes it may hold)"
            ),
        }),
        _ => Ok(()),
    }
}

/// What is wrong with the WAL file at `wal`, if anything (none when there is no file).
fn wal_problem(wal: &Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let file = match std::fs::File::open(wal) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut header = Vec::with_capacity(32);
    (&mut reader).take(32).read_to_end(&mut header)?;
    if header.is_empty() {
        return Ok(None);
    }
    match wal_header_problem(&header) {
        Some(p) => Ok(Some(p)),
        None => wal_frames_problem(&header, &mut reader),
    }
}

/// SQLite's WAL checksum of `data` (a multiple of 8 bytes), continuing from `(s1, s2)`, with
/// words in big-endian order when `big`.
fn wal_checksum(big: bool, data: &[u8], (mut s1, mut s2): (u32, u32)) -> (u32, u32) {
    let word = |b: &[u8]| {
        let b = [b[0], b[1], b[2], b[3]];
        if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    for pair in data.chunks_exact(8) {
        s1 = s1.wrapping_add(word(&pair[0..4])).wrapping_add(s2);
        s2 = s2.wrapping_add(word(&pair[4..8])).wrapping_add(s1);
    }
    (s1, s2)
}

/// After a valid header: a frame that fails its checksum followed by an intact commit frame
/// of the same log, if there is one (see [`check_wal`]).
fn wal_frames_problem(
    header: &[u8],
    frames: &mut impl std::io::Read,
) -> std::io::Result<Option<String>> {
    let be = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let big = be(header, 0) & 1 == 1;
    let page = be(header, 8) as usize;
    let salts = (be(header, 16), be(header, 20));
    let mut frame = vec![0u8; 24 + page];
    // The checksum the next frame continues from (as SQLite computes it over the frames so
    // far), and the one the previous frame's header stores.
    let mut running = (be(header, 24), be(header, 28));
    let mut stored_before = running;
    let mut first_bad = None;
    let mut n = 0u64;
    loop {
        n += 1;
        match frames.read_exact(&mut frame) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let stored = (be(&frame, 16), be(&frame, 20));
        let same_log = (be(&frame, 8), be(&frame, 12)) == salts;
        let sum = |from| wal_checksum(big, &frame[24..], wal_checksum(big, &frame[..8], from));
        match first_bad {
            None if same_log && sum(running) == stored => running = stored,
            None => first_bad = Some(n),
            Some(bad) => {
                let commit = be(&frame, 4) != 0;
                if same_log && commit && sum(stored_before) == stored {
                    return Ok(Some(format!(
                        "frame {bad} fails its checksum, yet frame {n}, a later commit of the \
                         same log, is intact: SQLite would drop the commits from frame {bad} on"
                    )));
                }
            }
        }
        stored_before = stored;
    }
}

/// What is wrong with a WAL file's first 32 bytes, if anything (SQLite's `wal.c` format).
fn wal_header_problem(h: &[u8]) -> Option<String> {
    if h.len() < 32 {
        return Some(format!(
            "it is {} bytes long, shorter than a WAL header",
            h.len()
        ));
    }
    let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let magic = word(0);
    if magic & !1 != 0x377f_0682 {
        return Some("it has no SQLite WAL header".into());
    }
    if word(4) != 3_007_000 {
        return Some(format!("unknown WAL format version {}", word(4)));
    }
    let page = word(8);
    if !((512..=65536).contains(&page) && page.is_power_of_two()) {
        return Some(format!("invalid page size {page}"));
    }
    // The header's checksum over its first 24 bytes, in the byte order the magic names.
    let (s1, s2) = wal_checksum(magic & 1 == 1, &h[..24], (0, 0));
    if (s1, s2) != (word(24), word(28)) {
        return Some("its header checksum does not match".into());
    }
    None
}
