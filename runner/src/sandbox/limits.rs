//! Resource limits of one instance: linear memory (the container's memory limit), table
//! elements, and the number of instances, tables and memories. Going past the memory limit
//! ends the run (Kubernetes kills a container over its limit), and is remembered so that the
//! run is reported as `OOMKilled`.

use wasmtime::ResourceLimiter;

/// Table elements a guest may have (a hostile guest could otherwise grow tables without end).
pub const MAX_TABLE_ELEMENTS: usize = 10_000_000;

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
