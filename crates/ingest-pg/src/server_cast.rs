//! Values the server reads for us: a type the engine does not encode itself (interval,
//! inet, ranges, xml, an extension's type...) or a spelling only PostgreSQL's own input
//! function takes (`Jan 2 2025`, `infinity`, a multi-dimensional array). The server gives
//! each value's binary form through the type's `send` function, which is exactly what
//! binary COPY carries, so ingest accepts what COPY accepts and refuses what it refuses,
//! with the server's own message.
//!
//! A connection of its own (the load's is busy streaming COPY), with the load's settings
//! (the same `TimeZone`, `DateStyle`). One statement per batch of distinct values; only
//! when one of them is refused is each asked on its own, to say which.

use std::collections::HashMap;

use tokio_postgres::Client;
use tokio_postgres::types::Type;

use crate::{ConnectSource, PgError};

/// The server's reading of values of one type.
pub struct ServerCast {
    source: ConnectSource,
    client: Option<Client>,
    /// Each type's send function, by type name.
    send: HashMap<String, String>,
    /// The zone naive timestamps are read in, when the load was told one.
    timezone: Option<String>,
}

impl ServerCast {
    /// Connects on first use, with the settings of `source`.
    pub fn new(source: ConnectSource) -> Self {
        ServerCast {
            source,
            client: None,
            send: HashMap::new(),
            timezone: None,
        }
    }

    /// Reads naive timestamps in `zone` (the load's `--timezone`) rather than the
    /// session's.
    pub fn with_timezone(mut self, zone: &str) -> Self {
        self.timezone = Some(zone.to_string());
        self
    }

    async fn client(&mut self) -> Result<&Client, PgError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let client = crate::connect(&self.source).await?;
            if let Some(zone) = &self.timezone {
                client
                    .query("select set_config('TimeZone', $1, false)", &[zone])
                    .await
                    .map_err(PgError::query("setting the time zone"))?;
            }
            self.client = Some(client);
        }
        Ok(self.client.as_ref().expect("connected"))
    }

    /// The binary form of each of `values` as a `type_name` (as `format_type` prints it,
    /// modifier included), or the server's reason for refusing it.
    pub async fn binary(
        &mut self,
        type_name: &str,
        values: &[&str],
    ) -> Result<Vec<Result<Vec<u8>, String>>, PgError> {
        let send = self.send_function(type_name).await?;
        let client = self.client().await?;
        let all = format!(
            "select {send}(u.v::{type_name}) from unnest($1::text[]) with ordinality as u(v, n) order by n"
        );
        match client.query(&all, &[&values]).await {
            Ok(rows) => return Ok(rows.iter().map(|r| Ok(r.get(0))).collect()),
            Err(e) if e.as_db_error().is_none() => {
                return Err(PgError::query("reading values on the server")(e));
            }
            Err(_) => {}
        }
        // One of them was refused: ask each on its own, to say which and why.
        let one = client
            .prepare_typed(
                &format!("select {send}($1::text::{type_name})"),
                &[Type::TEXT],
            )
            .await
            .map_err(PgError::query("reading a value on the server"))?;
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            out.push(match client.query_one(&one, &[v]).await {
                Ok(row) => Ok(row.get(0)),
                Err(e) => match e.as_db_error() {
                    Some(db) => Err(db.message().to_string()),
                    None => return Err(PgError::query("reading a value on the server")(e)),
                },
            });
        }
        Ok(out)
    }

    async fn send_function(&mut self, type_name: &str) -> Result<String, PgError> {
        if let Some(send) = self.send.get(type_name) {
            return Ok(send.clone());
        }
        let client = self.client().await?;
        let row = client
            .query_one(
                "select t.typsend::regproc::text from pg_type t where t.oid = $1::text::regtype",
                &[&type_name],
            )
            .await
            .map_err(PgError::query(format!("finding how {type_name} is sent")))?;
        let send: String = row.get(0);
        self.send.insert(type_name.to_string(), send.clone());
        Ok(send)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that cannot be reached is an error worth a retry (the load stops with exit
    /// 3), never a verdict on the values.
    #[tokio::test]
    async fn an_unreachable_server_is_no_verdict_on_the_values() {
        let mut cast = ServerCast::new(ConnectSource::Url(
            "postgres://nobody@127.0.0.1:1/nothing?connect_timeout=2".into(),
        ));
        let err = cast.binary("inet", &["10.0.0.1"]).await.unwrap_err();
        assert!(err.is_retriable(), "{err}");
    }
}
