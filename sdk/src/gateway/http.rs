//! Outbound HTTP and HMAC as a gateway sees them: requests name secrets, never hold them.

use serde::de::DeserializeOwned;

/// An HTTP method the host can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method as it goes on the wire, e.g. `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// How the host authenticates a request. Only secret *names* appear here: the host looks the
/// values up in the operator's config, so a key never enters the plugin's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Basic base64(<username>:<password secret>)`.
    Basic {
        /// Given as is (a Razorpay key id is public).
        username: String,
        /// The name of the secret holding the password.
        password_secret: String,
    },
    /// `Authorization: Bearer <secret>`.
    Bearer {
        /// The name of the secret holding the token.
        secret_name: String,
    },
    /// `<header>: <secret>`, for gateways with key headers of their own.
    Header {
        /// The header's name.
        name: String,
        /// The name of the secret holding its value.
        secret_name: String,
    },
}

impl Auth {
    /// Basic auth with a literal username and the password from secret `password_secret`.
    pub fn basic(username: impl Into<String>, password_secret: impl Into<String>) -> Self {
        Auth::Basic { username: username.into(), password_secret: password_secret.into() }
    }

    /// A bearer token from secret `secret_name`.
    pub fn bearer(secret_name: impl Into<String>) -> Self {
        Auth::Bearer { secret_name: secret_name.into() }
    }

    /// Header `name` with the value of secret `secret_name`.
    pub fn header(name: impl Into<String>, secret_name: impl Into<String>) -> Self {
        Auth::Header { name: name.into(), secret_name: secret_name.into() }
    }
}

/// A request for the host to send: HTTPS to an allow-listed host only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// An absolute URL.
    pub url: String,
    /// The host refuses `authorization` here (use `auth`) and sets `content-length` itself.
    pub headers: Vec<(String, String)>,
    /// The body, empty for none.
    pub body: Vec<u8>,
    /// How the host authenticates it.
    pub auth: Option<Auth>,
}

impl Request {
    /// A request without headers, body or auth.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), headers: Vec::new(), body: Vec::new(), auth: None }
    }

    /// A `GET`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `POST`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A JSON body, with `content-type: application/json`. Takes a `Value` so it cannot fail.
    pub fn json(self, body: &serde_json::Value) -> Self {
        let mut request = self.header("content-type", "application/json");
        request.body = body.to_string().into_bytes();
        request
    }

    /// Sets the authentication the host adds.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }
}

/// A response; any status, 4xx and 5xx included, is a response, not an [`HttpError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (capped in size by the host).
    pub body: Vec<u8>,
}

impl Response {
    /// A response with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: Vec::new(), body: body.into() }
    }

    /// A JSON response (with its `content-type`), e.g. a canned answer in a test.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        let mut response = Self::new(status, body.to_string());
        response.headers.push(("content-type".to_owned(), "application/json".to_owned()));
        response
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json_body<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Why a request produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Not HTTPS, a host outside `allowed_hosts`, or a header the host refuses.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A secret named in `auth` is not configured.
    #[error("unknown secret `{0}`")]
    UnknownSecret(String),
    /// DNS, connect, TLS or I/O failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The connect or total timeout passed.
    #[error("timed out")]
    Timeout,
    /// The response body passed the size cap.
    #[error("the response is too large")]
    TooLarge,
}

/// The digest of an HMAC computed by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// Lower-case hex of `bytes`, as most gateways print signatures.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string (either case); `None` if it is not hex.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}
