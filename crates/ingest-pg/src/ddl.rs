//! Tables made and grown from a file: `CREATE TABLE` for `--create`, `ADD COLUMN` for
//! `--evolve`, run inside the load's transaction so a failed load leaves neither behind.

use ingest_core::PgType;
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use crate::PgError;
use crate::ident::{column_list, qualified, quote_ident};

/// A column to create: its name as the file spells it, and its type.
#[derive(Debug, Clone, PartialEq)]
pub struct NewColumn {
    pub name: String,
    pub pg_type: PgType,
}

/// `CREATE TABLE` for `columns`, with a primary key on `key` when one is given; the name
/// unqualified when `schema` is `None`.
pub fn create_table_sql(
    schema: Option<&str>,
    table: &str,
    columns: &[NewColumn],
    key: &[String],
) -> String {
    let mut parts: Vec<String> = columns
        .iter()
        .map(|c| format!("{} {}", quote_ident(&c.name), c.pg_type))
        .collect();
    if !key.is_empty() {
        parts.push(format!(
            "PRIMARY KEY ({})",
            column_list(key.iter().map(String::as_str), "")
        ));
    }
    let name = match schema {
        Some(schema) => qualified(schema, table),
        None => quote_ident(table),
    };
    format!("CREATE TABLE {name} (\n  {}\n)", parts.join(",\n  "))
}

/// `ALTER TABLE … ADD COLUMN` for each new column, nullable (the rows already there have
/// no value for it).
pub fn add_columns_sql(schema: &str, table: &str, columns: &[NewColumn]) -> String {
    let adds: Vec<String> = columns
        .iter()
        .map(|c| format!("ADD COLUMN {} {}", quote_ident(&c.name), c.pg_type))
        .collect();
    format!(
        "ALTER TABLE {} {}",
        qualified(schema, table),
        adds.join(", ")
    )
}

/// The schema and name a table that does not exist yet would get from `name` as a user
/// typed it: SQL's reading (`orders`, `public.orders`, `"Odd Name"`, unquoted parts folded
/// to lower case, the first schema of the search path when none is named), else the name
/// taken literally in that schema.
pub async fn new_table_name(client: &Client, name: &str) -> Result<(String, String), PgError> {
    let parsed = client
        .query_typed_one("select parse_ident($1)::text[]", &[(&name, Type::TEXT)])
        .await
        .ok()
        .map(|row| row.get::<_, Vec<String>>(0));
    let schema_of_search_path = || async {
        let row = client
            .query_typed_one("select current_schema()::text", &[])
            .await
            .map_err(PgError::query("reading the current schema"))?;
        let schema: Option<String> = row.get(0);
        schema.ok_or_else(|| {
            PgError::BadName(format!(
                "{name}: no schema to create it in (the search path is empty): name one, as schema.{name}"
            ))
        })
    };
    match parsed.as_deref() {
        Some([schema, table]) => Ok((schema.clone(), table.clone())),
        Some([table]) => Ok((schema_of_search_path().await?, table.clone())),
        Some(_) => Err(PgError::BadName(format!(
            "{name}: a table is named table or schema.table"
        ))),
        None => Ok((schema_of_search_path().await?, name.to_string())),
    }
}

/// Inside the caller's open transaction: waits for any other load creating the same
/// table, then creates it unless it exists by then. True when this call created it; the
/// other load then finds it and loads into it.
pub async fn create_table_once(
    client: &Client,
    schema: &str,
    table: &str,
    columns: &[NewColumn],
    key: &[String],
) -> Result<bool, PgError> {
    // Keyed by the name, since there is no oid yet; held until the transaction ends, so
    // a concurrent creator waits until this one committed (or rolled back).
    client
        .query_typed(
            "select pg_advisory_xact_lock(hashtext('ingest create ' || $1 || '.' || $2))",
            &[(&schema, Type::TEXT), (&table, Type::TEXT)],
        )
        .await
        .map_err(PgError::query(
            "waiting for another load creating the table",
        ))?;
    let exists = client
        .query_typed_opt(
            "select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = $1 and c.relname = $2",
            &[(&schema, Type::TEXT), (&table, Type::TEXT)],
        )
        .await
        .map_err(PgError::query("looking up the table"))?
        .is_some();
    if exists {
        return Ok(false);
    }
    client
        .batch_execute(&create_table_sql(Some(schema), table, columns, key))
        .await
        .map_err(PgError::query(format!(
            "creating {}",
            qualified(schema, table)
        )))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_quotes_every_name() {
        let cols = vec![
            NewColumn {
                name: "id".into(),
                pg_type: PgType::Int8,
            },
            NewColumn {
                name: "Preço \"unit\"".into(),
                pg_type: PgType::numeric(12, 2),
            },
        ];
        assert_eq!(
            create_table_sql(Some("public"), "vendas", &cols, &["id".into()]),
            "CREATE TABLE \"public\".\"vendas\" (\n  \"id\" bigint,\n  \"Preço \"\"unit\"\"\" numeric(12,2),\n  PRIMARY KEY (\"id\")\n)"
        );
        assert_eq!(
            add_columns_sql("s", "t", &cols[..1]),
            "ALTER TABLE \"s\".\"t\" ADD COLUMN \"id\" bigint"
        );
    }
}
