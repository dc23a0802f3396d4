//! The same rows from every store: a real S3-compatible server (moto), a web server and
//! file:// URLs; and each way a store can fail leaves the table untouched.

use crate::fixtures::{
    az_env, az_upload, azurite_server, dataset, http_server, s3_env, s3_server, s3_upload,
};
use crate::formats::{ROWS, each_loads_like_reference, with_reference};
use crate::support::{TestDb, load_with_env};

#[test]
fn every_store_gives_the_rows_copy_gives() {
    let (mut db, dir) = with_reference("stores");
    let s3 = s3_server();
    // Every file of the dataset, from each store.
    let files = crate::formats::ALL_FILES;
    s3_upload(&s3, "landing", &dir, "2026/11/", &files);
    let web = http_server(&dir);
    let env = s3_env(&s3);
    let mut sources = Vec::new();
    for f in files {
        sources.push(format!("s3://landing/2026/11/{f}"));
        // No range requests on this server: Parquet is fetched whole, then read.
        sources.push(format!("{}/{f}", web.url()));
        sources.push(format!("file://{}", dir.join(f).display()));
        // A presigned URL: the query is sent as it is, with a plain GET.
        sources.push(format!(
            "{}/{f}?X-Amz-Signature=abc&X-Amz-Expires=60",
            web.url()
        ));
    }
    each_loads_like_reference(&mut db, &sources, &env);
}

#[test]
fn store_failures_are_clear_and_leave_the_table_untouched() {
    let dir = dataset(ROWS);
    let s3 = s3_server();
    s3_upload(&s3, "landing", &dir, "in/", &["data.csv.gz"]);
    let web = http_server(&dir);
    let env = s3_env(&s3);
    let mut db = TestDb::new("storefail");
    db.exec("create table {s}.t (id bigint, qty int); insert into {s}.t values (1, 1)");
    let t = db.t("t");
    let before = db.fingerprint(&t);
    let w = web.url();
    let cases: Vec<(String, Vec<&str>, i32, &str)> = vec![
        (
            "s3://landing/in/missing.csv".into(),
            vec![],
            2,
            "s3://landing/in/missing.csv: no such object",
        ),
        (
            "s3://nobucket/in/data.csv".into(),
            vec![],
            2,
            "no such object",
        ),
        (
            format!("{w}/missing.csv"),
            vec![],
            2,
            "/missing.csv: no such object",
        ),
        (
            format!("{w}/status/403/x.csv"),
            vec![],
            2,
            "access denied: check the credentials",
        ),
        (format!("{w}/status/500/x.csv"), vec![], 3, "500"),
        (
            format!("{w}/stall/x.csv"),
            vec!["--read-timeout", "2"],
            3,
            "/stall/x.csv: read error",
        ),
        (
            "gopher://host/x.csv".into(),
            vec![],
            2,
            "unknown scheme gopher://",
        ),
    ];
    for (src, args, code, message) in cases {
        let run = load_with_env(&src, &t, &args, &env);
        run.fails_with(code, message);
        assert_eq!(db.fingerprint(&t), before, "{src}");
    }
    // Credentials in a URL are used but never shown, nor a presigned URL's signature.
    let secret = format!(
        "http://etl:s3cr3t@127.0.0.1:{}/missing.csv?X-Amz-Signature=deadbeef",
        web.port
    );
    let run = load_with_env(&secret, &t, &["--json"], &env);
    run.fails_with(2, "no such object (HTTP 404 Not Found)");
    for leak in ["s3cr3t", "deadbeef"] {
        assert!(
            !run.stderr.contains(leak) && !run.stdout.contains(leak),
            "{leak} shown: {run:?}"
        );
    }
    assert!(
        run.stderr.contains("http://etl:***@127.0.0.1"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_glob_or_a_prefix_in_a_bucket_loads_every_match_at_once() {
    let dir = dataset(ROWS);
    let parts = crate::formats::split_parquet(&dir, 3);
    let s3 = s3_server();
    let names: Vec<&str> = parts.iter().map(String::as_str).collect();
    s3_upload(&s3, "landing", &dir, "2026/11/", &names);
    s3_upload(&s3, "landing", &dir, "2026/12/", &["data.parquet"]);
    let env = s3_env(&s3);
    let (mut db, _) = with_reference("s3glob");
    let sources = [
        "s3://landing/2026/11/part-*.parquet".to_string(),
        "s3://landing/2026/11/".to_string(),
    ];
    each_loads_like_reference(&mut db, &sources, &env);
    let t = db.t("t0");
    load_with_env("s3://landing/2027/*.parquet", &t, &[], &env)
        .fails_with(2, "s3://landing/2027/*.parquet: no file matches");
}

#[test]
fn azure_blob_storage_through_azurite() {
    let (mut db, dir) = with_reference("azure");
    let data = tempfile::tempdir().unwrap();
    let azurite = azurite_server(data.path());
    let files = [
        "data.parquet",
        "data.csv.gz",
        "data.avro",
        "data.xlsx",
        "data.ndjson.zst",
    ];
    az_upload(&azurite, "landing", &dir, "2026/11/", &files);
    let env = az_env(&azurite);
    let mut sources: Vec<String> = files
        .iter()
        .map(|f| format!("az://landing/2026/11/{f}"))
        .collect();
    sources.push("az://landing/2026/11/*.parquet".into());
    each_loads_like_reference(&mut db, &sources, &env);
    let t = db.t("t0");
    load_with_env("az://landing/2026/11/missing.csv", &t, &[], &env)
        .fails_with(2, "no such object");
}

#[test]
fn a_url_that_does_not_parse_still_hides_its_password() {
    let mut db = TestDb::new("badurl");
    db.exec("create table {s}.t (id int)");
    let t = db.t("t");
    let run = load_with_env(
        "https://etl:s3cr3t@example.com:99999/x.csv?sig=deadbeef",
        &t,
        &["--json"],
        &[],
    );
    run.fails_with(2, "https://***@example.com:99999/x.csv?…");
    for leak in ["s3cr3t", "deadbeef"] {
        assert!(
            !run.stderr.contains(leak) && !run.stdout.contains(leak),
            "{leak} shown: {run:?}"
        );
    }
}
