//! Where each consumer is in each partition of its source, stored with the batch that
//! moved it (in the load's transaction), with a compare-and-set on where the batch
//! started: a consumer that lost its partition to another cannot commit. RabbitMQ has no
//! positions: the ids of the messages loaded are kept instead.

use std::collections::BTreeMap;

use tokio_postgres::Client;

/// Why a position could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    #[error(
        "consumer {consumer}: its position in {source_name} moved since this batch started (another consumer committed); nothing was written"
    )]
    Moved {
        consumer: String,
        source_name: String,
    },
    #[error("the consumers' positions: {0}")]
    Database(String),
}

fn db(e: tokio_postgres::Error) -> PositionError {
    PositionError::Database(ingest_queue::full_message(&e))
}

/// The stored position of each partition.
pub async fn load(
    client: &Client,
    schema: &str,
    consumer: &str,
    source: &str,
) -> Result<BTreeMap<String, String>, PositionError> {
    let rows = client
        .query(
            &format!("SELECT partition, position FROM {schema}.stream_positions WHERE consumer = $1 AND source = $2"),
            &[&consumer, &source],
        )
        .await
        .map_err(db)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Moves `partition` from `from` (`None`: no position yet) to `to`, in the caller's
/// transaction.
pub async fn advance(
    client: &Client,
    schema: &str,
    consumer: &str,
    source: &str,
    partition: &str,
    from: Option<&str>,
    to: &str,
) -> Result<(), PositionError> {
    let changed = match from {
        None => client
            .execute(
                &format!(
                    "INSERT INTO {schema}.stream_positions (consumer, source, partition, position)
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
                ),
                &[&consumer, &source, &partition, &to],
            )
            .await
            .map_err(db)?,
        Some(from) => client
            .execute(
                &format!(
                    "UPDATE {schema}.stream_positions SET position = $5, updated_at = now()
                     WHERE consumer = $1 AND source = $2 AND partition = $3 AND position = $4"
                ),
                &[&consumer, &source, &partition, &from, &to],
            )
            .await
            .map_err(db)?,
    };
    if changed == 1 {
        Ok(())
    } else {
        Err(PositionError::Moved {
            consumer: consumer.into(),
            source_name: source.into(),
        })
    }
}

/// Of `ids`, those already loaded by this consumer.
pub async fn seen(
    client: &Client,
    schema: &str,
    consumer: &str,
    source: &str,
    ids: &[String],
) -> Result<Vec<String>, PositionError> {
    let rows = client
        .query(
            &format!(
                "SELECT message_id FROM {schema}.stream_seen
                 WHERE consumer = $1 AND source = $2 AND message_id = ANY($3)"
            ),
            &[&consumer, &source, &ids],
        )
        .await
        .map_err(db)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Records `ids` as loaded, in the caller's transaction.
pub async fn mark_seen(
    client: &Client,
    schema: &str,
    consumer: &str,
    source: &str,
    ids: &[String],
) -> Result<(), PositionError> {
    client
        .execute(
            &format!(
                "INSERT INTO {schema}.stream_seen (consumer, source, message_id)
                 SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING"
            ),
            &[&consumer, &source, &ids],
        )
        .await
        .map_err(db)?;
    Ok(())
}
