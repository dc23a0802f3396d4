//! Finds where each top-level JSON value starts and ends, without parsing it: NDJSON
//! (values separated by whitespace) or the elements of one top-level array.

use super::JsonError;

/// One complete top-level value and the line it starts on.
pub(super) struct Value {
    pub bytes: Vec<u8>,
    pub line: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Nothing but whitespace (and a BOM) seen yet.
    Unknown,
    /// Values separated by whitespace.
    Lines,
    /// Inside `[ ... ]`: values separated by commas.
    Array { open_line: u64 },
    /// After the closing `]`.
    Closed,
}

pub(super) struct Splitter {
    layout: Layout,
    /// The value being read, if one has started.
    current: Option<Value>,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A comma was seen since the last array element (one is due before the next).
    comma_due: bool,
    line: u64,
    /// The previous byte was a CR (a CRLF counts once).
    after_cr: bool,
    max_bytes: usize,
    at_start: bool,
}

impl Splitter {
    pub(super) fn new(max_bytes: usize) -> Self {
        Splitter {
            layout: Layout::Unknown,
            current: None,
            depth: 0,
            in_string: false,
            escaped: false,
            comma_due: false,
            line: 1,
            after_cr: false,
            max_bytes,
            at_start: true,
        }
    }

    /// Consumes input up to the end of the next complete value (returned) or the end of
    /// the input; returns how many bytes it used.
    pub(super) fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Value>), JsonError> {
        let mut i = 0;
        if self.at_start {
            if input.starts_with(b"\xEF\xBB\xBF") {
                i = 3;
            }
            self.at_start = false;
        }
        while i < input.len() {
            let b = input[i];
            if self.current.is_some() {
                if let Some(done) = self.step_in_value(input, &mut i)? {
                    return Ok((i, Some(done)));
                }
                continue;
            }
            i += 1;
            self.count_line(b);
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'[' if self.layout == Layout::Unknown => {
                    self.layout = Layout::Array {
                        open_line: self.line,
                    };
                }
                b',' if matches!(self.layout, Layout::Array { .. }) && self.comma_due => {
                    self.comma_due = false;
                }
                b']' if matches!(self.layout, Layout::Array { .. }) => self.layout = Layout::Closed,
                _ if self.layout == Layout::Closed => {
                    return Err(JsonError::AfterArray {
                        line: self.line,
                        found: b as char,
                    });
                }
                _ if self.comma_due => {
                    return Err(JsonError::BetweenRecords {
                        line: self.line,
                        found: b as char,
                    });
                }
                _ => {
                    if self.layout == Layout::Unknown {
                        self.layout = Layout::Lines;
                    }
                    self.start_value(b);
                }
            }
        }
        Ok((i, None))
    }

    /// The input ended.
    pub(super) fn finish(&mut self) -> Result<Option<Value>, JsonError> {
        if let Some(v) = self.current.take() {
            if self.depth == 0 && !self.in_string && self.layout == Layout::Lines {
                return Ok(Some(v)); // a bare scalar on the last line
            }
            return Err(JsonError::Unterminated { line: v.line });
        }
        if let Layout::Array { open_line } = self.layout {
            return Err(JsonError::UnclosedArray { line: open_line });
        }
        Ok(None)
    }

    fn count_line(&mut self, b: u8) {
        if b == b'\n' {
            if !self.after_cr {
                self.line += 1;
            }
        } else if b == b'\r' {
            self.line += 1;
        }
        self.after_cr = b == b'\r';
    }

    fn start_value(&mut self, b: u8) {
        self.current = Some(Value {
            bytes: vec![b],
            line: self.line,
        });
        self.depth = u32::from(b == b'{' || b == b'[');
        self.in_string = b == b'"';
        self.escaped = false;
    }

    /// Advances through the current value; returns it once complete.
    fn step_in_value(&mut self, input: &[u8], i: &mut usize) -> Result<Option<Value>, JsonError> {
        let start = *i;
        let mut end = None;
        let mut j = start;
        while j < input.len() {
            let b = input[j];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        end = Some(j + 1); // a bare string value
                        break;
                    }
                }
                self.count_line(b);
                j += 1;
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        end = Some(j + 1);
                        self.count_line(b);
                        j += 1;
                        break;
                    }
                }
                // A scalar ends at the first delimiter, which is left for `feed`; in NDJSON
                // a stray line of text is one bad record, not one per word.
                b'\n' | b'\r' if self.depth == 0 => {
                    end = Some(j);
                    break;
                }
                b' ' | b'\t' | b',' | b']' if self.depth == 0 && self.layout != Layout::Lines => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
            self.count_line(b);
            j += 1;
        }
        let stop = end.unwrap_or(j);
        let value = self.current.as_mut().expect("a value is open");
        value.bytes.extend_from_slice(&input[start..stop]);
        *i = stop;
        if value.bytes.len() > self.max_bytes {
            return Err(JsonError::TooLong {
                line: value.line,
                limit: self.max_bytes,
            });
        }
        if end.is_none() {
            return Ok(None);
        }
        if matches!(self.layout, Layout::Array { .. }) {
            self.comma_due = true;
        }
        Ok(self.current.take())
    }
}
