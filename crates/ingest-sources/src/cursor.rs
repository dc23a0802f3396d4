//! A source's cursor: where its last committed run stopped. Read before a run, written in
//! the run's own transaction (a load's before-commit step) with a compare-and-set on the
//! value the run started from, so a run that lost a race with another cannot move it.

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

/// The largest cursor value loaded, and its tie-breaker when the spec has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie: Option<String>,
}

/// Why a cursor could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error(
        "source {name}: its cursor moved since this run started (another run committed first); nothing was written"
    )]
    Moved { name: String },
    #[error("source {name}: reading or writing its cursor: {message}")]
    Database { name: String, message: String },
}

fn db(name: &str) -> impl FnOnce(tokio_postgres::Error) -> CursorError + '_ {
    move |e| CursorError::Database {
        name: name.to_string(),
        message: e
            .as_db_error()
            .map_or(e.to_string(), |d| d.message().to_string()),
    }
}

/// The stored cursor of `name` (`schema` quoted), if a run ever committed one.
pub async fn load(
    client: &Client,
    schema: &str,
    name: &str,
) -> Result<Option<Cursor>, CursorError> {
    let row = client
        .query_opt(
            &format!("SELECT cursor::text FROM {schema}.source_cursors WHERE name = $1"),
            &[&name],
        )
        .await
        .map_err(db(name))?;
    row.map(|r| {
        let text: String = r.get(0);
        serde_json::from_str(&text).map_err(|e| CursorError::Database {
            name: name.to_string(),
            message: format!("the stored cursor is not one: {e}"),
        })
    })
    .transpose()
}

/// Stores `next` as `name`'s cursor if it is still `started_from`; run inside the load's
/// transaction, so it commits with the rows or not at all.
pub async fn advance(
    client: &Client,
    schema: &str,
    name: &str,
    started_from: Option<&Cursor>,
    next: &Cursor,
) -> Result<(), CursorError> {
    let next_json = serde_json::to_string(next).expect("a cursor is JSON");
    let changed = match started_from {
        None => client
            .execute(
                &format!(
                    "INSERT INTO {schema}.source_cursors (name, cursor) VALUES ($1, $2::text::jsonb)
                     ON CONFLICT (name) DO NOTHING"
                ),
                &[&name, &next_json],
            )
            .await
            .map_err(db(name))?,
        Some(from) => {
            let from_json = serde_json::to_string(from).expect("a cursor is JSON");
            client
                .execute(
                    &format!(
                        "UPDATE {schema}.source_cursors SET cursor = $2::text::jsonb, updated_at = now()
                          WHERE name = $1 AND cursor = $3::text::jsonb"
                    ),
                    &[&name, &next_json, &from_json],
                )
                .await
                .map_err(db(name))?
        }
    };
    match changed {
        1 => Ok(()),
        _ => Err(CursorError::Moved {
            name: name.to_string(),
        }),
    }
}
