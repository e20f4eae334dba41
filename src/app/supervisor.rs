//! Supervision of the background tasks: each one that ends or panics before shutdown was
//! asked is reported with its name and cause, and the application stops with an error, so
//! the process exits non-zero and the container's restart policy brings it back.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A background task that ended although nobody asked it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {task} task {how}")]
pub struct TaskEnded {
    pub task: &'static str,
    /// "ended unexpectedly" or "panicked: <message>".
    pub how: String,
}

/// Spawns tasks and tells when one of them ends.
pub struct Supervisor {
    ended_tx: mpsc::UnboundedSender<TaskEnded>,
    ended_rx: mpsc::UnboundedReceiver<TaskEnded>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        let (ended_tx, ended_rx) = mpsc::unbounded_channel();
        Self { ended_tx, ended_rx }
    }

    /// Spawns `task` under the name `name`; its handle lets shutdown wait for it in order.
    pub fn spawn(
        &self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let ended = self.ended_tx.clone();
        tokio::spawn(async move {
            let how = match AssertUnwindSafe(task).catch_unwind().await {
                Ok(()) => "ended unexpectedly".to_owned(),
                Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
            };
            let _ = ended.send(TaskEnded { task: name, how });
        })
    }

    /// Waits until a task ends. During shutdown, tasks end because they were asked to: the
    /// caller stops listening then.
    pub async fn first_ended(&mut self) -> TaskEnded {
        match self.ended_rx.recv().await {
            Some(ended) => ended,
            // Unreachable while `self` holds a sender; pending keeps the meaning "none ended".
            None => std::future::pending().await,
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}
