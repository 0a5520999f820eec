//! The scripted HTTP fake: a queue of expected requests, each with its canned reply.
//!
//! A request that does not match the next expectation, or one sent after the script ran out,
//! panics with what was expected and what was sent: a gateway would turn an error reply into
//! `unavailable` and the test would fail far from its cause. Expectations left over are reported
//! by [`TestGateway`](super::TestGateway) when it is dropped.

use std::collections::VecDeque;

use crate::gateway::{Auth, HttpError, Method, Request, Response};

/// What the body of an expected request must be.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// Byte for byte.
    Bytes(Vec<u8>),
    /// Equal as JSON (key order and spacing do not matter).
    Json(serde_json::Value),
}

/// One expected request and the reply to give it.
///
/// Method and URL must be equal; each listed header must be present with that value (name case
/// ignored; headers not listed are allowed); the body is compared only if set; the auth is always
/// compared, so a request that asks for auth the script does not list fails. Auth is matched by
/// secret *name*, the only thing a plugin ever holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    auth: Option<Auth>,
    reply: Result<Response, HttpError>,
}

impl Exchange {
    /// Expects `method url`; replies `200` with an empty body unless told otherwise.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            auth: None,
            reply: Ok(Response::new(200, Vec::new())),
        }
    }

    /// Expects a `GET`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// Expects a `POST`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Expects header `name` with `value`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Expects exactly these body bytes.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(Body::Bytes(body.into()));
        self
    }

    /// Expects a JSON body equal to `body`.
    pub fn json_body(mut self, body: serde_json::Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    /// Expects the request to ask for `auth`.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Replies with `response`.
    pub fn respond(mut self, response: Response) -> Self {
        self.reply = Ok(response);
        self
    }

    /// Fails the request with `error`, as the host does on a timeout or a refused host.
    pub fn fail(mut self, error: HttpError) -> Self {
        self.reply = Err(error);
        self
    }

    /// `METHOD url`, for messages.
    pub(super) fn describe(&self) -> String {
        format!("{} {}", self.method.as_str(), self.url)
    }

    /// Every way `request` differs from this expectation; empty when it matches.
    fn differences(&self, request: &Request) -> Vec<String> {
        let mut differences = Vec::new();
        if request.method != self.method {
            differences.push(format!("method: expected {}, sent {}", self.method.as_str(), request.method.as_str()));
        }
        if request.url != self.url {
            differences.push(format!("url: expected {}, sent {}", self.url, request.url));
        }
        for (name, value) in &self.headers {
            let sent: Vec<&str> =
                request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
            if !sent.contains(&value.as_str()) {
                differences.push(format!("header `{name}`: expected {value:?}, sent {sent:?}"));
            }
        }
        match &self.body {
            Some(Body::Bytes(bytes)) if *bytes != request.body => differences.push(format!(
                "body: expected {:?}, sent {:?}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&request.body)
            )),
            Some(Body::Json(json)) => match serde_json::from_slice::<serde_json::Value>(&request.body) {
                Ok(sent) if sent == *json => {}
                Ok(sent) => differences.push(format!("json body: expected {json}, sent {sent}")),
                Err(e) => differences.push(format!(
                    "json body: expected {json}, sent {:?}, which is not JSON ({e})",
                    String::from_utf8_lossy(&request.body)
                )),
            },
            _ => {}
        }
        if request.auth != self.auth {
            differences.push(format!("auth: expected {:?}, sent {:?}", self.auth, request.auth));
        }
        differences
    }
}

/// The script and what was sent.
#[derive(Debug, Default)]
pub(super) struct ScriptedHttp {
    script: VecDeque<Exchange>,
    sent: Vec<Request>,
}

impl ScriptedHttp {
    pub(super) fn push(&mut self, exchange: Exchange) {
        self.script.push_back(exchange);
    }

    pub(super) fn sent(&self) -> &[Request] {
        &self.sent
    }

    pub(super) fn remaining(&self) -> impl Iterator<Item = &Exchange> {
        self.script.iter()
    }

    /// Answers `request` from the script, or panics saying why it cannot.
    pub(super) fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        self.sent.push(request.clone());
        let number = self.sent.len();
        let sent = format!("{} {}", request.method.as_str(), request.url);
        let Some(expected) = self.script.pop_front() else {
            panic!(
                "scripted HTTP: request #{number} ({sent}) was not expected: the script is exhausted ({} scripted)",
                number - 1
            );
        };
        let differences = expected.differences(request);
        if !differences.is_empty() {
            panic!(
                "scripted HTTP: request #{number} ({sent}) does not match the script's {}:\n  {}",
                expected.describe(),
                differences.join("\n  ")
            );
        }
        expected.reply
    }
}
