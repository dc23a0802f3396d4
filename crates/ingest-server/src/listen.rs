//! The queue's notifications (`LISTEN`), for the workers (a new job, a cancel) and the API
//! (a job that ended). One connection per process; it is made again whenever it drops
//! (a database restart), and `on_reconnect` is told, since notifications sent meanwhile
//! were lost.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ingest_pg::ConnectSource;

/// What a listener does with a notification's payload, and after a reconnection.
pub trait Listener: Send + Sync + 'static {
    fn notified(&self, payload: &str);
    fn reconnected(&self);
}

/// LISTENs on `channel` for as long as the process runs. Fails only if the first
/// connection cannot be made.
pub async fn listen(
    source: ConnectSource,
    channel: String,
    listener: Arc<dyn Listener>,
) -> Result<(), String> {
    let first = listen_once(&source, &channel, listener.clone()).await?;
    tokio::spawn(async move {
        first.await;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(listening) = listen_once(&source, &channel, listener.clone()).await {
                listener.reconnected();
                listening.await;
            }
        }
    });
    Ok(())
}

/// Connects and LISTENs; the future it returns ends when the connection does.
async fn listen_once(
    source: &ConnectSource,
    channel: &str,
    listener: Arc<dyn Listener>,
) -> Result<impl Future<Output = ()> + use<>, String> {
    let config = ingest_pg::connect_config(source).map_err(|e| e.to_string())?;
    let (client, mut connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let driven = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                listener.notified(n.payload());
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN \"{}\"", channel.replace('"', "\"\"")))
        .await
        .map_err(|e| e.to_string())?;
    // The client lives as long as the connection: dropping it would end the LISTEN.
    Ok(async move {
        let _client = client;
        let _ = driven.await;
    })
}
