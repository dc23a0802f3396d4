//! `ingest export`: every supported type survives Parquet and comes back identical through
//! `ingest load`; pyarrow reads the types faithfully; CSV and NDJSON give the rows; a
//! bucket on a real S3-compatible server takes the file; and what cannot be exported is
//! refused clearly, leaving nothing under the destination's name.

use std::process::Command;

use crate::fixtures::{python, s3_env, s3_server, s3_upload};
use crate::support::{Run, TestDb, database_url, load, load_with_env, run};

fn export(args: &[&str]) -> Run {
    export_with_env(args, &[])
}

fn export_with_env(args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("export")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("DATABASE_URL", database_url());
    run(&mut cmd)
}

/// A table with every type export takes, NULLs and edge values included.
fn every_type(db: &mut TestDb, name: &str) {
    db.exec(&format!(
        "create type {{s}}.mood as enum ('sad', 'ok', 'happy');
         create table {{s}}.{name} (
           id int primary key, b bool, i2 int2, i8 int8, f4 float4, f8 float8,
           price numeric(12,2), big numeric(38,10), t text, v varchar(10), c char(3),
           j json, jb jsonb, raw bytea, u uuid, d date, ts timestamp, tz timestamptz,
           tm time, m {{s}}.mood)"
    ));
    db.exec(&format!(
        "insert into {{s}}.{name} values
          (1, true, -32768, 9223372036854775807, 1.5, -2.25e300, -1234567890.12,
           1234567890123456789012345678.0123456789, 'olá, \"mundo\"', 'ação', 'ab',
           '{{\"a\": [1, 2]}}', '{{\"b\": {{\"c\": null}}}}', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
           '1999-12-31', '2026-11-23 10:20:30.123456', '2026-11-23 10:20:30.5+03', '23:59:59.999999', 'happy'),
          (2, false, 0, -1, 0, 0, 0, -0.0000000001, '', '', '', 'null', '[]', '\\x', '00000000-0000-0000-0000-000000000000',
           '0001-01-01', '1900-01-01 00:00:00', '1970-01-01 00:00:00+00', '00:00:00', 'sad'),
          (3, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
           null, null, null, null, null)"
    ));
}

#[test]
fn parquet_round_trips_every_type_and_pyarrow_reads_them() {
    let mut db = TestDb::new("export");
    every_type(&mut db, "src");
    db.exec("create table {s}.back (like {s}.src)");
    let (src, back) = (db.t("src"), db.t("back"));
    let file = db.dir.path().join("out.parquet");
    let f = file.to_str().unwrap();
    let out = export(&["--table", &src, "--to", f, "--json"]);
    out.ok();
    let summary = out.json();
    assert_eq!(
        (summary["rows"].as_u64(), summary["format"].as_str()),
        (Some(3), Some("parquet"))
    );
    load(f, &back, &[]).ok();
    assert_eq!(db.fingerprint(&back), db.fingerprint(&src));
    // An independent reader sees the types a BI tool expects.
    let script = format!(
        "import pyarrow.parquet as pq\n\
         s = pq.read_schema('{f}')\n\
         for n in ['price', 'big', 'ts', 'tz', 'u', 'd', 'tm', 'm', 'jb', 'raw', 'i2', 'f4']:\n\
         \x20   print(n, s.field(n).type)\n\
         md = pq.ParquetFile('{f}').metadata\n\
         print('rows', md.num_rows, 'stats', md.row_group(0).column(0).statistics.has_min_max)\n\
         print('codec', md.row_group(0).column(0).compression)\n\
         print('logical', pq.ParquetFile('{f}').schema.column(14).logical_type, pq.ParquetFile('{f}').schema.column(12).logical_type)"
    );
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "price decimal128(12, 2)",
        "big decimal128(38, 10)",
        "ts timestamp[us]",
        "tz timestamp[us, tz=UTC]",
        "d date32[day]",
        "tm time64[us]",
        "m dictionary<values=string, indices=int32",
        "raw binary",
        "i2 int16",
        "f4 float",
        "rows 3 stats True",
        "codec ZSTD",
        "logical UUID JSON",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
}

#[test]
fn csv_and_ndjson_give_the_rows_and_compress_by_name() {
    let mut db = TestDb::new("exporttext");
    every_type(&mut db, "src");
    db.exec("create table {s}.back (like {s}.src)");
    let (src, back) = (db.t("src"), db.t("back"));
    let csv = db.dir.path().join("out.csv.gz");
    let out = export(&["--table", &src, "--to", csv.to_str().unwrap(), "--json"]);
    assert_eq!(out.ok().json()["rows"], 3);
    load(&csv, &back, &[]).ok();
    assert_eq!(db.fingerprint(&back), db.fingerprint(&src));
    // A query to NDJSON (zstd): one object per row, the query's columns only.
    let nd = db.dir.path().join("q.ndjson.zst");
    let query = format!("select id, t, jb from {src} where id <= 2 order by id");
    let out = export(&["--query", &query, "--to", nd.to_str().unwrap(), "--json"]);
    assert_eq!(out.ok().json()["rows"], 2);
    let text = zstd::decode_all(std::fs::File::open(&nd).unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(text)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["t"], "olá, \"mundo\"");
    assert_eq!(lines[0]["jb"]["b"]["c"], serde_json::Value::Null);
    assert_eq!(lines[1]["id"], 2);
    // A `;` delimiter for a spreadsheet.
    let semi = db.dir.path().join("semi.csv");
    export(&[
        "--query",
        "select 1 as a, 'x;y' as b",
        "--to",
        semi.to_str().unwrap(),
        "--delimiter",
        ";",
    ])
    .ok();
    assert_eq!(std::fs::read_to_string(&semi).unwrap(), "a;b\n1;\"x;y\"\n");
}

#[test]
fn export_to_a_bucket_loads_back_identical() {
    let mut db = TestDb::new("exports3");
    every_type(&mut db, "src");
    db.exec("create table {s}.back (like {s}.src)");
    let (src, back) = (db.t("src"), db.t("back"));
    let s3 = s3_server();
    s3_upload(&s3, "lake", db.dir.path(), "", &[]);
    let env = s3_env(&s3);
    let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
    let url = "s3://lake/exports/src.parquet";
    export_with_env(&["--table", &src, "--to", url], &env).ok();
    load_with_env(url, &back, &[], &env).ok();
    assert_eq!(db.fingerprint(&back), db.fingerprint(&src));
}

#[test]
fn what_cannot_be_exported_is_refused_and_leaves_nothing() {
    let mut db = TestDb::new("exportbad");
    db.exec("create table {s}.t (id int, amount numeric); insert into {s}.t values (1, 1.5)");
    let t = db.t("t");
    let dir = db.dir.path().to_path_buf();
    let dir = dir.as_path();
    let to = dir.join("out.parquet");
    let to = to.to_str().unwrap();
    let nothing_left = || {
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    };
    export(&["--table", &format!("{}.nope", db.schema), "--to", to]).fails_with(2, "no table");
    export(&["--query", "select from where", "--to", to]).fails_with(2, "syntax error");
    export(&[
        "--query",
        &format!("insert into {t} values (2, 2)"),
        "--to",
        to,
    ])
    .fails_with(2, "read-only");
    export(&[
        "--query",
        &format!("with d as (delete from {t} returning *) select * from d"),
        "--to",
        to,
    ])
    .fails_with(2, "read-only");
    assert_eq!(db.value(&format!("select count(*) from {t}")), "1");
    // Unconstrained numeric wider than decimal128: refused with the way out, which works.
    db.exec(
        "create table {s}.wide (id int, amount numeric); insert into {s}.wide values (1, 1e40)",
    );
    let wide = db.t("wide");
    export(&["--table", &wide, "--to", to]).fails_with(2, "--numeric-as text");
    nothing_left();
    // A destination that cannot be written.
    export(&[
        "--table",
        &t,
        "--to",
        &format!("{}/no/such/dir/x.csv", dir.display()),
    ])
    .fails_with(2, "no directory");
    export(&[
        "--table",
        &t,
        "--to",
        &format!("{}/x.unknown", dir.display()),
    ])
    .fails_with(2, "--format");
    // A query that fails after rows were written: no file, no temporary left.
    export(&[
        "--query",
        "select i, 1 / (i - 50000) from generate_series(1, 100000) i",
        "--to",
        to,
    ])
    .fails_with(2, "division by zero");
    export(&[
        "--query",
        "select i, 1 / (i - 50000) from generate_series(1, 100000) i",
        "--to",
        &format!("{}/x.csv", dir.display()),
    ])
    .fails_with(2, "division by zero");
    nothing_left();
    export(&["--table", &wide, "--to", to, "--numeric-as", "text"]).ok();
    db.exec("create table {s}.back (id int, amount text)");
    load(to, &db.t("back"), &[]).ok();
    assert_eq!(
        db.value(&format!("select amount from {}", db.t("back"))),
        format!("1{}", "0".repeat(40))
    );
    // numeric(2,5): a scale past its precision (values under 0.001) still exports.
    let tiny = dir.join("tiny.parquet");
    export(&[
        "--query",
        "select 0.00012::numeric(2,5) as x",
        "--to",
        tiny.to_str().unwrap(),
    ])
    .ok();
    // Narrower values: a decimal128 just wide enough, exact.
    db.exec("insert into {s}.t values (2, -123456.000789), (3, null)");
    export(&["--table", &t, "--to", to]).ok();
    db.exec("create table {s}.back2 (id int, amount numeric)");
    load(to, &db.t("back2"), &[]).ok();
    // Equal values (a decimal has one scale: 1.5 comes back as 1.500000).
    let same = db.value(&format!(
        "select count(*) from {t} a join {} b using (id) where a.amount is not distinct from b.amount",
        db.t("back2")
    ));
    assert_eq!(same, "3");
    let script =
        format!("import pyarrow.parquet as pq; print(pq.read_schema('{to}').field('amount').type)");
    let out = Command::new(python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "decimal128(12, 6)"
    );
}

#[test]
fn partitioned_and_split_exports_write_hive_directories_and_a_manifest() {
    let mut db = TestDb::new("exportpart");
    db.exec(
        "create table {s}.src (id int primary key, status text, at timestamptz);
         insert into {s}.src
           select i, case when i % 3 = 0 then 'pago' else 'a/b' end,
                  case when i % 10 = 0 then null
                       else timestamptz '2026-01-31 23:30:00+00' + (i % 3) * interval '1 month' end
           from generate_series(1, 1000) i",
    );
    db.exec("create table {s}.back (like {s}.src)");
    let (src, back) = (db.t("src"), db.t("back"));
    let dir = db.dir.path().join("lake");
    let to = format!("{}/", dir.display());
    let out = export(&[
        "--table",
        &src,
        "--to",
        &to,
        "--partition-by",
        "at:month",
        "--json",
    ]);
    let summary = out.ok().json();
    let mut paths: Vec<String> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    // UTC months; NULL in Hive's default partition.
    assert_eq!(
        paths,
        [
            "at=2026-01/part-0000.parquet",
            "at=2026-02/part-0000.parquet",
            "at=2026-03/part-0000.parquet",
            "at=__HIVE_DEFAULT_PARTITION__/part-0000.parquet",
        ]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("_manifest.json")).unwrap())
            .unwrap();
    let listed: u64 = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rows"].as_u64().unwrap())
        .sum();
    assert_eq!((listed, manifest["rows"].as_u64()), (1000, Some(1000)));
    assert!(manifest["snapshot_at"].is_string());
    load(format!("{}/**/*.parquet", dir.display()), &back, &[]).ok();
    assert_eq!(db.fingerprint(&back), db.fingerprint(&src));
    // '' and NULL share Hive's default partition: one directory, parts numbered on.
    db.exec("update {s}.src set status = '' where id = 1; update {s}.src set status = null where id = 2");
    let blank = db.dir.path().join("blank");
    export(&[
        "--table",
        &src,
        "--to",
        blank.to_str().unwrap(),
        "--partition-by",
        "status",
    ])
    .ok();
    let default = blank.join("status=__HIVE_DEFAULT_PARTITION__");
    let parts = std::fs::read_dir(&default).unwrap().count();
    assert_eq!(parts, 1, "one file for '' and NULL together");
    db.exec("truncate {s}.back");
    load(format!("{}/**/*.parquet", blank.display()), &back, &[]).ok();
    assert_eq!(db.value(&format!("select count(*) from {back}")), "1000");
    // A value with a slash is one escaped directory, not two.
    let by_status = db.dir.path().join("by_status");
    export(&[
        "--table",
        &src,
        "--to",
        by_status.to_str().unwrap(),
        "--partition-by",
        "status",
    ])
    .ok();
    assert!(by_status.join("status=a%2Fb/part-0000.parquet").is_file());
    assert!(by_status.join("status=pago/part-0000.parquet").is_file());
    // Size-capped parts: each batch of rows past the cap starts a new file.
    db.exec("insert into {s}.src select i, 'x', null from generate_series(1001, 200000) i");
    let parts = db.dir.path().join("parts");
    let out = export(&[
        "--table",
        &src,
        "--to",
        parts.to_str().unwrap(),
        "--max-file-size",
        "64k",
        "--json",
    ]);
    let files = out.ok().json()["files"].as_array().unwrap().len();
    assert!(files >= 3, "{files} files");
    db.exec("truncate {s}.back");
    load(format!("{}/*.parquet", parts.display()), &back, &[]).ok();
    assert_eq!(db.fingerprint(&back), db.fingerprint(&src));
    // Refusals.
    export(&["--table", &src, "--to", &to, "--partition-by", "nope"])
        .fails_with(2, "no such column");
    export(&[
        "--table",
        &src,
        "--to",
        &to,
        "--partition-by",
        "status:month",
    ])
    .fails_with(2, "date or timestamp");
    export(&["--table", &src, "--to", "x.csv", "--partition-by", "status"])
        .fails_with(2, "Parquet only");
}

#[test]
fn brazilian_csv_has_decimal_commas_day_first_dates_and_windows_1252() {
    let mut db = TestDb::new("exportbr");
    db.exec(
        "create table {s}.src (id int, cliente text, valor numeric(10,2), taxa float8, dia date, quando timestamp);
         insert into {s}.src values
           (1, 'João; \"Ação\"', 1234.5, 0.25, '2026-11-23', '2026-11-23 08:05:09'),
           (2, null, -0.01, null, null, '2026-01-02 03:04:05.25')",
    );
    db.exec("create table {s}.back (like {s}.src)");
    let (src, back) = (db.t("src"), db.t("back"));
    let file = db.dir.path().join("pedidos.csv");
    let f = file.to_str().unwrap();
    export(&[
        "--table",
        &src,
        "--to",
        f,
        "--locale",
        "pt-BR",
        "--encoding",
        "windows-1252",
    ])
    .ok();
    let bytes = std::fs::read(&file).unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert!(!bad);
    assert!(
        bytes.windows(2).any(|w| w == [0xe3, b'o']),
        "ã is one Windows-1252 byte"
    );
    assert_eq!(
        text,
        "id;cliente;valor;taxa;dia;quando\n\
         1;\"João; \"\"Ação\"\"\";1234,50;0,25;23/11/2026;23/11/2026 08:05:09\n\
         2;;-0,01;;;02/01/2026 03:04:05.25\n"
    );
    // And `ingest load --locale pt-BR` reads it back as it was.
    load(f, &back, &["--locale", "pt-BR"]).ok();
    assert_eq!(db.fingerprint(&back), db.fingerprint(&src));
    // A character Windows-1252 cannot hold is an error, not a question mark.
    db.exec("insert into {s}.src values (3, '日本', 1, 1, null, null)");
    export(&["--table", &src, "--to", f, "--encoding", "windows-1252"]).fails_with(2, "WIN1252");
    export(&["--table", &src, "--to", "x.parquet", "--locale", "pt-BR"]).fails_with(2, "CSV");
}

#[test]
fn arrays_become_lists_and_come_back() {
    let mut db = TestDb::new("exportarr");
    db.exec(
        "create table {s}.src (id int, ints int[], words text[], prices numeric(10,2)[],
                               days date[], ids uuid[], amounts numeric[]);
         insert into {s}.src values
           (1, '{1,2,3}', '{\"a, b\",\"c\\\"d\",null}', '{1.50,-2.00}', '{2026-01-01}',
            '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{1.5,2}'),
           (2, '{}', '{}', null, '{null}', '{}', null),
           (3, null, null, '{}', null, null, '{}')",
    );
    let src = db.t("src");
    let file = db.dir.path().join("arr.parquet");
    let f = file.to_str().unwrap();
    // Unconstrained numeric[] needs a decision; as text it goes.
    export(&["--table", &src, "--to", f]).fails_with(2, "--numeric-as text");
    export(&["--table", &src, "--to", f, "--numeric-as", "text"]).ok();
    db.exec("create table {s}.back (like {s}.src); alter table {s}.back alter amounts type text[]");
    db.exec("alter table {s}.src alter amounts type text[]");
    load(f, &db.t("back"), &[]).ok();
    assert_eq!(db.fingerprint(&db.t("back")), db.fingerprint(&src));
    let script = format!(
        "import pyarrow.parquet as pq\ns = pq.read_schema('{f}')\nprint(s.field('ints').type, '|', s.field('prices').type, '|', s.field('words').type)"
    );
    let out = Command::new(python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "list<item: int32> | list<item: decimal128(10, 2)> | list<item: string>"
    );
    // Two dimensions: refused with the way out.
    db.exec("create table {s}.grid (g int[][]); insert into {s}.grid values ('{{1,2},{3,4}}')");
    export(&["--table", &db.t("grid"), "--to", f]).fails_with(2, "dimensions");
}

#[test]
fn several_readers_share_one_snapshot_and_miss_no_row() {
    let mut db = TestDb::new("exportreaders");
    db.exec(
        "create table {s}.src (id int, pad text);
         insert into {s}.src select i, repeat('x', 200) from generate_series(1, 30000) i;
         delete from {s}.src where id % 7 = 0;
         insert into {s}.src select i, 'late' from generate_series(30001, 30100) i",
    );
    db.exec("create table {s}.back (like {s}.src)");
    let (src, back) = (db.t("src"), db.t("back"));
    let file = db.dir.path().join("r.parquet");
    let out = export(&[
        "--table",
        &src,
        "--to",
        file.to_str().unwrap(),
        "--readers",
        "3",
        "--json",
    ]);
    let rows = db.value(&format!("select count(*) from {src}"));
    assert_eq!(out.ok().json()["rows"].to_string(), rows);
    load(&file, &back, &[]).ok();
    assert_eq!(db.fingerprint(&back), db.fingerprint(&src));
}
