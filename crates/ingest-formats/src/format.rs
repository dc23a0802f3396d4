//! Which reader a file needs: from its name, confirmed by its first bytes.

use crate::Compression;

/// A file format `ingest` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text (CSV, TSV, `;`-separated...).
    Csv,
    /// Delimited text whose extension says the delimiter is a tab.
    Tsv,
    /// JSON objects, one per line (NDJSON), or a JSON array of objects.
    Json,
    Parquet,
    Avro,
    Xlsx,
}

/// The magic bytes a format's files start with, where it has any.
const MAGIC: [(&[u8], Format); 3] = [
    (b"PAR1", Format::Parquet),
    (b"Obj\x01", Format::Avro),
    (b"PK\x03\x04", Format::Xlsx),
];

impl Format {
    pub const NAMES: &'static str = "csv, tsv, json, ndjson, parquet, avro, xlsx";

    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "json" | "ndjson" | "jsonl" => Format::Json,
            "parquet" | "pq" => Format::Parquet,
            "avro" => Format::Avro,
            "xlsx" | "xlsm" | "excel" => Format::Xlsx,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Tsv => "TSV",
            Format::Json => "JSON",
            Format::Parquet => "Parquet",
            Format::Avro => "Avro",
            Format::Xlsx => "xlsx",
        }
    }

    /// Whether the reader needs to seek (it cannot read a compressed stream or stdin).
    pub fn needs_random_access(self) -> bool {
        matches!(self, Format::Parquet | Format::Xlsx)
    }

    /// Carries its own compression inside (a `.parquet.gz` makes no sense).
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Parquet | Format::Avro | Format::Xlsx)
    }
}

/// What a file name says: its format (by the extension under any compression extension)
/// and its compression. `Ok(None)` when the name has no extension to go by.
pub fn from_name(name: &str) -> Result<(Option<Format>, Compression), String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (compression, stem) = Compression::from_name(base);
    let Some((_, ext)) = stem.rsplit_once('.').filter(|(s, _)| !s.is_empty()) else {
        return Ok((None, compression));
    };
    match Format::parse(ext) {
        Some(f) => Ok((Some(f), compression)),
        None => Err(format!(
            "cannot tell the format of {base:?} from its extension .{ext}; pass --format ({})",
            Format::NAMES
        )),
    }
}

/// The format whose magic bytes start `head`, if any (text formats have none).
pub fn from_magic(head: &[u8]) -> Option<Format> {
    MAGIC
        .iter()
        .find(|(m, _)| head.starts_with(m))
        .map(|(_, f)| *f)
}

/// Checks the bytes against what the name promised: a Parquet file must start with `PAR1`,
/// and a `.csv` must not be a Parquet file. `head` is the decompressed start of the file.
pub fn confirm(format: Format, head: &[u8]) -> Result<(), String> {
    let found = from_magic(head);
    let compressed = Compression::from_magic(head);
    let describe = |f: Option<Format>| match (f, compressed) {
        (Some(f), _) => format!("a {} file", f.name()),
        (None, Some(c)) => format!("a {} stream", c.name()),
        (None, None) => "not".to_string(),
    };
    match format {
        Format::Parquet | Format::Avro | Format::Xlsx if found != Some(format) => {
            if head.is_empty() {
                return Err(format!("empty, not a {} file", format.name()));
            }
            let what = describe(found);
            Err(if what == "not" {
                format!(
                    "not a {} file: it does not start with the format's magic bytes",
                    format.name()
                )
            } else {
                format!(
                    "the name says {} but the content is {what}; pass --format to override",
                    format.name()
                )
            })
        }
        Format::Csv | Format::Tsv | Format::Json if found.is_some() || compressed.is_some() => {
            Err(format!(
                "the name says {} but the content is {}; pass --format to override",
                format.name(),
                describe(found)
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        assert_eq!(
            from_name("a/b/orders.csv"),
            Ok((Some(Format::Csv), Compression::None))
        );
        assert_eq!(
            from_name("x.ndjson.zst"),
            Ok((Some(Format::Json), Compression::Zstd))
        );
        assert_eq!(
            from_name("x.TSV.gz"),
            Ok((Some(Format::Tsv), Compression::Gzip))
        );
        assert_eq!(
            from_name("part-0001.parquet"),
            Ok((Some(Format::Parquet), Compression::None))
        );
        assert_eq!(from_name("noext"), Ok((None, Compression::None)));
        assert_eq!(from_name(".hidden.gz"), Ok((None, Compression::Gzip)));
        let err = from_name("dump.bin").unwrap_err();
        assert!(err.contains(".bin") && err.contains("--format"), "{err}");
    }

    #[test]
    fn magic_confirms_or_contradicts() {
        assert_eq!(confirm(Format::Parquet, b"PAR1\x15\x04"), Ok(()));
        let e = confirm(Format::Parquet, b"id,name\n").unwrap_err();
        assert!(e.contains("not a Parquet file"), "{e}");
        let e = confirm(Format::Csv, b"PAR1xxxx").unwrap_err();
        assert!(
            e.contains("the name says CSV but the content is a Parquet file"),
            "{e}"
        );
        let e = confirm(Format::Avro, b"PK\x03\x04").unwrap_err();
        assert!(e.contains("content is a xlsx file"), "{e}");
        let e = confirm(Format::Json, &[0x1f, 0x8b, 8, 0]).unwrap_err();
        assert!(e.contains("a gzip stream"), "{e}");
        assert_eq!(confirm(Format::Json, b"{\"a\":1}"), Ok(()));
    }
}
