//! An answer sent in chunks as it is written: a task renders into an [`Answer`], each
//! chunk goes to the connection as it is filled, and a failure before the first chunk is
//! still an error answer.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use tokio::sync::mpsc;

use super::PageError;
use crate::store::StoreError;

/// Bytes of the answer handed to the connection at a time: what is written goes out while
/// the rest is made (a `/metrics` range's lines while the next ranges are read), and a
/// large answer (120 MB of metrics for a million checks) is never held whole, nor copied as
/// it grows. A chunk is sent once it holds this much, after the step that filled it.
pub(super) const CHUNK_BYTES: usize = 64 * 1024;
/// Room for a chunk and the step that fills it (some 60 KB for a `/metrics` range of
/// 1,024 checks), below the size from which the allocator maps each block anew
/// (`app::allocator`): chunks are carved from memory the process already has, not from
/// pages the kernel must clear.
const CHUNK_ROOM: usize = CHUNK_BYTES + CHUNK_BYTES / 2 + CHUNK_BYTES / 4;
/// Chunks written ahead of the connection before rendering waits for it.
const CHUNKS_AHEAD: usize = 4;

pub(super) type Chunk = Result<Bytes, Failure>;

/// Why an answer could not be written whole.
#[derive(Debug, thiserror::Error)]
pub(super) enum Failure {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Lines set aside in a file could not be read back (see [`super::aside`]).
    #[error("lines set aside cannot be read back: {0}")]
    Lost(#[source] std::io::Error),
}

/// Why rendering stopped early.
pub(super) enum Stop {
    /// The client went away.
    Gone,
    Failed(Failure),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Self::Failed(Failure::Store(e))
    }
}

/// The answer as it is written: `text` goes to the connection in chunks.
pub(super) struct Answer {
    pub(super) text: String,
    chunks: mpsc::Sender<Chunk>,
    /// A chunk went out: a failure from here on cuts the answer short.
    sent: bool,
}

impl Answer {
    /// An empty answer, and where its chunks come out.
    pub(super) fn new() -> (Self, mpsc::Receiver<Chunk>) {
        let (chunks, written) = mpsc::channel(CHUNKS_AHEAD);
        let answer = Self {
            text: String::with_capacity(CHUNK_ROOM),
            chunks,
            sent: false,
        };
        (answer, written)
    }

    /// Sends what is written once it fills a chunk.
    pub(super) async fn send_full(&mut self) -> Result<(), Stop> {
        if self.text.len() < CHUNK_BYTES {
            return Ok(());
        }
        self.flush().await
    }

    /// Sends whatever is written.
    pub(super) async fn flush(&mut self) -> Result<(), Stop> {
        if self.text.is_empty() {
            return Ok(());
        }
        let text = std::mem::replace(&mut self.text, String::with_capacity(CHUNK_ROOM));
        self.send_chunk(text.into()).await
    }

    /// Sends what is written, then `lines` as they are (a metric's lines gathered apart).
    pub(super) async fn send_lines(&mut self, lines: String) -> Result<(), Stop> {
        self.flush().await?;
        if lines.is_empty() {
            return Ok(());
        }
        self.send_chunk(lines.into()).await
    }

    /// Sends what is written, then `bytes` as they are (lines read back from a file).
    pub(super) async fn send_bytes(&mut self, bytes: Vec<u8>) -> Result<(), Stop> {
        self.flush().await?;
        self.send_chunk(bytes.into()).await
    }

    async fn send_chunk(&mut self, chunk: Bytes) -> Result<(), Stop> {
        self.sent = true;
        self.chunks.send(Ok(chunk)).await.map_err(|_| Stop::Gone)
    }

    /// Ends the answer with a failure: before any chunk it becomes the error answer, which
    /// logs it; after, the answer is cut short, which a client sees as a broken transfer.
    pub(super) async fn fail(self, e: Failure) {
        if self.sent {
            tracing::error!(error = %e, "answer cut short");
        }
        let _ = self.chunks.send(Err(e)).await;
    }
}

/// Answers with the first chunk once it is written, so an answer that fails before it is a
/// 500, then with the rest as it comes.
pub(super) async fn respond(
    mut written: mpsc::Receiver<Chunk>,
    content_type: &'static str,
) -> Result<Response, PageError> {
    let first = match written.recv().await {
        Some(Ok(first)) => first,
        Some(Err(Failure::Store(e))) => return Err(e.into()),
        Some(Err(e @ Failure::Lost(_))) => {
            tracing::error!(error = %e, "cannot build a page");
            return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        // The rendering task panicked before writing anything.
        None => return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    };
    let rest = stream::unfold(written, |mut written| async move {
        written.recv().await.map(|chunk| (chunk, written))
    });
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream::once(async { Ok(first) }).chain(rest)),
    )
        .into_response())
}
