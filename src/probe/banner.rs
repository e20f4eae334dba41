//! TCP, SMTP and SSH checks: resolve, connect (racing addresses), then, as the kind asks,
//! send a line and read until the expected text, or read the server's greeting line. What
//! is read is bounded, so a server that talks forever is cut off like one that says nothing.

use std::io;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::exchange::open;
use super::names::Names;
use super::{Phase, Trace, elapsed_ms};
use crate::domain::{Failure, Target};

/// The most bytes read from a server while looking for what is expected.
const READ_LIMIT: usize = 64 * 1024;
/// The longest greeting line read.
const LINE_LIMIT: usize = 1024;

/// Probes a non-HTTP target; `Ok` when it is up.
pub async fn probe(target: &Target, names: &Names, trace: &mut Trace) -> Result<(), Failure> {
    let (host, port) = match target {
        Target::Tcp(t) => (t.host().as_str(), t.port()),
        Target::Smtp(t) | Target::Ssh(t) => (t.host().as_str(), t.port()),
        Target::Http(_)
        | Target::Heartbeat(_)
        | Target::Dns(_)
        | Target::Icmp(_)
        | Target::Domain(_) => {
            return Err(Failure::Protocol {
                detail: format!("a {} check is not probed over TCP", target.kind()),
            });
        }
    };
    let mut stream = open(names, host, port, trace).await?;
    trace.phase = Phase::Response;
    let asked = Instant::now();
    let result = match target {
        Target::Tcp(t) => {
            if let Some(send) = &t.send() {
                stream
                    .write_all(send.as_bytes())
                    .await
                    .map_err(|e| io_failure(&e))?;
            }
            match &t.expect() {
                Some(expect) => read_until(&mut stream, expect).await,
                None => Ok(()),
            }
        }
        Target::Smtp(_) => {
            let line = read_line(&mut stream).await?;
            let greeted = line.starts_with("220");
            // Leave politely, whatever the greeting.
            let _ = stream.write_all(b"QUIT\r\n").await;
            expect_line(greeted, "an SMTP greeting (220)", line)
        }
        Target::Ssh(_) => {
            let line = read_line(&mut stream).await?;
            expect_line(line.starts_with("SSH-"), "an SSH banner (SSH-…)", line)
        }
        Target::Http(_)
        | Target::Heartbeat(_)
        | Target::Dns(_)
        | Target::Icmp(_)
        | Target::Domain(_) => Ok(()),
    };
    trace.timings.ttfb_ms = Some(elapsed_ms(asked));
    result
}

fn expect_line(ok: bool, expected: &str, got: String) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::unexpected(expected, got))
    }
}

/// Reads until `expect` appears in what the server sent (the first `READ_LIMIT` bytes).
async fn read_until(stream: &mut TcpStream, expect: &str) -> Result<(), Failure> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| io_failure(&e))?;
        seen.extend_from_slice(&buf[..n]);
        if seen
            .windows(expect.len().max(1))
            .any(|w| w == expect.as_bytes())
        {
            return Ok(());
        }
        if n == 0 || seen.len() >= READ_LIMIT {
            return Err(Failure::unexpected(
                format!("{expect:?}"),
                String::from_utf8_lossy(&seen[..seen.len().min(200)]),
            ));
        }
    }
}

/// The server's first line (without its line end), at most `LINE_LIMIT` bytes.
async fn read_line(stream: &mut TcpStream) -> Result<String, Failure> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < LINE_LIMIT {
        let n = stream.read(&mut byte).await.map_err(|e| io_failure(&e))?;
        if n == 0 || byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

fn io_failure(error: &io::Error) -> Failure {
    match error.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => Failure::Reset,
        io::ErrorKind::UnexpectedEof => Failure::ClosedEarly,
        _ => Failure::Connect {
            detail: error.to_string(),
        },
    }
}
