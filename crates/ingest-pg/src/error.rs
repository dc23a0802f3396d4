use tokio_postgres::error::SqlState;

/// What went wrong on the database side of a load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    #[error("cannot connect to PostgreSQL ({target}): {}", describe(.source))]
    Connect {
        target: String,
        source: tokio_postgres::Error,
    },
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("table {0:?} does not exist (or is not visible with the current search_path)")]
    NoSuchTable(String),
    /// A table name that cannot name a table to create.
    #[error("{0}")]
    BadName(String),
    /// The diff file could not be written.
    #[error("diff file: {0}")]
    Diff(String),
    #[error("{context}: {}", describe(.source))]
    Query {
        context: String,
        source: tokio_postgres::Error,
    },
}

impl PgError {
    pub fn query(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> PgError {
        let context = context.into();
        move |source| PgError::Query { context, source }
    }

    /// The SQLSTATE of a database error, if the server sent one.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            PgError::Query { source, .. } | PgError::Connect { source, .. } => source.code(),
            _ => None,
        }
    }

    /// The row of a COPY stream the server refused (1-based), from the error's context
    /// line `COPY name, line N[, column c]`: the server reports the position nowhere else.
    pub fn copy_row(&self) -> Option<u64> {
        let PgError::Query { source, .. } = self else {
            return None;
        };
        let context = source.as_db_error()?.where_()?;
        let rest = &context[context.find("COPY ")?..];
        let digits = rest[rest.find(", line ")? + 7..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?;
        digits.parse().ok()
    }

    /// True for a failure of the data itself (a constraint, a conversion), as opposed to a
    /// connection or a server problem.
    pub fn is_data_error(&self) -> bool {
        let Some(code) = self.code() else {
            return false;
        };
        // Classes 22 (data exception), 23 (integrity constraint violation) and 54 (a
        // program limit a value hit: JSON nested past the stack depth, a row too big),
        // and 21000 (a key twice in one ON CONFLICT).
        let class = &code.code()[..2];
        class == "22" || class == "23" || class == "54" || *code == SqlState::CARDINALITY_VIOLATION
    }

    /// Whether trying again later may succeed: the connection or the server failed, or
    /// the load met another transaction (a serialization failure, a deadlock, a lock
    /// timeout). A refused value, a missing privilege or a bad statement fails the same
    /// way every time.
    pub fn is_retriable(&self) -> bool {
        let code = match self {
            PgError::Connect { .. } => return true,
            PgError::BadUrl(_)
            | PgError::NoSuchTable(_)
            | PgError::BadName(_)
            | PgError::Diff(_) => {
                return false;
            }
            PgError::Query { source, .. } => match source.code() {
                Some(code) => code,
                // No SQLSTATE: the connection broke.
                None => return true,
            },
        };
        matches!(
            &code.code()[..2],
            "08" | "40" | "53" | "55" | "57" | "58" | "XX"
        )
    }
}

/// The server's message with its detail and hint, which say which key or constraint.
fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_string();
            if let Some(d) = db.detail() {
                s.push_str(" (");
                s.push_str(d);
                s.push(')');
            }
            if let Some(h) = db.hint() {
                s.push_str("; hint: ");
                s.push_str(h);
            }
            s
        }
        None => {
            // The driver's Display says only "db error" or "error connecting to server";
            // the cause carries the reason (refused, timed out, bad password...).
            let mut s = err.to_string();
            let mut cause = std::error::Error::source(err);
            while let Some(c) = cause {
                s.push_str(": ");
                s.push_str(&c.to_string());
                cause = c.source();
            }
            s
        }
    }
}
