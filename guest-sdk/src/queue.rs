//! The brokered work queue: a work-queue Job's pods take items one at a time from the host,
//! which leases each item to one pod, takes it back when that pod fails or is stopped, and
//! marks it done when the task acknowledges it (or its pod succeeds). The guest never needs a
//! network.
//!
//! ```no_run
//! for item in wasmjob_guest::queue::items() {
//!     let item = item?;
//!     println!("processing {} (attempt {})", item.text, item.attempt);
//!     item.ack()?; // publishes what the task staged in its atomic outputs for this item
//! }
//! # Ok::<(), wasmjob_guest::HostError>(())
//! ```

use crate::HostError;

/// An item leased to this pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The item's position in the queue (0 for the first line of the items file).
    pub id: u64,
    /// 1 on the item's first lease; higher when an earlier attempt failed or was stopped.
    pub attempt: u32,
    pub text: String,
}

impl Item {
    /// Marks the item done. Files the task wrote to its atomic outputs volume since its last
    /// acknowledgement are published as this item's outputs, all at once.
    pub fn ack(self) -> Result<(), HostError> {
        crate::abi::queue_ack(self.id)
    }
}

/// Leases the next item. Waits while every remaining item is leased to other pods (one of
/// them may fail and give its items back); `None` once every item is done: the task should
/// then exit 0, which is how a work-queue Job completes.
pub fn next() -> Result<Option<Item>, HostError> {
    Ok(crate::abi::queue_next()?.map(|(id, attempt, text)| Item { id, attempt, text }))
}

/// The items, one lease at a time, until the queue is drained.
pub fn items() -> impl Iterator<Item = Result<Item, HostError>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match next() {
            Ok(item) => item.map(Ok),
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}
