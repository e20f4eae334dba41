//! A metric's lines gathered apart while the other lines of the same pass stream out (a
//! metric's lines must follow its header together): held in memory up to a bound, then in
//! an unnamed file of the data directory, so a scrape of a million checks does not hold the
//! tens of megabytes of each such metric. When the file cannot be made or written (a full
//! disk), the rest is held in memory: the scrape answers either way.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Arc;

use super::chunked::{Answer, CHUNK_BYTES, Failure, Stop};

/// Bytes of set-aside lines held in memory before they go to the file: about a chunk, so
/// a scrape holds a few hundred kilobytes of them whatever the number of checks.
pub(super) const HELD_BYTES: usize = CHUNK_BYTES;

/// Lines set aside, in the order they were written.
pub(super) struct Aside {
    /// Lines not yet in the file; append here.
    pub(super) text: String,
    dir: Arc<Path>,
    held_bytes: usize,
    file: Option<File>,
    /// Bytes in the file, which come before `unfiled` and `text`.
    filed: u64,
    /// Bytes a failed write left out of the file.
    unfiled: Vec<u8>,
    /// The file failed once: the rest stays in memory.
    failed: bool,
}

impl Aside {
    /// Lines held in memory up to `held_bytes`, then in a file of `dir`.
    pub(super) fn new(dir: Arc<Path>, held_bytes: usize) -> Self {
        Self {
            text: String::new(),
            dir,
            held_bytes,
            file: None,
            filed: 0,
            unfiled: Vec::new(),
            failed: false,
        }
    }

    /// Moves the lines to the file once they pass the bound.
    pub(super) async fn spill(&mut self) -> Result<(), Stop> {
        if self.failed || self.text.len() < self.held_bytes {
            return Ok(());
        }
        let text = std::mem::take(&mut self.text);
        let dir = self.dir.clone();
        let file = self.file.take();
        let (file, mut text, filed, failure) =
            tokio::task::spawn_blocking(move || write_out(&dir, file, text))
                .await
                .map_err(|e| Stop::Failed(Failure::Lost(std::io::Error::other(e))))?;
        self.file = file;
        self.filed += filed as u64;
        match failure {
            None => {
                // Kept for the next lines: the text grows in memory it already has.
                text.clear();
                self.text = text;
            }
            Some(e) => {
                tracing::warn!(
                    error = %e,
                    dir = %self.dir.display(),
                    "cannot set metric lines aside in the data directory; holding them in memory"
                );
                // What did not go in, byte for byte: a write may stop inside a character.
                let mut unfiled = text.into_bytes();
                unfiled.drain(..filed);
                self.unfiled = unfiled;
                self.failed = true;
            }
        }
        Ok(())
    }

    /// Sends what `answer` holds, then the lines set aside. Lines that never left memory
    /// and fit in a chunk join the answer's text, so a small metric does not make chunks
    /// of its own.
    pub(super) async fn send(self, answer: &mut Answer) -> Result<(), Stop> {
        if self.file.is_none() && self.unfiled.is_empty() && self.text.len() < CHUNK_BYTES {
            answer.text.push_str(&self.text);
            return answer.send_full().await;
        }
        answer.flush().await?;
        if let Some(file) = self.file {
            // One blocking task reads the file out, a chunk at a time, as the answer takes
            // them.
            let (pieces, mut read) = tokio::sync::mpsc::channel(2);
            let filed = self.filed;
            let reader = tokio::task::spawn_blocking(move || read_out(&file, filed, &pieces));
            while let Some(piece) = read.recv().await {
                answer.send_bytes(piece).await?;
            }
            reader
                .await
                .map_err(std::io::Error::other)
                .and_then(|read| read)
                .map_err(|e| Stop::Failed(Failure::Lost(e)))?;
        }
        if !self.unfiled.is_empty() {
            answer.send_bytes(self.unfiled).await?;
        }
        answer.send_lines(self.text).await
    }
}

/// Reads the first `filed` bytes of `file` into `pieces`, a chunk at a time; stops early,
/// with no error, when nobody takes them.
fn read_out(
    file: &File,
    filed: u64,
    pieces: &tokio::sync::mpsc::Sender<Vec<u8>>,
) -> std::io::Result<()> {
    let mut at = 0;
    while at < filed {
        let len = (filed - at).min(CHUNK_BYTES as u64) as usize;
        let mut piece = vec![0; len];
        file.read_exact_at(&mut piece, at)?;
        if pieces.blocking_send(piece).is_err() {
            return Ok(());
        }
        at += len as u64;
    }
    Ok(())
}

/// Appends `text` to `file` (made in `dir` when there is none yet): the file, the text,
/// how many of its bytes went in, and the failure that stopped the rest.
fn write_out(
    dir: &Path,
    file: Option<File>,
    text: String,
) -> (Option<File>, String, usize, Option<std::io::Error>) {
    let mut file = match file {
        Some(file) => file,
        None => match tempfile::tempfile_in(dir) {
            Ok(file) => file,
            Err(e) => return (None, text, 0, Some(e)),
        },
    };
    let mut filed = 0;
    while filed < text.len() {
        match file.write(&text.as_bytes()[filed..]) {
            Ok(0) => {
                let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                return (Some(file), text, filed, Some(e));
            }
            Ok(n) => filed += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (Some(file), text, filed, Some(e)),
        }
    }
    (Some(file), text, filed, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines with a character of two bytes, so a misplaced byte would show.
    fn lines(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("line {i} é\n")).collect()
    }

    /// What an aside had done before sending.
    #[derive(Debug, PartialEq)]
    struct Done {
        filed: u64,
        unfiled: usize,
        failed: bool,
    }

    /// Writes `lines` into `aside` as `/metrics` does (a spill after each group of ten),
    /// then what it sends after a header, and in how many chunks.
    async fn round_trip(mut aside: Aside, lines: &[String]) -> (Done, String, usize) {
        for group in lines.chunks(10) {
            for line in group {
                aside.text.push_str(line);
            }
            assert!(aside.spill().await.is_ok());
        }
        let done = Done {
            filed: aside.filed,
            unfiled: aside.unfiled.len(),
            failed: aside.failed,
        };
        let (mut answer, mut written) = Answer::new();
        answer.text.push_str(HEADER);
        let sending = tokio::spawn(async move {
            aside.send(&mut answer).await.is_ok() && answer.flush().await.is_ok()
        });
        let mut sent = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = written.recv().await {
            sent.extend_from_slice(&chunk.expect("a chunk"));
            chunks += 1;
        }
        assert!(sending.await.expect("sent"));
        let sent = String::from_utf8(sent).expect("UTF-8");
        let lines = sent.strip_prefix(HEADER).expect("the header first");
        (done, lines.to_owned(), chunks)
    }

    /// What the answer holds before the lines set aside.
    const HEADER: &str = "# TYPE m gauge\n";

    #[tokio::test]
    async fn lines_past_the_bound_go_to_a_file_and_come_back_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let lines = lines(1_005);
        let (done, sent, _) = round_trip(Aside::new(dir.path().into(), 250), &lines).await;
        assert_eq!(sent, lines.concat());
        // Groups go to the file once 250 bytes wait; the last groups stay in memory.
        let mut filed = 0;
        let mut held = 0;
        for group in lines.chunks(10) {
            held += group.iter().map(String::len).sum::<usize>();
            if held >= 250 {
                filed += held;
                held = 0;
            }
        }
        assert!(held > 0);
        let filed = filed as u64;
        let expected = Done {
            filed,
            unfiled: 0,
            failed: false,
        };
        assert_eq!(done, expected);
        // The file has no name in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[tokio::test]
    async fn lines_under_the_bound_stay_in_memory_and_join_the_header() {
        let dir = tempfile::tempdir().expect("dir");
        let lines = lines(50);
        let (done, sent, chunks) = round_trip(Aside::new(dir.path().into(), 100_000), &lines).await;
        assert_eq!(sent, lines.concat());
        assert_eq!(done.filed, 0);
        assert_eq!(chunks, 1);
    }

    /// Sends 1,000 lines through `aside`, whose file fails from the first spill: all come
    /// back in order, the first ten (100 bytes) as the bytes the file did not take.
    async fn refused_from_the_start(aside: Aside) {
        let lines = lines(1_000);
        let (done, sent, _) = round_trip(aside, &lines).await;
        assert_eq!(sent, lines.concat());
        let expected = Done {
            filed: 0,
            unfiled: 100,
            failed: true,
        };
        assert_eq!(done, expected);
    }

    #[tokio::test]
    async fn a_directory_that_cannot_hold_the_file_keeps_the_lines_in_memory() {
        let dir = tempfile::tempdir().expect("dir");
        let gone: Arc<Path> = dir.path().join("gone").into();
        refused_from_the_start(Aside::new(gone, 100)).await;
    }

    #[tokio::test]
    async fn a_file_that_refuses_writes_keeps_the_lines_in_memory() {
        // `/dev/full` fails every write as a full disk does.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let dir = tempfile::tempdir().expect("dir");
        let mut aside = Aside::new(dir.path().into(), 100);
        aside.file = Some(full);
        refused_from_the_start(aside).await;
    }
}
