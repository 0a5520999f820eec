//! A cacheable storefront answer: the JSON bytes with a strong `ETag`, or `304 Not Modified`
//! when the client's `If-None-Match` already names it. Both carry
//! `Cache-Control: public, max-age=0, must-revalidate`: a browser or CDN may keep the body but
//! must ask again before every reuse, so it never serves a page staler than the engine would
//! (a revalidation that still matches costs a 304 without a body).

use std::marker::PhantomData;

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse,
    payload::Payload,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

use crate::catalog::cache::Page;

pub const CACHE_CONTROL: &str = "public, max-age=0, must-revalidate";

pub struct CachedJson<T> {
    page: Page,
    not_modified: bool,
    _shape: PhantomData<fn() -> T>,
}

impl<T: ToJSON> CachedJson<T> {
    /// Renders `value` once (the bytes that are kept and sent).
    pub fn render(value: &T) -> Page {
        Page::new(bytes::Bytes::from(value.to_json_string()))
    }
}

impl<T> CachedJson<T> {
    /// `page` must be `T` rendered; 304 when `if_none_match` names its tag.
    pub fn answer(page: Page, if_none_match: Option<&str>) -> Self {
        let not_modified = if_none_match.is_some_and(|header| matches(header, &page.etag));
        Self { page, not_modified, _shape: PhantomData }
    }
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored, `*` matches.
fn matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

impl<T: Type> IntoResponse for CachedJson<T> {
    fn into_response(self) -> Response {
        let builder = Response::builder()
            .header(poem::http::header::ETAG, &*self.page.etag)
            .header(poem::http::header::CACHE_CONTROL, CACHE_CONTROL);
        if self.not_modified {
            builder.status(StatusCode::NOT_MODIFIED).finish()
        } else {
            builder.content_type(poem_openapi::payload::Json::<T>::CONTENT_TYPE).body(self.page.body)
        }
    }
}

fn headers() -> Vec<MetaHeader> {
    vec![
        MetaHeader {
            name: "ETag".into(),
            description: Some("Strong entity tag of the body; send it back in `If-None-Match`.".into()),
            required: true,
            deprecated: false,
            schema: String::schema_ref(),
        },
        MetaHeader {
            name: "Cache-Control".into(),
            description: Some(format!("`{CACHE_CONTROL}`: keep, but revalidate before every reuse.")),
            required: true,
            deprecated: false,
            schema: String::schema_ref(),
        },
    ]
}

impl<T: Type> ApiResponse for CachedJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "The resource, with its entity tag.",
                    status: Some(200),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: poem_openapi::payload::Json::<T>::CONTENT_TYPE,
                        schema: T::schema_ref(),
                    }],
                    headers: headers(),
                },
                MetaResponse {
                    description: "Not modified: `If-None-Match` named the current entity tag. No body.",
                    status: Some(304),
                    status_range: None,
                    content: vec![],
                    headers: headers(),
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        let tag = "\"abc\"";
        assert!(matches("\"abc\"", tag));
        assert!(matches("W/\"abc\"", tag));
        assert!(matches("\"x\", \"abc\"", tag));
        assert!(matches("*", tag));
        assert!(!matches("\"abcd\"", tag));
        assert!(!matches("abc", tag));
    }
}
