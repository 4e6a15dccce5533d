//! The subjects cluster mode uses, for operators setting NATS permissions:
//!
//! - `wasmjob.node.<node>` — the control plane publishes a node's orders (pods to run, pods to
//!   stop, answers to its work-queue calls); node `<node>` subscribes.
//! - `wasmjob.control.<node>` — node `<node>` publishes its registration and heartbeats, its
//!   pods' status reports and its work-queue calls; the control plane subscribes to
//!   `wasmjob.control.*`.
//! - the JetStream object store `wasmjob-modules` (stream `OBJ_wasmjob-modules`, subjects
//!   `$O.wasmjob-modules.>`): the control plane puts modules, nodes get them.
//!
//! A node name is a DNS subdomain; its dots become `_` in a subject token (a name has no `_`).
//! Must not: know what travels on them.

/// Every subject starts with it.
pub const PREFIX: &str = "wasmjob";

/// The JetStream object store of modules, named by digest.
pub const MODULES_BUCKET: &str = "wasmjob-modules";

/// What the control plane subscribes to: every node's messages.
pub const FROM_ALL_NODES: &str = "wasmjob.control.*";

/// Node `name` as one subject token.
pub fn token(name: &str) -> String {
    name.replace('.', "_")
}

/// The node a subject token names.
pub fn node_of_token(token: &str) -> String {
    token.replace('_', ".")
}

/// Where node `name`'s orders go.
pub fn to_node(name: &str) -> String {
    format!("{PREFIX}.node.{}", token(name))
}

/// Where node `name` sends.
pub fn from_node(name: &str) -> String {
    format!("{PREFIX}.control.{}", token(name))
}

/// The node a message on `subject` (under [`FROM_ALL_NODES`]) came from.
pub fn sender(subject: &str) -> Option<String> {
    let rest = subject.strip_prefix(PREFIX)?.strip_prefix(".control.")?;
    (!rest.is_empty() && !rest.contains('.')).then(|| node_of_token(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_name_with_dots_is_one_token_both_ways() {
        assert_eq!(
            to_node("edge-1.example.com"),
            "wasmjob.node.edge-1_example_com"
        );
        let subject = from_node("edge-1.example.com");
        assert_eq!(subject, "wasmjob.control.edge-1_example_com");
        assert_eq!(sender(&subject).as_deref(), Some("edge-1.example.com"));
        assert_eq!(sender("wasmjob.control."), None);
        assert_eq!(sender("wasmjob.node.x"), None);
        assert_eq!(sender("other.control.x"), None);
    }
}
