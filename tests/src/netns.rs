//! Network namespaces for the tests of cluster mode, where root allows: a bridge in the host's
//! namespace with an address of its own (`10.231.<k>.1/24`), and namespaces joined to it by
//! veth pairs, each with its own address (`10.231.<k>.<10+i>`), so that each process in one has
//! an address of its own and reaches the host only through the bridge. Nothing is routed
//! elsewhere: the addresses are the test's own, and dropping the set removes all of it.
//! Must not: touch an interface or namespace it did not make.

use std::process::Command;

/// A bridge and namespaces joined to it, removed when dropped.
pub struct Namespaces {
    /// The bridge's name, and its address (where the host's servers listen for the namespaces).
    bridge: String,
    pub host_address: String,
    /// The namespaces' names, and each one's address.
    pub names: Vec<String>,
    pub addresses: Vec<String>,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Namespaces {
    /// `n` namespaces on a new bridge, or `None` where they cannot be made (not root, no `ip`).
    pub fn make(n: usize) -> Option<Namespaces> {
        // A subnet and names of this process's own.
        let id = std::process::id() % 10_000;
        let k = 1 + std::process::id() % 250;
        let bridge = format!("wjbr{id}");
        if !ip(&["link", "add", &bridge, "type", "bridge"]) {
            return None;
        }
        let mut set = Namespaces {
            host_address: format!("10.231.{k}.1"),
            bridge: bridge.clone(),
            names: Vec::new(),
            addresses: Vec::new(),
        };
        let ok = ip(&[
            "addr",
            "add",
            &format!("{}/24", set.host_address),
            "dev",
            &bridge,
        ]) && ip(&["link", "set", &bridge, "up"]);
        if !ok {
            return None;
        }
        for i in 0..n {
            let ns = format!("wjns{id}x{i}");
            let veth = format!("wjv{id}x{i}");
            let address = format!("10.231.{k}.{}", 10 + i);
            if !ip(&["netns", "add", &ns]) {
                return None;
            }
            set.names.push(ns.clone());
            let ok = ip(&[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ]) && ip(&["link", "set", &veth, "master", &bridge])
                && ip(&["link", "set", &veth, "up"])
                && ip(&[
                    "netns",
                    "exec",
                    &ns,
                    "ip",
                    "addr",
                    "add",
                    &format!("{address}/24"),
                    "dev",
                    "eth0",
                ])
                && ip(&["netns", "exec", &ns, "ip", "link", "set", "eth0", "up"])
                && ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]);
            if !ok {
                return None;
            }
            set.addresses.push(address);
        }
        Some(set)
    }

    /// The command line that runs `program` in namespace `i`.
    pub fn command(&self, i: usize, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.names[i], program]);
        c
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.names {
            ip(&["netns", "delete", ns]);
        }
        ip(&["link", "delete", &self.bridge]);
    }
}
