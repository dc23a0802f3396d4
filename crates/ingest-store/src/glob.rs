//! A glob (`s3://landing/2026/11/*.parquet`, `./in/**/*.csv`) or a prefix ending in `/`
//! names several files, loaded as one input in one transaction. Local paths are expanded
//! by the `glob` crate; objects are listed under the pattern's literal prefix and matched
//! with `glob::Pattern`, separators matched literally (`*` stays within one level, `**`
//! crosses them).

use futures_util::TryStreamExt;
use glob::{MatchOptions, Pattern};
use object_store::path::Path as ObjectPath;

use std::time::Duration;

use crate::error::StoreError;
use crate::redact::{is_url, redacted};
use crate::resolve::resolve;

/// Why a pattern named no files.
#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    /// The pattern is malformed, matches nothing, or names what cannot be listed.
    #[error("{0}")]
    Usage(String),
    /// The store refused or failed the listing.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// One file of a load.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub source: String,
    /// How messages name it (a URL without its password or query).
    pub name: String,
    /// Its size when the listing gave it, for progress.
    pub size: u64,
}

/// The files a load reads, in name order; one entry when the source is a single file.
/// `file_name` is how the source itself is named when it is a single file.
pub async fn expand(
    source: &str,
    file_name: &str,
    read_timeout: Duration,
) -> Result<Vec<SourceFile>, ExpandError> {
    let source = source.to_string();
    let is_prefix = source.ends_with('/');
    // A file whose name has a bracket or a question mark is itself, not a pattern.
    let literal_file = !is_url(&source) && std::path::Path::new(&source).is_file();
    if source == "-" || literal_file || (!has_pattern(&source) && !is_prefix) {
        return Ok(vec![SourceFile {
            source,
            name: file_name.to_string(),
            size: 0,
        }]);
    }
    let found = if is_url(&source) && !source.starts_with("file://") {
        list_objects(&source, is_prefix, read_timeout).await?
    } else {
        let path = source
            .strip_prefix("file://")
            .unwrap_or(&source)
            .to_string();
        list_local(&path, is_prefix)?
    };
    if found.is_empty() {
        return Err(ExpandError::Usage("no file matches".into()));
    }
    Ok(found
        .into_iter()
        .map(|(source, size)| SourceFile {
            name: redacted(&source),
            source,
            size,
        })
        .collect())
}

/// The glob a source stands for: itself, or for a prefix ending in `/`, everything under it.
fn pattern_of(source: &str, is_prefix: bool) -> String {
    match is_prefix {
        true => format!("{}**/*", Pattern::escape(source)),
        false => source.to_string(),
    }
}

/// A file that jobs leave beside their output, never data: `_SUCCESS`, `_committed_*`,
/// `.part-0.crc`, `.DS_Store`.
fn is_marker(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.starts_with('_') || name.starts_with('.')
}

/// A pattern character in the path (a URL's `?` starts its query, not a pattern).
fn has_pattern(s: &str) -> bool {
    let path = match is_url(s) {
        true => s.split('?').next().unwrap_or(s),
        false => s,
    };
    path.contains(['*', '?', '['])
}

fn list_local(path: &str, is_prefix: bool) -> Result<Vec<(String, u64)>, ExpandError> {
    let pattern = pattern_of(path, is_prefix);
    let bad = ExpandError::Usage;
    let mut found = Vec::new();
    for entry in glob::glob_with(&pattern, OPTIONS).map_err(|e| bad(e.to_string()))? {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        if let Ok(meta) = entry.metadata()
            && meta.is_file()
            && !is_marker(&entry.to_string_lossy())
        {
            found.push((entry.to_string_lossy().to_string(), meta.len()));
        }
    }
    found.sort();
    Ok(found)
}

async fn list_objects(
    source: &str,
    is_prefix: bool,
    read_timeout: Duration,
) -> Result<Vec<(String, u64)>, ExpandError> {
    let (scheme, rest) = source.split_once("://").expect("a URL");
    if matches!(scheme, "http" | "https") {
        return Err(ExpandError::Usage(
            "a web server cannot list files: name each one, or use a store (s3://, gs://, az://)"
                .into(),
        ));
    }
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    // The literal directories before the first pattern character are listed.
    let literal = match key.find(['*', '?', '[']) {
        Some(i) => &key[..key[..i].rfind('/').map_or(0, |j| j + 1)],
        None => key,
    };
    let pattern = pattern_of(key, is_prefix);
    let matcher = Pattern::new(&pattern).map_err(|e| ExpandError::Usage(e.to_string()))?;
    let base = format!("{scheme}://{bucket}/");
    let remote = resolve(&format!("{base}x"), read_timeout)?;
    let prefix = ObjectPath::from(literal.trim_end_matches('/'));
    let objects: Vec<object_store::ObjectMeta> = remote
        .store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(StoreError::from)?;
    let mut found: Vec<(String, u64)> = objects
        .into_iter()
        .filter(|o| matcher.matches_with(o.location.as_ref(), OPTIONS))
        .filter(|o| !is_marker(o.location.as_ref()))
        .map(|o| (format!("{base}{}", o.location), o.size))
        .collect();
    found.sort();
    Ok(found)
}
