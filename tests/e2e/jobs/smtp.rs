//! SMTP servers for the mail tests, on 127.0.0.1 port 0: one that accepts and never answers, and
//! one that holds each message after its DATA until the test lets it through (so a test can act
//! while a delivery is in hand).

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, mpsc},
    task::JoinHandle,
};

/// Accepts connections and never sends a byte (not even the greeting), keeping them open.
pub struct SilentSmtp {
    pub port: u16,
    task: JoinHandle<()>,
}

impl SilentSmtp {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Self { port, task }
    }
}

impl Drop for SilentSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Speaks enough SMTP for lettre; after each message's DATA it reports the message and waits for
/// a permit before acknowledging it.
pub struct GatedSmtp {
    pub port: u16,
    arrivals: mpsc::UnboundedReceiver<String>,
    gate: Arc<Semaphore>,
    task: JoinHandle<()>,
}

impl GatedSmtp {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, arrivals) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(0));
        let permits = gate.clone();
        let task = tokio::spawn(async move {
            let mut sessions = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                sessions.push(tokio::spawn(session(socket, tx.clone(), permits.clone())));
            }
        });
        Self { port, arrivals, gate, task }
    }

    /// The next message whose DATA arrived (held until [`GatedSmtp::release`]).
    pub async fn next_arrival(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(30), self.arrivals.recv())
            .await
            .expect("a message reached the SMTP server")
            .expect("server running")
    }

    /// Messages that arrived and were not taken with `next_arrival` yet.
    pub fn pending_arrivals(&mut self) -> usize {
        let mut n = 0;
        while self.arrivals.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    /// Lets `n` more messages be acknowledged.
    pub fn release(&self, n: usize) {
        self.gate.add_permits(n);
    }
}

impl Drop for GatedSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(socket: TcpStream, arrivals: mpsc::UnboundedSender<String>, gate: Arc<Semaphore>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 fake ESMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 fake\r\n"
        } else if command.starts_with("DATA") {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut message = String::new();
            while let Ok(Some(data)) = lines.next_line().await {
                if data == "." {
                    break;
                }
                message.push_str(&data);
                message.push('\n');
            }
            let _ = arrivals.send(message);
            match gate.acquire().await {
                Ok(permit) => permit.forget(),
                Err(_) => return,
            }
            b"250 queued\r\n"
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            // MAIL, RCPT, RSET, NOOP.
            b"250 ok\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
