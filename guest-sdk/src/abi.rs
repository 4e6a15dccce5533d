//! The raw `wasmjob_v1` imports (see `docs/abi.md`), and stand-ins off wasm so that code using
//! the SDK still builds and unit-tests natively (there every call reports
//! [`HostError::NotUnderWasmjob`]).

use crate::HostError;

pub use wasmjob_abi::{MAX_ITEM_BYTES, code};

#[cfg(target_arch = "wasm32")]
mod imports {
    // `wasmjob_abi::MODULE` (an attribute takes a literal only: a test holds the two together).
    #[link(wasm_import_module = "wasmjob_v1")]
    unsafe extern "C" {
        pub fn context(buf: *mut u8, cap: i32) -> i32;
        pub fn termination_message(ptr: *const u8, len: i32) -> i32;
        pub fn progress(permille: i32, ptr: *const u8, len: i32) -> i32;
        pub fn queue_next(buf: *mut u8, cap: i32, info: *mut u8) -> i32;
        pub fn queue_ack(id: i64) -> i32;
    }
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn error(code: i32) -> HostError {
    match code {
        code::FAULT => HostError::Fault,
        code::NO_QUEUE => HostError::NoQueue,
        code::NOT_LEASED => HostError::NotLeased,
        code::PUBLISH_FAILED => HostError::PublishFailed,
        // The SDK always passes a big enough buffer: like a bad pointer, an SDK bug.
        code::TOO_SMALL => HostError::Fault,
        other => HostError::Unknown(other),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn status(code: i32) -> Result<(), HostError> {
    if code < 0 { Err(error(code)) } else { Ok(()) }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn context() -> Result<String, HostError> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: the host writes at most `cap` bytes into `buf`.
        let n = unsafe { imports::context(buf.as_mut_ptr(), buf.len() as i32) };
        status(n)?;
        let n = n as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
        buf.resize(n, 0);
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn termination_message(text: &str) -> Result<(), HostError> {
    // SAFETY: the host only reads `len` bytes at `ptr`.
    status(unsafe { imports::termination_message(text.as_ptr(), text.len() as i32) })
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn progress(permille: i32, text: &str) -> Result<(), HostError> {
    // SAFETY: the host only reads `len` bytes at `ptr`.
    status(unsafe { imports::progress(permille, text.as_ptr(), text.len() as i32) })
}

/// A leased item as the host returned it: id, attempt, text.
#[cfg(target_arch = "wasm32")]
pub(crate) fn queue_next() -> Result<Option<(u64, u32, String)>, HostError> {
    let mut buf = vec![0u8; MAX_ITEM_BYTES];
    let mut info = [0u8; 16];
    // SAFETY: the host writes at most `cap` bytes into `buf` and 16 into `info`.
    let r = unsafe { imports::queue_next(buf.as_mut_ptr(), buf.len() as i32, info.as_mut_ptr()) };
    status(r)?;
    if r == 0 {
        return Ok(None);
    }
    let id = u64::from_le_bytes(info[..8].try_into().unwrap_or_default());
    let attempt = u32::from_le_bytes(info[8..12].try_into().unwrap_or_default());
    let len = u32::from_le_bytes(info[12..].try_into().unwrap_or_default()) as usize;
    buf.truncate(len.min(MAX_ITEM_BYTES));
    Ok(Some((
        id,
        attempt,
        String::from_utf8_lossy(&buf).into_owned(),
    )))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn queue_ack(id: u64) -> Result<(), HostError> {
    // SAFETY: no memory is passed.
    status(unsafe { imports::queue_ack(id as i64) })
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn context() -> Result<String, HostError> {
    Err(HostError::NotUnderWasmjob)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn termination_message(_: &str) -> Result<(), HostError> {
    Err(HostError::NotUnderWasmjob)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn progress(_: i32, _: &str) -> Result<(), HostError> {
    Err(HostError::NotUnderWasmjob)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn queue_next() -> Result<Option<(u64, u32, String)>, HostError> {
    Err(HostError::NotUnderWasmjob)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn queue_ack(_: u64) -> Result<(), HostError> {
    Err(HostError::NotUnderWasmjob)
}

#[cfg(test)]
mod tests {
    /// The import module and function names the guest links against are the ABI's.
    #[test]
    fn the_imports_are_the_abis() {
        let source = include_str!("abi.rs");
        let module = format!("wasm_import_module = \"{}\"", wasmjob_abi::MODULE);
        assert!(source.contains(&module), "{module}");
        for name in wasmjob_abi::imports::ALL {
            assert!(source.contains(&format!("pub fn {name}(")), "{name}");
        }
    }
}
