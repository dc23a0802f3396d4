//! A schema of the test's own on the local PostgreSQL, holding both the service's tables
//! (cursors, rules) and the test's targets; dropped at the end.

use ingest_sources::cursor::{self, Cursor};
use tokio_postgres::Client;

pub struct Db {
    pub url: String,
    pub schema: String,
    client: Client,
}

impl Db {
    pub async fn new(name: &str) -> Db {
        let url = std::env::var("INGEST_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let schema = format!("it_{name}_{}", std::process::id());
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .unwrap();
        ingest_queue::migrate(&mut client, &ingest_queue::Schema::new(&schema).unwrap())
            .await
            .unwrap();
        Db {
            url,
            schema,
            client,
        }
    }

    pub async fn exec(&self, sql: &str) {
        self.client.batch_execute(sql).await.unwrap();
    }

    /// The first row of `sql`, every column as text.
    pub async fn query_one(&self, sql: &str) -> Vec<String> {
        let row = self.client.query_one(sql, &[]).await.unwrap();
        (0..row.len())
            .map(|i| row.get::<_, Option<String>>(i).unwrap_or_default())
            .collect()
    }

    /// Every row of `sql` (`{s}` is the schema), every value as text, NULL as `None`.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let sql = sql.replace("{s}", &self.schema);
        self.client
            .simple_query(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    }

    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        let sql = format!(
            "SELECT count(*) FROM {}.{table} WHERE {filter}",
            self.schema
        );
        self.client.query_one(&sql, &[]).await.unwrap().get(0)
    }

    pub async fn cursor(&self, source: &str) -> Option<Cursor> {
        cursor::load(&self.client, &format!("\"{}\"", self.schema), source)
            .await
            .unwrap()
    }

    pub async fn drop(self) {
        self.exec(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await;
    }
}
