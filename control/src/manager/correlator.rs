//! The event correlator of Kubernetes' event recorder (client-go
//! `tools/record/events_cache.go`: `EventAggregator` and `eventLogger`), so that a Job of
//! 100,000 pods writes a handful of events, not 100,000:
//!
//! - events that are alike — same object, type and reason — with ten different messages
//!   within ten minutes are combined from the tenth on into one event, whose message is
//!   `(combined from similar events): <the latest message>`;
//! - an event seen again (the same key, message included; a combined event is keyed without
//!   its message) is the same event, its count one higher and its last time now; its first
//!   time and name stay.
//!
//! Each event it passes on has a handle: the writer updates the row of a handle it stored
//! before, and stores a new one otherwise. Like the recorder's, its memory is bounded (4,096
//! events and as many groups of alike ones); what it forgets starts again as a new event.
//! Deliberate difference: the recorder's spam filter (25 events per object and reason, then
//! one per five minutes) is left out, so a combined event's count stays current.
//!
//! Must not: store anything (the hand-off does).

use crate::store::EventRecord;
use foldhash::{HashMap, HashSet, HashSetExt};
use std::hash::{Hash, Hasher};
use wasmjob_spec::Time;

/// Different messages of alike events kept apart; from this many on they are combined.
const MAX_EVENTS: usize = 10;
/// Alike events further apart than this start a new group.
const MAX_INTERVAL_MILLIS: i64 = 600_000;
/// Events and groups remembered at most (the recorder's LRU cache size).
const KEPT: usize = 4096;
/// What a combined event's message starts with.
pub const COMBINED: &str = "(combined from similar events): ";

/// An event as it is to be stored: new, or the next state of the event of its handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correlated {
    pub handle: u64,
    /// The event, its time the last time it was seen.
    pub event: EventRecord,
    pub count: i32,
    pub first: Time,
}

/// Keys are hashes of the fields they are made of (64 bits: two different keys that hash
/// alike are not to be expected in a controller's lifetime).
#[derive(Default)]
pub struct Correlator {
    /// Groups of alike events: the messages seen (hashed), and when last.
    groups: HashMap<u64, (HashSet<u64>, Time)>,
    /// Events seen: handle, count, first and last time.
    seen: HashMap<u64, (u64, i32, Time, Time)>,
    next: u64,
    /// Handles of events no longer remembered, for the writer to forget.
    forgotten: Vec<u64>,
}

impl Correlator {
    /// The event to store for `e`.
    pub fn correlate(&mut self, e: EventRecord) -> Correlated {
        let now = e.time;
        let group_key = hash(&(&e.kind, &e.namespace, &e.name, &e.uid, &e.type_, &e.reason));
        let message = hash(&e.message);
        let group = self
            .groups
            .entry(group_key)
            .or_insert_with(|| (HashSet::new(), now));
        if group.1.millis_until(now) > MAX_INTERVAL_MILLIS {
            group.0.clear();
        }
        group.1 = now;
        group.0.insert(message);
        let (key, event) = if group.0.len() < MAX_EVENTS {
            (hash(&(group_key, message)), e)
        } else {
            // Do not grow the group's set any larger (as the recorder does).
            if let Some(any) = group.0.iter().next().copied() {
                group.0.remove(&any);
            }
            let message = format!("{COMBINED}{}", e.message);
            (group_key, EventRecord { message, ..e })
        };
        let (handle, count, first) = match self.seen.get_mut(&key) {
            Some(s) => {
                s.1 = s.1.saturating_add(1);
                s.3 = now;
                (s.0, s.1, s.2)
            }
            None => {
                self.next += 1;
                self.seen.insert(key, (self.next, 1, now, now));
                (self.next, 1, now)
            }
        };
        self.bound();
        Correlated {
            handle,
            event,
            count,
            first,
        }
    }

    /// Handles forgotten since the last call.
    pub fn take_forgotten(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.forgotten)
    }

    /// Keeps memory bounded: past [`KEPT`] entries, the half seen longest ago go.
    fn bound(&mut self) {
        if self.seen.len() > KEPT {
            let mut times: Vec<Time> = self.seen.values().map(|s| s.3).collect();
            times.sort();
            let cut = times[times.len() / 2];
            let forgotten = &mut self.forgotten;
            self.seen.retain(|_, s| {
                let keep = s.3 > cut;
                if !keep {
                    forgotten.push(s.0);
                }
                keep
            });
        }
        if self.groups.len() > KEPT {
            let mut times: Vec<Time> = self.groups.values().map(|g| g.1).collect();
            times.sort();
            let cut = times[times.len() / 2];
            self.groups.retain(|_, g| g.1 > cut);
        }
    }
}

fn hash(v: &impl Hash) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(pod: usize, at: i64) -> EventRecord {
        EventRecord {
            namespace: "default".into(),
            kind: "Job".into(),
            name: "big".into(),
            uid: "job-uid".into(),
            type_: "Normal".into(),
            reason: "SuccessfulCreate".into(),
            message: format!("Created pod: big-{pod}"),
            time: Time::from_millis(at),
        }
    }

    #[test]
    fn nine_events_then_one_combined_event_whose_count_grows() {
        let mut c = Correlator::default();
        let out: Vec<Correlated> = (0..1000)
            .map(|i| c.correlate(created(i, i as i64)))
            .collect();
        let handles: HashSet<u64> = out.iter().map(|o| o.handle).collect();
        assert_eq!(handles.len(), 10, "nine events and one combined");
        for (i, o) in out.iter().take(9).enumerate() {
            assert_eq!(o.event.message, format!("Created pod: big-{i}"));
            assert_eq!(o.count, 1);
        }
        let last = out.last().unwrap();
        assert_eq!(
            last.event.message,
            format!("{COMBINED}Created pod: big-999")
        );
        assert_eq!(last.count, 991);
        assert_eq!(last.first, Time::from_millis(9));
        assert_eq!(last.event.time, Time::from_millis(999));
        assert_eq!(last.handle, out[9].handle);
    }

    #[test]
    fn identical_events_are_counted_and_others_stay_apart() {
        let mut c = Correlator::default();
        let mut e = created(1, 0);
        e.reason = "BackOff".into();
        let a = c.correlate(e.clone());
        let b = c.correlate(EventRecord {
            time: Time::from_millis(5),
            ..e.clone()
        });
        assert_eq!((a.handle, a.count), (b.handle, 1));
        assert_eq!((b.count, b.first), (2, Time::from_millis(0)));
        // Another object, type or reason is another event.
        for other in [
            EventRecord {
                uid: "x".into(),
                ..e.clone()
            },
            EventRecord {
                type_: "Warning".into(),
                ..e.clone()
            },
            EventRecord {
                reason: "Completed".into(),
                ..e.clone()
            },
        ] {
            assert_ne!(c.correlate(other).handle, a.handle);
        }
        // Ten minutes later the group starts again: no combining yet.
        for i in 0..20 {
            c.correlate(created(i, 1_000));
        }
        let later = c.correlate(created(100, 1_000 + MAX_INTERVAL_MILLIS + 1));
        assert_eq!(later.event.message, "Created pod: big-100");
    }

    #[test]
    fn memory_is_bounded_and_forgotten_handles_are_told() {
        let mut c = Correlator::default();
        for i in 0..10_000 {
            let mut e = created(i, i as i64);
            e.uid = format!("pod-{i}");
            c.correlate(e);
        }
        assert!(c.seen.len() <= KEPT && c.groups.len() <= KEPT);
        let forgotten = c.take_forgotten();
        assert!(forgotten.len() >= 10_000 - KEPT, "{}", forgotten.len());
        assert!(c.take_forgotten().is_empty());
    }
}
