//! A target table as the console shows it (its columns, types, which are required), and
//! the mapping proposed from a file's columns to it: by name with accents, case, spaces
//! and punctuation ignored, then by a close spelling as a suggestion.

use axum::http::StatusCode;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use super::Api;
use super::auth::Access;
use super::problem::{Problem, client, internal_problem, problem};

/// The table `name` as `{"table": "schema.name", "columns": [...], "primary_key": [...]}`,
/// if the caller may write it.
pub async fn table_json(api: &Api, access: &Access, name: &str) -> Result<Value, Problem> {
    let c = client(api).await?;
    let not_found = || {
        problem(
            StatusCode::NOT_FOUND,
            "unknown-table",
            &format!("no table {name}"),
        )
    };
    let resolved = match ingest_pg::catalog::resolve_table(&c, name).await {
        Ok(t) => t,
        Err(ingest_pg::PgError::NoSuchTable(_)) => return Err(not_found()),
        Err(e) => return Err(internal_problem(e)),
    };
    let schema = &resolved.schema;
    let qualified = format!("{}.{}", schema.schema, schema.name);
    if schema.schema == api.queue.schema().name() {
        return Err(not_found());
    }
    access.check(Some(&qualified))?;
    Ok(json!({
        "table": qualified,
        "primary_key": schema.primary_key,
        "columns": schema.columns.iter().map(|c| json!({
            "name": c.name,
            "type": c.pg_type.to_string(),
            "not_null": c.not_null,
            "has_default": c.has_default,
            "required": c.is_required(),
        })).collect::<Vec<_>>(),
    }))
}

/// A name as people match names: letters and digits only, accents gone, lower case
/// (`Razão Social` and `razao_social` are the same).
pub fn plain(name: &str) -> String {
    name.nfd()
        .filter(|c| c.is_alphanumeric() && !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// For each file column, the table column it goes to (`how`: `name` when the names match,
/// `similar` for a suggestion) or none; and the required table columns nothing maps to.
pub fn propose(header: &[String], table: &Value) -> (Value, Value) {
    let columns: Vec<(&str, bool)> = table["columns"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    Some((
                        c["name"].as_str()?,
                        c["required"].as_bool().unwrap_or(false),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut taken = vec![false; columns.len()];
    let mut target: Vec<Option<(usize, &str)>> = vec![None; header.len()];
    // Exact matches first, so a suggestion never takes a column a name claims.
    for (i, h) in header.iter().enumerate() {
        if let Some(j) = columns
            .iter()
            .position(|(c, _)| plain(c) == plain(h))
            .filter(|j| !taken[*j])
        {
            taken[j] = true;
            target[i] = Some((j, "name"));
        }
    }
    for (i, h) in header.iter().enumerate() {
        if target[i].is_some() {
            continue;
        }
        let p = plain(h);
        let best = columns
            .iter()
            .enumerate()
            .filter(|(j, _)| !taken[*j])
            .map(|(j, (c, _))| (j, distance(&p, &plain(c))))
            .filter(|(j, d)| *d <= 2 || similar(&p, &plain(columns[*j].0)))
            .min_by_key(|(_, d)| *d);
        if let Some((j, _)) = best {
            taken[j] = true;
            target[i] = Some((j, "similar"));
        }
    }
    let mapping: Vec<Value> = header
        .iter()
        .zip(&target)
        .map(|(h, t)| match t {
            Some((j, how)) => json!({"column": h, "target": columns[*j].0, "how": how}),
            None => json!({"column": h, "target": null, "how": null}),
        })
        .collect();
    let missing: Vec<&str> = columns
        .iter()
        .enumerate()
        .filter(|(j, (_, required))| *required && !taken[*j])
        .map(|(_, (c, _))| *c)
        .collect();
    (json!(mapping), json!(missing))
}

/// One name inside the other (`valor` and `valor_total`), both long enough to mean it.
fn similar(a: &str, b: &str) -> bool {
    a.len() >= 3 && b.len() >= 3 && (a.contains(b) || b.contains(a))
}

/// Edit distance (Levenshtein), for short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_accents_case_or_spaces_and_close_ones_are_suggested() {
        let table = json!({"columns": [
            {"name": "razao_social", "required": true}, {"name": "valor_total", "required": true},
            {"name": "data", "required": false}, {"name": "cnpj", "required": true}]});
        let header = ["Razão Social", "Valor", "Dta", "Obs"].map(String::from);
        let (mapping, missing) = propose(&header, &table);
        assert_eq!(
            mapping[0],
            json!({"column": "Razão Social", "target": "razao_social", "how": "name"})
        );
        assert_eq!(mapping[1]["target"], "valor_total");
        assert_eq!(mapping[1]["how"], "similar");
        assert_eq!(mapping[2]["target"], "data");
        assert_eq!(mapping[3]["target"], Value::Null);
        assert_eq!(missing, json!(["cnpj"]));
        assert_eq!(plain("  Ação_Número 1 "), "acaonumero1");
    }
}
