//! Opening a state directory: refuse what is not ours (a file, a folder of other things, a
//! database of another program or format, a corrupt database) before writing anything, and
//! create a new store with its schema and format marker in one transaction.

use super::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

/// Written into `meta` of every store; a database without it belongs to someone else.
/// Format 2 keeps pods compact (rebuilt from their Job's template) and a Job's status in a
/// column of its own; a store of format 1 is moved to format 2 when opened (see [`MIGRATE_1`]).
pub const FORMAT: &str = "wasmjob-state/2";

/// The format of stores written by wasmjob before compact pods: opened, and moved to [`FORMAT`].
const FORMAT_1: &str = "wasmjob-state/1";

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
  time TEXT NOT NULL, version INTEGER);
CREATE INDEX events_by_object ON events (uid);
";

/// Tables added after the first format; created in stores that lack them.
const ADDED: &str = "
CREATE TABLE IF NOT EXISTS queue_items (
  job_uid TEXT NOT NULL, id INTEGER NOT NULL, item TEXT NOT NULL,
  state TEXT NOT NULL, pod TEXT, attempts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_uid, id));
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, created INTEGER NOT NULL, version INTEGER);
CREATE TABLE IF NOT EXISTS tombstones (
  version INTEGER PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, object TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (job_uid TEXT PRIMARY KEY, job TEXT NOT NULL);
-- Nodes are few: found by name without an index, so a node's write is one page.
CREATE TABLE IF NOT EXISTS nodes (name TEXT NOT NULL, object TEXT NOT NULL, version INTEGER NOT NULL);
";

/// Indexes of columns added after the first format; made once their columns exist.
const ADDED_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS pods_by_version ON pods (version);
CREATE INDEX IF NOT EXISTS pods_in_flight ON pods (job_uid)
  WHERE phase IS NULL OR phase NOT IN ('Succeeded', 'Failed') OR finalizer IS NOT 0;
CREATE INDEX IF NOT EXISTS pods_failed ON pods (job_uid) WHERE phase IS NULL OR phase = 'Failed';
CREATE INDEX IF NOT EXISTS pods_to_evict ON pods (delete_requested) WHERE delete_requested = 2;
";

/// Moves a store of format 1 to format 2. The columns format 2 adds are added by
/// [`ADDED_COLUMNS`] to every store; the rows written before stay as they are — pods and Jobs
/// whole, as JSON, which format 2 reads as it reads a pod that is not its template's — so the
/// move is the marker's change. A wasmjob that reads only format 1 refuses the store afterwards,
/// as it could not read compact pods.
const MIGRATE_1: &str = "
BEGIN IMMEDIATE;
UPDATE meta SET value = 'wasmjob-state/2' WHERE key = 'format' AND value = 'wasmjob-state/1';
COMMIT;
";

pub(super) fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
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
    if super::StateDir::new(dir).db().exists() {
        return Ok(());
    }
    let strangers: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !super::StateDir::own_entries().contains(&n.as_str()))
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

/// How much of the database an open checks before use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The whole structure (`quick_check`): a controller taking charge, a command that writes.
    Whole,
    /// The whole structure of a store up to [`READER_CHECK_MAX`] that no controller holds;
    /// past that size, or beside a live controller (which checked the store whole when it
    /// took charge), only what the command reads (SQLite refuses a damaged page it meets): a
    /// command that only reads, so that `get` stays fast beside a store of a million pods or
    /// a busy controller.
    Reader,
    /// Nothing: a second connection of a process that has just checked (the writer's).
    Checked,
}

/// The page size of a new store: SQLite's default. A pod is written once, at its end, so a
/// commit's pages are mostly new ones at the end of the pods table and its indexes; smaller
/// pages only multiply the log's frames (measured: 1 KiB pages cost a Job of tiny pods ~10%
/// more CPU).
const PAGE_SIZE: i64 = 4096;

/// The largest database file a reader checks whole.
pub const READER_CHECK_MAX: u64 = 16 << 20;

/// The database's size as SQLite sees it (its pages in the file and in the log); unknown
/// (an unreadable header, left to the check to report) counts as small.
fn logical_size(conn: &Connection) -> u64 {
    let pages = |pragma: &str| {
        conn.query_row(pragma, [], |r| r.get::<_, i64>(0))
            .map_or(0, |n| n.max(0) as u64)
    };
    pages("PRAGMA page_count").saturating_mul(pages("PRAGMA page_size"))
}

/// Opens the database in `dir`, creating the schema when the database is new.
pub fn connect(dir: &Path, check: Check) -> Result<Connection> {
    if check == Check::Checked {
        return reconnect(dir);
    }
    check_dir(dir)?;
    let db = super::StateDir::new(dir).db();
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
    // A command that only reads beside a live controller opens the database that controller
    // holds open: SQLite reads the log through the controller's index of it, and neither
    // recovers nor rewrites the log, so there is nothing to check (and the log of a busy
    // controller may be large).
    let reader_beside_controller = check == Check::Reader && super::lease::any_controller(dir);
    if !reader_beside_controller {
        super::wal_check::check_wal(dir)?;
    }
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
    // A controller or a writing command checks the whole database's structure (`quick_check`:
    // every b-tree page, the free list, page accounting; not the cross-check of index entries
    // against rows that `integrity_check` adds). It costs one read of the file: measured on a
    // 220 MB store of format 1 (100,000 pods and 100,000 events), 0.22 s with the file in the
    // page cache (integrity_check 0.45 s) and about 6 s cold on this machine's disk. Trusting
    // the header and meeting a damaged page only when a query reads it would let a controller
    // start on a store whose damage it finds mid-run. A command that only reads checks a
    // small store whole too, a large one (a Job of a million pods) only where it reads: a
    // `get` must stay fast, and SQLite refuses any damaged page a query meets. Beside a live
    // controller a reader checks nothing whole: the controller checked the store when it took
    // charge, and its log may hold most of the database (until the writer's next checkpoint
    // the file on disk is small while the store is not): checking it cost a `get` beside a
    // 100,000-pod Job up to 40 ms of CPU. The size that counts is the database as SQLite
    // sees it, the log's pages included.
    let whole = match check {
        Check::Whole => true,
        Check::Reader => !reader_beside_controller && logical_size(&conn) <= READER_CHECK_MAX,
        Check::Checked => false,
    };
    if whole {
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
    }
    // Read-only checks first: a database that is not ours is left exactly as it was.
    let is_new = check_format(&conn)
        .map_err(corrupt)?
        .map_err(|d| foreign(&d))?;
    if is_new {
        // Only possible before any table exists (the page size first: setting auto_vacuum
        // fixes it): space of deleted Jobs is given back.
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(err)?;
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(err)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    // Every commit is on disk before it returns (the log is synced): a pod counted in a commit
    // stays counted through a power loss, not only through a killed process.
    conn.pragma_update(None, "synchronous", "FULL")
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
    // What a store of this revision has needs no looking at again.
    let revision: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(err)?;
    if revision.as_deref() == Some(SCHEMA_REVISION) {
        return Ok(conn);
    }
    // In one transaction: one commit's frames in the log, not one per table and column (a new
    // store's log stays small), and all of it or none.
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    let added = conn.execute_batch(ADDED).and_then(|_| {
        for (table, column) in ADDED_COLUMNS {
            add_column(&conn, table, column)?;
        }
        conn.execute_batch(ADDED_INDEXES)
    });
    let end = if added.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(err)?;
    added.map_err(err)?;
    if check_format(&conn).map_err(err)? == Ok(false)
        && stored_format(&conn).map_err(err)?.as_deref() == Some(FORMAT_1)
    {
        conn.execute_batch(MIGRATE_1).map_err(err)?;
    }
    let recorded: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'namespacesRecorded'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    if recorded.is_none() {
        conn.execute_batch(RECORD_NAMESPACES).map_err(err)?;
    }
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('schema', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [SCHEMA_REVISION],
    )
    .map_err(err)?;
    if is_new {
        // The new schema's pages go into the database now, once, so that the log a short
        // `run` leaves holds only its own writes (see `LEAVE_LOG_MAX`).
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(err)?;
    }
    Ok(conn)
}

/// The revision of the tables, columns and indexes a store of [`FORMAT`] has once opened by
/// this wasmjob (recorded in `meta`; a store without it, or with another, is brought up to
/// date when opened).
const SCHEMA_REVISION: &str = "2.4";

/// Another connection to a store this process has just opened (checked, its schema up to
/// date): the settings every connection needs, nothing read.
fn reconnect(dir: &Path) -> Result<Connection> {
    let db = super::StateDir::new(dir).db();
    let err = |e| super::sqlite_error(&db, e);
    let conn = Connection::open(&db).map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    conn.pragma_update(None, "journal_size_limit", 64i64 << 20)
        .map_err(err)?;
    Ok(conn)
}

/// Stores written before Jobs recorded their namespace get a row for each namespace a Job
/// lives in (created with its oldest Job), once.
const RECORD_NAMESPACES: &str = "
BEGIN IMMEDIATE;
INSERT INTO namespaces (name, created, version)
  SELECT namespace,
         coalesce(min(CAST(round((julianday(json_extract(object, '$.metadata.creationTimestamp')) - 2440587.5) * 86400000) AS INTEGER)), 0),
         0
  FROM jobs
  WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'namespacesRecorded')
  GROUP BY namespace
  ON CONFLICT (name) DO NOTHING;
INSERT INTO meta (key, value) VALUES ('namespacesRecorded', '1') ON CONFLICT (key) DO NOTHING;
COMMIT;
";

/// Columns added after their table was first made, as `(table, "name TYPE")`; added to
/// stores that lack them (their rows read the column as NULL).
const ADDED_COLUMNS: [(&str, &str); 13] = [
    // The resourceVersion an event or a namespace was given when it was stored.
    ("events", "version INTEGER"),
    ("namespaces", "version INTEGER"),
    // Format 2. Events are aggregated: how many times seen, when first, and the
    // resourceVersion of their first storing, which names them.
    ("events", "count INTEGER"),
    ("events", "first_time TEXT"),
    ("events", "name_version INTEGER"),
    // A Job's status and resourceVersion beside its spec (NULL: both are in `object`).
    ("jobs", "status TEXT"),
    ("jobs", "version INTEGER"),
    // A compact pod (`object` is then empty): resourceVersion, completion index, whether it
    // keeps the tracking finalizer, phase, the binary record (`pod_rows`), and its small logs.
    ("pods", "version INTEGER"),
    ("pods", "idx INTEGER"),
    ("pods", "finalizer INTEGER"),
    ("pods", "phase TEXT"),
    ("pods", "record BLOB"),
    ("pods", "logs BLOB"),
];

/// Adds `column` to `table` unless the table has it already.
fn add_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<()> {
    let name = column.split_whitespace().next().unwrap_or(column);
    let present: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
        [table, name],
        |r| r.get(0),
    )?;
    if present > 0 {
        return Ok(());
    }
    match conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column}")) {
        // Another process opening the store added it meanwhile.
        Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.contains("duplicate column") => Ok(()),
        r => r,
    }
}

/// The format marker of a store with a `meta` table.
fn stored_format(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
        r.get(0)
    })
    .optional()
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
        stored_format(conn)?
    } else {
        None
    };
    Ok(match format.as_deref() {
        Some(FORMAT) | Some(FORMAT_1) => Ok(false),
        Some(other) => Err(format!(
            "it is in format {other:?}; this wasmjob reads {FORMAT:?}"
        )),
        None => Err("it is a database of another program (no wasmjob format marker)".into()),
    })
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
