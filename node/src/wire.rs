//! The seam's messages ([`super::messages`]) as bytes, for a transport that leaves the process
//! (a broker): JSON, each message in an envelope with the format's version, so that a node and
//! a control side of different versions refuse each other's messages by name rather than
//! misread them. [`relay`] is the smallest such transport: an in-process link whose every
//! message goes through its bytes.
//!
//! Must not: decide anything, or know a particular transport.

use super::NodeLink;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// The version of the format this build writes and reads.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Sealed<'a, T> {
    v: u32,
    m: &'a T,
}

#[derive(serde::Deserialize)]
struct Opened<T> {
    v: u32,
    m: T,
}

#[derive(serde::Deserialize)]
struct VersionOnly {
    v: u32,
}

/// A message that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Written by a wasmjob whose format is another version.
    Version(u32),
    /// Not a message of this format (the text says where parsing stopped).
    Malformed(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Version(v) => write!(
                f,
                "a message in wire format version {v}; this wasmjob reads version {VERSION} (run the same wasmjob version on the control plane and every node)"
            ),
            WireError::Malformed(why) => write!(f, "an unreadable message: {why}"),
        }
    }
}

impl std::error::Error for WireError {}

/// The bytes of `message`.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Serializing these types cannot fail: every map key is a string, and paths are written
    // as text (a path that is not UTF-8 is written lossily; nothing here makes one).
    serde_json::to_vec(&Sealed {
        v: VERSION,
        m: message,
    })
    .unwrap_or_default()
}

/// The message in `bytes`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    match serde_json::from_slice::<Opened<T>>(bytes) {
        Ok(o) if o.v == VERSION => Ok(o.m),
        Ok(o) => Err(WireError::Version(o.v)),
        Err(e) => match serde_json::from_slice::<VersionOnly>(bytes) {
            Ok(o) if o.v != VERSION => Err(WireError::Version(o.v)),
            _ => Err(WireError::Malformed(e.to_string())),
        },
    }
}

/// A link to the same node whose messages, both ways, are encoded and decoded on the way: what
/// a broker transport does, without the broker. A message that does not survive its bytes
/// ends the relay (both ways), as a broken connection would, and is reported on stderr.
pub fn relay(link: NodeLink) -> NodeLink {
    let NodeLink {
        orders: to_node,
        reports: from_node,
    } = link;
    let (orders, orders_rx) = mpsc::unbounded_channel();
    let (reports_tx, reports) = mpsc::unbounded_channel();
    tokio::spawn(pass(orders_rx, to_node, "to the node"));
    tokio::spawn(pass(from_node, reports_tx, "from the node"));
    NodeLink { orders, reports }
}

/// Carries each message from `rx` to `tx` through its bytes, until either end closes or a
/// message does not survive.
async fn pass<T: Serialize + DeserializeOwned>(
    mut rx: mpsc::UnboundedReceiver<T>,
    tx: mpsc::UnboundedSender<T>,
    way: &str,
) {
    while let Some(message) = rx.recv().await {
        let message = match decode(&encode(&message)) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("wasmjob: relay {way}: {e}");
                return;
            }
        };
        if tx.send(message).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::*;
    use crate::{StopCause, TaskInfo};
    use std::sync::Arc;
    use wasmjob_sandbox::abi::{LeasedItem, NextItem};
    use wasmjob_spec::Pod;

    /// A pod as the controller makes one, with a status as a node reports it.
    fn pod() -> Pod {
        serde_json::from_str(
            r#"{"apiVersion":"v1","kind":"Pod",
              "metadata":{"name":"pi-0-x7k2p","namespace":"default","uid":"7d1c1b6e-3f59-4c52-9d0e-2a3b4c5d6e7f",
                "labels":{"batch.kubernetes.io/job-completion-index":"0","job-name":"pi"},
                "annotations":{"batch.kubernetes.io/job-completion-index":"0","wasmjob.dev/fuel":"1000000"},
                "creationTimestamp":"2026-12-07T21:00:00.123456789Z",
                "finalizers":["batch.kubernetes.io/job-tracking"]},
              "spec":{"restartPolicy":"OnFailure","containers":[{"name":"pi","image":"pi.wasm","args":["100"],
                "env":[{"name":"DIGITS","value":"100"}],"resources":{"limits":{"memory":"64Mi"}}}]},
              "status":{"phase":"Running","startTime":"2026-12-07T21:00:00.5Z",
                "conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-12-07T21:00:00.5Z"}],
                "containerStatuses":[{"name":"pi","ready":true,"restartCount":1,"image":"pi.wasm","imageID":"",
                  "state":{"running":{"startedAt":"2026-12-07T21:00:01Z"}},
                  "lastState":{"terminated":{"exitCode":3,"reason":"Error","startedAt":"2026-12-07T21:00:00.5Z","finishedAt":"2026-12-07T21:00:00.9Z"}}}]}}"#,
        )
        .unwrap()
    }

    fn survives<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(m: T) {
        assert_eq!(decode::<T>(&encode(&m)).unwrap(), m);
    }

    #[test]
    fn every_message_survives_its_bytes() {
        let pod = pod();
        survives(ToNode::Assign(vec![Assignment {
            pod: Arc::new(pod.clone()),
            job_uid: "0b8e0b8e-0000-4000-8000-000000000001".into(),
            base_dir: "/work/jobs".into(),
            info: TaskInfo {
                completions: Some(10),
                parallelism: 3,
                failed_before: 2,
            },
            queue: true,
            modules: [("main".to_string(), format!("sha256:{}", "ab".repeat(32)))].into(),
        }]));
        survives(ToNode::Stop(vec![
            Stop {
                pod_uid: "a".into(),
                cause: StopCause::Deleted("the Job was deleted".into()),
            },
            Stop {
                pod_uid: "b".into(),
                cause: StopCause::Shutdown,
            },
            Stop {
                pod_uid: "c".into(),
                cause: StopCause::PodDeadline,
            },
            Stop {
                pod_uid: "d".into(),
                cause: StopCause::Evicted(
                    "Usage of EmptyDir volume \"scratch\" exceeds the limit \"1Mi\".".into(),
                ),
            },
            Stop {
                pod_uid: "e".into(),
                cause: StopCause::EvictedByApi,
            },
        ]));
        survives(ToNode::Answers(vec![
            QueueReply {
                id: 1,
                answer: QueueAnswer::Item(NextItem::Item(LeasedItem {
                    id: 7,
                    attempt: 2,
                    text: "line \"seven\"\n".into(),
                })),
            },
            QueueReply {
                id: 2,
                answer: QueueAnswer::Item(NextItem::Drained),
            },
            QueueReply {
                id: 3,
                answer: QueueAnswer::Yes(false),
            },
        ]));
        survives(FromNode::Reports(vec![StatusReport {
            pod_uid: pod.metadata.uid().into(),
            namespace: "default".into(),
            name: pod.metadata.name().into(),
            status: pod.status.clone(),
            finished: true,
            warnings: vec!["outputs of index 0 were not published: disk full".into()],
            logs: vec![RunLog {
                container: "pi".into(),
                restart: 0,
                // Any bytes: a guest's output need not be UTF-8.
                bytes: vec![0, 159, 146, 150, b'\n', 255],
            }],
        }]));
        for op in [QueueOp::Lease, QueueOp::IsLeased(4), QueueOp::Ack(5)] {
            survives(FromNode::Queue(QueueCall {
                id: 9,
                job_uid: "j".into(),
                pod: "p".into(),
                op,
            }));
        }
        let mut node = wasmjob_spec::node::Node::default();
        node.metadata.name = Some("edge-1".into());
        node.metadata.labels.insert("zone".into(), "b".into());
        node.spec.unschedulable = true;
        survives(FromNode::Register {
            node: Box::new(node),
            incarnation: "0b8e0b8e-0000-4000-8000-000000000002".into(),
            pods: vec!["0b8e0b8e-0000-4000-8000-000000000003".into()],
        });
    }

    #[test]
    fn log_bytes_travel_as_base64_text() {
        let bytes = encode(&RunLog {
            container: "c".into(),
            restart: 0,
            bytes: b"hello\n".to_vec(),
        });
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(r#""bytes":"aGVsbG8K""#), "{text}");
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let text = String::from_utf8(encode(&ToNode::Stop(vec![]))).unwrap();
        let newer = text.replace(&format!("\"v\":{VERSION}"), "\"v\":2");
        assert_ne!(newer, text);
        let e = decode::<ToNode>(newer.as_bytes()).unwrap_err();
        assert_eq!(e, WireError::Version(2));
        assert!(e.to_string().contains("version 2"), "{e}");
        // A newer message this version cannot parse at all is still named by its version.
        let e = decode::<ToNode>(br#"{"v":3,"m":{"Reschedule":[]}}"#).unwrap_err();
        assert_eq!(e, WireError::Version(3));
    }

    #[test]
    fn bytes_that_are_no_message_are_refused() {
        for bad in [
            &b""[..],
            b"{",
            b"[1,2]",
            br#"{"v":1,"m":{"Launch":[]}}"#,
            br#"{"v":1}"#,
        ] {
            match decode::<ToNode>(bad) {
                Err(WireError::Malformed(why)) => assert!(!why.is_empty()),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
            }
        }
    }

    /// Damaged bytes (flipped, cut, inserted) are refused or read as some message, never a
    /// panic; whatever is read encodes and reads back as itself.
    #[test]
    fn damaged_bytes_never_panic() {
        let pod = pod();
        let seeds: Vec<Vec<u8>> = vec![
            encode(&ToNode::Assign(vec![Assignment {
                pod: Arc::new(pod.clone()),
                job_uid: "j".into(),
                base_dir: "/w".into(),
                info: TaskInfo::default(),
                queue: false,
                modules: Default::default(),
            }])),
            encode(&FromNode::Reports(vec![StatusReport {
                pod_uid: "u".into(),
                namespace: "default".into(),
                name: "p".into(),
                status: pod.status.clone(),
                finished: false,
                warnings: vec![],
                logs: vec![RunLog {
                    container: "c".into(),
                    restart: 1,
                    bytes: b"out\n".to_vec(),
                }],
            }])),
            encode(&ToNode::Answers(vec![QueueReply {
                id: 3,
                answer: QueueAnswer::Yes(true),
            }])),
        ];
        // xorshift: the same damage every run.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let (mut read, mut refused) = (0, 0);
        for round in 0..3000 {
            let mut bytes = seeds[round % seeds.len()].clone();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len());
                match next(3) {
                    0 => bytes[at] = next(256) as u8,
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at, b"{}[]\",:0\\x"[next(10)]),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            match decode::<ToNode>(&bytes) {
                Ok(m) => {
                    read += 1;
                    assert_eq!(decode::<ToNode>(&encode(&m)).unwrap(), m);
                }
                Err(_) => refused += 1,
            }
            if let Ok(m) = decode::<FromNode>(&bytes) {
                read += 1;
                assert_eq!(decode::<FromNode>(&encode(&m)).unwrap(), m);
            }
        }
        // The damage reached both outcomes.
        assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
    }

    /// A relayed link carries both ways, in order.
    #[tokio::test]
    async fn a_relay_carries_both_ways() {
        let (node_orders, mut orders_at_node) = mpsc::unbounded_channel();
        let (reports_from_node, node_reports) = mpsc::unbounded_channel();
        let mut link = relay(NodeLink {
            orders: node_orders,
            reports: node_reports,
        });
        for i in 0..3 {
            let stop = ToNode::Stop(vec![Stop {
                pod_uid: format!("p{i}"),
                cause: StopCause::PodDeadline,
            }]);
            link.orders.send(stop.clone()).unwrap();
            assert_eq!(orders_at_node.recv().await.unwrap(), stop);
        }
        let call = FromNode::Queue(QueueCall {
            id: 1,
            job_uid: "j".into(),
            pod: "p".into(),
            op: QueueOp::Lease,
        });
        reports_from_node.send(call.clone()).unwrap();
        assert_eq!(link.reports.recv().await.unwrap(), call);
        // The node gone, the control side sees its link end.
        drop(reports_from_node);
        assert!(link.reports.recv().await.is_none());
    }
}
