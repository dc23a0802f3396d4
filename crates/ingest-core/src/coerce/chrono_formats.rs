//! The text format's own date and timestamp formats (chrono `strftime` syntax), compiled once
//! per column, and their human spelling for messages (`%d/%m/%Y` is `dd/mm/yyyy`).

use chrono::format::{Item, Parsed, StrftimeItems, parse};
use chrono::{NaiveDate, NaiveDateTime};

/// What a value read with one of the formats holds.
pub(super) enum Read {
    Date(NaiveDate),
    /// A naive date and time, and the offset (seconds east of UTC) if the format has one.
    DateTime(NaiveDateTime, Option<i32>),
}

/// A value matched no format; `out_of_range` when one format read it but a field was out
/// of range (`31/02/2024`).
pub(super) struct NoMatch {
    pub(super) out_of_range: bool,
}

pub(super) struct Formats {
    compiled: Vec<(Vec<Item<'static>>, Kind)>,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Date,
    DateTime,
}

impl Formats {
    /// Formats tried in order; a format chrono cannot compile never matches.
    pub(super) fn new<'a>(formats: impl IntoIterator<Item = (&'a str, Kind)>) -> Formats {
        let compiled = formats
            .into_iter()
            .filter_map(|(f, kind)| {
                StrftimeItems::new(f)
                    .parse_to_owned()
                    .ok()
                    .map(|items| (items, kind))
            })
            .collect();
        Formats { compiled }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.compiled.is_empty()
    }

    /// The first format that reads all of `text`.
    pub(super) fn read(&self, text: &str) -> Result<Read, NoMatch> {
        let mut out_of_range = false;
        for (items, kind) in &self.compiled {
            let mut parsed = Parsed::new();
            let result = parse(&mut parsed, text, items.iter()).and_then(|()| match kind {
                Kind::Date => parsed.to_naive_date().map(Read::Date),
                Kind::DateTime => parsed
                    .to_naive_datetime_with_offset(0)
                    .map(|dt| Read::DateTime(dt, parsed.offset())),
            });
            match result {
                Ok(read) => return Ok(read),
                Err(e) => {
                    use chrono::format::ParseErrorKind::{Impossible, OutOfRange};
                    out_of_range |= matches!(e.kind(), OutOfRange | Impossible);
                }
            }
        }
        Err(NoMatch { out_of_range })
    }
}

/// A chrono format as a person writes it: `%d/%m/%Y %H:%M` is `dd/mm/yyyy hh:mm`.
pub(super) fn describe(format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec: String = match chars.next() {
            Some(f @ ('.' | ':' | '-' | '_' | '0' | '3' | '6' | '9')) => {
                chars.next().map_or(f.into(), |g| format!("{f}{g}"))
            }
            Some(f) => f.into(),
            None => String::new(),
        };
        let word = match spec.as_str() {
            "d" | "e" | "-d" => "dd",
            "m" | "-m" => "mm",
            "Y" => "yyyy",
            "y" => "yy",
            "H" | "I" | "-H" | "k" | "l" => "hh",
            "M" => "mi",
            "S" => "ss",
            // `%.f` parses an optional fraction.
            ".f" => "[.ffffff]",
            "f" | ".6f" | "6f" => ".ffffff",
            ".3f" | "3f" => ".fff",
            "p" | "P" => "am/pm",
            "b" | "h" => "mon",
            "B" => "month",
            "z" => "±hhmm",
            ":z" => "±hh:mm",
            "F" => "yyyy-mm-dd",
            "T" => "hh:mi:ss",
            "R" => "hh:mi",
            "D" => "mm/dd/yy",
            "j" => "ddd",
            "%" => "%",
            other => {
                out.push('%');
                other
            }
        };
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions() {
        assert_eq!(describe("%d/%m/%Y"), "dd/mm/yyyy");
        assert_eq!(describe("%d/%m/%Y %H:%M:%S"), "dd/mm/yyyy hh:mi:ss");
        assert_eq!(describe("%Y%m%d%.f%:z"), "yyyymmdd[.ffffff]±hh:mm");
        assert_eq!(describe("%Q at %%"), "%Q at %");
    }

    #[test]
    fn reading() {
        let formats = Formats::new([("%d/%m/%Y %H:%M", Kind::DateTime), ("%d/%m/%Y", Kind::Date)]);
        assert!(matches!(
            formats.read("05/02/2024 10:30"),
            Ok(Read::DateTime(_, None))
        ));
        assert!(matches!(formats.read("05/02/2024"), Ok(Read::Date(_))));
        assert!(matches!(
            formats.read("31/02/2024"),
            Err(NoMatch { out_of_range: true })
        ));
        assert!(matches!(
            formats.read("2024-02-05"),
            Err(NoMatch {
                out_of_range: false
            })
        ));
        let zoned = Formats::new([("%d/%m/%Y %H:%M %z", Kind::DateTime)]);
        assert!(matches!(
            zoned.read("05/02/2024 10:30 -0300"),
            Ok(Read::DateTime(_, Some(-10800)))
        ));
        assert!(Formats::new([("%Q", Kind::Date)]).is_empty());
    }
}
