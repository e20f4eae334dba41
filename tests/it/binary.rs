//! The `stackwatch` binary as a separate process, for tests that kill it, fill its disk or
//! must see it exit: started with a configuration file on port 0, its address read from
//! its log, its log kept for assertions.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, status_and_json};

const BIN: &str = env!("CARGO_BIN_EXE_stackwatch");

/// A running `stackwatch serve`.
pub struct Process {
    child: Child,
    pub addr: String,
    log: Arc<Mutex<String>>,
    pub client: reqwest::Client,
}

/// Writes `config` (TOML, without `[server]` or `[auth]`, which this adds) next to the data
/// directory and starts the binary with it.
pub async fn start(data_dir: &Path, config: &str) -> Process {
    launch(data_dir, config, &[], &[]).await
}

/// As `start`, in a user and mount namespace of its own where the data directory is a
/// tmpfs of `size_mb` MiB: anyone can run it, and the mount ends with the process. Fill it
/// with [`Process::in_namespace`].
pub async fn start_on_small_disk(data_dir: &Path, config: &str, size_mb: u32) -> Process {
    std::fs::create_dir_all(data_dir).unwrap();
    let mount = format!(
        "mount -t tmpfs -o size={size_mb}m,mode=0700 tmpfs {data_dir:?} && exec \"$0\" \"$@\""
    );
    launch(
        data_dir,
        config,
        &["unshare", "-Urm", "sh", "-c", &mount],
        &[],
    )
    .await
}

/// As `start`, with at most `nofile` open file descriptors and extra environment variables.
pub async fn start_with_limit(
    data_dir: &Path,
    config: &str,
    nofile: u32,
    env: &[(&str, &str)],
) -> Process {
    let limit = format!("ulimit -n {nofile} && exec \"$0\" \"$@\"");
    launch(data_dir, config, &["sh", "-c", &limit], env).await
}

/// Starts the binary, through `wrapper` (a command that ends by running its arguments) if
/// one is given.
async fn launch(data_dir: &Path, config: &str, wrapper: &[&str], env: &[(&str, &str)]) -> Process {
    let config_path = config_path(data_dir);
    let full = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = {data_dir:?}\n\n[auth]\nadmin_tokens = [{ADMIN_TOKEN:?}]\n\n{config}"
    );
    std::fs::write(&config_path, full).unwrap();
    let mut command = match wrapper {
        [program, args @ ..] => {
            let mut command = Command::new(program);
            command.args(args).arg(BIN);
            command
        }
        [] => Command::new(BIN),
    };
    for (key, _) in std::env::vars() {
        if key.starts_with("STACKWATCH") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command
        .args(["serve", "--config"])
        .arg(&config_path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let log_ = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("addr=").nth(1) {
                let _ = addr_tx.send(addr.trim().to_owned());
            }
            let mut log = log_.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let addr = tokio::task::spawn_blocking(move || addr_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap();
    let Ok(addr) = addr else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the server did not log its address: {}",
            log.lock().unwrap()
        );
    };
    Process {
        child,
        addr,
        log,
        client: reqwest::Client::new(),
    }
}

/// Where `start` writes the configuration: beside the data directory, never inside it (a
/// test may fill the data directory's filesystem).
fn config_path(data_dir: &Path) -> PathBuf {
    let name = data_dir.file_name().unwrap().to_string_lossy().into_owned();
    data_dir.with_file_name(format!("{name}.toml"))
}

impl Process {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self.client.put(self.url(path)).json(body);
        send_as_admin(request).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send_as_admin(self.client.get(self.url(path))).await
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A shell command run in the process's user and mount namespaces (see
    /// [`start_on_small_disk`]), so it sees the same data directory.
    pub fn in_namespace(&self, script: &str) -> Command {
        let mut command = Command::new("nsenter");
        command
            .args(["--target", &self.pid().to_string(), "--user", "--mount"])
            .args(["--preserve-credentials", "sh", "-c", script]);
        command
    }

    /// kill -9: no shutdown, no flush.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn send_as_admin(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    status_and_json(response).await
}

/// Polls `probe` every 100 ms until it gives a value; fails the test after `secs` seconds.
pub async fn wait_for<T>(what: &str, secs: u64, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
