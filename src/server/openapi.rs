//! The OpenAPI 3.1 description of the API, built from the route table and the wire types' JSON
//! Schemas, so that it always matches what the server serves.

use super::{RouteDoc, route_docs};
use crate::api;
use axum::Json;
use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::{Map, Value, json};

/// `GET /v1/openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document())
}

fn schema_of<T: JsonSchema>(defs: &mut Map<String, Value>) -> Value {
    let generator = SchemaSettings::openapi3().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut v = serde_json::to_value(schema).unwrap_or_default();
    if let Some(Value::Object(d)) =
        v.as_object_mut().and_then(|o| o.remove("components")).and_then(|c| c.get("schemas").cloned())
    {
        defs.extend(d);
    }
    if let Some(Value::Object(d)) = v.as_object_mut().and_then(|o| o.remove("$defs")) {
        defs.extend(d);
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
    }
    v
}

fn components() -> Map<String, Value> {
    let mut defs = Map::new();
    let mut put = |name: &str, v: Value| {
        defs.insert(name.to_string(), v);
    };
    let mut extra = Map::new();
    put("Task", schema_of::<api::Task>(&mut extra));
    put("Run", schema_of::<api::Run>(&mut extra));
    put("RunPage", schema_of::<api::RunPage>(&mut extra));
    put("RunRequest", schema_of::<api::RunRequest>(&mut extra));
    put("TaskRunRequest", schema_of::<api::TaskRunRequest>(&mut extra));
    put("Timer", schema_of::<api::Timer>(&mut extra));
    put("TimerEvent", schema_of::<api::TimerEvent>(&mut extra));
    put("Credential", schema_of::<api::Credential>(&mut extra));
    put("ContextInfo", schema_of::<api::ContextInfo>(&mut extra));
    put("PruneRequest", schema_of::<api::PruneRequest>(&mut extra));
    put("RerunRequest", schema_of::<api::RerunRequest>(&mut extra));
    put("ResumeRequest", schema_of::<api::ResumeRequest>(&mut extra));
    put("PruneReport", schema_of::<api::PruneReport>(&mut extra));
    put("TokenInfo", schema_of::<api::TokenInfo>(&mut extra));
    put("NewToken", schema_of::<api::NewToken>(&mut extra));
    put("CreateToken", schema_of::<api::CreateToken>(&mut extra));
    put("ApiError", schema_of::<api::ApiError>(&mut extra));
    put("DaemonInfo", schema_of::<api::DaemonInfo>(&mut extra));
    put("NodeInfo", schema_of::<api::NodeInfo>(&mut extra));
    put("Delivery", schema_of::<api::Delivery>(&mut extra));
    put("OutgoingDelivery", schema_of::<api::OutgoingDelivery>(&mut extra));
    put("TaskDependencies", schema_of::<api::TaskDependencies>(&mut extra));
    put("WatchedImage", schema_of::<api::WatchedImage>(&mut extra));
    for (k, v) in extra {
        defs.entry(k).or_insert(v);
    }
    defs
}

fn operation(r: &RouteDoc) -> Value {
    let mut op = json!({ "summary": r.summary, "responses": {} });
    let params: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(req) = r.request {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{req}")}}}});
    }
    let ok = match (r.method, r.response) {
        ("POST", Some(_)) => "201",
        ("DELETE", None) => "204",
        _ => "200",
    };
    let ok_body = match r.response {
        Some(s) => {
            json!({"description": "Success", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}}})
        }
        None => json!({"description": "Success"}),
    };
    op["responses"][ok] = ok_body;
    op["responses"]["default"] = json!({"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}});
    if r.auth {
        op["security"] = json!([{"bearer": []}]);
    }
    op
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in route_docs() {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.to_ascii_lowercase()] = operation(&r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "drydock", "version": env!("CARGO_PKG_VERSION"), "description": "Container build tasks on your own Docker hosts (ACR Tasks compatible)."},
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}
