//! Details for parameters poem-openapi cannot parse. Its own message names Rust types
//! (`failed to parse "SortDto": Expect a valid enumeration value. (occurred while parsing
//! "optional_SortDto")`); clients get the parameter and what it accepts instead
//! (`sort: must be one of newest, price_asc, …`), read from the operation's schema in the served
//! document, so every enum and typed parameter is covered without a table of its own.

use poem_openapi::{
    OperationId,
    error::{ParseParamError, ParsePathError, ParseRequestPayloadError},
};
use serde_json::Value;

/// A detail for a 400 raised by poem-openapi's parsing, or `None` when the error is not one.
pub fn describe_bad_request(error: &poem::Error) -> Option<String> {
    let operation = error.data::<OperationId>().map(|id| id.0);
    if let Some(e) = error.downcast_ref::<ParseParamError>() {
        return Some(format!("{}: {}", e.name, expectation(operation, e.name)));
    }
    if let Some(e) = error.downcast_ref::<ParsePathError>() {
        return Some(format!("{}: {}", e.name, expectation(operation, e.name)));
    }
    if let Some(e) = error.downcast_ref::<ParseRequestPayloadError>() {
        return Some(payload_detail(&e.reason));
    }
    None
}

/// What the parameter accepts, from the served document; generic when it is not known.
fn expectation(operation: Option<&str>, name: &str) -> String {
    let schema = operation.zip(super::served()).and_then(|(op, doc)| parameter_schema(doc, op, name));
    match schema {
        Some((doc, schema)) => describe(doc, schema),
        None => "has an invalid value".to_owned(),
    }
}

fn parameter_schema<'a>(doc: &'a Value, operation_id: &str, name: &str) -> Option<(&'a Value, &'a Value)> {
    let operation = doc
        .get("paths")?
        .as_object()?
        .values()
        .filter_map(Value::as_object)
        .flat_map(|path| path.values())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))?;
    let parameter = operation
        .get("parameters")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))?;
    Some((doc, parameter.get("schema")?))
}

/// `must be one of …`, `must be an integer`, … for a (possibly `$ref`erenced) schema.
fn describe(doc: &Value, schema: &Value) -> String {
    let schema = resolve(doc, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        return format!("must be one of {}", names.join(", "));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => "must be an integer".to_owned(),
        Some("number") => "must be a number".to_owned(),
        Some("boolean") => "must be true or false".to_owned(),
        Some("array") => "has an invalid item".to_owned(),
        _ => "has an invalid value".to_owned(),
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.get("allOf").and_then(|all| all.get(0)).and_then(|first| first.get("$ref")))
        .and_then(Value::as_str);
    reference
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|name| doc.get("components")?.get("schemas")?.get(name))
        .unwrap_or(schema)
}

/// A body that does not parse: poem-openapi's reason without its type names. Its reasons read
/// `failed to parse "T": <message> (occurred while parsing "U")`, nested, and never name the
/// field; the innermost type and message are translated:
/// `Type "string" expects an input value.` (a required field is missing or null),
/// `Expected input type "integer(int64)", found "7".` and
/// `failed to parse "ProductStatus": Expect a valid enumeration value.`
fn payload_detail(reason: &str) -> String {
    let mut message = reason.split(" (occurred while parsing").next().unwrap_or(reason).trim();
    let mut innermost = None;
    while let Some((ty, rest)) = message.strip_prefix("failed to parse \"").and_then(|r| r.split_once("\": ")) {
        innermost = Some(ty);
        message = rest;
    }
    let doc = super::served();
    if message.ends_with("expects an input value.") {
        return "invalid body: a required field is missing or null".to_owned();
    }
    if let Some((expected, found)) =
        message.strip_prefix("Expected input type \"").and_then(|r| r.split_once("\", found "))
    {
        let found = found.trim_end_matches('.');
        return format!("invalid body: expected {}, found {found}", type_words(doc, expected));
    }
    if message.starts_with("Expect a valid enumeration value") {
        let values = innermost.map(|ty| type_words(doc, ty)).filter(|w| w.starts_with("one of"));
        return match values {
            Some(values) => format!("invalid body: a value must be {values}"),
            None => "invalid body: a value is not one of the allowed values".to_owned(),
        };
    }
    if message.is_empty() || message.contains('"') {
        "the body is not valid JSON of the expected shape".to_owned()
    } else {
        format!("invalid body: {message}")
    }
}

/// A poem-openapi type name (`string`, `integer(int64)`, a schema name) in words.
fn type_words(doc: Option<&Value>, name: &str) -> String {
    let schema = doc.and_then(|d| d.get("components")?.get("schemas")?.get(name).map(|s| (d, s)));
    if let Some((doc, schema)) = schema {
        let described = describe(doc, schema);
        return described.strip_prefix("must be ").map_or(described.clone(), str::to_owned);
    }
    match name.split('(').next().unwrap_or(name) {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        _ if name.starts_with('[') || name.starts_with("array") => "an array",
        _ => "a value of another type",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_details_drop_type_names() {
        let reason = "failed to parse \"ProductStatus\": Expect a valid enumeration value. (occurred while \
                      parsing \"optional_ProductStatus\") (occurred while parsing \"ProductCreate\")";
        assert_eq!(payload_detail(reason), "invalid body: a value is not one of the allowed values");
        let missing = "Type \"string\" expects an input value. (occurred while parsing \"LoginRequest\")";
        assert_eq!(payload_detail(missing), "invalid body: a required field is missing or null");
        let wrong = "Expected input type \"integer(int64)\", found \"7\". (occurred while parsing \"VariantPatch\")";
        assert_eq!(payload_detail(wrong), "invalid body: expected an integer, found \"7\"");
        assert!(!payload_detail("failed to parse \"X\": field \"y\" is odd").contains('X'));
    }

    #[test]
    fn enum_schemas_list_their_values() {
        let doc = serde_json::json!({"components": {"schemas": {"S": {"type": "string", "enum": ["a", "b"]}}}});
        assert_eq!(describe(&doc, &serde_json::json!({"$ref": "#/components/schemas/S"})), "must be one of a, b");
        assert_eq!(describe(&doc, &serde_json::json!({"type": "integer"})), "must be an integer");
    }
}
