//! Resource limits of one instance: linear memory (the container's memory limit), table
//! elements, the number of instances, tables and memories, and the WASI handles (open files,
//! directories, streams) it may hold. Going past the memory limit ends the run (Kubernetes
//! kills a container over its limit), and is remembered so that the run is reported as
//! `OOMKilled`.

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

#[derive(Debug, Default)]
pub struct Limits {
    /// Bytes each linear memory may reach.
    pub memory_bytes: Option<usize>,
    /// Set when the guest asked for more memory than allowed.
    pub exceeded: Option<String>,
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
    fn handles_are_shared_out_between_bounds() {
        assert_eq!(handles_per_instance(u32::MAX), MIN_HANDLES);
        let one = handles_per_instance(1);
        assert!((MIN_HANDLES..=MAX_HANDLES).contains(&one), "{one}");
        assert!(handles_per_instance(1000) <= one);
    }
}
