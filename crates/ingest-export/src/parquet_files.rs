//! The Parquet files of one export: a single file, or a directory (a prefix in a bucket)
//! of Hive-style partitions (`col=value/part-0000.parquet`) and size-capped parts, with a
//! `_manifest.json`. Every file is written under a temporary name and they are all put
//! in place only when the export has succeeded, the manifest last: a failed export leaves
//! nothing under the destination's names.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::output::Output;
use ingest_store as store;

/// The partition value of NULL, as Hive and Spark spell it.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Where the files go.
#[derive(Debug, Clone)]
pub enum Layout {
    /// One file, the destination itself.
    Single(String),
    /// Files under a directory or prefix, partitioned by a column or not.
    Directory {
        prefix: String,
        partition_column: Option<String>,
    },
}

/// One file written, as the manifest lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// Relative to the export's directory (the file's own name for a single file).
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
}

struct Open {
    writer: ArrowWriter<std::fs::File>,
    output: Output,
    entry: FileEntry,
}

pub struct ParquetFiles {
    layout: Layout,
    schema: Arc<Schema>,
    props: WriterProperties,
    max_file_bytes: Option<u64>,
    current: Option<Open>,
    /// Whole files, not yet under their names.
    done: Vec<(Output, FileEntry)>,
    /// The partition being written, and the number of each directory's next part.
    partition: Option<String>,
    parts: std::collections::HashMap<String, u32>,
}

impl ParquetFiles {
    pub fn new(
        layout: Layout,
        schema: Arc<Schema>,
        props: WriterProperties,
        max_file_bytes: Option<u64>,
    ) -> ParquetFiles {
        ParquetFiles {
            layout,
            schema,
            props,
            max_file_bytes,
            current: None,
            done: Vec::new(),
            partition: None,
            parts: std::collections::HashMap::new(),
        }
    }

    /// Writes rows of one partition (`None` when the export is not partitioned).
    pub fn write(&mut self, batch: &RecordBatch, partition: Option<&str>) -> Result<(), String> {
        // A size-capped part continues its partition's numbering, and so does a partition
        // seen again (NULL and a literal default-partition value share a directory).
        if self.partition.as_deref() != partition {
            self.close()?;
            self.partition = partition.map(str::to_string);
        }
        if self.current.is_none() {
            self.open(partition)?;
        }
        let open = self.current.as_mut().expect("opened above");
        open.writer.write(batch).map_err(|e| e.to_string())?;
        open.entry.rows += batch.num_rows() as u64;
        let size = open.writer.bytes_written() + open.writer.in_progress_size();
        if self.max_file_bytes.is_some_and(|max| size as u64 >= max) {
            self.close()?;
        }
        Ok(())
    }

    fn open(&mut self, partition: Option<&str>) -> Result<(), String> {
        let (to, path) = match &self.layout {
            Layout::Single(to) => (to.clone(), file_name(to)),
            Layout::Directory {
                prefix,
                partition_column,
            } => {
                let dir = match (partition_column, partition) {
                    (Some(col), Some(value)) => {
                        format!("{}={}/", hive_escape(col), hive_escape(value))
                    }
                    _ => String::new(),
                };
                let part = self.parts.entry(dir.clone()).or_insert(0);
                let path = format!("{dir}part-{:04}.parquet", *part);
                *part += 1;
                (join(prefix, &path), path)
            }
        };
        if !store::is_url(&to) || to.starts_with("file://") {
            let local = std::path::Path::new(to.strip_prefix("file://").unwrap_or(&to));
            if let Some(dir) = local.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
        }
        let (output, file) = Output::create(&to).map_err(|e| e.to_string())?;
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.props.clone()))
            .map_err(|e| e.to_string())?;
        self.current = Some(Open {
            writer,
            output,
            entry: FileEntry {
                path,
                rows: 0,
                bytes: 0,
                partition: partition.map(str::to_string),
            },
        });
        Ok(())
    }

    fn close(&mut self) -> Result<(), String> {
        if let Some(open) = self.current.take() {
            let file = open.writer.into_inner().map_err(|e| e.to_string())?;
            file.sync_all().map_err(|e| e.to_string())?;
            self.done.push((open.output, open.entry));
        }
        Ok(())
    }

    /// Ends the last file; an export of no rows still writes one (empty) file.
    pub fn finish(mut self) -> Result<Finished, String> {
        if self.current.is_none() && self.done.is_empty() {
            self.open(None)?;
        }
        self.close()?;
        Ok(Finished {
            layout: self.layout.clone(),
            files: std::mem::take(&mut self.done),
        })
    }
}

/// Whole files waiting to be put under their names.
pub struct Finished {
    layout: Layout,
    files: Vec<(Output, FileEntry)>,
}

impl Finished {
    /// Puts every file in place, then the manifest (for a directory); returns the
    /// files with their sizes and the bytes written in all.
    pub async fn commit(
        self,
        manifest: impl FnOnce(&[FileEntry]) -> serde_json::Value,
    ) -> Result<(Vec<FileEntry>, u64), crate::ExportError> {
        // A manifest from an earlier export must not vouch for this one's files while they
        // are put in place.
        if let Layout::Directory { prefix, .. } = &self.layout {
            let old = join(prefix, "_manifest.json");
            if store::is_url(&old) && !old.starts_with("file://") {
                let _ = store::delete_object(&old).await;
            } else {
                let _ = std::fs::remove_file(old.strip_prefix("file://").unwrap_or(&old));
            }
        }
        let mut entries = Vec::with_capacity(self.files.len());
        for (output, mut entry) in self.files {
            entry.bytes = output.commit().await?;
            entries.push(entry);
        }
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        if let Layout::Directory { prefix, .. } = &self.layout {
            let body = serde_json::to_vec_pretty(&manifest(&entries)).expect("JSON");
            let to = join(prefix, "_manifest.json");
            let (output, mut file) = Output::create(&to)?;
            std::io::Write::write_all(&mut file, &body).map_err(|source| {
                crate::output::OutputError::Io {
                    to: store::redacted(&to),
                    source,
                }
            })?;
            drop(file);
            total += output.commit().await?;
        }
        Ok((entries, total))
    }

    /// Removes every temporary file: the export failed.
    pub fn abandon(self) {
        for (output, _) in self.files {
            output.abandon();
        }
    }
}

impl Drop for ParquetFiles {
    fn drop(&mut self) {
        // Dropped unfinished (an error): nothing it wrote may remain.
        if let Some(open) = self.current.take() {
            open.output.abandon();
        }
        for (output, _) in self.done.drain(..) {
            output.abandon();
        }
    }
}

fn file_name(to: &str) -> String {
    to.split('?')
        .next()
        .unwrap_or(to)
        .rsplit('/')
        .next()
        .unwrap_or(to)
        .to_string()
}

fn join(prefix: &str, rel: &str) -> String {
    format!("{}/{rel}", prefix.trim_end_matches('/'))
}

/// A partition value as a path segment: what is not a letter, a digit or `._-` becomes
/// `%XX`, as Hive escapes it (so `/`, `=` and `%` never split or confuse a path).
pub fn hive_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b' ' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        return NULL_PARTITION.to_string();
    }
    if out == "." || out == ".." {
        return out.replace('.', "%2E");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_safe_path_segments() {
        assert_eq!(hive_escape("2026-11"), "2026-11");
        assert_eq!(hive_escape("a/b=c%"), "a%2Fb%3Dc%25");
        assert_eq!(hive_escape("São Paulo"), "S%C3%A3o Paulo");
        assert_eq!(hive_escape(".."), "%2E%2E");
    }
}
