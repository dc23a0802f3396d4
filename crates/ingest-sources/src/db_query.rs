//! The query a database source runs: its table (or its own query) restricted to what lies
//! past the stored cursor and ordered by it, with every identifier quoted for its dialect
//! and every value a parameter.

use std::time::Duration;

use crate::cursor::Cursor;
use crate::spec::{DbSource, Incremental, SpecError, duration};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// MariaDB and MySQL: backquotes, `?` parameters.
    Mysql,
    /// PostgreSQL: double quotes, `$n` parameters.
    Postgres,
}

/// A query and its parameters, in order (text; the server converts them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceQuery {
    pub sql: String,
    pub params: Vec<String>,
}

impl Dialect {
    /// An identifier, quoted; `schema.table` is quoted part by part.
    pub fn quote(self, name: &str) -> String {
        name.split('.')
            .map(|part| match self {
                Dialect::Mysql => format!("`{}`", part.replace('`', "``")),
                Dialect::Postgres => format!("\"{}\"", part.replace('"', "\"\"")),
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    fn param(self, n: usize) -> String {
        match self {
            Dialect::Mysql => "?".into(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A parameter moved back by `by` (a time cursor's lookback).
    fn minus(self, param: &str, by: Duration) -> String {
        let secs = by.as_secs();
        match self {
            Dialect::Mysql => format!("({param} - INTERVAL {secs} SECOND)"),
            Dialect::Postgres => format!("({param}::timestamptz - interval '{secs} seconds')"),
        }
    }
}

/// The query of `source` from `from` (the stored cursor; `None` on a first run or with
/// `--full`). Past a cursor, rows with a larger `(cursor_field, tie_breaker)` are read,
/// in that order; with `lookback`, rows from that far before the cursor are read again
/// (the tie-breaker then does not apply). A first run starts at `initial`, inclusive.
pub fn build(
    dialect: Dialect,
    source: &DbSource,
    incremental: Option<&Incremental>,
    from: Option<&Cursor>,
) -> Result<SourceQuery, SpecError> {
    let mut params = Vec::new();
    let condition = match incremental {
        None => None,
        Some(inc) => condition(dialect, inc, from, &mut params)?,
    };
    let order = incremental.map(|inc| {
        let mut keys = vec![dialect.quote(&inc.cursor_field)];
        keys.extend(inc.tie_breaker.iter().map(|t| dialect.quote(t)));
        keys.join(", ")
    });
    let sql = match (&source.table, &source.query) {
        (Some(table), None) => {
            let mut sql = format!("SELECT * FROM {}", dialect.quote(table));
            if let Some(c) = &condition {
                sql.push_str(&format!(" WHERE {c}"));
            }
            if let Some(o) = &order {
                sql.push_str(&format!(" ORDER BY {o}"));
            }
            sql
        }
        (None, Some(query)) => {
            let always = "1 = 1".to_string();
            let sql = query.replace("{incremental}", condition.as_ref().unwrap_or(&always));
            match &order {
                // The user's query is wrapped, so its own clauses stay as written.
                Some(o) => format!("SELECT * FROM ({sql}) AS ingest_source ORDER BY {o}"),
                None => sql,
            }
        }
        _ => return Err(SpecError::Invalid("source: give `table` or `query`".into())),
    };
    Ok(SourceQuery { sql, params })
}

fn condition(
    dialect: Dialect,
    inc: &Incremental,
    from: Option<&Cursor>,
    params: &mut Vec<String>,
) -> Result<Option<String>, SpecError> {
    let field = dialect.quote(&inc.cursor_field);
    let lookback = inc
        .lookback
        .as_deref()
        .map(|l| duration(l, "incremental.lookback"))
        .transpose()?;
    let mut next = |value: &str| {
        params.push(value.to_string());
        dialect.param(params.len())
    };
    Ok(match from {
        None => inc
            .initial
            .as_deref()
            .map(|initial| format!("{field} >= {}", next(initial))),
        Some(cursor) => Some(match (lookback, &inc.tie_breaker, &cursor.tie) {
            (Some(back), _, _) => {
                format!("{field} >= {}", dialect.minus(&next(&cursor.value), back))
            }
            (None, Some(tie), Some(tie_value)) => {
                let (c, t) = (next(&cursor.value), next(tie_value));
                format!("({field}, {}) > ({c}, {t})", dialect.quote(tie))
            }
            _ => format!("{field} > {}", next(&cursor.value)),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(table: Option<&str>, query: Option<&str>) -> DbSource {
        DbSource {
            url: "mysql://reader@erp/erp".into(),
            password: None,
            table: table.map(str::to_string),
            query: query.map(str::to_string),
        }
    }

    fn inc(tie: Option<&str>, initial: Option<&str>, lookback: Option<&str>) -> Incremental {
        Incremental {
            cursor_field: "updated_at".into(),
            tie_breaker: tie.map(str::to_string),
            initial: initial.map(str::to_string),
            lookback: lookback.map(str::to_string),
        }
    }

    #[test]
    fn tables_are_read_past_the_cursor_in_order() {
        let cursor = Cursor {
            value: "2026-01-02 03:04:05.000001".into(),
            tie: Some("41".into()),
        };
        let q = build(
            Dialect::Mysql,
            &source(Some("erp.customers"), None),
            Some(&inc(Some("id"), None, None)),
            Some(&cursor),
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "SELECT * FROM `erp`.`customers` WHERE (`updated_at`, `id`) > (?, ?) ORDER BY `updated_at`, `id`"
        );
        assert_eq!(q.params, ["2026-01-02 03:04:05.000001", "41"]);
        let q = build(
            Dialect::Postgres,
            &source(Some("public.odd\"name"), None),
            Some(&inc(Some("id"), None, None)),
            Some(&cursor),
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "SELECT * FROM \"public\".\"odd\"\"name\" WHERE (\"updated_at\", \"id\") > ($1, $2) ORDER BY \"updated_at\", \"id\""
        );
    }

    #[test]
    fn first_runs_lookback_queries_and_full_reads() {
        let first = build(
            Dialect::Postgres,
            &source(Some("t"), None),
            Some(&inc(None, Some("2026-01-01T00:00:00Z"), None)),
            None,
        )
        .unwrap();
        assert_eq!(
            first.sql,
            "SELECT * FROM \"t\" WHERE \"updated_at\" >= $1 ORDER BY \"updated_at\""
        );
        assert_eq!(first.params, ["2026-01-01T00:00:00Z"]);
        let cursor = Cursor {
            value: "2026-01-02T00:00:00Z".into(),
            tie: Some("9".into()),
        };
        let back = build(
            Dialect::Mysql,
            &source(Some("t"), None),
            Some(&inc(Some("id"), None, Some("10m"))),
            Some(&cursor),
        )
        .unwrap();
        assert_eq!(
            back.sql,
            "SELECT * FROM `t` WHERE `updated_at` >= (? - INTERVAL 600 SECOND) ORDER BY `updated_at`, `id`"
        );
        let q = build(
            Dialect::Mysql,
            &source(
                None,
                Some("select id, name, updated_at from customers where active and {incremental}"),
            ),
            Some(&inc(None, None, None)),
            Some(&cursor),
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "SELECT * FROM (select id, name, updated_at from customers where active and `updated_at` > ?) AS ingest_source ORDER BY `updated_at`"
        );
        // Without a cursor nor an initial value, everything; without incremental, as is.
        let all = build(
            Dialect::Mysql,
            &source(None, Some("select * from t where {incremental}")),
            Some(&inc(None, None, None)),
            None,
        )
        .unwrap();
        assert!(
            all.sql.contains("where 1 = 1") && all.params.is_empty(),
            "{all:?}"
        );
        let plain = build(Dialect::Postgres, &source(Some("t"), None), None, None).unwrap();
        assert_eq!(plain.sql, "SELECT * FROM \"t\"");
        let bad = build(
            Dialect::Mysql,
            &source(Some("t"), None),
            Some(&inc(None, None, Some("soon"))),
            Some(&cursor),
        );
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("incremental.lookback")
        );
    }
}
