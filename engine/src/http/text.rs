//! Request strings: `Text` (single-line), `MultilineText` and `AnyText`, and the middleware that
//! names the field when one of them is refused.
//!
//! poem-openapi's `String` quietly turns JSON numbers and booleans into strings, so
//! `{"password": 1234567890}` would register the password `"1234567890"` and `{"email": 42}`
//! would fail as a bad email (422) instead of a wrong type (400). Request bodies use these types
//! instead; the OpenAPI schema is the same plain `string`.
//!
//! Characters: NUL is refused everywhere (PostgreSQL rejects it in text, which used to surface as
//! a 500). `Text` — emails, names, slugs, SKUs, codes, ids, path segments and query values —
//! refuses every control character (Unicode `Cc`: C0, DEL, C1), since none of them has a place
//! in a one-line value and they can forge log lines or mislead a reader. `MultilineText`
//! (descriptions) keeps line feed, carriage return and tab. `AnyText` (passwords) refuses NUL
//! only: a password is hashed, never shown, and refusing more would lock out anyone who already
//! chose one with a tab in it.
//!
//! A refusal is 422 `validation_failed` naming the field. poem-openapi's parse errors do not
//! carry the name of a body field, so a refused value's error message holds a tag (a hash of the
//! value) and [`NameTextFields`] finds the field with that value in the buffered body.

use std::{
    borrow::Cow,
    collections::HashMap,
    fmt,
    hash::{DefaultHasher, Hash, Hasher},
    ops::Deref,
    sync::Arc,
};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::header};
use poem_openapi::{
    OperationId,
    error::{ParseParamError, ParsePathError, ParseRequestPayloadError},
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use super::problem::{ApiError, FieldError};

const NUL: &str = "must not contain NUL characters";
const CONTROL: &str = "must not contain control characters";
const CONTROL_MULTILINE: &str = "must not contain control characters other than line feed, carriage return and tab";
/// Opens the tag that [`NameTextFields`] looks for in a parse error.
const TAG: &str = " [refused-text:";

/// What a refused string is told, or `None` when every character is allowed.
fn refusal(s: &str, allowed: fn(char) -> bool) -> Option<&'static str> {
    let bad = s.chars().find(|&c| c.is_control() && !allowed(c))?;
    Some(if bad == '\0' {
        NUL
    } else if allowed('\n') {
        CONTROL_MULTILINE
    } else {
        CONTROL
    })
}

fn single_line(_: char) -> bool {
    false
}

fn multi_line(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t')
}

fn any_but_nul(c: char) -> bool {
    c != '\0'
}

fn tag_of(s: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    s.hash(&mut hasher);
    hasher.finish()
}

macro_rules! request_string {
    ($(#[$doc:meta])* $name:ident, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl $name {
            pub fn into_inner(self) -> String {
                self.0
            }

            fn checked(s: String) -> ParseResult<Self> {
                match refusal(&s, $allowed) {
                    None => Ok(Self(s)),
                    Some(why) => Err(ParseError::custom(format!("{why}{TAG}{:016x}]", tag_of(&s)))),
                }
            }
        }

        impl Deref for $name {
            type Target = String;
            fn deref(&self) -> &String {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(text: $name) -> String {
                text.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }

            fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value.unwrap_or_default() {
                    Value::String(s) => Self::checked(s),
                    other => Err(ParseError::expected_type(other)),
                }
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Self::checked(value.to_owned())
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

request_string!(
    /// A single-line request string: no control characters at all.
    Text,
    single_line
);
request_string!(
    /// Multi-line text such as a description: no control characters but line feed, carriage
    /// return and tab.
    MultilineText,
    multi_line
);
request_string!(
    /// A string whose characters are not ours to judge (passwords): only NUL is refused.
    AnyText,
    any_but_nul
);

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Debug for MultilineText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Passwords never reach a log through `{:?}`.
impl fmt::Debug for AnyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"…\"")
    }
}

/// The message and tag inside a refusal produced above, if `reason` is one.
fn parse_tag(reason: &str) -> Option<(&str, u64)> {
    let (message, rest) = reason.split_once(TAG)?;
    let hex = rest.get(..16)?;
    let message = [NUL, CONTROL, CONTROL_MULTILINE].into_iter().find(|m| message.ends_with(m))?;
    Some((message, u64::from_str_radix(hex, 16).ok()?))
}

/// Turns refused request strings into 422 `validation_failed` naming the field; also refuses
/// NUL anywhere in a JSON body (keys and fields of plain `String` type included) before the
/// handler runs. Mount it inside the body limit, which has already buffered the body.
pub struct NameTextFields {
    path_params: Arc<HashMap<String, Vec<String>>>,
}

impl NameTextFields {
    /// poem-openapi reports a path parameter as `param<n>` (the n-th `Path` argument), so the
    /// documented names are read from the OpenAPI document, per operation, in argument order.
    pub fn new(openapi_json: &str) -> Self {
        let spec: Value = serde_json::from_str(openapi_json).unwrap_or_default();
        let mut path_params = HashMap::new();
        for operation in spec["paths"].as_object().into_iter().flat_map(|p| p.values()).filter_map(Value::as_object) {
            for op in operation.values() {
                let Some(id) = op["operationId"].as_str() else { continue };
                let names = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect();
                path_params.insert(id.to_owned(), names);
            }
        }
        Self { path_params: Arc::new(path_params) }
    }
}

impl<E: Endpoint> Middleware<E> for NameTextFields {
    type Output = NameTextFieldsEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        NameTextFieldsEndpoint(inner, self.path_params.clone())
    }
}

pub struct NameTextFieldsEndpoint<E>(E, Arc<HashMap<String, Vec<String>>>);

impl<E> NameTextFieldsEndpoint<E> {
    fn path_param_name<'a>(&'a self, error: &poem::Error, raw: &'a str) -> &'a str {
        let documented = || {
            let index: usize = raw.strip_prefix("param")?.parse().ok()?;
            self.1.get(error.data::<OperationId>()?.0)?.get(index).map(String::as_str)
        };
        documented().unwrap_or(raw)
    }
}

impl<E: Endpoint> Endpoint for NameTextFieldsEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        let body = if is_json {
            let bytes = req.take_body().into_bytes().await?;
            req.set_body(bytes.clone());
            Some(bytes)
        } else {
            None
        };
        // JSON can only spell NUL as an escape, so a body without one skips the walk.
        let json = body.as_deref().filter(|b| b.windows(6).any(|w| w == br"\u0000")).and_then(parse_json);
        if let Some(errors) = json.map(|v| find_fields(&v, &|s| s.contains('\0'), NUL)).filter(|e| !e.is_empty()) {
            return Ok(ApiError::validation(errors).into_response());
        }
        let error = match self.0.call(req).await {
            Ok(output) => return Ok(output.into_response()),
            Err(error) => error,
        };
        let field_error = if let Some(e) = error.downcast_ref::<ParseParamError>() {
            parse_tag(&e.reason).map(|(message, _)| vec![field(e.name, message)])
        } else if let Some(e) = error.downcast_ref::<ParsePathError>() {
            parse_tag(&e.reason).map(|(message, _)| vec![field(self.path_param_name(&error, e.name), message)])
        } else if let Some(e) = error.downcast_ref::<ParseRequestPayloadError>() {
            parse_tag(&e.reason).and_then(|(message, tag)| {
                let json = body.as_deref().and_then(parse_json)?;
                Some(find_fields(&json, &|s| tag_of(s) == tag, message)).filter(|e| !e.is_empty())
            })
        } else {
            None
        };
        match field_error {
            Some(errors) => Ok(ApiError::validation(errors).into_response()),
            None => Err(error),
        }
    }
}

fn parse_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

fn field(name: &str, message: &str) -> FieldError {
    FieldError { field: name.to_owned(), message: message.to_owned() }
}

/// Every field (dotted path, `[i]` for array items) whose string value or key matches.
fn find_fields(value: &Value, matches: &dyn Fn(&str) -> bool, message: &str) -> Vec<FieldError> {
    fn walk(value: &Value, path: &str, matches: &dyn Fn(&str) -> bool, message: &str, out: &mut Vec<FieldError>) {
        match value {
            Value::String(s) if matches(s) => out.push(field(if path.is_empty() { "body" } else { path }, message)),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), matches, message, out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    if matches(key) {
                        out.push(field(&inner, message));
                    }
                    walk(item, &inner, matches, message, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", matches, message, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_strings_parse() {
        assert_eq!(Text::parse_from_json(Some(Value::String("a".into()))).ok(), Some(Text::from("a")));
        assert!(Text::parse_from_json(Some(serde_json::json!(42))).is_err());
        assert!(Text::parse_from_json(Some(serde_json::json!(true))).is_err());
        assert!(Text::parse_from_json(Some(Value::Null)).is_err());
        assert!(<Option<Text>>::parse_from_json(Some(Value::Null)).is_ok_and(|v| v.is_none()));
    }

    #[test]
    fn each_type_refuses_its_characters_and_tags_the_value() {
        let json = |s: &str| Some(Value::String(s.to_owned()));
        for bad in ["a\0b", "a\tb", "a\nb", "a\u{7f}", "a\u{85}"] {
            let message = Text::parse_from_json(json(bad)).err().map(|e| e.into_message()).unwrap();
            assert_eq!(parse_tag(&message).map(|(_, t)| t), Some(tag_of(bad)), "{bad:?}: {message}");
            assert!(Text::parse_from_parameter(bad).is_err(), "{bad:?}");
        }
        assert!(MultilineText::parse_from_json(json("line 1\r\n\tline 2")).is_ok());
        assert!(MultilineText::parse_from_json(json("a\u{1b}[31m")).is_err());
        assert!(MultilineText::parse_from_json(json("a\0")).is_err());
        assert!(AnyText::parse_from_json(json("p\tw\u{1b}\u{7f}")).is_ok());
        let nul = AnyText::parse_from_json(json("p\0w")).err().map(|e| e.into_message()).unwrap();
        assert_eq!(parse_tag(&nul).map(|(m, _)| m), Some(NUL));
        assert!(Text::parse_from_parameter("ünïcode ok").is_ok());
    }

    #[test]
    fn fields_are_named_by_their_path() {
        let body = serde_json::json!({"a": {"b": ["x", "y\u{0}"]}, "k\u{0}": 1});
        let names: Vec<_> = find_fields(&body, &|s| s.contains('\0'), NUL).into_iter().map(|f| f.field).collect();
        assert_eq!(names, ["a.b[1]", "k\u{0}"]);
    }
}
