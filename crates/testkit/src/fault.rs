//! A small local HTTP server that misbehaves on purpose, for fault injection: what no real
//! OpenSearch can be made to do on demand (throttle, fail, hang, truncate, refuse with the
//! security plugin's statuses, answer 413 above a size). Each test starts its own; it records
//! every request it sees, so tests can count attempts and look at what was sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl Seen {
    /// A header's value, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the server does with request number `n` (from 0).
pub enum Answer {
    /// A complete response.
    Http {
        /// The status.
        status: u16,
        /// Extra headers.
        headers: Vec<(&'static str, String)>,
        /// The body.
        body: String,
    },
    /// These bytes, then close the connection.
    Raw(Vec<u8>),
    /// Never answer (keep the connection open).
    Hang,
}

/// A JSON response with this status.
pub fn json_answer(status: u16, body: Json) -> Answer {
    Answer::Http { status, headers: vec![], body: body.to_string() }
}

type Script = dyn Fn(usize, &Seen) -> Answer + Send + Sync;

/// The server: its URL, and the requests it has seen.
pub struct FaultServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultServer {
    /// Start answering request `n` (from 0) with `script(n, request)`; runs on the current tokio
    /// runtime until the test ends.
    pub async fn start(script: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, log.clone(), script.clone()));
            }
        });
        FaultServer { url, seen }
    }

    /// Every request seen so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

async fn serve(mut socket: TcpStream, log: Arc<Mutex<Vec<Seen>>>, script: Arc<Script>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    let seen = Seen { method, target, headers, body };
    let n = {
        let mut log = log.lock().expect("log");
        log.push(seen.clone());
        log.len() - 1
    };
    match script(n, &seen) {
        Answer::Http { status, headers, body } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = socket.write_all(out.as_bytes()).await;
        }
        Answer::Raw(bytes) => {
            let _ = socket.write_all(&bytes).await;
        }
        Answer::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
    }
    let _ = socket.shutdown().await;
}
