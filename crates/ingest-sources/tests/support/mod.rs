//! What the integration tests share: the mock API and a schema of their own.
#![allow(dead_code)]

pub mod mock_api;
pub mod pg;
