//! The resource types the CLI's verbs take, resolved from the names users type by the one
//! table of what is served ([`crate::resources`]), so `get po`, `delete jobs.batch/x` and
//! `describe Job x` mean what they mean to kubectl. Owns which verb takes which types.

use super::Failure;
use crate::resources::{self, Resource};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Job,
    Pod,
    Event,
    Node,
}

impl Kind {
    /// The type `word` names, when it is one of the types the verb takes (`takes`): an
    /// unknown name is kubectl's "doesn't have a resource type", a known one the verb does
    /// not take says what the verb takes.
    pub fn parse(word: &str, verb: &str, takes: &[Kind]) -> Result<Kind, Failure> {
        let list = takes
            .iter()
            .map(|k| k.resource().name)
            .collect::<Vec<_>>()
            .join(", ");
        let Some(resource) = resources::named(word) else {
            return Err(Failure::input(format!(
                "error: the server doesn't have a resource type {word:?} (wasmjob's {verb} takes {list})"
            )));
        };
        match takes.iter().find(|k| k.resource().kind == resource.kind) {
            Some(k) => Ok(*k),
            None => Err(Failure::input(format!(
                "error: {verb} takes {list}, not {}",
                resource.name
            ))),
        }
    }

    fn resource(self) -> &'static Resource {
        let kind = match self {
            Kind::Job => "Job",
            Kind::Pod => "Pod",
            Kind::Event => "Event",
            Kind::Node => "Node",
        };
        resources::RESOURCES
            .iter()
            .find(|r| r.kind == kind && !r.name.contains('/'))
            .expect("every Kind is in the table of resources (tested)")
    }

    /// The name in `NotFound` errors: `jobs.batch`, `pods`.
    pub fn plural(self) -> String {
        self.resource().qualified_plural()
    }

    /// An object's name as `-o name` and `deleted` print it: `job.batch/x`, `pod/x`.
    pub fn object_name(self, name: &str) -> String {
        self.resource().object_name(name)
    }

    /// The plural alone: `jobs`, `pods`.
    pub fn name(self) -> &'static str {
        self.resource().name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_served() {
        for k in [Kind::Job, Kind::Pod, Kind::Event, Kind::Node] {
            assert_eq!(Kind::parse(k.name(), "get", &[k]).unwrap(), k);
        }
    }

    #[test]
    fn a_verb_takes_only_its_types() {
        let takes = [Kind::Job, Kind::Pod];
        assert_eq!(
            Kind::parse("jobs.batch", "delete", &takes).unwrap(),
            Kind::Job
        );
        assert_eq!(Kind::parse("po", "delete", &takes).unwrap(), Kind::Pod);
        let e = Kind::parse("ev", "delete", &takes).unwrap_err().message;
        assert_eq!(e, "error: delete takes jobs, pods, not events");
        let e = Kind::parse("deployments", "delete", &takes)
            .unwrap_err()
            .message;
        assert_eq!(
            e,
            "error: the server doesn't have a resource type \"deployments\" (wasmjob's delete takes jobs, pods)"
        );
    }
}
