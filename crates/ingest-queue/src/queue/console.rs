//! What the web console keeps beside the jobs: files uploaded to be looked at before a
//! job reads them, and mapping profiles (a table's column mapping and format choices,
//! saved under a name and offered the next time).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::{Client, Row};
use uuid::Uuid;

use super::Queue;
use crate::QueueError;

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: Uuid,
    /// Where the server stored it.
    pub url: String,
    /// As the user named it.
    pub name: String,
    pub size: i64,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl StoredFile {
    fn from_row(r: &Row) -> StoredFile {
        StoredFile {
            id: r.get("id"),
            url: r.get("url"),
            name: r.get("name"),
            size: r.get("size"),
            created_by: r.get("created_by"),
            created_at: r.get("created_at"),
        }
    }
}

/// A table's saved mapping and format choices.
#[derive(Debug, Clone)]
pub struct Profile {
    pub table: String,
    pub name: String,
    pub profile: Value,
    pub updated_at: DateTime<Utc>,
}

impl Queue {
    pub async fn add_file(
        &self,
        client: &Client,
        url: &str,
        name: &str,
        size: i64,
        created_by: Option<&str>,
    ) -> Result<StoredFile, QueueError> {
        let q = &self.q;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO {q}.files (url, name, size, created_by) VALUES ($1, $2, $3, $4)
                     RETURNING id, url, name, size, created_by, created_at"
                ),
                &[&url, &name, &size, &created_by],
            )
            .await?;
        Ok(StoredFile::from_row(&row))
    }

    pub async fn file(&self, client: &Client, id: Uuid) -> Result<Option<StoredFile>, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!("SELECT id, url, name, size, created_by, created_at FROM {q}.files WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(StoredFile::from_row))
    }

    /// Forgets the files uploaded before `before` that no queued or running job reads;
    /// returns them, for their objects to be deleted.
    pub async fn expire_files(
        &self,
        client: &Client,
        before: DateTime<Utc>,
    ) -> Result<Vec<StoredFile>, QueueError> {
        let q = &self.q;
        let rows = client
            .query(
                &format!(
                    "DELETE FROM {q}.files f WHERE created_at < $1
                       AND NOT EXISTS (SELECT 1 FROM {q}.jobs j WHERE j.payload->'source'->>'file' = f.id::text
                                         AND j.state IN ('queued', 'running'))
                     RETURNING id, url, name, size, created_by, created_at"
                ),
                &[&before],
            )
            .await?;
        Ok(rows.iter().map(StoredFile::from_row).collect())
    }

    /// Saves (or replaces) a profile.
    pub async fn put_profile(
        &self,
        client: &Client,
        table: &str,
        name: &str,
        profile: &Value,
        created_by: Option<&str>,
    ) -> Result<Profile, QueueError> {
        let q = &self.q;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO {q}.mapping_profiles (table_name, name, profile, created_by) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (table_name, name) DO UPDATE SET profile = $3, created_by = $4, updated_at = now()
                     RETURNING table_name, name, profile, updated_at"
                ),
                &[&table, &name, profile, &created_by],
            )
            .await?;
        Ok(profile_of(&row))
    }

    /// A table's profiles, the most recently saved first.
    pub async fn profiles(&self, client: &Client, table: &str) -> Result<Vec<Profile>, QueueError> {
        let q = &self.q;
        let rows = client
            .query(
                &format!(
                    "SELECT table_name, name, profile, updated_at FROM {q}.mapping_profiles
                     WHERE table_name = $1 ORDER BY updated_at DESC, name"
                ),
                &[&table],
            )
            .await?;
        Ok(rows.iter().map(profile_of).collect())
    }
}

fn profile_of(r: &Row) -> Profile {
    Profile {
        table: r.get(0),
        name: r.get(1),
        profile: r.get(2),
        updated_at: r.get(3),
    }
}

/// A rejected row or message to add to a job's rejects.
#[derive(Debug, Clone)]
pub struct RejectRow {
    pub line: i64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    /// Where it came from, when `line` alone does not say (a stream's partition and position).
    pub file: Option<String>,
}

impl Queue {
    /// Adds rejects to a job's (a long-running consumer's, batch by batch), after those it
    /// has, in the caller's transaction.
    pub async fn append_rejects(
        &self,
        client: &Client,
        job: uuid::Uuid,
        rows: &[RejectRow],
    ) -> Result<(), QueueError> {
        if rows.is_empty() {
            return Ok(());
        }
        let q = &self.q;
        let lines: Vec<i64> = rows.iter().map(|r| r.line).collect();
        let columns: Vec<Option<&str>> = rows.iter().map(|r| r.column.as_deref()).collect();
        let values: Vec<Option<String>> = rows
            .iter()
            .map(|r| r.value.as_ref().map(|v| v.replace('\0', "\u{FFFD}")))
            .collect();
        let reasons: Vec<&str> = rows.iter().map(|r| r.reason.as_str()).collect();
        let files: Vec<Option<&str>> = rows.iter().map(|r| r.file.as_deref()).collect();
        client
            .execute(
                &format!(
                    "INSERT INTO {q}.job_errors (job_id, seq, line, column_name, value, reason, file)
                     SELECT $1, (SELECT coalesce(max(seq), 0) FROM {q}.job_errors WHERE job_id = $1) + n, l, c, v, r, f
                     FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS x(l, c, v, r, f, n)"
                ),
                &[&job, &lines, &columns, &values, &reasons, &files],
            )
            .await?;
        Ok(())
    }
}
