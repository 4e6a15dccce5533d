//! lease: which processes control a state directory. `wasmjob serve` holds
//! `controller.lock` exclusively, each `wasmjob run` holds it shared, so a serve never runs
//! beside another controller. Every controller also holds `owners/<id>.lock` for its whole
//! life; the store names that id as the owner of the Jobs it runs, and anyone can tell whether
//! an owner is alive by trying its lock (the kernel releases it when a process dies, even by
//! SIGKILL).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `wasmjob serve`: the only controller, runs every Job.
    Serve,
    /// `wasmjob run`: runs its own Jobs; several may share a state directory.
    Run,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Run => "run",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "state directory {dir} is already controlled by `wasmjob serve` (pid {pid}); a second controller is refused: stop it first or pass another --state-dir"
    )]
    Served { dir: String, pid: String },
    #[error(
        "state directory {dir} is in use by `wasmjob run` ({who}); `wasmjob serve` starts once it has finished, or pass another --state-dir"
    )]
    Running { dir: String, who: String },
    #[error("state directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Held for as long as this process controls Jobs in the state directory.
#[derive(Debug)]
pub struct Lease {
    _controller: File,
    _owner: File,
    owner_path: PathBuf,
    id: String,
}

impl Lease {
    /// The owner id the store records for Jobs this process runs.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.owner_path);
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> LeaseError + '_ {
    move |e| LeaseError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn open_rw(path: &Path) -> Result<File, LeaseError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io(path))
}

/// Takes control of `dir` in `role`; fails when the roles clash.
pub fn acquire(dir: &Path, role: Role) -> Result<Lease, LeaseError> {
    let path = super::StateDir::new(dir).lease();
    let mut controller = open_rw(&path)?;
    let locked = match role {
        Role::Serve => controller.try_lock(),
        Role::Run => controller.try_lock_shared(),
    };
    match locked {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(match role {
                Role::Run => LeaseError::Served {
                    dir: dir.display().to_string(),
                    pid: serve_pid(dir),
                },
                Role::Serve => {
                    // Either another serve (its pid is in the file) or runs.
                    if controller.try_lock_shared().is_err() {
                        LeaseError::Served {
                            dir: dir.display().to_string(),
                            pid: serve_pid(dir),
                        }
                    } else {
                        LeaseError::Running {
                            dir: dir.display().to_string(),
                            who: live_owners(dir).join(", "),
                        }
                    }
                }
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
    }
    if role == Role::Serve {
        controller.set_len(0).map_err(io(&path))?;
        write!(controller, "{}", std::process::id()).map_err(io(&path))?;
    }
    let owners = super::StateDir::new(dir).owners();
    std::fs::create_dir_all(&owners).map_err(io(&owners))?;
    let id = format!(
        "{}-{}-{}",
        role.word(),
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let owner_path = owners.join(format!("{id}.lock"));
    let mut owner = open_rw(&owner_path)?;
    owner.try_lock().map_err(|e| match e {
        TryLockError::Error(e) => io(&owner_path)(e),
        TryLockError::WouldBlock => io(&owner_path)(std::io::Error::other("already locked")),
    })?;
    write!(
        owner,
        "wasmjob {} (pid {})",
        role.word(),
        std::process::id()
    )
    .map_err(io(&owner_path))?;
    Ok(Lease {
        _controller: controller,
        _owner: owner,
        owner_path,
        id,
    })
}

/// Whether a `wasmjob serve` controls `dir` right now.
pub fn served(dir: &Path) -> bool {
    let Ok(f) = File::open(super::StateDir::new(dir).lease()) else {
        return false;
    };
    matches!(f.try_lock_shared(), Err(TryLockError::WouldBlock))
}

/// Whether any controller (serve or run) is alive in `dir`.
pub fn any_controller(dir: &Path) -> bool {
    let Ok(f) = File::open(super::StateDir::new(dir).lease()) else {
        return false;
    };
    matches!(f.try_lock(), Err(TryLockError::WouldBlock))
}

/// Whether the controller recorded as `id` is still alive.
pub fn owner_alive(dir: &Path, id: &str) -> bool {
    if id.contains(['/', '\\']) || id.starts_with('.') {
        return false;
    }
    let Ok(f) = File::open(
        super::StateDir::new(dir)
            .owners()
            .join(format!("{id}.lock")),
    ) else {
        return false;
    };
    matches!(f.try_lock(), Err(TryLockError::WouldBlock))
}

fn serve_pid(dir: &Path) -> String {
    let mut s = String::new();
    let _ =
        File::open(super::StateDir::new(dir).lease()).and_then(|mut f| f.read_to_string(&mut s));
    if s.trim().is_empty() {
        "unknown".into()
    } else {
        s.trim().to_string()
    }
}

/// What the live owners say of themselves ("wasmjob run (pid 42)").
fn live_owners(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(super::StateDir::new(dir).owners()) else {
        return vec!["pid unknown".into()];
    };
    let mut who: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".lock")?.to_string();
            owner_alive(dir, &id).then(|| {
                let mut s = String::new();
                let _ = File::open(e.path()).and_then(|mut f| f.read_to_string(&mut s));
                s.trim_start_matches("wasmjob run ").to_string()
            })
        })
        .collect();
    if who.is_empty() {
        who.push("pid unknown".into());
    }
    who
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_clash_as_documented() {
        let dir = tempfile_dir();
        let run1 = acquire(&dir, Role::Run).unwrap();
        let run2 = acquire(&dir, Role::Run).unwrap();
        assert!(owner_alive(&dir, run1.id()));
        assert!(any_controller(&dir));
        assert!(!served(&dir));
        let e = acquire(&dir, Role::Serve).unwrap_err();
        assert!(matches!(e, LeaseError::Running { .. }), "{e}");
        let id1 = run1.id().to_string();
        drop(run1);
        drop(run2);
        assert!(!owner_alive(&dir, &id1));
        assert!(!any_controller(&dir));
        let serve = acquire(&dir, Role::Serve).unwrap();
        assert!(served(&dir));
        let e = acquire(&dir, Role::Serve).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        assert!(matches!(
            acquire(&dir, Role::Run),
            Err(LeaseError::Served { .. })
        ));
        drop(serve);
        assert!(!served(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("wasmjob-lease-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
