//! A schema per test, the binary, and a reference loader (server-side `COPY … CSV`).

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls, SimpleQueryMessage};

pub fn database_url() -> String {
    std::env::var("INGEST_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A schema of its own in the test database, and a temp dir for files.
pub struct TestDb {
    pub client: Client,
    pub schema: String,
    pub dir: tempfile::TempDir,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub fn new(name: &str) -> TestDb {
        let mut client = Client::connect(&database_url(), NoTls)
            .expect("PostgreSQL for tests (run scripts/test.sh, or set INGEST_TEST_DATABASE_URL)");
        let schema = format!(
            "it_{name}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .unwrap();
        TestDb {
            client,
            schema,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// `schema.name`, for SQL and for `--into`.
    pub fn t(&self, name: &str) -> String {
        format!("{}.{name}", self.schema)
    }

    pub fn exec(&mut self, sql: &str) {
        let sql = sql.replace("{s}", &self.schema);
        self.client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// All rows of a query as text (NULL as `None`).
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let sql = sql.replace("{s}", &self.schema);
        self.client
            .simple_query(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    }

    /// One value of a query, as text.
    pub fn value(&mut self, sql: &str) -> String {
        self.rows(sql)[0][0]
            .clone()
            .unwrap_or_else(|| "NULL".into())
    }

    /// A fingerprint of a table's contents: row count and an order-independent hash.
    pub fn fingerprint(&mut self, table: &str) -> String {
        self.value(&format!(
            "select count(*) || ':' || coalesce(sum(hashtext(t::text)::bigint), 0) from {table} t"
        ))
    }

    /// Writes a file in the test's directory.
    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content.as_ref())
            .unwrap();
        path
    }

    /// Loads `file` into `table` with the server's own CSV parser: the reference result.
    pub fn copy_csv(&mut self, table: &str, file: &Path, options: &str) {
        let data = std::fs::read(file).unwrap();
        let mut w = self
            .client
            .copy_in(&format!(
                "COPY {table} FROM STDIN (FORMAT csv, HEADER true{options})"
            ))
            .unwrap();
        w.write_all(&data).unwrap();
        w.finish().unwrap();
    }

    /// True when both tables hold the same multiset of rows.
    pub fn same_rows(&mut self, a: &str, b: &str) -> bool {
        self.value(&format!(
            "select (select count(*) from (select * from {a} except all select * from {b}) x)
                  + (select count(*) from (select * from {b} except all select * from {a}) y)"
        )) == "0"
    }

    /// Runs `ingest load FILE --into TABLE ARGS…` against the test database.
    pub fn load(&self, file: impl AsRef<OsStr>, table: &str, args: &[&str]) -> Run {
        load(file, table, args)
    }

    /// Starts `ingest load …` without waiting for it, stdout and stderr piped. Its backend
    /// is named after the test's schema, so the test can watch it among other tests' loads
    /// (see [`TestDb::backends`]).
    pub fn spawn_load(&self, file: &Path, table: &str, args: &[&str]) -> Child {
        let url = format!("{}?application_name={}", database_url(), self.schema);
        Command::new(env!("CARGO_BIN_EXE_ingest"))
            .arg("load")
            .arg(file)
            .args(["--into", table])
            .args(args)
            .env("DATABASE_URL", url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// SQL counting the backends of this test's spawned loads that match `filter`.
    pub fn backends(&self, filter: &str) -> String {
        format!(
            "select count(*) from pg_stat_activity where application_name = '{}' and {filter}",
            self.schema
        )
    }

    /// Polls `count_sql` until `done` holds for its value; fails after `within`, saying
    /// `what`.
    pub fn wait_until(
        &mut self,
        count_sql: &str,
        done: impl Fn(&str) -> bool,
        within: Duration,
        what: &str,
    ) {
        let deadline = Instant::now() + within;
        while !done(&self.value(count_sql)) {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `--json` summary.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    #[track_caller]
    pub fn fails_with(&self, code: i32, message: &str) -> &Self {
        assert_eq!(self.code, code, "exit code: {self:#?}");
        assert!(
            self.stderr.contains(message),
            "stderr lacks {message:?}: {}",
            self.stderr
        );
        self
    }
}

/// Runs `ingest load FILE --into TABLE ARGS…` against the test database.
pub fn load(file: impl AsRef<OsStr>, table: &str, args: &[&str]) -> Run {
    load_with_env(file, table, args, &[])
}

/// [`load`] with extra environment variables (a store's endpoint and credentials).
pub fn load_with_env(
    file: impl AsRef<OsStr>,
    table: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("load")
        .arg(file)
        .arg("--into")
        .arg(table)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)));
    run(cmd.env("DATABASE_URL", database_url()))
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run ingest");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}
