use chrono_tz::Tz;

/// How a text source spells values. Defaults: empty field is NULL, `.` decimal point with
/// no thousands separator, ISO 8601 dates and timestamps, naive timestamps in UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFormat {
    /// A field equal to this is NULL (default: the empty string). `None`: only a null in
    /// the source is NULL, as in JSON, where `""` is an empty string.
    pub null: Option<String>,
    /// `1.234,56`: the decimal separator is `,` (default: false).
    pub decimal_comma: bool,
    /// A thousands separator to accept in numbers, only between groups of three digits
    /// (default: none; `.` in the pt-BR profile).
    pub thousands: Option<char>,
    /// chrono formats tried, in order, for dates before ISO 8601 (default: none).
    pub date_formats: Vec<String>,
    /// chrono formats tried, in order, for timestamps before ISO 8601 (default: none).
    pub timestamp_formats: Vec<String>,
    /// The zone of timestamps without an offset loaded into `timestamptz` (default: UTC;
    /// the CLI sets the session's `TimeZone`, as `psql \copy` would use).
    pub timezone: Tz,
}

impl Default for TextFormat {
    fn default() -> Self {
        TextFormat {
            null: Some(String::new()),
            decimal_comma: false,
            thousands: None,
            date_formats: Vec::new(),
            timestamp_formats: Vec::new(),
            timezone: Tz::UTC,
        }
    }
}

impl TextFormat {
    /// Brazilian exports: `1.234,56`, `dd/mm/yyyy`, `dd/mm/yyyy HH:MM[:SS]`.
    pub fn pt_br() -> Self {
        TextFormat {
            decimal_comma: true,
            thousands: Some('.'),
            date_formats: vec!["%d/%m/%Y".into()],
            timestamp_formats: vec!["%d/%m/%Y %H:%M:%S%.f".into(), "%d/%m/%Y %H:%M".into()],
            ..TextFormat::default()
        }
    }
}
