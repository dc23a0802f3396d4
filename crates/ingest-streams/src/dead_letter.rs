//! The dead-letter table: messages that cannot load (not JSON, or a value the table
//! refuses), kept with their raw payload and why, in the batch's own transaction, so the
//! consumer goes on and nothing is lost.

use tokio_postgres::Client;

/// `schema.table` or `table`, quoted part by part.
pub fn quoted(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// Creates the table when it does not exist.
pub async fn ensure(client: &Client, table: &str) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (
                 received_at timestamptz NOT NULL DEFAULT now(),
                 source      text NOT NULL,
                 position    text NOT NULL,
                 payload     text,
                 reason      text NOT NULL)",
            quoted(table)
        ))
        .await
}

/// One message that could not load.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub position: String,
    pub payload: String,
    pub reason: String,
}

pub async fn insert(
    client: &Client,
    table: &str,
    source: &str,
    letters: &[DeadLetter],
) -> Result<(), tokio_postgres::Error> {
    if letters.is_empty() {
        return Ok(());
    }
    let positions: Vec<&str> = letters.iter().map(|l| l.position.as_str()).collect();
    // PostgreSQL's text holds no NUL.
    let payloads: Vec<String> = letters
        .iter()
        .map(|l| l.payload.replace('\0', "\u{FFFD}"))
        .collect();
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    client
        .execute(
            &format!(
                "INSERT INTO {} (source, position, payload, reason)
                 SELECT $1, p, d, r FROM unnest($2::text[], $3::text[], $4::text[]) AS x(p, d, r)",
                quoted(table)
            ),
            &[&source, &positions, &payloads, &reasons],
        )
        .await
        .map(|_| ())
}
