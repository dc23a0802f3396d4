//! Uploads into the configured store, and the command-line client.

use std::process::Command;

use super::*;
use crate::fixtures::{python, s3_env, s3_server, s3_upload};
use crate::support::TestDb;

#[test]
fn uploads_stream_into_the_configured_store() {
    let mut db = TestDb::new("apistore");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, note text not null)");
    let t = db.t("t");
    let s3 = s3_server();
    s3_upload(&s3, "ingest-up", db.dir.path(), "", &[]);
    let env = s3_env(&s3);
    let srv = serve_with(
        &db,
        &queue,
        &["--store-url", "s3://ingest-up/uploads/"],
        &env,
    );
    let p = srv.port;
    // 12 MB: more than one part of a multipart upload.
    let rows = 200_000;
    let mut body = String::from("id,note\n");
    for i in 0..rows {
        body.push_str(&format!("{i},{:0>56}\n", i));
    }
    let request = format!(r#"{{"source": {{"upload": true}}, "target": {{"table": "{t}"}}}}"#);
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[("content-type", "application/json")],
        request.as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    let id = json(&created)["id"].as_str().unwrap().to_string();
    let (status, _, queued) = http(
        p,
        "PUT",
        &format!("/v1/jobs/{id}/data"),
        &[],
        body.as_bytes(),
    );
    assert_eq!(status, 202, "{queued}");
    // The worker read it from the bucket, by the URL the job now names.
    let url = json(&queued)["source"]["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("s3://ingest-up/uploads/{id}-")) && url.ends_with(".csv"),
        "{url}"
    );
    let done = wait_end(p, &id);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        db.value(&format!("select count(*) || ' ' || max(id) from {t}")),
        format!("{rows} {}", rows - 1)
    );
    // And the object is gone once the job succeeded.
    let listed = Command::new(python())
        .args(["-c", "import boto3; print(boto3.client('s3').list_objects_v2(Bucket='ingest-up').get('KeyCount'))"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "0");
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

#[test]
fn the_command_line_client_submits_follows_and_downloads() {
    let mut db = TestDb::new("apicli");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, qty int not null, price numeric(10,2))");
    let t = db.t("t");
    let srv = serve(&db, &queue);
    let p = srv.port;
    // A Brazilian file, compressed: uploaded as gzip, and as zstd (told by an option).
    let csv = db.file("in.csv", "id;qty;price\n1;10;1,50\n2;20;2,25\n");
    let status = Command::new("gzip").arg("-k").arg(&csv).status().unwrap();
    assert!(status.success());
    let gz = format!("{}.gz", csv.display());
    let (code, out, err) = client(
        p,
        &[
            "submit",
            &gz,
            "--into",
            &t,
            "--key",
            "id",
            "--mode",
            "upsert",
            "-o",
            "locale=pt-BR",
            "--wait",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let job = json(&out);
    assert_eq!(
        (
            job["state"].as_str(),
            job["stats"]["rows_inserted"].as_u64()
        ),
        (Some("succeeded"), Some(2))
    );
    let zst = db.file("more.csv", "id;qty;price\n2;21;3,00\n3;30;4,75\n");
    let compressed = zstd::encode_all(std::fs::read(&zst).unwrap().as_slice(), 3).unwrap();
    std::fs::write(format!("{}.zst", zst.display()), compressed).unwrap();
    let (code, id, err) = client(
        p,
        &[
            "submit",
            &format!("{}.zst", zst.display()),
            "--into",
            &t,
            "--mode",
            "upsert",
            "-o",
            "locale=pt-BR",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let id = id.trim().to_string();
    let (code, out, err) = client(p, &["wait", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["stats"]["rows_updated"], 1);
    assert_eq!(
        db.value(&format!(
            "select string_agg(id || ':' || qty || ':' || price, ' ' order by id) from {t}"
        )),
        "1:10:1.50 2:21:3.00 3:30:4.75"
    );
    // A bad file: `wait` exits 1 with the reason; `errors` gives the rejected rows.
    let before = db.fingerprint(&t);
    let bad = db.file("bad.csv", "id,qty\n9,nine\n");
    let (code, id, _) = client(p, &["submit", &bad.display().to_string(), "--into", &t]);
    assert_eq!(code, 0);
    let id = id.trim().to_string();
    let (code, out, err) = client(p, &["wait", &id]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("failed"), "{err}");
    assert_eq!(db.fingerprint(&t), before);
    let (code, rejects, _) = client(p, &["errors", &id, "--format", "ndjson"]);
    assert_eq!(code, 0);
    assert_eq!(json(rejects.trim())["value"], "nine");
    let (code, out, _) = client(p, &["status", &id]);
    assert_eq!((code, json(&out)["state"].as_str()), (0, Some("failed")));
    // What the API refuses, the client says, with exit code 2; no API at all is 3.
    let (code, _, err) = client(p, &["cancel", &id]);
    assert_eq!(code, 2);
    assert!(
        err.contains("409") && err.contains("already failed"),
        "{err}"
    );
    let (code, _, err) = client(
        p,
        &["submit", "s3://b/x.csv", "--into", &t, "-o", "colour=red"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--colour"), "{err}");
    let (code, _, err) = client(p, &["submit", "/no/such.csv", "--into", &t]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
    drop(srv);
    let (code, _, err) = client(p, &["status", &id]);
    assert_eq!(code, 3, "{err}");
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}
