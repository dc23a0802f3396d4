//! `PUT /v1/tables/{table}/rules` and `GET` it: a table's registered quality rules, which
//! every load into the table applies (jobs, uploads, pull sources, streams, the CLI).

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest_quality::{QualityError, RuleSet, table_rules};
use serde_json::json;

use super::Shared;
use super::auth::Access;
use super::problem::{PathOf, Problem, client, internal_problem, problem};
use crate::openapi::{ProblemView, TableRulesView};

/// Registers a rule set (YAML or JSON) as the table's next version, once it is checked
/// against the table; an empty body clears the table's rules.
#[utoipa::path(put, path = "/v1/tables/{table}/rules", params(("table" = String, Path, description = "`veiculos` or `public.veiculos`")),
    request_body(content = String, description = "The rule set, YAML or JSON (`ingest rules schema` prints its JSON Schema)", content_type = "application/yaml"),
    responses((status = 200, body = TableRulesView, description = "Registered"), (status = 400, body = ProblemView, content_type = "application/problem+json", description = "The rule set does not fit the table: unknown keys, a bad regex, a missing column or reference table, SQL the database cannot plan"),
              (status = 404, body = ProblemView, content_type = "application/problem+json", description = "No such table"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table, or may not register SQL"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn put_rules(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(table): PathOf<String>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let text = std::str::from_utf8(&body).map_err(|_| {
        problem(
            StatusCode::BAD_REQUEST,
            "invalid-rules",
            "the body is not UTF-8 text",
        )
    })?;
    let set = RuleSet::parse(text, "the rule set").map_err(rules_problem)?;
    // Registered SQL runs in every later load of the table, whoever sends it.
    if let Access::Token(grant) = &access
        && !grant.may_run_sql
        && set.has_sql()
    {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "sql-not-allowed",
            &format!(
                "token {:?} may not register SQL (after_load, sql checks); create it with --allow-sql",
                grant.name
            ),
        ));
    }
    let c = client(&api).await?;
    let resolved = resolve(&c, &access, &table).await?;
    check_references(&c, &access, &set).await?;
    let version = table_rules::store(
        &c,
        api.queue.schema(),
        &resolved,
        &set,
        access.creator().as_deref(),
    )
    .await
    .map_err(rules_problem)?;
    let stored = table_rules::latest(&c, api.queue.schema(), &resolved)
        .await
        .map_err(rules_problem)?;
    Ok(Json(view(
        &resolved,
        version,
        stored.map(|s| (s.rules, s.created_at)),
    ))
    .into_response())
}

/// The table's registered rules (the latest version).
#[utoipa::path(get, path = "/v1/tables/{table}/rules", params(("table" = String, Path)),
    responses((status = 200, body = TableRulesView), (status = 404, body = ProblemView, content_type = "application/problem+json", description = "No such table, or no rules registered"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn get_rules(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(table): PathOf<String>,
) -> Result<Response, Problem> {
    let c = client(&api).await?;
    let resolved = resolve(&c, &access, &table).await?;
    let stored = table_rules::latest(&c, api.queue.schema(), &resolved)
        .await
        .map_err(rules_problem)?
        .ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                "no-rules",
                &format!("{table} has no registered rules"),
            )
        })?;
    Ok(Json(view(
        &resolved,
        stored.version,
        Some((stored.rules, stored.created_at)),
    ))
    .into_response())
}

/// The table as the catalog has it, if the caller may touch it.
async fn resolve(
    c: &deadpool_postgres::Object,
    access: &Access,
    table: &str,
) -> Result<ingest_core::TableSchema, Problem> {
    let resolved = match ingest_pg::catalog::resolve_table(c, table).await {
        Ok(t) => t.schema,
        Err(ingest_pg::PgError::NoSuchTable(_) | ingest_pg::PgError::BadName(_)) => {
            // A token learns of a missing table only where it may look: elsewhere, 403.
            let guess = match table.contains('.') {
                true => table.to_string(),
                false => format!("public.{table}"),
            };
            access.check(Some(&guess))?;
            return Err(problem(
                StatusCode::NOT_FOUND,
                "unknown-table",
                &format!("no table {table}"),
            ));
        }
        Err(e) => return Err(internal_problem(e)),
    };
    access.check(Some(&table_rules::key(&resolved)))?;
    Ok(resolved)
}

/// An `exists_in` rule reads its reference table: a token must reach that table too, or
/// its rejects would tell it what the table holds.
pub(super) async fn check_references(
    c: &deadpool_postgres::Object,
    access: &Access,
    set: &RuleSet,
) -> Result<(), Problem> {
    if let Access::Open = access {
        return Ok(());
    }
    for rule in set
        .rules
        .iter()
        .filter(|r| r.check == ingest_quality::Check::ExistsIn)
    {
        let (schema, name) = ingest_quality::set_rules::reference_name(c, rule)
            .await
            .map_err(rules_problem)?;
        access.check(Some(&format!("{schema}.{name}")))?;
    }
    Ok(())
}

fn view(
    table: &ingest_core::TableSchema,
    version: i64,
    stored: Option<(RuleSet, String)>,
) -> serde_json::Value {
    let (rules, created_at) = stored.unwrap_or_default();
    json!({"table": table_rules::key(table), "version": version, "created_at": created_at, "rules": rules})
}

fn rules_problem(e: QualityError) -> Problem {
    match e {
        QualityError::Database(e) => internal_problem(e),
        e => problem(StatusCode::BAD_REQUEST, "invalid-rules", &e.to_string()),
    }
}
