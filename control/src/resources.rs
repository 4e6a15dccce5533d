//! The resource types served, in one table: discovery lists it (kubectl and the client
//! libraries map `jobs`, `po`, `jobs.batch` to paths with it), the API's router is tested
//! against its verbs, and the CLI's verbs resolve the names users type through [`named`], as
//! kubectl does. Holds no behaviour of any resource.

/// A resource type, as discovery lists it.
pub struct Resource {
    /// `v1` (the core group) or `batch/v1`.
    pub group_version: &'static str,
    /// The plural, or `plural/subresource`.
    pub name: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// Exactly the verbs served (the API server's words: `get`, `list`, `watch`, `create`,
    /// `update`, `patch`, `delete`, `deletecollection`).
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
}

/// Everything the API serves.
pub const RESOURCES: &[Resource] = &[
    Resource {
        group_version: "v1",
        name: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        verbs: &["delete", "get", "list", "watch"],
        short_names: &["po"],
        categories: &["all"],
    },
    Resource {
        group_version: "v1",
        name: "pods/log",
        singular: "",
        kind: "Pod",
        namespaced: true,
        verbs: &["get"],
        short_names: &[],
        categories: &[],
    },
    Resource {
        group_version: "v1",
        name: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        verbs: &["create", "get", "list", "watch"],
        short_names: &["ns"],
        categories: &[],
    },
    Resource {
        group_version: "v1",
        name: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        verbs: &["delete", "get", "list", "patch", "watch"],
        short_names: &["no"],
        categories: &[],
    },
    Resource {
        group_version: "v1",
        name: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        verbs: &["get", "list", "watch"],
        short_names: &["ev"],
        categories: &[],
    },
    Resource {
        group_version: "batch/v1",
        name: "jobs",
        singular: "job",
        kind: "Job",
        namespaced: true,
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        short_names: &[],
        categories: &["all"],
    },
    Resource {
        group_version: "batch/v1",
        name: "jobs/status",
        singular: "",
        kind: "Job",
        namespaced: true,
        verbs: &["get"],
        short_names: &[],
        categories: &[],
    },
];

impl Resource {
    /// The API group: `""` for the core group, `batch` for `batch/v1`.
    pub fn group(&self) -> &'static str {
        self.group_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// The version: `v1`.
    pub fn version(&self) -> &'static str {
        self.group_version
            .rsplit_once('/')
            .map_or(self.group_version, |(_, v)| v)
    }

    /// How kubectl names the type in messages: `jobs.batch`, `pods` (`NotFound` errors).
    pub fn qualified_plural(&self) -> String {
        qualified(self.name, self.group())
    }

    /// How kubectl names an object of it: `job.batch/x`, `pod/x` (`-o name`, `deleted`).
    pub fn object_name(&self, name: &str) -> String {
        format!("{}/{name}", qualified(self.singular, self.group()))
    }
}

fn qualified(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

/// The resource type a word names, as kubectl resolves it: its plural, singular or a short
/// name, case-insensitively, alone or qualified by its group (`jobs.batch`) or by version and
/// group (`jobs.v1.batch`). Subresources (`pods/log`) are not named this way.
pub fn named(word: &str) -> Option<&'static Resource> {
    let word = word.to_ascii_lowercase();
    RESOURCES
        .iter()
        .filter(|r| !r.name.contains('/'))
        .find(|r| {
            let names = [r.name, r.singular]
                .into_iter()
                .chain(r.short_names.iter().copied());
            let group = r.group();
            let version = r.version();
            names.into_iter().any(|n| {
                word == n
                    || (!group.is_empty()
                        && (word == format!("{n}.{group}")
                            || word == format!("{n}.{version}.{group}")))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_as_kubectl_resolves_them() {
        for word in [
            "jobs",
            "job",
            "Jobs",
            "jobs.batch",
            "job.batch",
            "jobs.v1.batch",
        ] {
            assert_eq!(named(word).map(|r| r.kind), Some("Job"), "{word}");
        }
        for word in ["pods", "pod", "po", "PO"] {
            assert_eq!(named(word).map(|r| r.kind), Some("Pod"), "{word}");
        }
        for word in ["events", "event", "ev"] {
            assert_eq!(named(word).map(|r| r.kind), Some("Event"), "{word}");
        }
        for word in ["namespaces", "namespace", "ns"] {
            assert_eq!(named(word).map(|r| r.kind), Some("Namespace"), "{word}");
        }
        for word in [
            "",
            "jo",
            "pods/log",
            "log",
            "jobs.apps",
            "pods.batch",
            "cronjobs",
            "job.v2.batch",
        ] {
            assert!(named(word).is_none(), "{word}");
        }
    }

    #[test]
    fn messages_name_types_and_objects_as_kubectl_does() {
        let job = named("job").unwrap();
        let pod = named("po").unwrap();
        assert_eq!(job.qualified_plural(), "jobs.batch");
        assert_eq!(pod.qualified_plural(), "pods");
        assert_eq!(job.object_name("x"), "job.batch/x");
        assert_eq!(pod.object_name("x"), "pod/x");
    }
}
