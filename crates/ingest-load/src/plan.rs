//! Which source column feeds which target column.

use ingest_core::{TableSchema, loose_name};

/// The mapping of a file's columns onto a table's.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    /// (source field index, target column index), in the order rows are sent.
    pub pairs: Vec<(usize, usize)>,
    /// Source columns left out under `--ignore-unknown`.
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "column {name:?} of the file is not a column of {table}{hint} (use --map {name}=COLUMN, or --ignore-unknown to skip it)"
    )]
    UnknownColumn {
        name: String,
        table: String,
        hint: String,
    },
    #[error("{table}: required column{} {} missing from the file (NOT NULL without a default)", if .names.len() > 1 { "s" } else { "" }, quoted(.names))]
    MissingRequired { table: String, names: Vec<String> },
    #[error("columns {first:?} and {second:?} of the file both map to column {target:?}")]
    TwoSourcesOneTarget {
        first: String,
        second: String,
        target: String,
    },
    #[error("--map {source_name}=…: the file has no column {source_name:?}")]
    MapSourceMissing { source_name: String },
    #[error("--map …={target}: {table} has no column {target:?}")]
    MapTargetMissing { target: String, table: String },
    #[error(
        "the file has {found} columns but {table} has only {expected} (no header to match them by name)"
    )]
    TooManyColumns {
        found: usize,
        expected: usize,
        table: String,
    },
    #[error("no column of the file matches a column of {table}")]
    NothingToLoad { table: String },
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Maps `header` onto `table`: explicit `maps` (source=target) first, then by name, exact
/// before case-insensitive. Fails before any row is read when a source column is unknown
/// (unless `ignore_unknown`) or a required target column has no source.
pub fn plan_columns(
    header: &[String],
    table: &TableSchema,
    maps: &[(String, String)],
    ignore_unknown: bool,
) -> Result<ColumnPlan, PlanError> {
    let table_name = table.display_name();
    let find_target = |name: &str| table.find_column(name);
    let mut target_of: Vec<Option<usize>> = vec![None; header.len()];
    for (src, dst) in maps {
        let s = header
            .iter()
            .position(|h| loose_name(h) == loose_name(src))
            .ok_or_else(|| PlanError::MapSourceMissing {
                source_name: src.clone(),
            })?;
        let t = find_target(dst).ok_or_else(|| PlanError::MapTargetMissing {
            target: dst.clone(),
            table: table_name.clone(),
        })?;
        target_of[s] = Some(t);
    }
    let mut ignored = Vec::new();
    for (s, name) in header.iter().enumerate() {
        if target_of[s].is_some() {
            continue;
        }
        match find_target(name) {
            Some(t) => target_of[s] = Some(t),
            None if ignore_unknown => ignored.push(name.clone()),
            None => {
                let hint = suggestion(name, table)
                    .map(|c| format!(" (did you mean {c:?}?)"))
                    .unwrap_or_default();
                return Err(PlanError::UnknownColumn {
                    name: name.clone(),
                    table: table_name,
                    hint,
                });
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (s, t) in target_of.iter().enumerate() {
        let Some(t) = *t else { continue };
        if let Some(&(other, _)) = pairs.iter().find(|&&(_, t2)| t2 == t) {
            return Err(PlanError::TwoSourcesOneTarget {
                first: header[other].clone(),
                second: header[s].clone(),
                target: table.columns[t].name.clone(),
            });
        }
        pairs.push((s, t));
    }
    let missing: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| c.is_required() && !pairs.iter().any(|&(_, t)| t == *i))
        .map(|(_, c)| c.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::MissingRequired {
            table: table_name,
            names: missing,
        });
    }
    if pairs.is_empty() {
        return Err(PlanError::NothingToLoad { table: table_name });
    }
    Ok(ColumnPlan { pairs, ignored })
}

/// Without a header, fields are the table's columns in order.
pub(crate) fn positional_header(
    fields: usize,
    table: &TableSchema,
) -> Result<Vec<String>, PlanError> {
    if fields > table.columns.len() {
        return Err(PlanError::TooManyColumns {
            found: fields,
            expected: table.columns.len(),
            table: table.display_name(),
        });
    }
    Ok(table.columns[..fields]
        .iter()
        .map(|c| c.name.clone())
        .collect())
}

/// A target column whose name is close to `name` (same letters ignoring `_`, `-`, spaces).
fn suggestion<'a>(name: &str, table: &'a TableSchema) -> Option<&'a str> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let want = squash(name);
    table
        .columns
        .iter()
        .find(|c| squash(&c.name) == want)
        .map(|c| c.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest_core::{Column, PgType};

    fn table() -> TableSchema {
        let col = |name: &str, not_null: bool, has_default: bool| Column {
            name: name.into(),
            pg_type: PgType::Text,
            not_null,
            has_default,
            identity_always: false,
            byte_equality: true,
        };
        TableSchema {
            schema: "public".into(),
            name: "t".into(),
            columns: vec![
                col("id", true, false),
                col("Name", false, false),
                col("created", true, true),
            ],
            primary_key: vec!["id".into()],
        }
    }

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn maps_by_name_ignoring_case_and_whitespace() {
        let plan = plan_columns(&header(&[" NAME ", "ID"]), &table(), &[], false).unwrap();
        assert_eq!(plan.pairs, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn explicit_map_wins() {
        let maps = vec![("codigo".to_string(), "id".to_string())];
        let plan = plan_columns(&header(&["codigo", "name"]), &table(), &maps, false).unwrap();
        assert_eq!(plan.pairs, vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn unknown_column_is_an_error_unless_ignored() {
        let err = plan_columns(&header(&["id", "extra"]), &table(), &[], false).unwrap_err();
        assert!(err.to_string().contains("\"extra\""), "{err}");
        let plan = plan_columns(&header(&["id", "extra"]), &table(), &[], true).unwrap();
        assert_eq!(plan.ignored, vec!["extra".to_string()]);
    }

    #[test]
    fn missing_required_column_is_named_but_defaults_are_not_required() {
        let err = plan_columns(&header(&["name"]), &table(), &[], false).unwrap_err();
        assert_eq!(
            err,
            PlanError::MissingRequired {
                table: "public.t".into(),
                names: vec!["id".into()]
            }
        );
    }

    #[test]
    fn two_sources_for_one_target_are_refused() {
        let maps = vec![("a".to_string(), "id".to_string())];
        let err = plan_columns(&header(&["a", "id"]), &table(), &maps, false).unwrap_err();
        assert!(
            matches!(err, PlanError::TwoSourcesOneTarget { .. }),
            "{err}"
        );
    }
}
