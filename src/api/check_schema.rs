//! The OpenAPI schemas of a check as written (`CheckBody`, one shape per kind) and as
//! answered (`CheckView`, one flat object whose descriptions say which kinds have each
//! field), composed from what the domain declares: the common fields of `CheckSpec` and
//! each kind's fields. Listed here by hand: the few fields the API adds (the name, `kind`,
//! `paused`, the heartbeat's `ping_url`, the timestamps), and what a `#[schema]` attribute
//! cannot say: list items' rules, header patterns, a list also written as one text, the
//! host pattern on every `host`, `null` for every optional field, an example per kind.

use std::borrow::Cow;
use std::collections::BTreeMap;

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, ObjectBuilder, OneOf, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::{
    BasicAuth, CheckFields, CheckName, DnsTarget, HeartbeatTarget, HostPort, HttpFields,
    IcmpTarget, KINDS, StatusItem, Target, TcpTarget,
};

/// A check's fields as sent to `PUT /checks/{name}`: one shape per kind, each with the
/// common fields, `kind`, and that kind's fields. Every field the kind does not require is
/// optional and takes its default when left out; unknown fields and fields of another kind
/// are refused. Durations are whole seconds.
pub struct CheckBody;

impl PartialSchema for CheckBody {
    fn schema() -> RefOr<Schema> {
        body_schema(false)
    }
}

impl ToSchema for CheckBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CheckBody")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        referenced_schemas(schemas);
    }
}

/// A check inside `PUT /stacks/{stack}`: as `CheckBody`, with its `name`.
pub struct StackCheckBody;

impl PartialSchema for StackCheckBody {
    fn schema() -> RefOr<Schema> {
        body_schema(true)
    }
}

impl ToSchema for StackCheckBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("StackCheckBody")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        referenced_schemas(schemas);
    }
}

/// One shape per kind (`kind` required but for `http`, the default), with `name` required
/// when `named`; the host pattern on every `host`.
fn body_schema(named: bool) -> RefOr<Schema> {
    let common = match CheckFields::schema() {
        RefOr::T(Schema::Object(common)) => common.properties,
        _ => BTreeMap::new(),
    };
    let mut one_of = OneOf::new();
    for (kind, schema) in Target::kind_schemas() {
        let RefOr::T(Schema::Object(own)) = schema else {
            continue;
        };
        let mut example = example(kind);
        if named && let serde_json::Value::Object(fields) = &mut example {
            fields.insert("name".to_owned(), format!("shop-{kind}").into());
        }
        let mut shape = ObjectBuilder::new()
            .title(Some(kind))
            .examples([example])
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property(
                "paused",
                or_null(
                    ObjectBuilder::new()
                        .schema_type(Type::Boolean)
                        .description(Some(
                            "Pause or resume; left out keeps the current value (false for a new \
                             check).",
                        ))
                        .into(),
                ),
            );
        let kind_field = kind_schema().enum_values(Some([kind]));
        shape = if kind == "http" {
            let default = kind_field.default(Some(serde_json::Value::from(kind)));
            shape.property("kind", or_null(default.into()))
        } else {
            shape.property("kind", kind_field).required("kind")
        };
        if named {
            shape = shape.property("name", CheckName::schema()).required("name");
        }
        let required = Target::required_fields(kind);
        for (field, mut property) in own.properties {
            if field == "headers"
                && let RefOr::T(Schema::Object(headers)) = &mut property
            {
                header_patterns(headers);
            }
            if let Some((_, _, item)) = ITEMS.iter().find(|(k, f, _)| *k == kind && f == &field)
                && let RefOr::T(Schema::Array(list)) = &mut property
            {
                list.items = ArrayItems::RefOrSchema(Box::new(item().into()));
            }
            if ONE_OR_MANY.contains(&(kind, field.as_str())) {
                property = one_or_many(property);
            }
            if !required.contains(&field.as_str()) {
                property = or_null(property);
            }
            shape = shape.property(field, property);
        }
        for field in required {
            shape = shape.required(*field);
        }
        for (field, property) in common.clone() {
            // Inside a stack, the path names the stack; a heartbeat is pinged, not probed
            // from anywhere.
            let probed_only = field == "locations" || field == "quorum";
            let left_out = (named && field == "stack") || (kind == "heartbeat" && probed_only);
            if !left_out {
                shape = shape.property(field, or_null(property));
            }
        }
        one_of.items.push(RefOr::T(Schema::Object(shape.build())));
    }
    one_of.description = Some(
        "A check: the common fields, `kind` (default `http`) and that kind's fields.".to_owned(),
    );
    RefOr::T(Schema::OneOf(one_of))
}

/// The schema of a check as answered: every field of its kind, defaults filled in.
pub fn view_schema() -> RefOr<Schema> {
    let mut builder = ObjectBuilder::new()
        .property("name", CheckName::schema())
        .property("kind", kind_schema())
        .property(
            "ping_url",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "heartbeat: where the job pings, relative to stackwatch's address \
                 (`/ping/KEY`; `/fail` and `/start` appended for those).",
                )),
        )
        .property("paused", ObjectBuilder::new().schema_type(Type::Boolean))
        .property(
            "created_at",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("RFC 3339.")),
        )
        .property(
            "updated_at",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("RFC 3339; changes only when the check changed.")),
        );
    for (name, schema) in check_fields() {
        builder = builder.property(name, schema);
    }
    // Every common field is in every answer (`null` when unset); a kind's fields only in
    // that kind's answers.
    for required in ["name", "kind", "paused", "created_at", "updated_at"] {
        builder = builder.required(required);
    }
    if let RefOr::T(Schema::Object(common)) = CheckFields::schema() {
        for name in common.properties.into_keys() {
            builder = builder.required(name);
        }
    }
    RefOr::T(Schema::Object(builder.build()))
}

/// The components the check schemas refer to.
pub fn referenced_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    for (name, schema) in [
        ("BasicAuth", BasicAuth::schema()),
        ("StatusItem", StatusItem::schema()),
    ] {
        schemas.push((name.to_owned(), schema));
    }
    <CheckFields as ToSchema>::schemas(schemas);
    <HttpFields as ToSchema>::schemas(schemas);
    <TcpTarget as ToSchema>::schemas(schemas);
    <HostPort as ToSchema>::schemas(schemas);
    <DnsTarget as ToSchema>::schemas(schemas);
    <IcmpTarget as ToSchema>::schemas(schemas);
    <HeartbeatTarget as ToSchema>::schemas(schemas);
}

/// What `header_problem` lets through, as patterns: a name is an HTTP token, a value
/// visible ASCII or tabs (a few names the prober sets are refused besides).
fn header_patterns(headers: &mut utoipa::openapi::schema::Object) {
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"));
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[\\t\\x20-\\x7e]*$"));
    headers.property_names = Some(Box::new(name.build().into()));
    headers.additional_properties = Some(Box::new(AdditionalProperties::RefOr(RefOr::T(
        Schema::Object(value.build()),
    ))));
}

/// What each text of a list field may be, by kind and field (bounds in characters, which a
/// rule in bytes never exceeds).
type ItemSchema = fn() -> ObjectBuilder;
const ITEMS: [(&str, &str, ItemSchema); 2] = [
    ("dns", "expect", || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(1024))
    }),
    ("http", "secret_names", || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(128))
            .pattern(Some("^[^\\x00-\\x1f\\x7f-\\x9f]+$"))
    }),
];

/// List fields a body may also give as one text (answered as a list), by kind.
const ONE_OR_MANY: [(&str, &str); 1] = [("dns", "expect")];

/// A list of texts, or one text.
fn one_or_many(mut list: RefOr<Schema>) -> RefOr<Schema> {
    let mut one_of = OneOf::new();
    one_of.description = take_description(&mut list);
    let one = match &list {
        RefOr::T(Schema::Array(array)) => match &array.items {
            ArrayItems::RefOrSchema(item) => (**item).clone(),
            ArrayItems::False => RefOr::T(Schema::Object(ObjectBuilder::new().build())),
        },
        _ => RefOr::T(Schema::Object(
            ObjectBuilder::new().schema_type(Type::String).build(),
        )),
    };
    one_of.items = vec![one, list];
    RefOr::T(Schema::OneOf(one_of))
}

/// A typical body of each kind, for the document's readers and generated clients.
fn example(kind: &str) -> serde_json::Value {
    use serde_json::json;
    match kind {
        "http" => json!({"url": "https://shop.example.com/healthz", "check_rate": 60,
            "body_contains": "ok", "tags": ["env:prod"]}),
        "tcp" => json!({"kind": "tcp", "host": "db.example.com", "port": 27017}),
        "dns" => json!({"kind": "dns", "host": "shop.example.com", "record_type": "A"}),
        "icmp" => json!({"kind": "icmp", "host": "192.0.2.10", "packets": 3}),
        "heartbeat" => json!({"kind": "heartbeat", "period": 3600, "grace": 300}),
        "domain" => json!({"kind": "domain", "domain": "example.com", "domain_expiry_days": 30}),
        other => json!({"kind": other, "host": "mail.example.com"}),
    }
}

/// `schema`, or `null`: an optional field sent as `null` is read as left out.
fn or_null(schema: RefOr<Schema>) -> RefOr<Schema> {
    let with_null = |schema_type: SchemaType, base: Type| match schema_type {
        SchemaType::Type(t) => SchemaType::Array(vec![t, Type::Null]),
        SchemaType::Array(mut types) => {
            if !types.contains(&Type::Null) {
                types.push(Type::Null);
            }
            SchemaType::Array(types)
        }
        SchemaType::AnyValue => SchemaType::Array(vec![base, Type::Null]),
    };
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.schema_type = with_null(object.schema_type, Type::Object);
            if let Some(values) = &mut object.enum_values
                && !values.contains(&serde_json::Value::Null)
            {
                values.push(serde_json::Value::Null);
            }
            RefOr::T(Schema::Object(object))
        }
        RefOr::T(Schema::Array(mut array)) => {
            array.schema_type = with_null(array.schema_type, Type::Array);
            RefOr::T(Schema::Array(array))
        }
        other => {
            let mut one_of = OneOf::new();
            let null = ObjectBuilder::new().schema_type(Type::Null).build();
            one_of.items = vec![other, RefOr::T(Schema::Object(null))];
            RefOr::T(Schema::OneOf(one_of))
        }
    }
}

fn kind_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(KINDS))
        .description(Some(
            "What kind of check: `http` (the default; `method: HEAD` is StatusCake's HEAD), \
             `tcp`, `smtp`, `ssh`, `dns`, `icmp` (StatusCake's PING) or `heartbeat`.",
        ))
}

/// Every field of a check but the ones the API adds: each kind's fields (the kinds that
/// have one named in its description; a field whose type differs between kinds is a
/// `oneOf`), then the common fields.
fn check_fields() -> Vec<(String, RefOr<Schema>)> {
    let mut by_field: BTreeMap<String, Vec<(&'static str, RefOr<Schema>)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (kind, schema) in Target::kind_schemas() {
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        for (field, property) in object.properties {
            if !by_field.contains_key(&field) {
                order.push(field.clone());
            }
            by_field.entry(field).or_default().push((kind, property));
        }
    }
    let mut fields = Vec::new();
    for field in order {
        let Some(variants) = by_field.remove(&field) else {
            continue;
        };
        fields.push((field, merge(variants)));
    }
    if let RefOr::T(Schema::Object(common)) = CheckFields::schema() {
        fields.extend(common.properties);
    }
    fields
}

/// One schema for a field several kinds have: their shapes (told apart without their
/// descriptions) in a `oneOf` when they differ, described per kind.
fn merge(variants: Vec<(&'static str, RefOr<Schema>)>) -> RefOr<Schema> {
    let mut shapes: Vec<(serde_json::Value, RefOr<Schema>)> = Vec::new();
    let mut descriptions: Vec<(String, Vec<&'static str>)> = Vec::new();
    for (kind, mut schema) in variants {
        let text = take_description(&mut schema).unwrap_or_default();
        match descriptions.iter_mut().find(|(t, _)| *t == text) {
            Some((_, kinds)) => kinds.push(kind),
            None => descriptions.push((text, vec![kind])),
        }
        let shape = serde_json::to_value(&schema).unwrap_or_default();
        if !shapes.iter().any(|(s, _)| *s == shape) {
            shapes.push((shape, schema));
        }
    }
    let description = descriptions
        .into_iter()
        .map(|(text, kinds)| format!("{}: {text}", kinds.join(", ")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut merged = if shapes.len() == 1 {
        shapes.remove(0).1
    } else {
        let mut one_of = OneOf::new();
        one_of.items = shapes.into_iter().map(|(_, s)| s).collect();
        RefOr::T(Schema::OneOf(one_of))
    };
    set_description(&mut merged, description);
    merged
}

fn take_description(schema: &mut RefOr<Schema>) -> Option<String> {
    match schema {
        RefOr::T(Schema::Object(o)) => o.description.take(),
        RefOr::T(Schema::Array(a)) => a.description.take(),
        RefOr::T(Schema::OneOf(o)) => o
            .description
            .take()
            .or_else(|| o.items.iter_mut().find_map(take_description)),
        RefOr::T(Schema::AllOf(a)) => a.description.take(),
        RefOr::Ref(r) => Some(std::mem::take(&mut r.description)).filter(|d| !d.is_empty()),
        _ => None,
    }
}

fn set_description(schema: &mut RefOr<Schema>, text: String) {
    match schema {
        RefOr::T(Schema::Object(o)) => o.description = Some(text),
        RefOr::T(Schema::Array(a)) => a.description = Some(text),
        RefOr::T(Schema::OneOf(o)) => o.description = Some(text),
        RefOr::T(Schema::AllOf(a)) => a.description = Some(text),
        RefOr::Ref(r) => r.description = text,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::check_body::spec_of;

    /// The smallest body of each kind.
    fn minimal(kind: &str) -> serde_json::Value {
        match kind {
            "http" => serde_json::json!({"url": "http://127.0.0.1/"}),
            "heartbeat" => serde_json::json!({"kind": kind, "period": 60}),
            "tcp" => serde_json::json!({"kind": kind, "host": "127.0.0.1", "port": 1}),
            "domain" => serde_json::json!({"kind": kind, "domain": "example.com"}),
            _ => serde_json::json!({"kind": kind, "host": "127.0.0.1"}),
        }
    }

    #[test]
    fn the_schema_lists_exactly_the_fields_a_check_of_each_kind_is_written_with() {
        let common: BTreeSet<String> = match CheckFields::schema() {
            RefOr::T(Schema::Object(o)) => o.properties.into_keys().collect(),
            _ => panic!("CheckSpec's schema is not an object"),
        };
        let documented: BTreeSet<String> = check_fields().into_iter().map(|(n, _)| n).collect();
        for (kind, schema) in Target::kind_schemas() {
            let RefOr::T(Schema::Object(own)) = schema else {
                panic!("{kind}'s schema is not an object");
            };
            let serde_json::Value::Object(body) = minimal(kind) else {
                unreachable!()
            };
            let spec = spec_of(body).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            let serde_json::Value::Object(written) = serde_json::to_value(&spec).unwrap() else {
                panic!("{kind}: not an object");
            };
            let written: BTreeSet<String> = written.into_iter().map(|(k, _)| k).collect();
            let mut expected: BTreeSet<String> = own.properties.into_keys().collect();
            expected.extend(common.iter().cloned());
            assert!(expected.is_subset(&documented), "{kind}");
            expected.insert("kind".to_owned());
            assert_eq!(written, expected, "{kind}");
        }
    }

    #[test]
    fn each_kind_requires_in_the_schema_what_the_reader_requires() {
        for (kind, _) in Target::kind_schemas() {
            let serde_json::Value::Object(body) = minimal(kind) else {
                unreachable!()
            };
            let given: BTreeSet<&str> = body
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "kind")
                .collect();
            let required: BTreeSet<&str> = Target::required_fields(kind).iter().copied().collect();
            assert_eq!(given, required, "{kind}");
            for field in required {
                let mut without = body.clone();
                without.remove(field);
                let errors = spec_of(without).expect_err(kind);
                assert!(
                    errors.iter().any(|e| e.field == field),
                    "{kind} without {field}: {errors:?}"
                );
            }
        }
    }

    #[test]
    fn every_example_is_a_valid_body() {
        for (kind, _) in Target::kind_schemas() {
            let serde_json::Value::Object(body) = example(kind) else {
                panic!("{kind}: not an object");
            };
            let spec = spec_of(body).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            assert_eq!(spec.target().kind(), kind);
        }
    }
}
