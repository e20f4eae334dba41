//! Test hosts in network namespaces of the test's own: a bridge in the test's namespace
//! with the first address of a documentation /24, and a namespace per host joined to it by
//! a veth pair. Routes are cut and restored inside a host's namespace. Everything is
//! removed when the `Net` is dropped, also when the test fails (and leftovers of an earlier
//! run that died are removed at the start). Needs root, as CI runs.

use std::process::{Child, Command, Stdio};

/// A bridge and the namespaces joined to it.
pub struct Net {
    bridge: String,
    prefix: String,
    /// The first three octets, e.g. `198.51.100`.
    subnet: String,
    hosts: Vec<String>,
    children: Vec<Child>,
}

fn run(args: &[&str]) {
    let output = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn quietly(args: &[&str]) {
    let _ = Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Net {
    /// A bridge named after `tag` (one letter per test) holding `subnet`.1/24, where
    /// `subnet` is a documentation range (`198.51.100`, `203.0.113` or `192.0.2`).
    pub fn new(tag: char, subnet: &str) -> Self {
        assert!(
            ["192.0.2", "198.51.100", "203.0.113"].contains(&subnet),
            "documentation ranges only"
        );
        let prefix = format!("sw{tag}");
        Self::remove_leftovers(&prefix);
        let bridge = format!("{prefix}br");
        run(&["ip", "link", "add", &bridge, "type", "bridge"]);
        let net = Self {
            bridge,
            prefix,
            subnet: subnet.to_owned(),
            hosts: Vec::new(),
            children: Vec::new(),
        };
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{subnet}.1/24"),
            "dev",
            &net.bridge,
        ]);
        run(&["ip", "link", "set", &net.bridge, "up"]);
        net
    }

    fn remove_leftovers(prefix: &str) {
        let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
        for line in String::from_utf8_lossy(&namespaces.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name.starts_with(&format!("{prefix}-")) {
                quietly(&["ip", "netns", "del", name]);
            }
        }
        quietly(&["ip", "link", "del", &format!("{prefix}br")]);
    }

    /// The address of the test's own side, `subnet.1`.
    pub fn gateway(&self) -> String {
        format!("{}.1", self.subnet)
    }

    /// A host at `subnet.octet` in a namespace of its own; returns the namespace's name.
    pub fn host(&mut self, name: &str, octet: u8) -> String {
        let namespace = format!("{}-{name}", self.prefix);
        let outside = format!("{}{}", self.prefix, self.hosts.len());
        run(&["ip", "netns", "add", &namespace]);
        self.hosts.push(namespace.clone());
        run(&[
            "ip", "link", "add", &outside, "type", "veth", "peer", "name", "eth0", "netns",
            &namespace,
        ]);
        run(&["ip", "link", "set", &outside, "master", &self.bridge]);
        run(&["ip", "link", "set", &outside, "up"]);
        let address = format!("{}.{octet}/24", self.subnet);
        for args in [
            vec!["addr", "add", &address, "dev", "eth0"],
            vec!["link", "set", "eth0", "up"],
            vec!["link", "set", "lo", "up"],
        ] {
            let mut full = vec!["ip", "netns", "exec", &namespace, "ip"];
            full.extend(args);
            run(&full);
        }
        namespace
    }

    /// Starts `program` with `args` inside `namespace`; it is killed when the `Net` drops.
    /// Returns its index for [`Net::kill9`].
    pub fn spawn_in(
        &mut self,
        namespace: &str,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log: &std::path::Path,
    ) -> usize {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", namespace, program])
            .args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("STACKWATCH") {
                command.env_remove(key);
            }
        }
        command.envs(env.iter().copied());
        let file = std::fs::File::create(log).unwrap();
        let child = command.stdout(Stdio::null()).stderr(file).spawn().unwrap();
        self.children.push(child);
        self.children.len() - 1
    }

    /// kill -9 of a process [`Net::spawn_in`] started.
    pub fn kill9(&mut self, index: usize) {
        let child = &mut self.children[index];
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Cuts `namespace`'s route to `address`: connections to it fail at once.
    pub fn cut(&self, namespace: &str, address: &str) {
        Self::unreachable(namespace, "add", address);
    }

    /// Restores what [`Net::cut`] cut.
    pub fn restore(&self, namespace: &str, address: &str) {
        Self::unreachable(namespace, "del", address);
    }

    fn unreachable(namespace: &str, verb: &str, address: &str) {
        let host = format!("{address}/32");
        run(&[
            "ip",
            "netns",
            "exec",
            namespace,
            "ip",
            "route",
            verb,
            "unreachable",
            &host,
        ]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for namespace in &self.hosts {
            quietly(&["ip", "netns", "del", namespace]);
        }
        quietly(&["ip", "link", "del", &self.bridge]);
    }
}
