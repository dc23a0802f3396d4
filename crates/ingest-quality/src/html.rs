//! The quality report as one self-contained HTML page (inline CSS and SVG, no script, no
//! external asset): the page an analyst forwards.

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::report::{ColumnStats, Histogram, QualityReport, RuleOutcome};

/// What the page says about the load besides its quality: the fields of a load's summary
/// it shows (a job's stored stats deserialise into this too).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadFacts {
    pub file: String,
    pub table: String,
    pub mode: String,
    pub status: String,
    pub dry_run: bool,
    pub rows_read: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub rows_unchanged: u64,
    pub rows_deleted: Option<u64>,
    pub rows_rejected: u64,
    pub warnings: u64,
    pub seconds: f64,
    pub error: Option<String>,
    pub quality: Option<QualityReport>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    facts: &'a LoadFacts,
    rules: Vec<RuleRow<'a>>,
    columns: Vec<ColumnRow<'a>>,
    rules_version: String,
}

struct RuleRow<'a> {
    rule: &'a RuleOutcome,
    columns: String,
    percent: String,
    chart: String,
    class: &'static str,
}

struct ColumnRow<'a> {
    stats: &'a ColumnStats,
    distinct: String,
    mean: String,
    quantiles: String,
    chart: String,
}

/// The page for a load and its report.
pub fn render(facts: &LoadFacts) -> String {
    let empty = QualityReport::default();
    let report = facts.quality.as_ref().unwrap_or(&empty);
    let rules = report
        .rules
        .iter()
        .map(|r| RuleRow {
            rule: r,
            columns: r.columns.join(", "),
            percent: match r.checked {
                0 => "–".into(),
                n => format!("{:.2}%", 100.0 * r.failed as f64 / n as f64),
            },
            chart: if r.failed > 0 {
                bar(r.failed, r.checked)
            } else {
                String::new()
            },
            class: match (r.failed, r.severity.as_str()) {
                (0, _) => "ok",
                (_, "warn") => "warn",
                _ => "bad",
            },
        })
        .collect();
    let columns = report
        .columns
        .iter()
        .map(|c| ColumnRow {
            stats: c,
            distinct: c.distinct.map(|d| format!("≈{d}")).unwrap_or_default(),
            mean: c.mean.map(|m| format!("{m:.2}")).unwrap_or_default(),
            quantiles: c
                .quantiles
                .as_ref()
                .map(|q| format!("{:.1} / {:.1} / {:.1}", q.p25, q.p50, q.p75))
                .unwrap_or_default(),
            chart: c.histogram.as_ref().map(histogram).unwrap_or_default(),
        })
        .collect();
    Page {
        facts,
        rules,
        columns,
        rules_version: report
            .rules_version
            .map(|v| format!("registered rules, version {v}"))
            .unwrap_or_default(),
    }
    .render()
    .expect("the report template renders")
}

/// A bar of failed rows against rows checked.
fn bar(failed: u64, checked: u64) -> String {
    let w = 160.0;
    let share = if checked == 0 {
        1.0
    } else {
        failed as f64 / checked as f64
    };
    // A failure is always visible, however small its share.
    let fail_w = (share * w).clamp(2.0, w);
    format!(
        r##"<svg width="{w}" height="14" role="img" aria-label="{failed} of {checked} failed"><rect width="{w}" height="14" fill="#d8ead9"/><rect width="{fail_w:.1}" height="14" fill="#c0392b"/></svg>"##
    )
}

/// A histogram of a numeric column's sampled values.
fn histogram(h: &Histogram) -> String {
    let (w, ht) = (200.0, 40.0);
    let top = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bw = w / h.counts.len() as f64;
    let bars: String = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let bh = (c as f64 / top * ht).max(if c > 0 { 1.0 } else { 0.0 });
            format!(
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#2e86c1"/>"##,
                i as f64 * bw,
                ht - bh,
                (bw - 1.0).max(1.0)
            )
        })
        .collect();
    format!(
        r#"<svg width="{w}" height="{ht}" role="img" aria-label="distribution from {} to {}">{bars}</svg>"#,
        h.min, h.max
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FailureSample;

    #[test]
    fn the_page_is_self_contained_and_names_every_rule() {
        let facts = LoadFacts {
            file: "frota.csv".into(),
            table: "public.veiculos".into(),
            status: "succeeded".into(),
            rows_read: 1000,
            quality: Some(QualityReport {
                rules_version: Some(2),
                rules: vec![RuleOutcome {
                    id: "cpf_valido".into(),
                    check: "cpf".into(),
                    columns: vec!["cpf".into()],
                    severity: "reject".into(),
                    checked: 1000,
                    failed: 5,
                    sample: vec![FailureSample {
                        line: 11,
                        value: "<script>".into(),
                    }],
                    skipped: None,
                }],
                columns: vec![ColumnStats {
                    name: "km".into(),
                    pg_type: "numeric(12,1)".into(),
                    rows: 1000,
                    nulls: 0,
                    distinct: Some(990),
                    min: Some("0".into()),
                    max: Some("300000".into()),
                    mean: Some(150000.0),
                    quantiles: None,
                    histogram: Some(Histogram {
                        min: 0.0,
                        max: 1.0,
                        counts: vec![1, 2, 3],
                    }),
                }],
            }),
            ..Default::default()
        };
        let page = render(&facts);
        assert!(page.contains("cpf_valido") && page.contains("frota.csv"));
        assert_eq!(
            page.matches("<svg").count(),
            2,
            "a bar for the rule, a histogram for km"
        );
        // Values from the file are escaped, and nothing is fetched from elsewhere.
        assert!(
            !page.contains("<script>") && page.contains("&#60;script&#62;")
                || page.contains("&lt;script&gt;")
        );
        assert!(!page.contains("src=") && !page.contains("href=\"http"));
    }
}
