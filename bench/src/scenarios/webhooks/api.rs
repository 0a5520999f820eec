//! A stand-in for Razorpay's API on 127.0.0.1: the one answer `fetch_status` needs, canned.
//!
//! Hand-written HTTP/1.1 over a tokio listener, with keep-alive: it parses a request line and
//! headers, skips any body and writes pre-rendered bytes, so the wait it adds to a call is the
//! loopback round trip and little else, the same for the sandboxed call and the native GET.

use std::sync::Arc;

use anyhow::Context;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// A request head larger than this is not one of ours: the connection is dropped.
const MAX_HEAD: usize = 64 * 1024;

/// The server; it stops when dropped.
pub struct FakeApi {
    port: u16,
    task: JoinHandle<()>,
}

/// The two answers, rendered once.
struct Answers {
    /// `GET /v1/orders/{gateway_order_id}/payments`: a collection with one captured payment.
    payments_path: String,
    payments: Vec<u8>,
    /// Anything else: Razorpay's 400 for an id it does not know.
    not_found: Vec<u8>,
}

impl FakeApi {
    /// Listens on a free port and answers for bench payment 0 (see [`super::payment_entity`]).
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the fake Razorpay API")?;
        let port = listener.local_addr().context("the fake API's address")?.port();
        let collection = json!({ "entity": "collection", "count": 1, "items": [super::payment_entity(0)] });
        let error = json!({ "error": {
            "code": "BAD_REQUEST_ERROR", "description": "The id provided does not exist", "source": "business",
            "step": "payment_initiation", "reason": "input_validation_failed", "metadata": {}, "field": "id",
        }});
        let answers = Arc::new(Answers {
            payments_path: payments_path(&super::gateway_order_id(0)),
            payments: response("200 OK", &collection.to_string()),
            not_found: response("400 Bad Request", &error.to_string()),
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // A connection that breaks only ends itself.
                tokio::spawn(serve(stream, answers.clone()));
            }
        });
        Ok(Self { port, task })
    }

    /// `http://127.0.0.1:PORT`: the plugin's `api_base`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The URL `fetch_status` GETs for bench payment 0.
    pub fn payments_url(&self) -> String {
        format!("{}{}", self.base_url(), payments_path(&super::gateway_order_id(0)))
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn payments_path(gateway_order_id: &str) -> String {
    format!("/v1/orders/{gateway_order_id}/payments")
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
        .into_bytes()
}

/// Answers requests on one connection until the client closes it.
async fn serve(mut stream: TcpStream, answers: Arc<Answers>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer = Vec::with_capacity(4096);
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if buffer.len() > MAX_HEAD || stream.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let body_len = content_length(&head);
        while buffer.len() < head_end + body_len {
            if stream.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        }
        buffer.drain(..head_end + body_len);
        let mut request_line = head.lines().next().unwrap_or_default().split(' ');
        let (method, path) = (request_line.next(), request_line.next());
        let answer = if method == Some("GET") && path == Some(answers.payments_path.as_str()) {
            &answers.payments
        } else {
            &answers.not_found
        };
        stream.write_all(answer).await?;
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_the_payments_of_bench_order_zero_and_400_otherwise() -> anyhow::Result<()> {
        let api = FakeApi::start().await?;
        let http = reqwest::Client::new();
        // Twice on one connection: keep-alive works.
        for _ in 0..2 {
            let collection: serde_json::Value = http.get(api.payments_url()).send().await?.json().await?;
            assert_eq!(collection["count"], 1);
            assert_eq!(collection["items"][0]["order_id"], "order_Bench000000000");
            assert_eq!(collection["items"][0]["status"], "captured");
        }
        let other = http.post(format!("{}/v1/orders", api.base_url())).body("{}").send().await?;
        assert_eq!(other.status(), reqwest::StatusCode::BAD_REQUEST);
        Ok(())
    }
}
