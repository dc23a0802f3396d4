//! Reading a rule set and checking it before any row is: each field a check needs, none
//! it would ignore, patterns that compile, ids that are unique, columns the table has.

use std::collections::HashSet;

use ingest_core::TableSchema;

use crate::QualityError;
use crate::spec::{Check, CleanStep, Rule, RuleSet, Severity};

impl RuleSet {
    /// Reads a rule set from YAML (JSON is YAML too); an empty document is an empty set.
    /// `origin` names the file or request in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RuleSet, QualityError> {
        if text.trim().is_empty() {
            return Ok(RuleSet::default());
        }
        let parse_error = |message: String| QualityError::Parse {
            origin: origin.to_string(),
            message,
        };
        // Through a JSON value: serde_yaml reads an enum from a YAML tag (`!remove "- "`),
        // but the rule set's shape is a one-key map (`{remove: "- "}`), as in JSON.
        let value: serde_json::Value =
            serde_yaml_ng::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        if value.is_null() {
            return Ok(RuleSet::default());
        }
        let set: RuleSet = serde_json::from_value(value.clone())
            .map_err(|e| parse_error(locate(&value, e.to_string())))?;
        set.check()?;
        Ok(set)
    }

    /// The set as YAML, in the shape [`RuleSet::parse`] reads.
    pub fn to_yaml(&self) -> String {
        let value = serde_json::to_value(self).expect("a rule set is JSON");
        serde_yaml_ng::to_string(&value).expect("JSON is YAML")
    }

    pub fn is_empty(&self) -> bool {
        self.clean.is_empty() && self.rules.is_empty() && self.after_load.is_empty()
    }

    /// The rules and steps of both, `other`'s after `self`'s (a table's registered set,
    /// then the load's own).
    pub fn merged(&self, other: &RuleSet) -> Result<RuleSet, QualityError> {
        if let Some(r) = other
            .rules
            .iter()
            .find(|r| self.rules.iter().any(|mine| mine.id == r.id))
        {
            return Err(invalid(
                r,
                "the table's registered rules have a rule with this id; give this one another"
                    .into(),
            ));
        }
        let mut all = self.clone();
        all.clean.extend(other.clean.iter().cloned());
        all.rules.extend(other.rules.iter().cloned());
        all.after_load.extend(other.after_load.iter().cloned());
        all.check()?;
        Ok(all)
    }

    /// Whether the set carries SQL to run (`after_load` statements, `sql` checks), which
    /// only some API tokens may send.
    pub fn has_sql(&self) -> bool {
        !self.after_load.is_empty() || self.rules.iter().any(|r| r.check == Check::Sql)
    }

    /// Whether any rule needs the whole load (and so a staging table).
    pub fn has_set_rules(&self) -> bool {
        self.rules
            .iter()
            .any(|r| !r.check.is_row_check() && r.check != Check::RowCount)
    }

    /// What can be checked without a database: each rule's fields, its pattern, unique ids.
    pub fn check(&self) -> Result<(), QualityError> {
        for (i, step) in self.clean.iter().enumerate() {
            check_clean(step).map_err(|message| QualityError::Invalid {
                rule: format!("clean step {}", i + 1),
                message,
            })?;
        }
        let mut ids = HashSet::new();
        for rule in &self.rules {
            if !ids.insert(rule.id.as_str()) {
                return Err(invalid(rule, "another rule has the same id".into()));
            }
            check_rule(rule).map_err(|m| invalid(rule, m))?;
        }
        if let Some(s) = self.after_load.iter().find(|s| s.trim().is_empty()) {
            return Err(QualityError::Invalid {
                rule: "after_load".into(),
                message: format!("an empty statement ({s:?})"),
            });
        }
        Ok(())
    }

    /// Every column named is one of `table`'s.
    pub fn check_columns(&self, table: &TableSchema) -> Result<(), QualityError> {
        let missing = |c: &str| table.find_column(c).is_none();
        for (i, step) in self.clean.iter().enumerate() {
            if let Some(c) = step.target_columns().into_iter().find(|c| missing(c)) {
                return Err(QualityError::Invalid {
                    rule: format!("clean step {}", i + 1),
                    message: format!("{} has no column {c:?}", table.display_name()),
                });
            }
        }
        for rule in &self.rules {
            if let Some(c) = rule.target_columns().into_iter().find(|c| missing(c)) {
                return Err(invalid(
                    rule,
                    format!("{} has no column {c:?}", table.display_name()),
                ));
            }
        }
        Ok(())
    }
}

/// Which step or rule `message` is about: each is read again alone to find the first
/// that fails.
fn locate(value: &serde_json::Value, message: String) -> String {
    let items = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    for (i, step) in items("clean").iter().enumerate() {
        if let Err(e) = serde_json::from_value::<CleanStep>(step.clone()) {
            return format!("clean step {}: {e}", i + 1);
        }
    }
    for (i, rule) in items("rules").iter().enumerate() {
        if let Err(e) = serde_json::from_value::<Rule>(rule.clone()) {
            return match rule.get("id").and_then(|v| v.as_str()) {
                Some(id) => format!("rule {id}: {e}"),
                None => format!("rule {} (no id): {e}", i + 1),
            };
        }
    }
    message
}

fn invalid(rule: &Rule, message: String) -> QualityError {
    QualityError::Invalid {
        rule: rule.id.clone(),
        message,
    }
}

fn check_clean(step: &CleanStep) -> Result<(), String> {
    match (&step.column, &step.columns) {
        (Some(_), Some(_)) => return Err("give `column` or `columns`, not both".into()),
        (None, None) => return Err("say which `column` (or `columns`) it cleans".into()),
        (None, Some(cs)) if cs.is_empty() => return Err("`columns` is empty".into()),
        _ => {}
    }
    if step.ops.is_empty() && step.map.is_none() {
        return Err("give `ops` (trim, upper, ...) or a value `map`".into());
    }
    if step.unmapped.is_some() && step.map.is_none() {
        return Err("`unmapped` applies to a `map`".into());
    }
    Ok(())
}

/// The fields each check reads; any other is refused, since it would be ignored.
fn fields_of(check: Check) -> &'static [&'static str] {
    match check {
        Check::NotNull | Check::Cpf | Check::Cnpj | Check::PlateBr | Check::Cep | Check::Email => {
            &["column"]
        }
        Check::Range | Check::Length => &["column", "min", "max"],
        Check::In => &["column", "values"],
        Check::Regex => &["column", "pattern"],
        Check::Unique => &["column", "columns", "keep"],
        Check::ExistsIn => &["column", "table", "key"],
        Check::Outlier => &["column", "method", "k"],
        Check::RowCount => &["min", "max"],
        Check::Sql => &["expr"],
    }
}

fn check_rule(rule: &Rule) -> Result<(), String> {
    if rule.id.trim().is_empty() {
        return Err("`id` is empty".into());
    }
    let given: Vec<(&str, bool)> = vec![
        ("column", rule.column.is_some()),
        ("columns", rule.columns.is_some()),
        ("min", rule.min.is_some()),
        ("max", rule.max.is_some()),
        ("values", rule.values.is_some()),
        ("pattern", rule.pattern.is_some()),
        ("expr", rule.expr.is_some()),
        ("table", rule.table.is_some()),
        ("key", rule.key.is_some()),
        ("keep", rule.keep.is_some()),
        ("method", rule.method.is_some()),
        ("k", rule.k.is_some()),
    ];
    let takes = fields_of(rule.check);
    let name = rule.check.name();
    if let Some((field, _)) = given.iter().find(|(f, set)| *set && !takes.contains(f)) {
        return Err(format!(
            "`{field}` does not apply to {name} (it takes: {})",
            takes.join(", ")
        ));
    }
    let needs_one_column = !matches!(rule.check, Check::Unique | Check::RowCount | Check::Sql);
    if needs_one_column && rule.column.is_none() {
        return Err(format!("{name} needs the `column` it checks"));
    }
    match rule.check {
        Check::Range | Check::Length | Check::RowCount
            if rule.min.is_none() && rule.max.is_none() =>
        {
            Err(format!("{name} needs `min`, `max` or both"))
        }
        Check::Length | Check::RowCount => {
            for b in [&rule.min, &rule.max].into_iter().flatten() {
                match b.as_f64() {
                    Some(n) if n >= 0.0 && n.fract() == 0.0 => {}
                    _ => return Err(format!("{name} bounds are whole numbers, not {}", b.text())),
                }
            }
            if rule.check == Check::RowCount && rule.severity == Severity::Reject {
                return Err(
                    "row_count judges the whole load: its severity is `fail` or `warn`".into(),
                );
            }
            Ok(())
        }
        Check::In if rule.values.as_ref().is_none_or(Vec::is_empty) => {
            Err("in needs the accepted `values`".into())
        }
        Check::Regex => match &rule.pattern {
            None => Err("regex needs a `pattern`".into()),
            Some(p) => regex::Regex::new(p)
                .map(|_| ())
                .map_err(|e| format!("pattern {p:?} is not a valid regex: {e}")),
        },
        Check::Unique => match (&rule.column, &rule.columns) {
            (Some(_), Some(_)) => Err("give `column` or `columns`, not both".into()),
            (None, None) => Err("unique needs `column` or `columns`".into()),
            (None, Some(cs)) if cs.is_empty() => Err("`columns` is empty".into()),
            _ => Ok(()),
        },
        Check::ExistsIn if rule.table.is_none() => {
            Err("exists_in needs the reference `table`".into())
        }
        Check::Outlier if rule.k.is_some_and(|k| !(k > 0.0 && k.is_finite())) => {
            Err("`k` is a positive number".into())
        }
        Check::Sql if rule.expr.as_ref().is_none_or(|e| e.trim().is_empty()) => {
            Err("sql needs a boolean `expr` over the row's columns".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        RuleSet::parse(yaml, "rules.yaml").unwrap_err().to_string()
    }

    #[test]
    fn the_issue_example_parses() {
        let set = RuleSet::parse(
            r#"
clean:
  - {columns: [nome, cidade], ops: [trim, collapse_spaces, nfc]}
  - {column: placa, ops: [upper, {remove: "- "}]}
  - {column: status, map: {A: ativo, I: inativo}}
rules:
  - {id: cpf_valido, column: cpf, check: cpf}
  - {id: ano_ok, column: ano, check: range, min: 1950, max: 2027}
  - {id: uf, column: uf, check: in, values: [AC, AL]}
  - {id: email_ok, column: email, check: regex, pattern: '^[^@\s]+@[^@\s]+\.[^@\s]+$', severity: warn}
  - {id: datas, check: sql, expr: "fim is null or fim >= inicio"}
  - {id: municipio, column: cod_ibge, check: exists_in, table: ref_municipios, key: cod_ibge}
  - {id: placa_unica, columns: [placa], check: unique, keep: last}
  - {id: km, column: km, check: outlier, method: iqr, k: 3, severity: warn}
  - {id: cheio, check: row_count, min: 100, severity: fail}
after_load:
  - "select 1"
"#,
            "rules.yaml",
        )
        .unwrap();
        assert_eq!(set.clean.len(), 3);
        assert_eq!(
            set.clean[1].ops[1],
            crate::spec::CleanOp::Remove("- ".into())
        );
        assert_eq!(set.rules.len(), 9);
        assert_eq!(set.rules[1].max.as_ref().unwrap().text(), "2027");
        assert!(set.has_set_rules());
        // JSON is the same shape.
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(RuleSet::parse(&json, "r.json").unwrap(), set);
    }

    #[test]
    fn mistakes_are_named() {
        assert!(err("rules:\n  - {id: a, column: x, check: range, mni: 1}").contains("mni"));
        assert!(err("rules:\n  - {id: a, column: x, check: cpff}").contains("cpff"));
        let e = err("rules:\n  - {id: a, column: x, check: regex, pattern: '(['}");
        assert!(e.contains("rule a") && e.contains("regex"), "{e}");
        let e = err("rules:\n  - {id: a, column: x, check: in, values: [1], min: 2}");
        assert!(e.contains("`min` does not apply to in"), "{e}");
        let e =
            err("rules:\n  - {id: a, column: x, check: cpf}\n  - {id: a, column: y, check: cpf}");
        assert!(e.contains("same id"), "{e}");
        assert!(err("rules:\n  - {id: a, check: cpf}").contains("needs the `column`"));
        assert!(err("rules:\n  - {id: a, check: row_count, min: 1}").contains("severity"));
        assert!(err("clean:\n  - {column: a}").contains("clean step 1"));
        assert!(RuleSet::parse("", "empty").unwrap().is_empty());
    }
}
