use crate::PgType;

/// One column of a target table, as the catalog describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub pg_type: PgType,
    pub not_null: bool,
    /// A DEFAULT expression or an identity: the column may be left out of the file.
    pub has_default: bool,
    /// `GENERATED ALWAYS AS IDENTITY`: an INSERT must say `OVERRIDING SYSTEM VALUE` to set
    /// it, and an UPDATE may not set it.
    pub identity_always: bool,
    /// Two values are equal exactly when their bytes are: false for text under a
    /// nondeterministic collation and for string types with their own equality (citext).
    pub byte_equality: bool,
}

impl Column {
    /// The file must provide this column: NOT NULL and nothing to fill it in.
    pub fn is_required(&self) -> bool {
        self.not_null && !self.has_default
    }
}

/// A column name compared as users type it: case and surrounding blanks do not count.
pub fn loose_name(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A target table: its name (unquoted parts) and the columns a load may write.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
    /// Column names of the primary key, in key order; empty when there is none.
    pub primary_key: Vec<String>,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The index of the column a user means by `name`: the exact name first, else the one
    /// equal to it ignoring case and surrounding blanks.
    pub fn find_column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .or_else(|| {
                let want = loose_name(name);
                self.columns
                    .iter()
                    .position(|c| loose_name(&c.name) == want)
            })
    }

    /// `schema.name` as a user would type it, for messages (not for SQL).
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}
