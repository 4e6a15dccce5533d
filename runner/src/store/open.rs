//! Opening a state directory: refuse what is not ours (a file, a folder of other things, a
//! database of another program or format, a corrupt database) before writing anything, and
//! create a new store with its schema and format marker in one transaction.

use super::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

/// Written into `meta` of every store; a database without it belongs to someone else.
pub const FORMAT: &str = "wasmjob-state/1";

/// Entries a state directory may hold besides the database.
const OWN_ENTRIES: &[&str] = &[
    "state.db",
    "state.db-wal",
    "state.db-shm",
    "state.db-journal",
    "controller.lock",
    "owners",
    "logs",
    "pods",
    "modules",
];

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE jobs (
  uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL,
  base_dir TEXT NOT NULL, backoff TEXT NOT NULL, object TEXT NOT NULL,
  owner TEXT, deleting TEXT,
  UNIQUE (namespace, name));
CREATE TABLE pods (
  uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, job_uid TEXT NOT NULL,
  object TEXT NOT NULL, delete_requested INTEGER NOT NULL DEFAULT 0,
  UNIQUE (namespace, name));
CREATE INDEX pods_by_job ON pods (job_uid);
CREATE INDEX pods_to_delete ON pods (delete_requested) WHERE delete_requested = 1;
CREATE TABLE events (
  id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  uid TEXT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
  time TEXT NOT NULL);
CREATE INDEX events_by_object ON events (uid);
";

/// Tables added after the first format; created in stores that lack them.
const ADDED: &str = "
CREATE TABLE IF NOT EXISTS queue_items (
  job_uid TEXT NOT NULL, id INTEGER NOT NULL, item TEXT NOT NULL,
  state TEXT NOT NULL, pod TEXT, attempts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_uid, id));
";

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// Creates the state directory readable by its owner only (`0700`): it holds every task's
/// logs and outputs staging. Missing parents are created as usual.
fn create_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io(dir)(e)),
        _ => Ok(()),
    }
}

/// Checks that `dir` can be (or already is) a state directory, creating it when missing.
pub fn check_dir(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(StoreError::Foreign {
                path: dir.display().to_string(),
                detail: "it is a file, not a directory".into(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return create_private(dir),
        Err(e) => return Err(io(dir)(e)),
    }
    if dir.join("state.db").exists() {
        return Ok(());
    }
    let strangers: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !OWN_ENTRIES.contains(&n.as_str()))
        .collect();
    if let Some(first) = strangers.first() {
        return Err(StoreError::Foreign {
            path: dir.display().to_string(),
            detail: format!(
                "it holds other files ({first:?}{}) and no state.db; pass a new or empty directory",
                if strangers.len() > 1 { ", …" } else { "" }
            ),
        });
    }
    Ok(())
}

/// Opens the database in `dir`, creating the schema when the database is new.
pub fn connect(dir: &Path) -> Result<Connection> {
    check_dir(dir)?;
    let db = dir.join("state.db");
    let err = |e| super::sqlite_error(&db, e);
    let foreign = |detail: &str| StoreError::Foreign {
        path: db.display().to_string(),
        detail: detail.to_string(),
    };
    if let Ok(mut f) = std::fs::File::open(&db) {
        use std::io::Read;
        let mut header = Vec::with_capacity(16);
        (&mut f)
            .take(16)
            .read_to_end(&mut header)
            .map_err(io(&db))?;
        if !header.is_empty() && header != b"SQLite format 3\0" {
            return Err(foreign("it is not a database (no SQLite header)"));
        }
    }
    check_wal(dir)?;
    let conn = Connection::open(&db).map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    let corrupt = |e: rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
        {
            StoreError::Corrupt {
                path: db.display().to_string(),
                what: "database".into(),
                detail: e.to_string(),
            }
        }
        e => err(e),
    };
    // Every open checks the whole database's structure (`quick_check`: every b-tree page,
    // the free list, page accounting; not the cross-check of index entries against rows that
    // `integrity_check` adds). It costs one read of the file: measured on a 220 MB store of
    // 100,000 pods and 100,000 events, 0.22 s with the file in the page cache (integrity_check
    // 0.45 s) and about 6 s cold on this machine's disk. The alternative, trusting the header
    // and meeting a damaged page only when a query reads it, would let a controller start on
    // a store whose damage it finds mid-run; a store a few hundred MB large is already far
    // past what a state directory holds with finished Jobs collected.
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(corrupt)?;
    if check != "ok" {
        return Err(StoreError::Corrupt {
            path: db.display().to_string(),
            what: "database".into(),
            detail: check,
        });
    }
    // Read-only checks first: a database that is not ours is left exactly as it was.
    let is_new = check_format(&conn)
        .map_err(corrupt)?
        .map_err(|d| foreign(&d))?;
    if is_new {
        // Only possible before any table exists: space of deleted Jobs is given back.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(err)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    conn.pragma_update(None, "journal_size_limit", 64i64 << 20)
        .map_err(err)?;
    if is_new {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        // Another process may have created it meanwhile.
        let created = match check_format(&conn) {
            Ok(Ok(true)) => conn
                .execute_batch(SCHEMA)
                .and_then(|_| {
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('format', ?1)",
                        [FORMAT],
                    )
                })
                .map(|_| Ok(()))
                .map_err(err),
            Ok(Ok(false)) => Ok(Ok(())),
            Ok(Err(d)) => Ok(Err(foreign(&d))),
            Err(e) => Err(err(e)),
        };
        let end = if matches!(created, Ok(Ok(()))) {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        conn.execute_batch(end).map_err(err)?;
        created??;
    }
    conn.execute_batch(ADDED).map_err(err)?;
    Ok(conn)
}

/// `Ok(true)` for an empty database, `Ok(false)` for one of ours, `Err(why)` for any other.
fn check_format(conn: &Connection) -> rusqlite::Result<std::result::Result<bool, String>> {
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    if tables == 0 {
        return Ok(Ok(true));
    }
    let has_meta: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |r| r.get(0),
    )?;
    let format: Option<String> = if has_meta > 0 {
        conn.query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
            r.get(0)
        })
        .optional()?
    } else {
        None
    };
    Ok(match format.as_deref() {
        Some(FORMAT) => Ok(false),
        Some(other) => Err(format!(
            "it is in format {other:?}; this wasmjob reads {FORMAT:?}"
        )),
        None => Err("it is a database of another program (no wasmjob format marker)".into()),
    })
}

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
/// would otherwise drop without a word. Reading the log costs one pass over it (at most a few
/// MB: SQLite checkpoints every 1000 pages and `journal_size_limit` caps what stays).
///
/// Another process may be writing the log while it is read (a `serve` beside a `get`): a
/// frame or header caught half-written looks damaged. So a problem counts only when a second
/// reading, 50 ms later, finds the same one: a writer only appends (or starts a new log with
/// new salts), so what it was writing is whole by then, while real damage stays where it is.
fn check_wal(dir: &Path) -> Result<()> {
    let wal = dir.join("state.db-wal");
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_state_directory_is_private_to_its_owner() {
        let base = std::env::temp_dir().join(format!("wasmjob-private-{}", uuid::Uuid::new_v4()));
        let dir = base.join("nested").join("state");
        super::check_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{mode:o}");
        // An existing directory is used as it is.
        super::check_dir(&dir).unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }
}
