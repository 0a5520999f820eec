//! The host side of the WIT `outbound-http` interface: a gateway plugin's requests, sent only
//! where the operator allowed and bounded in time and size.
//!
//! The rules, in the order [`OutboundHttp::check`] applies them:
//! - the URL is absolute, without credentials in it, and its host is in the plugin's
//!   `allowed_hosts` (compared case-insensitively, exact names: no wildcards, so an operator reads
//!   exactly which machines a plugin can reach);
//! - the scheme is `https`; plain `http` only to a loopback address (`127.0.0.0/8`, `::1`,
//!   `localhost`) and only when the engine's `environment` is `development`, for local fakes and
//!   tests; the loopback host must still be allow-listed;
//! - redirects are never followed (a 3xx is the guest's answer), so an allowed host cannot send a
//!   request, its authorization header included, somewhere else;
//! - the guest may not set `authorization`, `proxy-authorization`, `host`, `content-length`,
//!   `transfer-encoding` or `connection`: authentication comes from the host's secrets
//!   ([`super::secrets`]), framing from the HTTP client.
//!
//! Each request is bounded by `[plugins.<name>.http]`: `connect_timeout`, `timeout` (connect to
//! the last body byte) and `max_response_bytes` (read incrementally, so an endless body never sits
//! in memory). The call is async: a gateway waiting on the network holds no tokio worker, and the
//! guest call around it is still cut at `limits.timeout_ms` (`sandbox::within_deadline`).

use std::{net::IpAddr, sync::Arc, time::Duration};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::config::{Environment, PluginConfig};

/// Request headers a guest may not set (see the module).
const HOST_OWNED_HEADERS: [&str; 6] =
    ["authorization", "proxy-authorization", "host", "content-length", "transfer-encoding", "connection"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// A guest's request, with the secret headers the host resolved from its `auth`.
pub struct OutboundRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Header name → value from the plugin's secrets (e.g. `authorization` → `Basic …`), sent as
    /// sensitive headers (never logged by the client).
    pub secret_headers: Vec<(String, SecretString)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request produced no response (any HTTP status is a response).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("transport: {0}")]
    Transport(String),
    #[error("the request timed out")]
    Timeout,
    #[error("the response body is larger than the plugin's http.max_response_bytes")]
    TooLarge,
}

/// One plugin's outbound HTTP: its policy and its client (connection pool).
pub struct OutboundHttp {
    plugin: Arc<str>,
    allowed_hosts: Vec<String>,
    loopback_http: bool,
    timeout: Duration,
    max_response_bytes: usize,
    client: reqwest::Client,
}

impl OutboundHttp {
    /// The policy of `[plugins.<name>]` under the engine's `environment`.
    pub fn new(plugin: &str, config: &PluginConfig, environment: Environment) -> Result<Self, OutboundError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.http.connect_timeout)
            .user_agent(concat!("commerce-engine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OutboundError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            plugin: plugin.into(),
            allowed_hosts: config.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            loopback_http: environment == Environment::Development,
            timeout: config.http.timeout,
            max_response_bytes: config.http.max_response_bytes,
            client,
        })
    }

    /// The URL if this plugin may call it (see the module for the rules).
    pub fn check(&self, url: &str) -> Result<Url, OutboundError> {
        let forbidden = |why: String| Err(OutboundError::Forbidden(why));
        let Ok(parsed) = Url::parse(url) else {
            return forbidden(format!("`{url}` is not an absolute URL"));
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return forbidden("credentials in the URL are refused; use the request's auth".to_owned());
        }
        let Some(host) =
            parsed.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
        else {
            return forbidden(format!("`{url}` has no host"));
        };
        if !self.allowed_hosts.contains(&host) {
            let plugin = &self.plugin;
            return forbidden(format!("`{host}` is not in plugins.{plugin}.allowed_hosts"));
        }
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if self.loopback_http && is_loopback(&host) => Ok(parsed),
            "http" if is_loopback(&host) => {
                forbidden("plain http is allowed to loopback only when environment is development".to_owned())
            }
            scheme => forbidden(format!("`{scheme}` is refused: only https")),
        }
    }

    /// Sends `request` if [`Self::check`] allows its URL and it sets no host-owned header.
    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let url = self.check(&request.url)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let lower = name.to_ascii_lowercase();
            if HOST_OWNED_HEADERS.contains(&lower.as_str()) {
                return Err(OutboundError::Forbidden(format!("the `{lower}` header is set by the host")));
            }
            headers.append(header_name(&lower)?, header_value(value)?);
        }
        for (name, value) in &request.secret_headers {
            let mut value = header_value(value.expose_secret())?;
            value.set_sensitive(true);
            headers.insert(header_name(&name.to_ascii_lowercase())?, value);
        }
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.client.request(method, url).headers(headers).timeout(self.timeout);
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let mut response = builder.send().await.map_err(transport)?;
        if response.content_length().is_some_and(|length| length > self.max_response_bytes as u64) {
            return Err(OutboundError::TooLarge);
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(OutboundError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse { status, headers, body })
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn header_name(name: &str) -> Result<HeaderName, OutboundError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| OutboundError::Forbidden(format!("`{name}` is not a header name")))
}

fn header_value(value: &str) -> Result<HeaderValue, OutboundError> {
    // The value is not echoed: it may be a secret.
    HeaderValue::from_str(value).map_err(|_| OutboundError::Forbidden("a header value is not valid".to_owned()))
}

/// A client error as the guest sees it. The message never holds a header (the client does not
/// put them in errors); the URL it may hold is the guest's own.
fn transport(error: reqwest::Error) -> OutboundError {
    if error.is_timeout() { OutboundError::Timeout } else { OutboundError::Transport(error.without_url().to_string()) }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    use super::*;
    use crate::config::PluginHttp;

    fn config(allowed: &[&str], http: PluginHttp) -> PluginConfig {
        let text = format!("module = \"x.wasm\"\nallowed_hosts = {allowed:?}\n");
        let mut config: PluginConfig = toml::from_str(&text).expect("plugin config");
        config.http = http;
        config
    }

    fn outbound(allowed: &[&str], environment: Environment) -> OutboundHttp {
        OutboundHttp::new("razorpay", &config(allowed, PluginHttp::default()), environment).expect("client")
    }

    fn forbidden(result: Result<Url, OutboundError>) -> String {
        match result {
            Err(OutboundError::Forbidden(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Guards the allow-list: only listed hosts, only https, plain http to loopback only in
    /// development (and still only if listed), no credentials in the URL.
    #[test]
    fn only_allowed_hosts_over_https_and_loopback_http_in_development() {
        let production = outbound(&["api.razorpay.com", "127.0.0.1"], Environment::Production);
        assert!(production.check("https://API.razorpay.com/v1/orders").is_ok());
        let why = forbidden(production.check("https://evil.example/v1/orders"));
        assert_eq!(why, "`evil.example` is not in plugins.razorpay.allowed_hosts");
        assert!(forbidden(production.check("https://api.razorpay.com.evil.example/")).contains("allowed_hosts"));
        assert!(forbidden(production.check("http://api.razorpay.com/v1/orders")).contains("only https"));
        assert!(forbidden(production.check("http://127.0.0.1:9000/v1")).contains("development"));
        assert!(forbidden(production.check("https://key:secret@api.razorpay.com/v1")).contains("credentials"));
        assert!(forbidden(production.check("/v1/orders")).contains("absolute"));
        assert!(forbidden(production.check("ftp://api.razorpay.com/")).contains("only https"));

        let development = outbound(&["127.0.0.1", "api.razorpay.com"], Environment::Development);
        assert!(development.check("http://127.0.0.1:9000/v1/orders").is_ok());
        assert!(forbidden(development.check("http://localhost:9000/")).contains("allowed_hosts"), "still listed only");
        assert!(forbidden(development.check("http://api.razorpay.com/v1")).contains("only https"), "loopback only");
    }

    /// A one-connection HTTP/1.1 server answering `response` to whatever comes; returns its base
    /// URL and the request text it received.
    async fn serve_once(response: Vec<u8>, delay: Duration) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buffer = [0_u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = socket.read(&mut buffer).await.expect("read");
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
            }
            tokio::time::sleep(delay).await;
            let _ = socket.write_all(&response).await;
            let _ = socket.shutdown().await;
            String::from_utf8_lossy(&request).into_owned()
        });
        (base, served)
    }

    fn request(url: String) -> OutboundRequest {
        OutboundRequest {
            method: Method::Post,
            url,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: b"{}".to_vec(),
            secret_headers: vec![("Authorization".to_owned(), SecretString::from("Basic c2VjcmV0"))],
        }
    }

    #[tokio::test]
    async fn sends_with_the_secret_header_and_returns_any_status_without_following_redirects() {
        let answer =
            b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/\r\nContent-Length: 5\r\n\r\nmoved".to_vec();
        let (base, served) = serve_once(answer, Duration::ZERO).await;
        let http = outbound(&["127.0.0.1"], Environment::Development);
        let response = http.send(request(format!("{base}/v1/orders"))).await.expect("a response");
        assert_eq!((response.status, response.body.as_slice()), (302, b"moved".as_slice()));
        assert!(response.headers.contains(&("location".to_owned(), "https://elsewhere.example/".to_owned())));
        let received = served.await.expect("server");
        assert!(received.starts_with("POST /v1/orders HTTP/1.1"), "{received}");
        assert!(received.contains("authorization: Basic c2VjcmV0"), "{received}");
    }

    #[tokio::test]
    async fn a_host_owned_header_from_the_guest_is_refused_before_sending() {
        let http = outbound(&["127.0.0.1"], Environment::Development);
        let mut sneaky = request("http://127.0.0.1:9/v1".to_owned());
        sneaky.headers.push(("Authorization".to_owned(), "Basic Z3Vlc3Q=".to_owned()));
        let refused = http.send(sneaky).await.expect_err("refused");
        assert_eq!(refused, OutboundError::Forbidden("the `authorization` header is set by the host".to_owned()));
    }

    #[tokio::test]
    async fn a_body_over_the_cap_and_a_slow_server_are_errors_not_waits() {
        let small = PluginHttp { max_response_bytes: 8, ..PluginHttp::default() };
        let http =
            OutboundHttp::new("razorpay", &config(&["127.0.0.1"], small), Environment::Development).expect("client");
        // Declared too long, and (without a length) streamed too long.
        let declared = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n123456789".to_vec();
        let (base, _) = serve_once(declared, Duration::ZERO).await;
        assert_eq!(http.send(request(base)).await, Err(OutboundError::TooLarge));
        let streamed = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n123456789".to_vec();
        let (base, _) = serve_once(streamed, Duration::ZERO).await;
        assert_eq!(http.send(request(base)).await, Err(OutboundError::TooLarge));

        let quick = PluginHttp { timeout: Duration::from_millis(200), ..PluginHttp::default() };
        let http =
            OutboundHttp::new("razorpay", &config(&["127.0.0.1"], quick), Environment::Development).expect("client");
        let late = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec();
        let (base, _) = serve_once(late, Duration::from_secs(3)).await;
        let started = std::time::Instant::now();
        assert_eq!(http.send(request(base)).await, Err(OutboundError::Timeout));
        assert!(started.elapsed() < Duration::from_secs(2), "cut at the timeout: {:?}", started.elapsed());
    }
}
