//! A text file's dialect, guessed from its head: the encoding, the delimiter, whether
//! numbers use a decimal comma, the date format. What an analyst's spreadsheet export
//! looks like decides the defaults: a Brazilian Excel writes Windows-1252, `;`, `1.234,56`
//! and `31/12/2025`.
//!
//! Written here rather than taken from a CSV-sniffing crate because what it must tell
//! apart is the locale (decimal comma, day-first dates), which those do not look at, and
//! the delimiter vote needs only a few lines of quote-aware splitting.

use ingest_formats::{Sniffed, sniff_encoding};
use serde::Serialize;

/// What the head of a text file says about how it is written, as `ingest load` options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dialect {
    /// `utf-8` or `windows-1252`.
    pub encoding: String,
    pub delimiter: char,
    pub decimal_comma: bool,
    /// `.` when numbers group thousands with it (`1.234,56`).
    pub thousands: Option<char>,
    /// A chrono format for dates that are not ISO 8601 (`%d/%m/%Y`).
    pub date_format: Option<String>,
    /// The same for timestamps (`%d/%m/%Y %H:%M:%S`).
    pub timestamp_format: Option<String>,
}

const DELIMITERS: [char; 4] = [';', ',', '\t', '|'];
/// Lines looked at.
const LINES: usize = 200;

/// The dialect of a file whose first bytes are `head`.
pub fn detect(head: &[u8]) -> Dialect {
    let (encoding, text) = match sniff_encoding(head) {
        Sniffed::NotUtf8 => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(head);
            ("windows-1252", text.into_owned())
        }
        _ => ("utf-8", String::from_utf8_lossy(head).into_owned()),
    };
    let text = text.trim_start_matches('\u{feff}');
    // The last line may be cut off by the end of the head.
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(LINES + 1)
        .collect();
    if lines.len() > 1 && !head.ends_with(b"\n") {
        lines.pop();
    }
    let delimiter = vote_delimiter(&lines);
    let values: Vec<String> = lines
        .iter()
        .skip(1)
        .flat_map(|l| split(l, delimiter))
        .collect();
    let (decimal_comma, thousands) = numbers(&values, delimiter);
    let (date_format, timestamp_format) = dates(&values);
    Dialect {
        encoding: encoding.into(),
        delimiter,
        decimal_comma,
        thousands,
        date_format,
        timestamp_format,
    }
}

/// The delimiter that splits the most lines into the same number of fields (more than
/// one); `,` when none does.
fn vote_delimiter(lines: &[&str]) -> char {
    let mut best = (',', 0usize, 0usize);
    for d in DELIMITERS {
        let counts: Vec<usize> = lines.iter().map(|l| split(l, d).len()).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first < 2 {
            continue;
        }
        let agreeing = counts.iter().filter(|&&c| c == first).count();
        if (agreeing, first) > (best.1, best.2) {
            best = (d, agreeing, first);
        }
    }
    best.0
}

/// A line's fields, quotes removed (a field may not span lines here: the head is only
/// looked at, never loaded).
fn split(line: &str, delimiter: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Whether numbers are written `1.234,56` (decimal comma, `.` thousands) rather than
/// `1,234.56`: by a vote of the values that can only be read one way.
fn numbers(values: &[String], delimiter: char) -> (bool, Option<char>) {
    let (mut comma, mut point, mut grouped) = (0, 0, false);
    for v in values {
        let v = v.trim().trim_start_matches(['-', '+']);
        if v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
            || !v.starts_with(|c: char| c.is_ascii_digit())
        {
            continue;
        }
        match (v.rfind(','), v.rfind('.')) {
            (Some(c), Some(p)) if c > p => {
                comma += 1;
                grouped = true;
            }
            (Some(_), Some(_)) => point += 1,
            (Some(c), None) if v.len() - c - 1 != 3 || v.matches(',').count() == 1 && c > 3 => {
                comma += 1
            }
            (None, Some(p)) if v.len() - p - 1 != 3 || v.matches('.').count() == 1 && p > 3 => {
                point += 1
            }
            _ => {}
        }
    }
    // With `,` as the delimiter a decimal comma would need quotes everywhere: rare.
    let decimal_comma = comma > point && (delimiter != ',' || comma > 0 && point == 0);
    (decimal_comma, (decimal_comma && grouped).then_some('.'))
}

/// `31/12/2025` and `31/12/2025 10:30[:00]`: day first unless a value says otherwise.
fn dates(values: &[String]) -> (Option<String>, Option<String>) {
    let (mut seen, mut month_first, mut with_time, mut seconds) = (false, false, false, false);
    for v in values {
        let v = v.trim();
        let (date, time) = v.split_once(' ').unwrap_or((v, ""));
        let parts: Vec<&str> = date.split('/').collect();
        let numeric = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !numeric || parts[2].len() != 4 || parts[0].len() > 2 || parts[1].len() > 2 {
            continue;
        }
        seen = true;
        let (a, b): (u32, u32) = (parts[0].parse().unwrap_or(0), parts[1].parse().unwrap_or(0));
        if b > 12 && a <= 12 {
            month_first = true;
        }
        if !time.is_empty() {
            with_time = true;
            seconds |= time.matches(':').count() == 2;
        }
    }
    if !seen {
        return (None, None);
    }
    let date = if month_first { "%m/%d/%Y" } else { "%d/%m/%Y" };
    let time = with_time.then(|| format!("{date} %H:%M{}", if seconds { ":%S" } else { "" }));
    (Some(date.to_string()), time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brazilian_excel_export() {
        let head = "id;cliente;valor;data;pago\r\n1;Jo\u{e3}o;1.234,56;31/12/2025;sim\r\n2;Maria;-45,90;01/02/2025;n\u{e3}o\r\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(head);
        let d = detect(&bytes);
        assert_eq!(d.encoding, "windows-1252");
        assert_eq!(d.delimiter, ';');
        assert!(d.decimal_comma);
        assert_eq!(d.thousands, Some('.'));
        assert_eq!(d.date_format.as_deref(), Some("%d/%m/%Y"));
        assert_eq!(d.timestamp_format, None);
    }

    #[test]
    fn a_plain_csv_and_american_dates() {
        let d = detect(
            b"id,amount,when\n1,1234.5,12/31/2025 10:30:00\n2,\"3,000.25\",01/02/2025 08:00:00\n",
        );
        assert_eq!(
            (d.encoding.as_str(), d.delimiter, d.decimal_comma),
            ("utf-8", ',', false)
        );
        assert_eq!(d.date_format.as_deref(), Some("%m/%d/%Y"));
        assert_eq!(d.timestamp_format.as_deref(), Some("%m/%d/%Y %H:%M:%S"));
        let tabs = detect("a\tb\tc\n1\t2\t3\n".as_bytes());
        assert_eq!(tabs.delimiter, '\t');
        // Quoted delimiters do not count.
        let quoted = detect(b"name,note\n\"a;b;c\",x\n\"d;e\",y\n");
        assert_eq!(quoted.delimiter, ',');
    }
}
