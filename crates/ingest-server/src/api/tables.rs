//! `GET /v1/tables`: the tables the caller may load into, with their columns; and a
//! table's mapping profiles (`GET/PUT /v1/tables/{table}/profiles[/{name}]`): a column
//! mapping and format choices saved under a name, offered the next time.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Access;
use super::mapping::table_json;
use super::problem::{PathOf, Problem, client, internal_problem, problem};
use super::{Api, Shared};
use crate::openapi::{ProblemView, ProfileList, ProfileView, TableList};

/// At most this many tables are listed (the console searches among them).
const MAX_TABLES: i64 = 2000;

#[utoipa::path(get, path = "/v1/tables",
    responses((status = 200, body = TableList, description = "The tables the caller may load into, with their columns, by schema and name"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn list_tables(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
) -> Result<Response, Problem> {
    let tables = tables_for(&api, &access).await?;
    Ok(Json(json!({"tables": tables})).into_response())
}

/// The tables `access` may load into, with their columns, by schema and name.
pub async fn tables_for(api: &Api, access: &Access) -> Result<Vec<Value>, Problem> {
    let c = client(api).await?;
    let rows = c
        .query(
            "SELECT n.nspname, c.relname,
                    coalesce(json_agg(json_build_object(
                        'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                        'not_null', a.attnotnull,
                        'has_default', a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
                        'required', a.attnotnull AND NOT (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''))
                      ORDER BY a.attnum) FILTER (WHERE a.attnum > 0), '[]')::text
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1)
               AND n.nspname NOT LIKE 'pg\\_%' AND has_table_privilege(c.oid, 'INSERT')
             GROUP BY n.nspname, c.relname ORDER BY n.nspname, c.relname LIMIT $2",
            &[&api.queue.schema().name(), &MAX_TABLES],
        )
        .await
        .map_err(internal_problem)?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let (schema, name): (String, String) = (r.get(0), r.get(1));
            let table = format!("{schema}.{name}");
            // A dotted schema or name cannot be matched to a token's patterns.
            let plain = !schema.contains('.') && !name.contains('.');
            (plain && access.allows(&table)).then(|| {
                let columns: Value =
                    serde_json::from_str(&r.get::<_, String>(2)).unwrap_or(Value::Null);
                json!({"table": table, "columns": columns})
            })
        })
        .collect())
}

fn profile_json(p: &ingest_queue::Profile) -> Value {
    json!({"table": p.table, "name": p.name, "profile": p.profile, "updated_at": p.updated_at})
}

#[utoipa::path(get, path = "/v1/tables/{table}/profiles", params(("table" = String, Path)),
    responses((status = 200, body = ProfileList, description = "The table's profiles, the last saved first"), (status = 404, body = ProblemView, content_type = "application/problem+json", description = "No such table"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn list_profiles(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(table): PathOf<String>,
) -> Result<Response, Problem> {
    let target = table_json(&api, &access, &table).await?;
    let c = client(&api).await?;
    let name = target["table"].as_str().unwrap_or_default();
    let profiles = api
        .queue
        .profiles(&c, name)
        .await
        .map_err(internal_problem)?;
    Ok(
        Json(json!({"profiles": profiles.iter().map(profile_json).collect::<Vec<_>>()}))
            .into_response(),
    )
}

#[utoipa::path(put, path = "/v1/tables/{table}/profiles/{name}", params(("table" = String, Path), ("name" = String, Path)),
    request_body(content = Object, description = "{\"mapping\": {\"file column\": \"table column\" or null}, \"options\": {`ingest load` options}}", content_type = "application/json"),
    responses((status = 200, body = ProfileView, description = "Saved"), (status = 400, body = ProblemView, content_type = "application/problem+json", description = "Not a profile"),
              (status = 404, body = ProblemView, content_type = "application/problem+json", description = "No such table"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn put_profile(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf((table, name)): PathOf<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let invalid = |d: &str| problem(StatusCode::BAD_REQUEST, "invalid-profile", d);
    let profile: Value = serde_json::from_slice(&body)
        .map_err(|e| invalid(&format!("the body is not JSON: {e}")))?;
    let shape_ok = profile.is_object()
        && profile.get("mapping").is_none_or(Value::is_object)
        && profile.get("options").is_none_or(Value::is_object);
    if !shape_ok || name.trim().is_empty() || name.len() > 100 || name.contains('\0') {
        return Err(invalid(
            "a profile is {\"mapping\": {...}, \"options\": {...}} under a name of 1 to 100 characters",
        ));
    }
    let target = table_json(&api, &access, &table).await?;
    let c = client(&api).await?;
    let saved = api
        .queue
        .put_profile(
            &c,
            target["table"].as_str().unwrap_or_default(),
            &name,
            &profile,
            access.creator().as_deref(),
        )
        .await
        .map_err(internal_problem)?;
    Ok(Json(profile_json(&saved)).into_response())
}
