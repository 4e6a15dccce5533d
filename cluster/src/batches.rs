//! A message as one or more payloads that each fit the server's limit (`max_payload`, 1 MiB by
//! default): a batch (pods to run, stops, answers, reports) that is too large is split in
//! halves until each part fits, so one broker message still carries as many pods as it can.
//! A single item too large for any payload is an error naming its size.
//! Must not: reorder what it splits (parts go out in order).

use wasmjob_control::node::wire;
use wasmjob_control::node::{FromNode, ToNode};

/// A message whose batch can be cut in two.
pub trait Batch: Sized {
    /// Its bytes on the wire.
    fn bytes(&self) -> Vec<u8>;
    /// The two halves of the batch, if it has more than one item.
    fn halves(self) -> Result<(Self, Self), Self>;
}

fn split<T>(mut items: Vec<T>) -> Result<(Vec<T>, Vec<T>), Vec<T>> {
    if items.len() < 2 {
        return Err(items);
    }
    let back = items.split_off(items.len() / 2);
    Ok((items, back))
}

impl Batch for ToNode {
    fn bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }
    fn halves(self) -> Result<(Self, Self), Self> {
        match self {
            ToNode::Assign(v) => split(v)
                .map(|(a, b)| (ToNode::Assign(a), ToNode::Assign(b)))
                .map_err(ToNode::Assign),
            ToNode::Stop(v) => split(v)
                .map(|(a, b)| (ToNode::Stop(a), ToNode::Stop(b)))
                .map_err(ToNode::Stop),
            ToNode::Answers(v) => split(v)
                .map(|(a, b)| (ToNode::Answers(a), ToNode::Answers(b)))
                .map_err(ToNode::Answers),
            ToNode::Acks(v) => split(v)
                .map(|(a, b)| (ToNode::Acks(a), ToNode::Acks(b)))
                .map_err(ToNode::Acks),
        }
    }
}

impl Batch for FromNode {
    fn bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }
    fn halves(self) -> Result<(Self, Self), Self> {
        match self {
            FromNode::Reports(v) => split(v)
                .map(|(a, b)| (FromNode::Reports(a), FromNode::Reports(b)))
                .map_err(FromNode::Reports),
            other => Err(other),
        }
    }
}

/// `message` as payloads of at most `max` bytes each, in order.
pub fn payloads<M: Batch>(message: M, max: usize) -> Result<Vec<Vec<u8>>, String> {
    let bytes = message.bytes();
    if bytes.len() <= max {
        return Ok(vec![bytes]);
    }
    match message.halves() {
        Ok((a, b)) => {
            let mut out = payloads(a, max)?;
            out.extend(payloads(b, max)?);
            Ok(out)
        }
        Err(_) => Err(format!(
            "a message of {} bytes does not fit the NATS server's payload limit ({max} bytes)",
            bytes.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjob_control::node::{Stop, StopCause};

    fn stops(n: usize) -> ToNode {
        ToNode::Stop(
            (0..n)
                .map(|i| Stop {
                    pod_uid: format!("pod-{i:04}"),
                    cause: StopCause::Shutdown,
                })
                .collect(),
        )
    }

    #[test]
    fn a_large_batch_is_split_in_order_and_each_part_fits() {
        let whole = wire::encode(&stops(1000)).len();
        let parts = payloads(stops(1000), whole / 5).unwrap();
        assert!(parts.len() >= 5, "{} parts", parts.len());
        let mut uids = Vec::new();
        for p in &parts {
            assert!(p.len() <= whole / 5);
            let Ok(ToNode::Stop(s)) = wire::decode::<ToNode>(p) else {
                panic!("not stops");
            };
            uids.extend(s.into_iter().map(|s| s.pod_uid));
        }
        let want: Vec<String> = (0..1000).map(|i| format!("pod-{i:04}")).collect();
        assert_eq!(uids, want);
        assert_eq!(payloads(stops(3), whole).unwrap().len(), 1);
    }

    #[test]
    fn one_item_too_large_is_an_error_naming_the_limit() {
        let e = payloads(stops(1), 10).unwrap_err();
        assert!(e.contains("payload limit (10 bytes)"), "{e}");
    }
}
