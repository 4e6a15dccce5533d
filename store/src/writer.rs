//! The controller's one writer, owning a connection of its own, which commits what it is
//! handed in groups — everything that arrived while the previous commit was on its way to disk
//! goes into the next one, in one transaction, synced (`synchronous=FULL`) before the group is
//! reported committed. The controller decides and hands off; serializing, SQLite and the sync
//! happen here, each group on a thread of tokio's blocking pool (so a test on paused time does
//! not skip ahead while a commit is under way). A thread of its own moves the write-ahead log
//! into the database (a passive checkpoint) while the writer goes on, so no commit waits for
//! one.
//!
//! A commit that fails (a full disk, say) stops the writer: the group is rolled back, the
//! error is reported to whoever waits, and nothing more is written — what was committed
//! before stays, and nothing counted is lost.
//!
//! Must not: decide anything, or be written to by more than one controller.

use super::{Batch, Result, StateDir, Store, StoreError};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::mpsc as queue;

/// Writes for one group commit, run in order inside its transaction.
pub type Writes = Box<dyn FnOnce(&mut Batch<'_>) -> Result<()> + Send>;

/// How often the log is moved into the database while commits come in.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

enum Msg {
    Writes(u64, Writes),
    /// Give the pages of deleted rows back to the file system, after the next commit.
    Reclaim,
}

/// Where the writer stands: the last hand-off it committed, or why it stopped.
pub type Committed = std::result::Result<u64, Arc<StoreError>>;

/// The handle of the writer. Hand-offs are numbered from 1 in the order given.
pub struct Writer {
    queue: queue::UnboundedSender<Msg>,
    /// Where the writer stands, as it tells it.
    state: Arc<State>,
    /// A word after each commit or failure: what the controller waits on.
    news: queue::UnboundedReceiver<()>,
    handed: u64,
    checkpointer: Option<Checkpointer>,
    busy: Arc<Busy>,
    /// The task that commits; it ends once the writer is dropped.
    task: Option<tokio::task::JoinHandle<()>>,
}

/// What the writer's work cost so far (for `wasmjob bench`), and the checkpointer's word.
#[derive(Default)]
struct Busy {
    commits: std::sync::atomic::AtomicU64,
    nanos: std::sync::atomic::AtomicU64,
    /// The checkpointer has moved the log into the database up to a recent commit: the
    /// writer moves in what it committed since, so that its next commit starts the log over.
    caught_up: std::sync::atomic::AtomicBool,
}

/// The checkpointer thread, and how to stop it.
struct Checkpointer {
    poke: mpsc::Sender<()>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    /// Starts the writer of the state directory `dir`, on a connection of its own (in the
    /// current tokio runtime). It ends once dropped and what it was handed is committed. The
    /// connection is opened (and its schema read) on the writer's first turn, while the
    /// controller goes on: a writer that cannot open it fails as a failed commit would.
    pub fn start(dir: &std::path::Path) -> Result<Writer> {
        let db = StateDir::new(dir).db();
        let (queue, rx) = queue::unbounded_channel::<Msg>();
        let (news_tx, news) = queue::unbounded_channel();
        let state = Arc::new(State::default());
        let tell = Tell {
            state: state.clone(),
            news: news_tx,
        };
        let (poke, pokes) = mpsc::channel::<()>();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let busy = Arc::new(Busy::default());
        let told = busy.clone();
        let thread = std::thread::Builder::new()
            .name("wasmjob-checkpoint".into())
            .spawn(move || checkpoint_while_poked(&db, &pokes, &stopped, &told.caught_up))
            .map_err(super::open::io(dir))?;
        let task = tokio::spawn(write_groups(
            dir.to_path_buf(),
            rx,
            tell,
            poke.clone(),
            busy.clone(),
        ));
        Ok(Writer {
            queue,
            state,
            news,
            handed: 0,
            checkpointer: Some(Checkpointer { poke, stop, thread }),
            busy,
            task: Some(task),
        })
    }

    /// Hands `writes` to the writer; they are committed with whatever else it has when it
    /// gets to them. Returns the hand-off's number.
    pub fn hand(&mut self, writes: Writes) -> u64 {
        self.handed += 1;
        // A stopped writer has reported why; `committed` says so.
        let _ = self.queue.send(Msg::Writes(self.handed, writes));
        self.handed
    }

    /// Asks for the space of deleted rows to be given back after the next commit.
    pub fn reclaim_space(&self) {
        let _ = self.queue.send(Msg::Reclaim);
    }

    /// The number of the last hand-off.
    pub fn handed(&self) -> u64 {
        self.handed
    }

    /// How many group commits the writer made, and the time they took (writing and syncing).
    pub fn work(&self) -> (u64, Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.busy.commits.load(Relaxed),
            Duration::from_nanos(self.busy.nanos.load(Relaxed)),
        )
    }

    /// Where the writer stands now.
    pub fn committed(&self) -> Committed {
        match self.state.failed.get() {
            Some(e) => Err(e.clone()),
            None => Ok(self.state.last()),
        }
    }

    /// Whether everything handed off is committed.
    pub fn idle(&self) -> bool {
        // A failed writer's count stops short of the hand-off that failed.
        self.state.last() >= self.handed
    }

    /// Waits until the writer commits more (or fails), and says where it stands.
    pub async fn changed(&mut self) -> Committed {
        let word = self.news.recv().await;
        while self.news.try_recv().is_ok() {}
        let now = self.committed();
        if word.is_none() && now.is_ok() {
            // The writer is gone without a word: it panicked.
            return Err(Arc::new(StoreError::Io {
                path: "the store's writer".into(),
                source: std::io::Error::other("the writer thread ended"),
            }));
        }
        now
    }

    /// Ends the writer once what it was handed is committed, and waits until its connection
    /// is closed (see [`Store`]'s drop). Dropping the writer ends it too, without waiting.
    pub async fn close(mut self) {
        let task = self.task.take();
        drop(self);
        if let Some(task) = task {
            // A writer that panicked has said so to whoever waited on it.
            let _ = task.await;
        }
    }

    /// Waits until every hand-off so far is committed; the error of a failed commit.
    pub async fn flush(&mut self) -> Result<()> {
        loop {
            match self.committed() {
                Err(e) => return Err(StoreError::Shared(e)),
                Ok(n) if n >= self.handed => return Ok(()),
                Ok(_) => {
                    self.changed().await.map_err(StoreError::Shared)?;
                }
            }
        }
    }
}

impl Drop for Writer {
    /// Stops the checkpointer at once (a checkpoint under way finishes first), so that the
    /// writer's connection, which closes once what it was handed is committed, is the last:
    /// closing, it folds the log into the database and removes it.
    fn drop(&mut self) {
        if let Some(c) = self.checkpointer.take() {
            c.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = c.poke.send(());
            let _ = c.thread.join();
        }
    }
}

/// Where the writer stands: the last hand-off it committed (read without a lock: the
/// controller asks at every turn of its loop), or why it stopped.
#[derive(Default)]
struct State {
    last: std::sync::atomic::AtomicU64,
    failed: std::sync::OnceLock<Arc<StoreError>>,
}

impl State {
    fn last(&self) -> u64 {
        self.last.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// How the writer tells where it stands.
struct Tell {
    state: Arc<State>,
    news: queue::UnboundedSender<()>,
}

impl Tell {
    fn send(&self, committed: Committed) {
        match committed {
            Ok(n) => self
                .state
                .last
                .store(n, std::sync::atomic::Ordering::Release),
            Err(e) => {
                let _ = self.state.failed.set(e);
            }
        }
        let _ = self.news.send(());
    }
}

/// The error of a blocking turn of the writer (`what`) that did not finish.
fn unfinished(what: &str, e: tokio::task::JoinError) -> StoreError {
    StoreError::Io {
        path: "the store's writer".into(),
        source: std::io::Error::other(format!("{what} did not finish: {e}")),
    }
}

/// The writer's connection to the store of `dir`, ready for its first commit.
fn open_for_writing(dir: &std::path::Path) -> Result<Store> {
    // The controller starting the writer has just checked the store.
    let store = Store::open_checking(dir, super::Check::Checked)?;
    let db = StateDir::new(dir).db();
    // Checkpoints are the checkpointer's, never a commit's.
    store
        .conn
        .pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(|e| super::sqlite_error(&db, e))?;
    // The indexes a busy Job writes into (names are random) stay in memory: 32 MiB at most.
    store
        .conn
        .pragma_update(None, "cache_size", -32768)
        .map_err(|e| super::sqlite_error(&db, e))?;
    Ok(store)
}

/// The writer: opens its connection, then each turn takes everything handed so far and
/// commits it as one group, on a blocking thread.
async fn write_groups(
    dir: std::path::PathBuf,
    mut queue: queue::UnboundedReceiver<Msg>,
    committed: Tell,
    checkpoint: mpsc::Sender<()>,
    busy: Arc<Busy>,
) {
    let opened = tokio::task::spawn_blocking(move || open_for_writing(&dir)).await;
    let mut store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            committed.send(Err(Arc::new(e)));
            return;
        }
        Err(e) => {
            committed.send(Err(Arc::new(unfinished("opening its connection", e))));
            return;
        }
    };
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while let Ok(m) = queue.try_recv() {
            group.push(m);
        }
        let timing = busy.clone();
        let turn = tokio::task::spawn_blocking(move || {
            use std::sync::atomic::Ordering::Relaxed;
            let started = std::time::Instant::now();
            if timing.caught_up.swap(false, Relaxed) {
                catch_up(&store);
            }
            let r = commit(&mut store, group);
            timing.commits.fetch_add(1, Relaxed);
            timing
                .nanos
                .fetch_add(started.elapsed().as_nanos() as u64, Relaxed);
            (store, r)
        })
        .await;
        let result = match turn {
            Ok((s, r)) => {
                store = s;
                r
            }
            Err(e) => {
                committed.send(Err(Arc::new(unfinished("a commit", e))));
                return;
            }
        };
        match result {
            Ok(Some(n)) => {
                committed.send(Ok(n));
                let _ = checkpoint.send(());
            }
            Ok(None) => {}
            Err(e) => {
                committed.send(Err(Arc::new(e)));
                return;
            }
        }
    }
}

/// Moves into the database what was committed since the checkpointer's last checkpoint (a
/// passive checkpoint: a second's commits at most, their pages mostly in memory). With the
/// whole log in the database, the next commit starts the log over from its beginning — unless
/// a reader still reads an older state from it, and then a later turn does. Without this the
/// log would only grow while commits keep coming: the checkpointer is always a few commits
/// behind, and SQLite starts a log over only when nothing of it is left to move.
fn catch_up(store: &Store) {
    // A failed checkpoint loses nothing (the log keeps every commit); the next turn retries.
    let _ = store.conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
}

/// Commits one group in one transaction; returns the number of its last hand-off.
fn commit(store: &mut Store, group: Vec<Msg>) -> Result<Option<u64>> {
    let mut last = None;
    let mut reclaim = false;
    let mut batch = store.batch()?;
    for m in group {
        match m {
            Msg::Writes(n, writes) => {
                writes(&mut batch)?;
                last = Some(n);
            }
            Msg::Reclaim => reclaim = true,
        }
    }
    batch.commit()?;
    if reclaim {
        store.reclaim_space()?;
    }
    Ok(last)
}

/// The checkpointer thread: while commits come in, moves the log into the database at most
/// every [`CHECKPOINT_EVERY`], without blocking the writer (a passive checkpoint), on a
/// connection opened for it and closed after — so that when the controller ends, the last
/// connection to close is the writer's, which folds the log in and removes it. Ends when told
/// to, or when the writer does.
fn checkpoint_while_poked(
    db: &std::path::Path,
    pokes: &mpsc::Receiver<()>,
    stop: &std::sync::atomic::AtomicBool,
    caught_up: &std::sync::atomic::AtomicBool,
) {
    let stopped = || stop.load(std::sync::atomic::Ordering::SeqCst);
    // Not at once either: a short run's log is folded in when its last connection closes.
    let mut last = std::time::Instant::now();
    while pokes.recv().is_ok() && !stopped() {
        loop {
            let wait = CHECKPOINT_EVERY.saturating_sub(last.elapsed());
            if wait.is_zero() {
                break;
            }
            match pokes.recv_timeout(wait) {
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if stopped() {
                return;
            }
        }
        // The commits made meanwhile are covered by this checkpoint.
        while pokes.try_recv().is_ok() {}
        if stopped() {
            return;
        }
        if let Ok(conn) = rusqlite::Connection::open(db) {
            let _ = conn.busy_timeout(Duration::from_secs(1));
            if conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)").is_ok() {
                caught_up.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        last = std::time::Instant::now();
    }
}
