//! The schema that holds the service's tables (default `ingest`).

/// A schema name, checked once and always used quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema(String);

impl Schema {
    /// Any non-empty name of at most 63 bytes (PostgreSQL's limit); it is quoted wherever
    /// it is used, so odd characters are harmless.
    pub fn new(name: &str) -> Result<Schema, crate::QueueError> {
        if name.is_empty() || name.len() > 63 || name.contains('\0') {
            return Err(crate::QueueError::Invalid(format!(
                "schema name {name:?}: 1 to 63 bytes, no NUL"
            )));
        }
        Ok(Schema(name.to_string()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// `"name"`, with inner quotes doubled.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }

    /// The NOTIFY channel on which new jobs are announced.
    pub fn channel(&self) -> String {
        format!("{}_jobs", self.0)
    }
}

impl Default for Schema {
    fn default() -> Self {
        Schema("ingest".into())
    }
}
