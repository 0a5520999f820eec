//! The document tells the truth (issue 9, item 8): every operation in `/openapi.json` is called
//! on a seeded engine, as anonymous, customer and staff, and each live answer is checked against
//! the document: its status is listed for the operation, every field marked required is present,
//! every present field is declared, and `null` appears only where the schema is nullable.
//!
//! A new operation must get a sample request in `samples`, or
//! `every_operation_answers_as_its_document_says` fails naming it.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    fake_razorpay::{FakeConfig, FakeRazorpay, PayMethod},
    plugins::demo_chain,
    *,
};

/// Follows `$ref` (and a single-`allOf` wrapper's `$ref`) to the component schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// Every way `value` differs from `schema`, as `path: problem`.
fn check(doc: &Value, schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() {
        if schema["nullable"] != true {
            problems.push(format!("{path}: null, but the schema is not nullable"));
        }
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            check(doc, part, value, path, problems);
        }
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        problems.push(format!("{path}: {value} is not one of {values:?}"));
    }
    let matches = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !matches {
        problems.push(format!("{path}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object()) {
        for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(required) {
                problems.push(format!("{path}.{required}: required, but absent"));
            }
        }
        for (key, field) in object {
            match properties.get(key) {
                Some(declared) => check(doc, declared, field, &format!("{path}.{key}"), problems),
                None if schema["additionalProperties"].is_object() => {
                    check(doc, &schema["additionalProperties"], field, &format!("{path}.{key}"), problems);
                }
                None => problems.push(format!("{path}.{key}: present, but not declared")),
            }
        }
    }
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(doc, item_schema, item, &format!("{path}[{i}]"), problems);
        }
    }
}

/// The operation's id and documented responses for a method and a concrete path.
fn operation<'a>(doc: &'a Value, method: &Method, path: &str) -> Option<(&'a str, &'a Value)> {
    let path = path.split('?').next().unwrap_or(path);
    doc["paths"].as_object()?.iter().find_map(|(template, item)| {
        let same = template.split('/').count() == path.split('/').count()
            && template.split('/').zip(path.split('/')).all(|(t, p)| t == p || t.starts_with('{'));
        let operation = same.then(|| &item[method.as_str().to_lowercase()])?;
        Some((operation["operationId"].as_str()?, &operation["responses"]))
    })
}

struct Walk<'a> {
    app: &'a TestApp,
    doc: &'a Value,
    /// operationId → statuses seen.
    seen: BTreeMap<String, BTreeSet<u16>>,
    problems: Vec<String>,
}

impl Walk<'_> {
    /// Sends the request and checks the answer against the document; returns the body.
    async fn call(&mut self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        self.call_with(method, path, token, &[], body).await
    }

    /// [`Walk::call`] with extra request headers (`Idempotency-Key`, guest tokens).
    async fn call_with(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Value {
        let mut request = self.app.client.request(method.clone(), self.app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = TestApp::read(request.send().await.expect("request sent")).await;
        let Some((id, responses)) = operation(self.doc, &method, path) else {
            self.problems.push(format!("{method} {path}: not in the document"));
            return Value::Null;
        };
        let status = response.status.as_u16();
        self.seen.entry(id.to_owned()).or_default().insert(status);
        let Some(documented) = responses.get(status.to_string()) else {
            self.problems.push(format!("{id} ({method} {path}): status {status} not documented: {}", response.text));
            return response.body;
        };
        let content_type = response.header("content-type").unwrap_or("").to_owned();
        let media = content_type.split(';').next().unwrap_or("").trim();
        match documented.get("content") {
            None if response.text.is_empty() => {}
            None => self.problems.push(format!("{id} {status}: a body where none is documented")),
            Some(content) => match content.get(media) {
                None => self.problems.push(format!("{id} {status}: media type {media} not documented")),
                Some(media_type) if media.ends_with("json") => {
                    let label = format!("{id} {status}");
                    check(self.doc, &media_type["schema"], &response.body, &label, &mut self.problems);
                }
                Some(_) => {}
            },
        }
        response.body
    }
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_else(|| panic!("no {key} in {value}"))
}

/// Calls every operation, first as its intended caller, then every GET as each of the others.
async fn samples(walk: &mut Walk<'_>, staff: &str, fake: &FakeRazorpay) {
    use Method as M;
    let (email, pw) = (unique_email("truth"), password());
    let session =
        walk.call(M::POST, "/api/v1/auth/register", None, Some(json!({"email": email, "password": pw}))).await;
    let customer = str_of(&session, "access_token").to_owned();
    walk.call(M::POST, "/api/v1/auth/login", None, Some(json!({"email": email, "password": pw}))).await;
    let refresh = str_of(&session, "refresh_token");
    walk.call(M::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
    walk.call(M::POST, "/api/v1/auth/password-reset", None, Some(json!({"email": email}))).await;
    let confirm = json!({"token": "not-a-token", "new_password": password()});
    walk.call(M::POST, "/api/v1/auth/password-reset/confirm", None, Some(confirm)).await;
    let user = walk.call(M::PATCH, "/api/v1/me", Some(&customer), Some(json!({"phone": null}))).await;
    let user_id = str_of(&user, "id").to_owned();
    let address = json!({"first_name": "A", "last_name": "B", "line1": "1 Road", "city": "Pune",
                         "postal_code": "411001", "country": "in"});
    let address = walk.call(M::POST, "/api/v1/me/addresses", Some(&customer), Some(address)).await;
    let address_path = format!("/api/v1/me/addresses/{}", str_of(&address, "id"));
    walk.call(M::PATCH, &address_path, Some(&customer), Some(json!({"region": "MH"}))).await;

    let category = walk.call(M::POST, "/api/v1/admin/categories", Some(staff), Some(json!({"name": "Truth"}))).await;
    let category_path = format!("/api/v1/admin/categories/{}", str_of(&category, "id"));
    walk.call(M::PATCH, &category_path, Some(staff), Some(json!({"description": "d"}))).await;
    // A draft without category or images; once its variants are removed, every nullable
    // product field is null.
    let bare = json!({"name": "Bare", "status": "draft", "options": [{"name": "Size", "values": ["M", "L"]}],
                      "variants": [{"sku": "TRUTH-M", "price": 1000, "options": {"Size": "M"}}]});
    let bare = walk.call(M::POST, "/api/v1/admin/products", Some(staff), Some(bare)).await;
    let bare_path = format!("/api/v1/admin/products/{}", str_of(&bare, "id"));
    let first_variant = format!("/api/v1/admin/variants/{}", str_of(&bare["variants"][0], "id"));
    walk.call(M::DELETE, &first_variant, Some(staff), None).await;
    let variant = json!({"sku": "TRUTH-L", "price": 1000, "stock": 1, "options": {"Size": "L"}});
    let variant = walk.call(M::POST, &format!("{bare_path}/variants"), Some(staff), Some(variant)).await;
    let variant_path = format!("/api/v1/admin/variants/{}", str_of(&variant, "id"));
    walk.call(M::PATCH, &variant_path, Some(staff), Some(json!({"stock_adjustment": -5}))).await;
    walk.call(M::PATCH, &variant_path, Some(staff), Some(json!({"compare_at_price": 1200}))).await;
    walk.call(M::PATCH, &bare_path, Some(staff), Some(json!({"status": "active"}))).await;
    let simple = json!({"name": "Simple", "price": 500, "sku": "TRUTH-S", "stock": 3,
                        "images": [{"url": "https://example.com/a.jpg"}]});
    let simple = walk.call(M::POST, "/api/v1/admin/products", Some(staff), Some(simple)).await;
    let simple_variant = simple["variants"][0]["id"].as_str().unwrap_or_default().to_owned();
    let preview = json!({"lines": [{"variant_id": simple_variant, "quantity": 2}], "coupon_codes": ["NOPE"],
                         "shipping_address": {"country": "IN", "region": "KA"}});
    walk.call(M::POST, "/api/v1/admin/pricing/preview", Some(staff), Some(preview)).await;
    walk.call(M::POST, "/api/v1/admin/plugins/reload", Some(staff), None).await;
    let customer_path = format!("/api/v1/admin/customers/{user_id}");
    walk.call(M::PATCH, &customer_path, Some(staff), Some(json!({"active": true}))).await;
    let cart = walk.call(M::POST, "/api/v1/carts", Some(&customer), None).await;
    let cart_path = format!("/api/v1/carts/{}", str_of(&cart, "id"));
    let saved = json!({"email": "truth@example.com", "shipping_address_id": address_path.rsplit('/').next()});
    walk.call(M::PATCH, &cart_path, Some(&customer), Some(saved)).await;
    // Above WELCOME10's ₹500 minimum, so the coupon is accepted.
    let pricey = json!({"name": "Truth cart", "price": 60000, "sku": "TRUTH-C", "stock": 5});
    let pricey = walk.call(M::POST, "/api/v1/admin/products", Some(staff), Some(pricey)).await;
    let line = json!({"variant_id": str_of(&pricey["variants"][0], "id"), "quantity": 1});
    let cart = walk.call(M::POST, &format!("{cart_path}/lines"), Some(&customer), Some(line.clone())).await;
    let line_path = format!("{cart_path}/lines/{}", str_of(&cart["lines"][0], "id"));
    walk.call(M::PATCH, &line_path, Some(&customer), Some(json!({"quantity": 2}))).await;
    walk.call(M::POST, &format!("{cart_path}/coupons"), Some(&customer), Some(json!({"code": "WELCOME10"}))).await;
    walk.call(M::POST, &format!("{cart_path}/coupons"), Some(&customer), Some(json!({"code": "NOPE"}))).await;
    walk.call(M::DELETE, &format!("{cart_path}/coupons/WELCOME10"), Some(&customer), None).await;
    walk.call(M::DELETE, &line_path, Some(&customer), None).await;
    walk.call(M::POST, "/api/v1/carts", None, None).await;

    // Checkout: the customer's cart (saved address on it) with the manual provider, and a guest's.
    walk.call(M::POST, &format!("{cart_path}/lines"), Some(&customer), Some(line.clone())).await;
    walk.call(M::GET, &cart_path, Some(&customer), None).await;
    let key = [("Idempotency-Key", "truth-1")];
    let placed = json!({"cart_id": cart_path.rsplit('/').next(), "payment_provider": "manual"});
    let order = walk.call_with(M::POST, "/api/v1/checkout", Some(&customer), &key, Some(placed.clone())).await;
    walk.call_with(M::POST, "/api/v1/checkout", Some(&customer), &key, Some(placed)).await;
    let order_path = format!("/api/v1/orders/{}", str_of(&order, "id"));
    walk.call(M::POST, &format!("{order_path}/payment"), Some(&customer), None).await;
    let guest = walk.call(M::POST, "/api/v1/carts", None, None).await;
    let guest_token = [("X-Cart-Token", str_of(&guest, "cart_token")), ("Idempotency-Key", "truth-2")];
    let guest_cart = format!("/api/v1/carts/{}", str_of(&guest, "id"));
    walk.call_with(M::POST, &format!("{guest_cart}/lines"), None, &guest_token[..1], Some(line.clone())).await;
    let guest_body = json!({"cart_id": str_of(&guest, "id"), "payment_provider": "manual", "email": "g@example.com",
        "shipping_address": {"first_name": "G", "last_name": "H", "line1": "2 Road", "city": "Mysuru",
        "region": "KA", "postal_code": "570001", "country": "IN"}});
    let guest_order = walk.call_with(M::POST, "/api/v1/checkout", None, &guest_token, Some(guest_body)).await;
    let guest_order_path = format!("/api/v1/orders/{}", str_of(&guest_order, "id"));
    let order_token = [("X-Order-Token", str_of(&guest_order, "order_token"))];
    walk.call_with(M::GET, &guest_order_path, None, &order_token, None).await;
    let cancel = json!({"reason": "truth"});
    walk.call_with(M::POST, &format!("{guest_order_path}/cancel"), None, &order_token, Some(cancel)).await;
    let admin_order_path = format!("/api/v1/admin/orders/{}", str_of(&order, "id"));
    let paid = json!({"to": "paid", "reason": "bank transfer seen"});
    walk.call(M::POST, &format!("{admin_order_path}/transitions"), Some(staff), Some(paid)).await;
    let refund = json!({"amount": 100, "reason": "truth"});
    let refund_key = [("Idempotency-Key", "truth-4")];
    walk.call_with(M::POST, &format!("{admin_order_path}/refunds"), Some(staff), &refund_key, Some(refund)).await;

    // Razorpay: a guest pays at the fake gateway, confirms, and the gateway's webhook arrives.
    let rzp = walk.call(M::POST, "/api/v1/carts", None, None).await;
    let rzp_headers = [("X-Cart-Token", str_of(&rzp, "cart_token")), ("Idempotency-Key", "truth-3")];
    let rzp_cart = format!("/api/v1/carts/{}", str_of(&rzp, "id"));
    walk.call_with(M::POST, &format!("{rzp_cart}/lines"), None, &rzp_headers[..1], Some(line)).await;
    let rzp_body = json!({"cart_id": str_of(&rzp, "id"), "payment_provider": "razorpay", "email": "r@example.com",
        "shipping_address": {"first_name": "R", "last_name": "P", "line1": "3 Road", "city": "Mysuru",
        "region": "KA", "postal_code": "570001", "country": "IN"}});
    let rzp_order = walk.call_with(M::POST, "/api/v1/checkout", None, &rzp_headers, Some(rzp_body)).await;
    let paid = fake.pay(str_of(&rzp_order["payment_session"]["client_data"], "order_id"), PayMethod::Card);
    let rzp_token = [("X-Order-Token", str_of(&rzp_order, "order_token"))];
    let verify_path = format!("/api/v1/orders/{}/payment/verify", str_of(&rzp_order, "id"));
    walk.call_with(M::POST, &verify_path, None, &rzp_token, Some(json!(paid))).await;
    // Sent as JSON by the walk, so signed over the bytes it sends.
    let event = fake.webhook("payment.captured", &paid.razorpay_payment_id);
    let event_body: Value = serde_json::from_slice(&event.body).expect("json");
    let signature = crate::payments::sign(&serde_json::to_vec(&event_body).expect("bytes"));
    let webhook_headers =
        [("X-Razorpay-Signature", signature.as_str()), ("X-Razorpay-Event-Id", event.event_id.as_str())];
    walk.call_with(M::POST, "/api/v1/webhooks/razorpay", None, &webhook_headers, Some(event_body)).await;

    let reads = [
        "/api/v1/me".to_owned(),
        "/api/v1/me/addresses".to_owned(),
        address_path.clone(),
        "/api/v1/me/cart".to_owned(),
        cart_path.clone(),
        "/api/v1/orders".to_owned(),
        order_path.clone(),
        "/api/v1/categories".to_owned(),
        "/api/v1/categories/t-shirts".to_owned(),
        "/api/v1/products".to_owned(),
        "/api/v1/products?limit=2".to_owned(),
        "/api/v1/products?q=zzzzzz".to_owned(),
        format!("/api/v1/products/{}", str_of(&bare, "slug")),
        "/api/v1/products/no-such-product".to_owned(),
        "/api/v1/admin/customers".to_owned(),
        customer_path,
        "/api/v1/admin/categories?limit=1".to_owned(),
        category_path.clone(),
        "/api/v1/admin/products?limit=1".to_owned(),
        bare_path.clone(),
        "/api/v1/admin/plugins".to_owned(),
        "/api/v1/admin/orders?status=paid&limit=1".to_owned(),
        "/api/v1/admin/orders?payment_review=true".to_owned(),
        admin_order_path.clone(),
        "/health".to_owned(),
        "/ready".to_owned(),
        "/metrics".to_owned(),
    ];
    for path in &reads {
        for token in [None, Some(customer.as_str()), Some(staff)] {
            walk.call(M::GET, path, token, None).await;
        }
    }

    walk.call(M::DELETE, &variant_path, Some(staff), None).await;
    let bare = walk.call(M::GET, &bare_path, Some(staff), None).await;
    assert!(bare["min_price"].is_null() && bare["default_variant_id"].is_null(), "{bare}");
    walk.call(M::DELETE, &bare_path, Some(staff), None).await;
    walk.call(M::DELETE, &category_path, Some(staff), None).await;
    walk.call(M::DELETE, &address_path, Some(&customer), None).await;
    let change = json!({"current_password": pw, "new_password": password()});
    let session = walk.call(M::POST, "/api/v1/me/password", Some(&customer), Some(change)).await;
    let refresh = str_of(&session, "refresh_token");
    walk.call(M::POST, "/api/v1/auth/logout", None, Some(json!({"refresh_token": refresh}))).await;
}

#[tokio::test]
async fn every_operation_answers_as_its_document_says() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let app = spawn_app_with(|config| {
        demo_chain(config);
        crate::payments::razorpay(config, &fake, "automatic");
    })
    .await;
    commerce_engine::seed::demo(&app.state).await.expect("demo seed");
    let staff = app.staff().await;
    let doc = app.get("/openapi.json", None).await.body;
    let mut walk = Walk { app: &app, doc: &doc, seen: BTreeMap::new(), problems: Vec::new() };

    samples(&mut walk, &staff.access, &fake).await;

    let mut all_ids = BTreeSet::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("path item").values() {
            all_ids.insert(operation["operationId"].as_str().unwrap_or_default().to_owned());
        }
    }
    let missing: Vec<_> = all_ids.iter().filter(|id| !walk.seen.contains_key(*id)).collect();
    assert!(missing.is_empty(), "operations without a sample request: {missing:?}");
    let succeeded = |id: &str| walk.seen[id].iter().any(|s| (200..300).contains(s));
    let never_succeeded: Vec<_> = all_ids.iter().filter(|id| !succeeded(id)).collect();
    // The one sample expected to fail: a reset token that does not exist.
    assert_eq!(never_succeeded, ["confirmPasswordReset"], "statuses seen: {:?}", walk.seen);
    assert!(walk.problems.is_empty(), "the document and the answers disagree:\n{}", walk.problems.join("\n"));
}

/// The checker itself: each kind of disagreement is caught.
#[test]
fn the_checker_reports_absent_undeclared_and_null_fields() {
    let doc = json!({"components": {"schemas": {"T": {"type": "object", "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string", "nullable": true}}}}}});
    let schema = json!({"$ref": "#/components/schemas/T"});
    let mut problems = Vec::new();
    check(&doc, &schema, &json!({"a": "x", "b": null}), "t", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    check(&doc, &schema, &json!({"a": null, "c": 1}), "t", &mut problems);
    assert_eq!(
        problems,
        ["t.b: required, but absent", "t.a: null, but the schema is not nullable", "t.c: present, but not declared"]
    );
}
