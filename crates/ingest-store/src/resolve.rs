//! From a URL to the store and path it names (object_store's builders, configured from the
//! environment), and the objects the service itself writes and deletes.

use std::sync::{Arc, Once};
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use url::Url;

use crate::error::StoreError;
use crate::redact::redacted;
use crate::web::basic_auth;

/// Seconds a connection may take to open, and a response to go without sending a byte.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An object in a store.
#[derive(Clone)]
pub struct Remote {
    pub store: Arc<dyn ObjectStore>,
    pub path: ObjectPath,
    /// The object's name, to tell its format by (the path without a query string).
    pub name: String,
}

/// The store and path a URL names.
pub fn resolve(source: &str, read_timeout: Duration) -> Result<Remote, StoreError> {
    install_crypto_provider();
    let display = redacted(source);
    let url = Url::parse(source)
        .map_err(|e| StoreError::Url(format!("{display}: not a valid URL ({e})")))?;
    let options = ClientOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_read_timeout(read_timeout)
        // A large object streams for as long as it takes; a stalled one hits the read
        // timeout.
        .with_timeout_disabled();
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let path = |p: &str| {
        ObjectPath::from_url_path(p).map_err(|e| StoreError::Url(format!("{display}: {e}")))
    };
    let (store, object): (Arc<dyn ObjectStore>, ObjectPath) = match url.scheme() {
        "s3" | "s3a" => {
            let endpoint_is_http = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                .iter()
                .find_map(|v| std::env::var(v).ok())
                .is_some_and(|e| e.starts_with("http://"))
                || allow_http_from_env("AWS");
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(bucket_url(&url))
                .with_client_options(options.with_allow_http(endpoint_is_http))
                .with_retry(retry)
                .build()?;
            (Arc::new(store), path(url.path())?)
        }
        "gs" => {
            let store = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(bucket_url(&url))
                .with_client_options(options.with_allow_http(allow_http_from_env("GOOGLE")))
                .with_retry(retry)
                .build()?;
            (Arc::new(store), path(url.path())?)
        }
        "az" | "abfs" | "abfss" | "azure" => {
            let store = object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(bucket_url(&url))
                .with_client_options(options.with_allow_http(allow_http_from_env("AZURE")))
                .with_retry(retry)
                .build()?;
            (Arc::new(store), path(url.path())?)
        }
        "http" | "https" => {
            let mut base = url.clone();
            base.set_path("/");
            base.set_query(None);
            let mut options = options.with_allow_http(url.scheme() == "http");
            if !url.username().is_empty() {
                options = options.with_default_headers(basic_auth(&url));
                let _ = base.set_username("");
                let _ = base.set_password(None);
            }
            let store = object_store::http::HttpBuilder::new()
                .with_url(base.as_str())
                .with_client_options(options)
                .with_retry(retry)
                .build()?;
            let object = url.path().trim_start_matches('/');
            (Arc::new(store), path(object)?)
        }
        other => {
            return Err(StoreError::Url(format!(
                "{display}: unknown scheme {other}:// (use a path, file://, s3://, gs://, az://, http:// or https://)"
            )));
        }
    };
    Ok(Remote {
        store,
        path: object,
        name: url.path().to_string(),
    })
}

/// The object a URL names, to write or delete: a store URL as [`resolve`] takes it, or
/// `file://` (an absolute path on this machine's file system).
pub fn object_at(url: &str) -> Result<Remote, StoreError> {
    let Some(path) = url.strip_prefix("file://") else {
        return resolve(url, DEFAULT_READ_TIMEOUT);
    };
    let path =
        ObjectPath::from_absolute_path(path).map_err(|e| StoreError::Url(format!("{url}: {e}")))?;
    Ok(Remote {
        store: Arc::new(object_store::local::LocalFileSystem::new()),
        path,
        name: url.to_string(),
    })
}

/// 12 random hex digits: what keeps two writers' temporary or uploaded names apart.
pub fn unique_tag() -> String {
    let mut tag = [0u8; 6];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut tag);
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deletes the object a URL names (see [`object_at`]).
pub async fn delete_object(url: &str) -> Result<(), StoreError> {
    let object = object_at(url)?;
    object.store.delete(&object.path).await?;
    Ok(())
}

/// `AWS_ALLOW_HTTP=true` and the like: plain http to an emulator or a local server. (The
/// builders read these too, but the client options set here would override them.)
fn allow_http_from_env(prefix: &str) -> bool {
    std::env::var(format!("{prefix}_ALLOW_HTTP"))
        .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// `scheme://bucket`, which the builders take (the path is given per request).
fn bucket_url(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
}

/// rustls needs one crypto provider for the process: ring (aws-lc-rs is not built).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
