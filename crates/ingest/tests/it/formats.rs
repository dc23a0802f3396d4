//! Every format and codec gives the rows PostgreSQL's own COPY gives for the CSV.

use crate::fixtures::{dataset, py};
use crate::support::{TestDb, load_with_env};

pub const DDL: &str =
    "(id bigint primary key, qty integer, amount numeric(12,2), ratio double precision,
    seen_at timestamptz, day date, flag boolean, name text)";
pub const ROWS: usize = 3000;

/// A test database with the reference table `ref` loaded by COPY from data.csv.
pub fn with_reference(name: &str) -> (TestDb, std::path::PathBuf) {
    let dir = dataset(ROWS);
    let mut db = TestDb::new(name);
    db.exec(&format!("create table {{s}}.ref {DDL}"));
    db.exec("set timezone = 'UTC'");
    db.copy_csv(&db.t("ref"), &dir.join("data.csv"), "");
    (db, dir)
}

/// Loads each source (with `env` set) into a fresh table `t{i}` of [`DDL`] and checks
/// it holds exactly the rows of `ref`, loaded by COPY from the CSV.
#[track_caller]
pub fn each_loads_like_reference(db: &mut TestDb, sources: &[String], env: &[(&str, String)]) {
    for (i, src) in sources.iter().enumerate() {
        let t = db.t(&format!("t{i}"));
        db.exec(&format!("create table {t} {DDL}"));
        let run = load_with_env(src, &t, &["--timezone", "UTC", "--json"], env);
        run.ok();
        assert_eq!(run.json()["rows_inserted"], ROWS as u64, "{src}");
        assert!(
            db.same_rows(&db.t("ref"), &t),
            "{src}: rows differ from COPY of the CSV"
        );
    }
}

#[track_caller]
fn loads_the_same_rows(files: &[&str]) {
    let (mut db, dir) = with_reference("conf");
    assert_eq!(
        db.value(&format!("select count(*) from {}", db.t("ref"))),
        ROWS.to_string()
    );
    let sources: Vec<String> = files
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    each_loads_like_reference(&mut db, &sources, &[]);
}

/// Every file `tests/fixtures/dataset.py` writes.
pub const ALL_FILES: [&str; 13] = [
    "data.csv",
    "data.ndjson",
    "data.json",
    "data.csv.gz",
    "data.csv.bz2",
    "data.ndjson.zst",
    "data.json.xz",
    "data.parquet",
    "data_snappy.parquet",
    "data.avro",
    "data_null.avro",
    "data_snappy.avro",
    "data.xlsx",
];

#[test]
fn text_formats_and_codecs_give_the_rows_copy_gives() {
    loads_the_same_rows(&ALL_FILES[..7]);
}

#[test]
fn typed_formats_give_the_rows_copy_gives() {
    loads_the_same_rows(&ALL_FILES[7..]);
}

#[test]
fn a_gzip_bomb_is_refused_and_the_table_untouched() {
    let mut db = TestDb::new("bomb");
    db.exec("create table {s}.t (a text); insert into {s}.t values ('seed')");
    let bomb = db.dir.path().join("bomb.csv.gz");
    // 200 MiB of one repeated line, gzip'd by Python: about 200 KiB.
    py(
        "import gzip,sys\nwith gzip.open(sys.argv[1],'wb') as f:\n f.write(b'a\\n')\n for _ in range(200): f.write(b'x'*(1<<20))",
        &[bomb.to_str().unwrap()],
    );
    let t = db.t("t");
    let before = db.fingerprint(&t);
    let run = db.load(&bomb, &t, &[]);
    run.fails_with(1, "bomb.csv.gz");
    run.fails_with(1, "--max-compression-ratio");
    assert_eq!(db.fingerprint(&t), before);
    // A lower absolute cap names its own option.
    let run = db.load(&bomb, &t, &["--max-decompressed-bytes", "1000000"]);
    run.fails_with(1, "--max-decompressed-bytes");
    assert_eq!(db.fingerprint(&t), before);
}

#[test]
fn format_and_codec_errors_name_the_file() {
    let mut db = TestDb::new("fmterr");
    db.exec("create table {s}.t (a text); insert into {s}.t values ('seed')");
    let t = db.t("t");
    let before = db.fingerprint(&t);
    let unknown = db.file("dump.bin", "a\n1\n");
    db.load(&unknown, &t, &[]).fails_with(
        2,
        "dump.bin: cannot tell the format of \"dump.bin\" from its extension .bin; pass --format",
    );
    // --format overrides the name.
    db.load(&unknown, &t, &["--format", "csv"]).ok();
    assert_eq!(db.value(&format!("select count(*) from {t}")), "2");
    let before_more = db.fingerprint(&t);
    let fake_gz = db.file("plain.csv.gz", "a\n1\n");
    db.load(&fake_gz, &t, &[]).fails_with(
        1,
        "plain.csv.gz: the name says gzip but the content is not gzip",
    );
    let gz_as_csv = db.file("zipped.csv", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    db.load(&gz_as_csv, &t, &[]).fails_with(
        1,
        "zipped.csv: the name says CSV but the content is a gzip stream",
    );
    let parquet_as_json = db.file("x.json", b"PAR1\x15\x04");
    db.load(&parquet_as_json, &t, &[]).fails_with(
        1,
        "x.json: the name says JSON but the content is a Parquet file",
    );
    let not_parquet = db.file("x.parquet", "a,b\n1,2\n");
    db.load(&not_parquet, &t, &[])
        .fails_with(1, "x.parquet: not a Parquet file");
    let corrupt = db.file(
        "broken.ndjson.gz",
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff],
    );
    db.load(&corrupt, &t, &[])
        .fails_with(1, "broken.ndjson.gz: read error");
    assert_eq!(db.fingerprint(&t), before_more);
    assert_ne!(before, before_more);
}

#[test]
fn json_rejects_name_their_line_and_nothing_is_lost() {
    let mut db = TestDb::new("jsonrej");
    db.exec("create table {s}.t (id int primary key, name text not null, tags jsonb); insert into {s}.t values (0, 'seed', null)");
    let t = db.t("t");
    let before = db.fingerprint(&t);
    let file = db.file(
        "events.ndjson",
        "{\"id\": 1, \"name\": \"a\", \"tags\": {\"k\": [1, 2]}}\n{\"id\": \"x\", \"name\": \"b\"}\n{\"id\": 3, \"name\": null}\nnot json\n{\"id\": 5, \"name\": \"\"}\n",
    );
    let run = db.load(&file, &t, &[]);
    run.fails_with(1, "events.ndjson: 3 rows rejected");
    assert!(run.stderr.contains("line 2, column id"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 3, column name: null in a NOT NULL column"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 4: invalid JSON"),
        "{}",
        run.stderr
    );
    assert_eq!(db.fingerprint(&t), before);
    db.load(&file, &t, &["--max-errors", "3"]).ok();
    assert_eq!(
        db.rows(&format!(
            "select id::text, name, tags::text from {t} where id > 0 order by id"
        )),
        [
            [
                Some("1".into()),
                Some("a".into()),
                Some("{\"k\": [1, 2]}".into())
            ],
            [Some("5".into()), Some("".into()), None],
        ]
    );
}

#[test]
fn a_quoted_null_marker_is_a_value_as_in_copy() {
    let mut db = TestDb::new("quotednull");
    db.exec("create table {s}.a (id int, v text); create table {s}.b (id int, v text)");
    let file = db.file("q.csv", "id,v\n1,\n2,\"\"\n3,\\N\n4,\"\\N\"\n");
    for (args, copy_opts) in [(vec![], ""), (vec!["--null", "\\N"], ", NULL '\\N'")] {
        db.exec("truncate {s}.a; truncate {s}.b");
        db.copy_csv(&db.t("a"), &file, copy_opts);
        db.load(&file, &db.t("b"), &args).ok();
        assert!(db.same_rows(&db.t("a"), &db.t("b")), "{args:?}");
    }
    // Checked against COPY above; spelled out here for the last run (--null \\N).
    assert_eq!(
        db.rows("select v from {s}.b order by id"),
        [Some("".into()), Some("".into()), None, Some("\\N".into())].map(|v| vec![v])
    );
}

/// Splits data.parquet into `n` files `part-K.parquet` (pyarrow), returning their names.
pub fn split_parquet(dir: &std::path::Path, n: usize) -> Vec<String> {
    py(
        "import sys,pyarrow.parquet as pq\nd,n=sys.argv[1],int(sys.argv[2])\nt=pq.read_table(d+'/data.parquet')\nk=-(-t.num_rows//n)\nfor i in range(n): pq.write_table(t.slice(i*k,k),f'{d}/part-{i}.parquet')",
        &[dir.to_str().unwrap(), &n.to_string()],
    );
    (0..n).map(|i| format!("part-{i}.parquet")).collect()
}

#[test]
fn a_local_glob_is_one_atomic_load() {
    let mut db = TestDb::new("localglob");
    db.exec("create table {s}.t (id int primary key, v text not null); insert into {s}.t values (0, 'seed')");
    let t = db.t("t");
    std::fs::create_dir_all(db.dir.path().join("in/sub")).unwrap();
    db.file("in/a.csv", "id,v\n1,a\n2,b\n");
    db.file("in/b.csv", "id,v\n3,c\n");
    db.file("in/sub/c.csv", "id,v\n4,d\n");
    db.file("in/notes.txt", "not data");
    let glob = db.dir.path().join("in/*.csv");
    let run = db.load(&glob, &t, &["--json"]);
    run.ok();
    assert_eq!(run.json()["rows_inserted"], 3);
    // A prefix ending in / takes every file under it, subdirectories too.
    db.exec("delete from {s}.t where id > 0");
    db.file("in/notes.txt", "id,v\n5,e\n");
    let prefix = format!("{}/", db.dir.path().join("in").display());
    db.load(&prefix, &t, &[]).ok();
    assert_eq!(
        db.value(&format!("select string_agg(v, '' order by id) from {t}")),
        "seedabcde"
    );
    // One bad row in one file: nothing from any file, and the reject names its file.
    db.exec("delete from {s}.t where id > 0");
    let before = db.fingerprint(&t);
    db.file("in/b.csv", "id,v\n3,\n");
    let run = db.load(&glob, &t, &[]);
    run.fails_with(1, "1 row rejected");
    assert!(
        run.stderr
            .contains("b.csv: line 2, column v: null in a NOT NULL column"),
        "{}",
        run.stderr
    );
    assert_eq!(db.fingerprint(&t), before);
    // Files whose columns differ cannot make one load.
    db.file("in/b.csv", "id,w\n3,x\n");
    let run = db.load(&glob, &t, &[]);
    run.fails_with(1, "every file of one load must have the same columns");
    assert!(run.stderr.contains("b.csv"), "{}", run.stderr);
    assert_eq!(db.fingerprint(&t), before);
    db.load(db.dir.path().join("in/*.parquet"), &t, &[])
        .fails_with(2, "no file matches");
}

#[test]
fn the_last_row_of_a_key_wins_across_files_and_on_one_line() {
    let mut db = TestDb::new("dupfiles");
    db.exec("create table {s}.t (id int primary key, v text)");
    let t = db.t("t");
    std::fs::create_dir_all(db.dir.path().join("in")).unwrap();
    // Line 3 of a.csv comes before line 2 of b.csv in the input.
    db.file("in/a.csv", "id,v\n2,a-two\n1,a-one\n");
    db.file("in/b.csv", "id,v\n1,b-one\n");
    db.file("in/_SUCCESS", "");
    db.file("in/.a.csv.crc", "junk");
    let prefix = format!("{}/", db.dir.path().join("in").display());
    db.load(&prefix, &t, &["--mode", "upsert"]).ok();
    assert_eq!(
        db.value(&format!("select string_agg(v, ',' order by id) from {t}")),
        "b-one,a-two"
    );
    db.exec("truncate {s}.t");
    db.load(
        &prefix,
        &t,
        &["--mode", "upsert", "--on-duplicate", "first"],
    )
    .ok();
    assert_eq!(
        db.value(&format!("select string_agg(v, ',' order by id) from {t}")),
        "a-one,a-two"
    );
    // Every record of a one-line JSON array is on line 1: input order still decides.
    db.exec("truncate {s}.t");
    let json = db.file(
        "one.json",
        r#"[{"id": 1, "v": "x"}, {"id": 1, "v": "y"}, {"id": 1, "v": "z"}]"#,
    );
    db.load(&json, &t, &["--mode", "upsert"]).ok();
    assert_eq!(db.value(&format!("select v from {t}")), "z");
}

#[test]
fn odd_names_gzip_without_extension_and_empty_parts() {
    let mut db = TestDb::new("oddnames");
    db.exec("create table {s}.t (id int, v text)");
    let t = db.t("t");
    // A bracket in a real file's name is not a pattern.
    let odd = db.file("report[1].csv", "id,v\n1,odd\n");
    db.file("report1.csv", "id,v\n9,wrong\n");
    db.load(&odd, &t, &[]).ok();
    assert_eq!(db.value(&format!("select v from {t}")), "odd");
    // A gzip stream without an extension is found by its magic bytes.
    let dump = db.dir.path().join("dump");
    py(
        "import gzip,sys\nwith gzip.open(sys.argv[1],'wb') as f: f.write(b'id,v\\n2,zipped\\n')",
        &[dump.to_str().unwrap()],
    );
    db.load(&dump, &t, &[]).ok();
    assert_eq!(
        db.value(&format!("select v from {t} where id = 2")),
        "zipped"
    );
    // An empty part among several is skipped, even when it sorts first.
    std::fs::create_dir_all(db.dir.path().join("parts")).unwrap();
    db.file("parts/part-0.csv", "");
    db.file("parts/part-1.csv", "id,v\n3,three\n");
    let glob = db.dir.path().join("parts/part-*.csv");
    db.load(&glob, &t, &[]).ok();
    assert_eq!(
        db.value(&format!("select v from {t} where id = 3")),
        "three"
    );
}
