//! `Nullable<T>`: a response field that is always sent, as a value or as `null`.
//!
//! poem-openapi documents an `Option<T>` field as optional and non-nullable, while it serialises
//! `None` as `null`: a generated client then types `next_cursor?: string` and a strict client
//! testing `!== undefined` loops forever on the last page. Response DTOs use `Nullable<T>`
//! instead: the field is `required` and its schema `nullable: true` (OpenAPI 3.0), which is what
//! the server does. Request bodies keep `Option<T>` (omitting a field is allowed there).
//!
//! `Clearable<T>`: a request field of a PATCH body that may be omitted (keep), `null` (clear) or a
//! value (set). poem-openapi's `MaybeUndefined<T>` parses that but documents a plain,
//! non-nullable `T`, so a strict client could not send the `null` the server accepts.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{MaybeUndefined, ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nullable<T>(pub Option<T>);

impl<T> From<Option<T>> for Nullable<T> {
    fn from(value: Option<T>) -> Self {
        Self(value)
    }
}

impl<T> Nullable<T> {
    pub fn as_ref(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<T: Type> Type for Nullable<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    /// An inline schema gets `nullable: true`; a `$ref` cannot carry siblings in OpenAPI 3.0,
    /// so it is wrapped as `type: <its type>, allOf: [$ref], nullable: true` (what
    /// openapi-typescript reads as `T | null`; `nullable` needs a sibling `type`).
    fn schema_ref() -> MetaSchemaRef {
        match T::schema_ref() {
            MetaSchemaRef::Inline(schema) => MetaSchemaRef::Inline(Box::new(MetaSchema { nullable: true, ..*schema })),
            MetaSchemaRef::Reference(name) => {
                let mut registry = Registry::new();
                T::register(&mut registry);
                let ty = registry.schemas.get(&name).map_or("object", |schema| schema.ty);
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    ty,
                    all_of: vec![MetaSchemaRef::Reference(name)],
                    nullable: true,
                    ..MetaSchema::ANY
                }))
            }
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(value) => value.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Nullable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::Null => Ok(Self(None)),
            value => T::parse_from_json(Some(value)).map(|v| Self(Some(v))).map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON> ToJSON for Nullable<T> {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.as_ref().and_then(ToJSON::to_json).unwrap_or(Value::Null))
    }
}

/// Omitted (keep), `null` (clear) or a value (set); documented as an optional, nullable field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clearable<T>(pub MaybeUndefined<T>);

impl<T> Clearable<T> {
    /// "keep" (`None`), "clear" (`Some(None)`), "set" (`Some(Some(v))`).
    pub fn into_patch(self) -> Option<Option<T>> {
        match self.0 {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        }
    }
}

impl<T: Type> Type for Clearable<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("clearable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        <Nullable<T> as Type>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        match &self.0 {
            MaybeUndefined::Value(value) => value.as_raw_value(),
            _ => None,
        }
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            MaybeUndefined::Value(value) => value.raw_element_iter(),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn is_none(&self) -> bool {
        self.0.is_undefined()
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Clearable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        MaybeUndefined::<T>::parse_from_json(value).map(Self).map_err(ParseError::propagate)
    }
}

impl<T: ToJSON> ToJSON for Clearable<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_sent_as_null_and_the_schema_is_required_and_nullable() {
        assert_eq!(Nullable::<i64>(None).to_json(), Some(Value::Null));
        assert_eq!(Nullable(Some(5_i64)).to_json(), Some(serde_json::json!(5)));
        const { assert!(<Nullable<String> as Type>::IS_REQUIRED) };
        match <Nullable<String>>::schema_ref() {
            MetaSchemaRef::Inline(schema) => assert!(schema.nullable && schema.ty == "string"),
            MetaSchemaRef::Reference(_) => panic!("a string is inline"),
        }
    }

    #[test]
    fn a_clearable_field_is_optional_nullable_and_tells_keep_clear_and_set_apart() {
        const { assert!(!<Clearable<String> as Type>::IS_REQUIRED) };
        match <Clearable<String>>::schema_ref() {
            MetaSchemaRef::Inline(schema) => assert!(schema.nullable && schema.ty == "string"),
            MetaSchemaRef::Reference(_) => panic!("a string is inline"),
        }
        let parse = |v: Option<Value>| {
            Clearable::<crate::http::text::Text>::parse_from_json(v)
                .ok()
                .map(|c| c.into_patch().map(|o| o.map(String::from)))
        };
        assert_eq!(parse(None), Some(None));
        assert_eq!(parse(Some(Value::Null)), Some(Some(None)));
        assert_eq!(parse(Some(Value::String("x".into()))), Some(Some(Some("x".to_owned()))));
        assert!(parse(Some(serde_json::json!(5))).is_none());
    }
}
