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
/// `failed to parse "T": <message> (occurred while parsing "U")`, nested; the innermost
/// message is the useful part (`Expect a valid enumeration value.` names no value, so enum
/// fields are left to the handlers' validation where they exist).
fn payload_detail(reason: &str) -> String {
    let mut message = reason;
    while let Some(rest) = message.strip_prefix("failed to parse \"").and_then(|r| r.split_once("\": ")) {
        message = rest.1;
    }
    let message = message.split(" (occurred while parsing").next().unwrap_or(message).trim();
    if message.is_empty() || message.contains('"') {
        "the body is not valid JSON of the expected shape".to_owned()
    } else {
        format!("invalid body: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_details_drop_type_names() {
        let reason = "failed to parse \"ProductCreate\": failed to parse \"StatusDto\": Expect a valid enumeration \
                      value. (occurred while parsing \"optional_StatusDto\")";
        assert_eq!(payload_detail(reason), "invalid body: Expect a valid enumeration value.");
        assert!(!payload_detail("failed to parse \"X\": field \"y\" is odd").contains('X'));
    }

    #[test]
    fn enum_schemas_list_their_values() {
        let doc = serde_json::json!({"components": {"schemas": {"S": {"type": "string", "enum": ["a", "b"]}}}});
        assert_eq!(describe(&doc, &serde_json::json!({"$ref": "#/components/schemas/S"})), "must be one of a, b");
        assert_eq!(describe(&doc, &serde_json::json!({"type": "integer"})), "must be an integer");
    }
}
