//! A target table as the catalog describes it.

use ingest_core::{Column, PgType, TableSchema};
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use crate::PgError;

/// A resolved target: its OID (for the advisory lock), its schema, and what the write
/// path must know about it.
#[derive(Debug, Clone)]
pub struct ResolvedTable {
    pub oid: u32,
    pub schema: TableSchema,
    /// A partitioned table (COPY FREEZE does not apply to it).
    pub partitioned: bool,
    /// Another table's foreign key points at it (TRUNCATE would refuse).
    pub referenced: bool,
    /// Column sets with a unique index (the primary key first): what a key may be.
    pub unique_keys: Vec<Vec<String>>,
}

/// Finds `name` the way a user means it: first as SQL would read it (`orders`,
/// `public.orders`, `"Odd Name"` through `to_regclass`), then as one literal name visible
/// in the search path, so a name with quotes, dots or semicolons works typed as it is.
pub async fn resolve_table(client: &Client, name: &str) -> Result<ResolvedTable, PgError> {
    let oid = table_oid(client, name)
        .await?
        .ok_or_else(|| PgError::NoSuchTable(name.to_string()))?;
    describe_table(client, oid).await
}

/// The schema and name, as the catalog spells them, of the table `name` means (found as
/// [`resolve_table`] finds it); None when there is no such table.
pub async fn locate_table(
    client: &Client,
    name: &str,
) -> Result<Option<(String, String)>, PgError> {
    let Some(oid) = table_oid(client, name).await? else {
        return Ok(None);
    };
    let row = client
        .query_typed_one(
            "select n.nspname::text, c.relname::text from pg_class c
               join pg_namespace n on n.oid = c.relnamespace where c.oid = $1",
            &[(&oid, Type::OID)],
        )
        .await
        .map_err(PgError::query("looking up the table"))?;
    Ok(Some((row.get(0), row.get(1))))
}

async fn table_oid(client: &Client, name: &str) -> Result<Option<u32>, PgError> {
    let row = client
        .query_typed_opt(
            "select c.oid from pg_class c
              where c.oid = to_regclass($1) and c.relkind in ('r', 'p')",
            &[(&name, Type::TEXT)],
        )
        .await;
    // to_regclass raises on a syntactically invalid name (e.g. `a"b`); the fallback query
    // then handles the literal name.
    let oid: Option<u32> = match row {
        Ok(row) => row.map(|r| r.get(0)),
        Err(_) => None,
    };
    match oid {
        Some(oid) => Ok(Some(oid)),
        None => literal_name(client, name).await,
    }
}

/// `name` taken literally: a visible table of that name, else `schema.table` split at a dot.
async fn literal_name(client: &Client, name: &str) -> Result<Option<u32>, PgError> {
    let visible = client
        .query_typed_opt(
            "select c.oid from pg_class c where c.relname = $1 and c.relkind in ('r', 'p')
               and pg_table_is_visible(c.oid) limit 1",
            &[(&name, Type::TEXT)],
        )
        .await
        .map_err(PgError::query("looking up the table"))?;
    if let Some(row) = visible {
        return Ok(Some(row.get(0)));
    }
    for (dot, _) in name.match_indices('.') {
        let (schema, table) = (&name[..dot], &name[dot + 1..]);
        let found = client
            .query_typed_opt(
                "select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
                  where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')",
                &[(&schema, Type::TEXT), (&table, Type::TEXT)],
            )
            .await
            .map_err(PgError::query("looking up the table"))?;
        if let Some(row) = found {
            return Ok(Some(row.get(0)));
        }
    }
    Ok(None)
}

/// Reads columns, types, NOT NULL, defaults and the primary key of the table `oid`.
pub async fn describe_table(client: &Client, oid: u32) -> Result<ResolvedTable, PgError> {
    let head = client
        .query_typed_one(
            "select n.nspname::text, c.relname::text, c.relkind = 'p',
                    exists (select 1 from pg_constraint f where f.confrelid = c.oid and f.contype = 'f')
               from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = $1",
            &[(&oid, Type::OID)],
        )
        .await
        .map_err(PgError::query("reading the table's name"))?;
    let (schema, name): (String, String) = (head.get(0), head.get(1));
    let (partitioned, referenced): (bool, bool) = (head.get(2), head.get(3));
    let rows = client
        .query_typed(
            "select a.attname::text, a.atttypid, a.atttypmod, a.attnotnull,
                    a.atthasdef or a.attidentity <> '' as has_default,
                    format_type(a.atttypid, a.atttypmod) as type_name,
                    a.attidentity = 'a' as identity_always,
                    -- text and varchar compare bytewise under a deterministic collation;
                    -- other string types (citext) bring their own equality
                    case when t.typcategory <> 'S' then true
                         when a.atttypid not in (25, 1043) then false
                         else coalesce((select l.collisdeterministic from pg_collation l
                                         where l.oid = a.attcollation), true) end as byte_equality
               from pg_attribute a join pg_type t on t.oid = a.atttypid
              where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
                and a.attgenerated = ''
              order by a.attnum",
            &[(&oid, Type::OID)],
        )
        .await
        .map_err(PgError::query("reading the table's columns"))?;
    let mut columns = Vec::with_capacity(rows.len());
    for row in rows {
        let col_name: String = row.get(0);
        let type_oid: u32 = row.get(1);
        let typmod: i32 = row.get(2);
        let (not_null, has_default): (bool, bool) = (row.get(3), row.get(4));
        // A type the engine does not encode itself is read by the server's input function.
        let pg_type = match pg_type_of(client, type_oid, typmod).await? {
            Some(pg_type) => pg_type,
            None => PgType::Other { name: row.get(5) },
        };
        columns.push(Column {
            name: col_name,
            pg_type,
            not_null,
            has_default,
            identity_always: row.get(6),
            byte_equality: row.get(7),
        });
    }
    // Unique indexes on plain columns, without a predicate, the primary key first.
    let unique: Vec<(Vec<String>, bool)> = client
        .query_typed(
            "select array_agg(a.attname::text order by k.ord), i.indisprimary from pg_index i
               cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
              where i.indrelid = $1 and i.indisunique and i.indpred is null
                and not (0 = any (i.indkey::int2[]))
              group by i.indexrelid, i.indisprimary
              order by i.indisprimary desc, i.indexrelid",
            &[(&oid, Type::OID)],
        )
        .await
        .map_err(PgError::query("reading the unique indexes"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let primary_key = match unique.first() {
        Some((columns, true)) => columns.clone(),
        _ => Vec::new(),
    };
    let unique_keys = unique.into_iter().map(|(columns, _)| columns).collect();
    Ok(ResolvedTable {
        oid,
        schema: TableSchema {
            schema,
            name,
            columns,
            primary_key,
        },
        partitioned,
        referenced,
        unique_keys,
    })
}

/// The engine's view of a type, following domains to their base type; `None` when the
/// type is not supported.
async fn pg_type_of(client: &Client, oid: u32, typmod: i32) -> Result<Option<PgType>, PgError> {
    if let Some(t) = builtin(oid, typmod) {
        return Ok(Some(t));
    }
    let row = client
        .query_typed_one(
            "select t.typtype::text, t.typelem, t.typbasetype, t.typtypmod,
                    format_type(t.oid, null), t.typcategory::text,
                    coalesce((select p.prosrc from pg_proc p where p.oid = t.typreceive), '')
               from pg_type t where t.oid = $1",
            &[(&oid, Type::OID)],
        )
        .await
        .map_err(PgError::query("reading a column type"))?;
    let typtype: String = row.get(0);
    let elem: u32 = row.get(1);
    let base: u32 = row.get(2);
    let base_typmod: i32 = row.get(3);
    let name: String = row.get(4);
    let category: String = row.get(5);
    let receive: String = row.get(6);
    match typtype.as_str() {
        "e" => {
            let labels = client
                .query_typed(
                    "select enumlabel::text from pg_enum where enumtypid = $1 order by enumsortorder",
                    &[(&oid, Type::OID)],
                )
                .await
                .map_err(PgError::query("reading enum labels"))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            Ok(Some(PgType::Enum { name, labels }))
        }
        // A domain loads as its base type; its CHECK constraints are the server's to apply.
        "d" => {
            Box::pin(pg_type_of(
                client,
                base,
                if typmod >= 0 { typmod } else { base_typmod },
            ))
            .await
        }
        // A string type whose binary input is text's (citext and the like) loads as text.
        "b" if category == "S" && receive == "textrecv" => Ok(Some(PgType::Text)),
        "b" if category == "A" && elem != 0 => {
            // Array columns carry the element's typmod (e.g. numeric(10,2)[]).
            let element = Box::pin(pg_type_of(client, elem, typmod)).await?;
            Ok(element.and_then(|element| match element {
                PgType::Array { .. } => None,
                element => Some(PgType::Array {
                    element: Box::new(element),
                    element_oid: elem,
                }),
            }))
        }
        _ => Ok(None),
    }
}

/// Built-in scalar types by OID (stable across PostgreSQL versions).
fn builtin(oid: u32, typmod: i32) -> Option<PgType> {
    Some(match oid {
        16 => PgType::Bool,
        17 => PgType::Bytea,
        20 => PgType::Int8,
        21 => PgType::Int2,
        23 => PgType::Int4,
        25 => PgType::Text,
        114 => PgType::Json,
        3802 => PgType::Jsonb,
        700 => PgType::Float4,
        701 => PgType::Float8,
        1042 => PgType::Bpchar {
            // No typmod: `bpchar` without a length, unbounded like text.
            chars: (typmod >= 4).then(|| (typmod - 4) as u32),
        },
        1043 => PgType::Varchar {
            max_chars: (typmod >= 4).then(|| (typmod - 4) as u32),
        },
        1082 => PgType::Date,
        1083 => PgType::Time,
        1114 => PgType::Timestamp,
        1184 => PgType::Timestamptz,
        1700 => {
            if typmod >= 4 {
                let t = typmod - 4;
                PgType::Numeric {
                    precision: Some(((t >> 16) & 0xffff) as u16),
                    // The scale is an 11-bit signed field since PostgreSQL 15.
                    scale: Some((((t & 0x7ff) ^ 0x400) - 0x400) as i16),
                }
            } else {
                PgType::Numeric {
                    precision: None,
                    scale: None,
                }
            }
        }
        2950 => PgType::Uuid,
        _ => return None,
    })
}
