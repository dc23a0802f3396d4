//! The JSONPath subset REST APIs need (`$.data[*]`, `$.meta.next`, `$['items'][*]`,
//! `$.results[0].rows[*]`), evaluated on raw JSON text.
//!
//! Written here rather than taken from a JSONPath crate because those evaluate on
//! `serde_json::Value`, which holds numbers as f64: a record's 20-digit number would lose
//! digits before the load ever saw it. Here a matched value stays the bytes the API sent.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// `.name` or `['name']`.
    Key(String),
    /// `[n]`.
    Index(usize),
    /// `[*]` or `.*`: every element of an array, every value of an object.
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

/// What a path found in a document.
#[derive(Debug)]
pub enum Found<'a> {
    /// The values it selects (possibly none: an empty array).
    Values(Vec<&'a RawValue>),
    /// A step found nothing to follow: a key that is not there, or not an object or
    /// array where one was expected. `at` is the path up to that step.
    Missing { at: String },
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let bad = |why: &str| Err(format!("JSONPath {text:?}: {why}"));
        let Some(mut rest) = text.trim().strip_prefix('$') else {
            return bad("it starts with $");
        };
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix(".*") {
                steps.push(Step::All);
                rest = r;
            } else if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return bad("a name after each `.`");
                }
                steps.push(Step::Key(r[..end].to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let Some(end) = r.find(']') else {
                    return bad("a `[` without `]`");
                };
                let inside = r[..end].trim();
                steps.push(if inside == "*" {
                    Step::All
                } else if let Some(name) = inside
                    .strip_prefix('\'')
                    .and_then(|n| n.strip_suffix('\''))
                    .or_else(|| inside.strip_prefix('"').and_then(|n| n.strip_suffix('"')))
                {
                    Step::Key(name.to_string())
                } else if let Ok(i) = inside.parse::<usize>() {
                    Step::Index(i)
                } else {
                    return bad(
                        "brackets hold *, a number or a quoted name (filters are not supported)",
                    );
                });
                rest = &r[end + 1..];
            } else {
                return bad("steps are .name, ['name'], [n] or [*]");
            }
        }
        Ok(JsonPath {
            text: text.trim().to_string(),
            steps,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The values the path selects in `doc`.
    pub fn find<'a>(&self, doc: &'a RawValue) -> Found<'a> {
        let mut current = vec![doc];
        let mut at = String::from("$");
        for (n, step) in self.steps.iter().enumerate() {
            // Under a wildcard, an element without the key is skipped, not an error.
            let under_wildcard = self.steps[..n].contains(&Step::All);
            let mut next = Vec::new();
            for value in &current {
                match step {
                    Step::Key(k) => match object(value) {
                        Some(map) => match map.get(k.as_str()) {
                            Some(v) => next.push(*v),
                            None if under_wildcard => {}
                            None => {
                                return Found::Missing {
                                    at: format!("{at}.{k}"),
                                };
                            }
                        },
                        None => {
                            return Found::Missing {
                                at: format!("{at}.{k}"),
                            };
                        }
                    },
                    Step::Index(i) => match array(value) {
                        Some(items) => next.extend(items.get(*i).copied()),
                        None => {
                            return Found::Missing {
                                at: format!("{at}[{i}]"),
                            };
                        }
                    },
                    Step::All => {
                        if let Some(items) = array(value) {
                            next.extend(items);
                        } else if let Some(map) = object(value) {
                            next.extend(map.into_values());
                        } else {
                            return Found::Missing {
                                at: format!("{at}[*]"),
                            };
                        }
                    }
                }
            }
            at.push_str(&match step {
                Step::Key(k) => format!(".{k}"),
                Step::Index(i) => format!("[{i}]"),
                Step::All => "[*]".into(),
            });
            current = next;
        }
        Found::Values(current)
    }

    /// The single scalar at the path (a next cursor or link), as text; `None` when it is
    /// absent, null or empty.
    pub fn scalar(&self, doc: &RawValue) -> Option<String> {
        let Found::Values(values) = self.find(doc) else {
            return None;
        };
        let raw = values.first()?.get().trim();
        if raw == "null" {
            return None;
        }
        let text = match serde_json::from_str::<String>(raw) {
            Ok(s) => s,
            Err(_) => raw.to_string(),
        };
        (!text.is_empty()).then_some(text)
    }
}

fn object(value: &RawValue) -> Option<BTreeMap<std::borrow::Cow<'_, str>, &RawValue>> {
    value
        .get()
        .trim_start()
        .starts_with('{')
        .then(|| serde_json::from_str(value.get()).ok())
        .flatten()
}

fn array(value: &RawValue) -> Option<Vec<&RawValue>> {
    value
        .get()
        .trim_start()
        .starts_with('[')
        .then(|| serde_json::from_str(value.get()).ok())
        .flatten()
}

/// The top-level keys of a document, to say what a page holds when a path is wrong.
pub fn top_keys(doc: &RawValue) -> Vec<String> {
    object(doc)
        .map(|m| m.into_keys().map(|k| k.into_owned()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> &RawValue {
        serde_json::from_str(s).unwrap()
    }

    fn texts(found: Found<'_>) -> Vec<String> {
        match found {
            Found::Values(v) => v.iter().map(|r| r.get().to_string()).collect(),
            Found::Missing { at } => panic!("missing at {at}"),
        }
    }

    #[test]
    fn records_keep_their_digits() {
        let doc = raw(
            r#"{"data": [{"id": 1, "fare": 12345678901234567890.123456}, {"id": 2}], "meta": {"next": "abc"}}"#,
        );
        let records = JsonPath::parse("$.data[*]").unwrap();
        assert_eq!(
            texts(records.find(doc)),
            [
                r#"{"id": 1, "fare": 12345678901234567890.123456}"#,
                r#"{"id": 2}"#
            ]
        );
        let next = JsonPath::parse("$.meta.next").unwrap();
        assert_eq!(next.scalar(doc).as_deref(), Some("abc"));
        let bracket = JsonPath::parse("$['meta']['next']").unwrap();
        assert_eq!(bracket.scalar(doc).as_deref(), Some("abc"));
        assert_eq!(
            texts(JsonPath::parse("$.data[1].id").unwrap().find(doc)),
            ["2"]
        );
        assert_eq!(
            texts(JsonPath::parse("$.data[*].id").unwrap().find(doc)),
            ["1", "2"]
        );
    }

    #[test]
    fn a_wrong_path_says_where_it_stopped() {
        let doc = raw(r#"{"items": [], "meta": {"next": null}}"#);
        let path = JsonPath::parse("$.data[*]").unwrap();
        assert!(matches!(path.find(doc), Found::Missing { at } if at == "$.data"));
        assert_eq!(top_keys(doc), ["items", "meta"]);
        // An empty array is found, with no values.
        assert!(texts(JsonPath::parse("$.items[*]").unwrap().find(doc)).is_empty());
        assert_eq!(JsonPath::parse("$.meta.next").unwrap().scalar(doc), None);
        assert!(texts(JsonPath::parse("$[*]").unwrap().find(raw("[1, 2]"))).len() == 2);
        assert!(JsonPath::parse("data").is_err());
        assert!(JsonPath::parse("$.data[?(@.x)]").is_err());
    }
}
