//! Test hosts in network namespaces of the test's own: a bridge in the test's namespace
//! with the first address of a block of a documentation range, and a namespace per host
//! joined to it by a veth pair. A block the machine already routes (CI's own network may
//! use a documentation range) is refused before anything is made. Routes are cut and restored inside a host's namespace. Everything is
//! removed when the `Net` is dropped, also when the test fails (and leftovers of an earlier
//! run that died are removed at the start). Needs root, as CI runs.

use std::process::{Child, Command, Stdio};

/// A bridge and the namespaces joined to it.
pub struct Net {
    bridge: String,
    prefix: String,
    /// The block's first address, e.g. `203.0.113.128`.
    base: std::net::Ipv4Addr,
    /// The block's prefix length, e.g. 25.
    bits: u8,
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
    /// A bridge named after `tag` (one letter per test) holding the first address of
    /// `block` (`203.0.113.128/25`), a block of a documentation range (198.51.100.0/24,
    /// 203.0.113.0/24 or 192.0.2.0/24) that the machine does not route already.
    pub fn new(tag: char, block: &str) -> Self {
        let (base, bits) = block.split_once('/').expect("a block: address/bits");
        let base: std::net::Ipv4Addr = base.parse().unwrap();
        let bits: u8 = bits.parse().unwrap();
        let [a, b, c, _] = base.octets();
        assert!(
            [[192, 0, 2], [198, 51, 100], [203, 0, 113]].contains(&[a, b, c]) && bits >= 24,
            "documentation ranges only"
        );
        let prefix = format!("sw{tag}");
        Self::remove_leftovers(&prefix);
        let routes = Command::new("ip").args(["-4", "route"]).output().unwrap();
        let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
        let taken = routes.lines().find(|route| {
            let destination = route.split_whitespace().next().unwrap_or_default();
            let (net, len) = destination.split_once('/').unwrap_or((destination, "32"));
            let (Ok(net), Ok(len)) = (net.parse::<std::net::Ipv4Addr>(), len.parse::<u8>()) else {
                return false;
            };
            let shorter = u32::from(len.min(bits));
            let mask = u32::MAX.checked_shl(32 - shorter).unwrap_or(0);
            u32::from(net) & mask == u32::from(base) & mask
        });
        assert!(
            taken.is_none(),
            "this machine already routes {taken:?}; the test must use another block than {block}"
        );
        let bridge = format!("{prefix}br");
        run(&["ip", "link", "add", &bridge, "type", "bridge"]);
        let net = Self {
            bridge,
            prefix,
            base,
            bits,
            hosts: Vec::new(),
            children: Vec::new(),
        };
        let gateway = format!("{}/{bits}", net.gateway());
        run(&["ip", "addr", "add", &gateway, "dev", &net.bridge]);
        run(&["ip", "link", "set", &net.bridge, "up"]);
        net
    }

    /// The `n`th address of the block.
    pub fn address(&self, n: u8) -> String {
        let [a, b, c, d] = self.base.octets();
        format!("{a}.{b}.{c}.{}", d + n)
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
        // A process a dead run left inside a namespace keeps that namespace, and the
        // host's link into it, after the namespace's name is gone: remove those links
        // (`{prefix}{n}`) too, so this run can make them again.
        let links = Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&links.stdout).lines() {
            let Some(name) = line.split(": ").nth(1) else {
                continue;
            };
            let name = name.split('@').next().unwrap_or_default();
            let host_link = name
                .strip_prefix(prefix)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if host_link {
                quietly(&["ip", "link", "del", name]);
            }
        }
    }

    /// The address of the test's own side, the block's first.
    pub fn gateway(&self) -> String {
        self.address(1)
    }

    /// A host at the block's `n`th address in a namespace of its own; returns the
    /// namespace's name.
    pub fn host(&mut self, name: &str, n: u8) -> String {
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
        let address = format!("{}/{}", self.address(n), self.bits);
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
