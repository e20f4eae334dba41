//! The OpenAPI schemas of a check as written (`CheckBody`) and as answered (`CheckView`),
//! composed from what the domain declares: the common fields of `CheckSpec` and each
//! kind's fields, merged into one flat object whose descriptions say which kinds have
//! each field. Nothing here lists a field by hand except the few the API adds (the name,
//! `kind`, `paused`, the heartbeat's `ping_url` and the timestamps).

use std::borrow::Cow;
use std::collections::BTreeMap;

use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOf, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::{
    BasicAuth, CheckName, CheckSpec, DnsTarget, HeartbeatTarget, HostPort, HttpTarget, IcmpTarget,
    KINDS, StatusItem, Target, TcpTarget,
};

/// A check's fields as sent to `PUT /checks/{name}` or inside `PUT /stacks/{stack}`: the
/// common fields, `kind`, and that kind's fields. Every field the kind does not require
/// is optional and takes its default when left out; unknown fields and fields of another
/// kind are refused. Durations are whole seconds.
pub struct CheckBody;

impl PartialSchema for CheckBody {
    fn schema() -> RefOr<Schema> {
        let mut builder = ObjectBuilder::new()
            .description(Some(
                "A check: the common fields, `kind` (default `http`) and that kind's fields.",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property("kind", kind_schema())
            .property(
                "name",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[a-z0-9][a-z0-9._-]{0,127}$"))
                    .description(Some(
                        "The check's name: only inside a stack's `checks` list (elsewhere \
                         it is in the path).",
                    )),
            )
            .property(
                "paused",
                ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                    "Pause or resume; left out keeps the current value (false for a new check).",
                )),
            );
        for (name, schema) in check_fields() {
            builder = builder.property(name, schema);
        }
        RefOr::T(Schema::Object(builder.build()))
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
    if let RefOr::T(Schema::Object(common)) = CheckSpec::schema() {
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
    <CheckSpec as ToSchema>::schemas(schemas);
    <HttpTarget as ToSchema>::schemas(schemas);
    <TcpTarget as ToSchema>::schemas(schemas);
    <HostPort as ToSchema>::schemas(schemas);
    <DnsTarget as ToSchema>::schemas(schemas);
    <IcmpTarget as ToSchema>::schemas(schemas);
    <HeartbeatTarget as ToSchema>::schemas(schemas);
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
    if let RefOr::T(Schema::Object(common)) = CheckSpec::schema() {
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
            _ => serde_json::json!({"kind": kind, "host": "127.0.0.1"}),
        }
    }

    #[test]
    fn the_schema_lists_exactly_the_fields_a_check_of_each_kind_is_written_with() {
        let common: BTreeSet<String> = match CheckSpec::schema() {
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
}
