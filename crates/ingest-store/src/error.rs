//! Why a store refused or failed a request, in one line a user can act on.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Url(String),
    #[error("{}", short(.0))]
    Store(#[from] object_store::Error),
    #[error("{}", http_status(*.0))]
    Status(u16),
    #[error("{0}")]
    Request(String),
}

fn http_status(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    match status {
        404 | 410 => format!("no such object (HTTP {status} {reason})"),
        401 | 403 => format!("access denied: check the credentials (HTTP {status} {reason})"),
        _ => format!("HTTP {status} {reason}"),
    }
}

/// A store error in one line: object_store's messages carry the whole response body.
pub(crate) fn short(e: &object_store::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or_default();
    let first: String = first.chars().take(300).collect();
    match e {
        object_store::Error::NotFound { .. } => format!("no such object ({first})"),
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            format!("access denied: check the credentials ({first})")
        }
        _ => first,
    }
}

impl StoreError {
    /// The object is missing or the credentials are refused: the request, not the
    /// network, is wrong.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StoreError::Url(_)
                | StoreError::Status(400..=407 | 409..=428 | 430..=499)
                | StoreError::Store(
                    object_store::Error::NotFound { .. }
                        | object_store::Error::PermissionDenied { .. }
                        | object_store::Error::Unauthenticated { .. }
                )
        )
    }
}
