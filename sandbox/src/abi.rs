//! The host ABI `wasmjob_v1`: the functions a task may import beyond WASI preview 1, wired to
//! the [`TaskHost`] of its run. The guest SDK (`wasmjob-guest`) wraps them; `docs/abi.md`
//! documents them for other languages. Every function checks its pointers against the guest's
//! exported `memory` and answers a bad one with [`code::FAULT`]; none of them traps.
//!
//! Changing a signature or a meaning needs a new module name (`wasmjob_v2`); adding a function
//! does not.

use super::run::State;
use std::sync::Arc;
use wasmtime::{Caller, Linker};

pub use wasmjob_abi::{
    MAX_ITEM_BYTES, MAX_PROGRESS_TEXT, MAX_TERMINATION_MESSAGE, MODULE, code, imports,
};

/// An item handed to a task.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeasedItem {
    pub id: u64,
    /// 1 on the first lease of the item, 2 on the second, …
    pub attempt: u32,
    pub text: String,
}

/// What `queue_next` finds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NextItem {
    Item(LeasedItem),
    /// Every item is acknowledged: the task should finish.
    Drained,
    /// The Job has no queue.
    NoQueue,
}

/// Why an acknowledgement was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckError {
    NoQueue,
    NotLeased,
    Publish(String),
}

/// The host side of one container run: what the `wasmjob_v1` functions act on.
#[async_trait::async_trait]
pub trait TaskHost: Send + Sync {
    /// The task's context as `key=value` lines.
    fn context(&self) -> String;
    /// Replaces the container's termination message (already capped).
    fn set_termination_message(&self, message: String);
    /// Records progress: a fraction in thousandths, and a text (already capped).
    fn report_progress(&self, permille: Option<u16>, text: String);
    /// Leases the next item; waits while every remaining item is leased to other pods.
    async fn next_item(&self) -> NextItem;
    /// Acknowledges an item leased to this pod, publishing what the pod staged for it.
    async fn ack_item(&self, id: u64) -> Result<(), AckError>;
}

/// Defines the `wasmjob_v1` functions in `linker`.
pub fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    // context(buf, cap) -> length of the whole text; written only when it fits.
    linker.func_wrap(
        MODULE,
        imports::CONTEXT,
        |mut caller: Caller<'_, State>, buf: i32, cap: i32| -> i32 {
            let text = caller.data().host.context();
            let len = text.len() as i32;
            if text.len() > cap.max(0) as usize {
                return len;
            }
            match write(&mut caller, buf, text.as_bytes()) {
                Ok(()) => len,
                Err(c) => c,
            }
        },
    )?;
    // termination_message(ptr, len) -> 0
    linker.func_wrap(
        MODULE,
        imports::TERMINATION_MESSAGE,
        |mut caller: Caller<'_, State>, ptr: i32, len: i32| -> i32 {
            match read_text(&mut caller, ptr, len, MAX_TERMINATION_MESSAGE) {
                Ok(text) => {
                    caller.data().host.set_termination_message(text);
                    0
                }
                Err(c) => c,
            }
        },
    )?;
    // progress(permille, ptr, len) -> 0; permille outside 0..=1000 means "no fraction".
    linker.func_wrap(
        MODULE,
        imports::PROGRESS,
        |mut caller: Caller<'_, State>, permille: i32, ptr: i32, len: i32| -> i32 {
            match read_text(&mut caller, ptr, len, MAX_PROGRESS_TEXT) {
                Ok(text) => {
                    let fraction = u16::try_from(permille).ok().filter(|p| *p <= 1000);
                    caller.data().host.report_progress(fraction, text);
                    0
                }
                Err(c) => c,
            }
        },
    )?;
    // queue_next(buf, cap, info) -> 1 (an item: id u64, attempt u32, length u32 at info,
    // text at buf), 0 (drained), or an error code.
    linker.func_wrap_async(
        MODULE,
        imports::QUEUE_NEXT,
        |mut caller: Caller<'_, State>, (buf, cap, info): (i32, i32, i32)| {
            Box::new(async move {
                // Check the call before leasing, so that a bad call takes nothing.
                if (cap as u32 as usize) < MAX_ITEM_BYTES {
                    return Ok(code::TOO_SMALL);
                }
                if let Err(c) = check(&mut caller, info, 16).and(check(&mut caller, buf, cap)) {
                    return Ok(c);
                }
                let host: Arc<dyn TaskHost> = caller.data().host.clone();
                let item = match host.next_item().await {
                    NextItem::Item(item) => item,
                    NextItem::Drained => return Ok(0),
                    NextItem::NoQueue => return Ok(code::NO_QUEUE),
                };
                let mut head = [0u8; 16];
                head[..8].copy_from_slice(&item.id.to_le_bytes());
                head[8..12].copy_from_slice(&item.attempt.to_le_bytes());
                head[12..].copy_from_slice(&(item.text.len() as u32).to_le_bytes());
                let r = write(&mut caller, info, &head)
                    .and_then(|()| write(&mut caller, buf, item.text.as_bytes()));
                Ok(r.map(|()| 1).unwrap_or_else(|c| c))
            })
        },
    )?;
    // queue_ack(id) -> 0 or an error code.
    linker.func_wrap_async(
        MODULE,
        imports::QUEUE_ACK,
        |caller: Caller<'_, State>, (id,): (i64,)| {
            Box::new(async move {
                let host: Arc<dyn TaskHost> = caller.data().host.clone();
                Ok(match host.ack_item(id as u64).await {
                    Ok(()) => 0,
                    Err(AckError::NoQueue) => code::NO_QUEUE,
                    Err(AckError::NotLeased) => code::NOT_LEASED,
                    Err(AckError::Publish(_)) => code::PUBLISH_FAILED,
                })
            })
        },
    )?;
    Ok(())
}

fn memory(caller: &mut Caller<'_, State>) -> Result<wasmtime::Memory, i32> {
    caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or(code::FAULT)
}

fn range(ptr: i32, len: i32, size: usize) -> Result<std::ops::Range<usize>, i32> {
    let (Ok(start), Ok(len)) = (usize::try_from(ptr as u32), usize::try_from(len)) else {
        return Err(code::FAULT);
    };
    let end = start.checked_add(len).ok_or(code::FAULT)?;
    if end > size {
        return Err(code::FAULT);
    }
    Ok(start..end)
}

fn check(caller: &mut Caller<'_, State>, ptr: i32, len: i32) -> Result<(), i32> {
    let mem = memory(caller)?;
    range(ptr, len, mem.data_size(&*caller)).map(|_| ())
}

fn write(caller: &mut Caller<'_, State>, ptr: i32, bytes: &[u8]) -> Result<(), i32> {
    let mem = memory(caller)?;
    let len = i32::try_from(bytes.len()).map_err(|_| code::FAULT)?;
    let r = range(ptr, len, mem.data_size(&*caller))?;
    mem.data_mut(caller)[r].copy_from_slice(bytes);
    Ok(())
}

/// Reads `len` bytes at `ptr` as text (invalid UTF-8 replaced), cut to `max` bytes.
fn read_text(
    caller: &mut Caller<'_, State>,
    ptr: i32,
    len: i32,
    max: usize,
) -> Result<String, i32> {
    let mem = memory(caller)?;
    let r = range(ptr, len, mem.data_size(&*caller))?;
    let bytes = &mem.data(&*caller)[r];
    let bytes = &bytes[..bytes.len().min(max)];
    // Replacement characters can make the text longer than its bytes: cut again.
    Ok(super::run::cap_at(
        String::from_utf8_lossy(bytes).into_owned(),
        max,
    ))
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges_outside_memory_are_faults() {
        assert_eq!(range(0, 10, 10), Ok(0..10));
        assert_eq!(range(5, 5, 10), Ok(5..10));
        assert!(range(5, 6, 10).is_err());
        assert!(range(0, -1, 10).is_err());
        assert!(
            range(-1, 1, 10).is_err(),
            "a pointer past 2 GiB in a small memory"
        );
        assert_eq!(
            range(i32::MAX, 0, usize::MAX),
            Ok(i32::MAX as usize..i32::MAX as usize)
        );
    }
}
