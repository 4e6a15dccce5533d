//! Resource limits of one instance: linear memory (the container's memory limit), table
//! elements, the number of instances, tables and memories, and the WASI handles (open files,
//! directories, streams) it may hold; and the node's guard over the linear memory of all
//! instances together ([`GuestMemory`]), which keeps guests without memory limits from taking
//! the host's memory. Going past the memory limit or the guard ends the run (Kubernetes kills a
//! container over its limit, the kernel's OOM killer one that exhausts the node), and is
//! remembered so that the run is reported as `OOMKilled`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::ResourceLimiter;

/// Table elements a guest may have (a hostile guest could otherwise grow tables without end).
pub const MAX_TABLE_ELEMENTS: usize = 10_000_000;

/// Most WASI handles (entries of the instance's resource table: open files, directories,
/// streams) one instance may hold.
pub const MAX_HANDLES: usize = 1024;

/// Fewest handles an instance gets, however many instances share the process's descriptors.
pub const MIN_HANDLES: usize = 64;

/// Descriptors left to the host itself (store, log files, modules) when sharing out the rest.
const HOST_DESCRIPTORS: u64 = 1024;

/// The handles each of `slots` instances may hold, so that together they stay within the
/// process's limit of open descriptors (`RLIMIT_NOFILE`), between [`MIN_HANDLES`] and
/// [`MAX_HANDLES`]. Every open file of a guest is a host descriptor: without a cap, one guest
/// could take them all, and no other pod could open a file, nor the host its store.
pub fn handles_per_instance(slots: u32) -> usize {
    let limit = descriptor_limit().unwrap_or(1024);
    let share = limit.saturating_sub(HOST_DESCRIPTORS) / u64::from(slots.max(1));
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .clamp(MIN_HANDLES, MAX_HANDLES)
}

/// The process's soft limit of open descriptors.
fn descriptor_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct it is given.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0).then_some(l.rlim_cur)
}

/// Raises the process's soft limit of open descriptors to its hard limit, as Go's runtime does
/// for every program, so that many pods with a few files each fit. Returns the new limit.
pub fn raise_descriptor_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write only the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return None;
        }
        if l.rlim_cur < l.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                l = raised;
            }
        }
    }
    Some(l.rlim_cur)
}

/// Memory left to the host when the guest memory guard defaults to the machine's memory.
const HOST_MEMORY_RESERVE: u64 = 1 << 30;

/// The linear memory all instances of a sandbox hold together, and the most they may hold. An
/// instance reserves its memory here as it grows and gives it back when it ends, so guests
/// without a memory limit cannot together take the host's memory: a growth past the ceiling
/// ends that guest as `OOMKilled`, as the kernel's OOM killer would end a container.
#[derive(Debug)]
pub struct GuestMemory {
    held: AtomicU64,
    max: AtomicU64,
}

impl GuestMemory {
    pub fn new(max: u64) -> GuestMemory {
        GuestMemory {
            held: AtomicU64::new(0),
            max: AtomicU64::new(max),
        }
    }

    /// The default ceiling: the machine's memory less 1 GiB for the host (at least half of
    /// it); no ceiling where the machine's memory cannot be read.
    pub fn machine_default() -> u64 {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kib| kib.saturating_mul(1024))
        });
        match total {
            Some(t) => t.saturating_sub(HOST_MEMORY_RESERVE).max(t / 2),
            None => u64::MAX,
        }
    }

    pub fn set_max(&self, max: u64) {
        self.max.store(max, Ordering::Relaxed);
    }

    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// Bytes held by the running instances.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Takes `bytes` more, or answers what is held when that would pass the ceiling.
    fn reserve(&self, bytes: u64) -> Result<(), u64> {
        let max = self.max();
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= max)
            })
            .map(|_| ())
    }

    fn release(&self, bytes: u64) {
        self.held.fetch_sub(bytes, Ordering::AcqRel);
    }
}

#[derive(Debug, Default)]
pub struct Limits {
    /// Bytes each linear memory may reach.
    pub memory_bytes: Option<usize>,
    /// Set when the guest asked for more memory than allowed.
    pub exceeded: Option<String>,
    /// The node's guard, and what this instance holds of it.
    pub guest_memory: Option<Arc<GuestMemory>>,
    reserved: u64,
}

impl Limits {
    /// Limits of one instance: `memory_bytes` per linear memory, and its share of `guest_memory`.
    pub fn new(memory_bytes: Option<usize>, guest_memory: Option<Arc<GuestMemory>>) -> Limits {
        Limits {
            memory_bytes,
            exceeded: None,
            guest_memory,
            reserved: 0,
        }
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        if let Some(pool) = &self.guest_memory {
            pool.release(self.reserved);
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if let Some(limit) = self.memory_bytes
            && desired > limit
        {
            let msg = format!(
                "memory limit exceeded: the guest asked to grow its linear memory from {current} to {desired} bytes; the limit is {limit} bytes"
            );
            self.exceeded = Some(msg.clone());
            return Err(wasmtime::format_err!(msg));
        }
        if let Some(pool) = &self.guest_memory {
            let more = desired.saturating_sub(current) as u64;
            if let Err(held) = pool.reserve(more) {
                let msg = format!(
                    "the node is out of guest memory: the guest asked to grow its linear memory from {current} to {desired} bytes while all guests hold {held} bytes; the node allows {} bytes (--guest-memory)",
                    pool.max()
                );
                self.exceeded = Some(msg.clone());
                return Err(wasmtime::format_err!(msg));
            }
            self.reserved += more;
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        16
    }
    fn memories(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_memory_is_reserved_up_to_the_ceiling_and_given_back() {
        let pool = Arc::new(GuestMemory::new(100));
        let mut a = Limits::new(None, Some(pool.clone()));
        assert!(a.memory_growing(0, 60, None).unwrap());
        let mut b = Limits::new(Some(1000), Some(pool.clone()));
        assert!(b.memory_growing(0, 50, None).is_err(), "60 + 50 > 100");
        assert!(
            b.exceeded
                .as_deref()
                .unwrap()
                .contains("all guests hold 60 bytes")
        );
        assert!(b.memory_growing(0, 40, None).unwrap());
        assert_eq!(pool.held(), 100);
        drop(a);
        assert_eq!(pool.held(), 40, "an ended instance gives its memory back");
        drop(b);
        assert_eq!(pool.held(), 0);
        assert!(GuestMemory::machine_default() > 0);
    }

    #[test]
    fn handles_are_shared_out_between_bounds() {
        assert_eq!(handles_per_instance(u32::MAX), MIN_HANDLES);
        let one = handles_per_instance(1);
        assert!((MIN_HANDLES..=MAX_HANDLES).contains(&one), "{one}");
        assert!(handles_per_instance(1000) <= one);
    }
}
