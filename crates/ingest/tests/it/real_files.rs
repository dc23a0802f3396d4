//! Parquet files no one here wrote (apache/parquet-testing, see tests/data/parquet-testing/
//! NOTICE): each reads as pyarrow reads it, or is refused by name when it is corrupt, and
//! a reader never returns fewer rows than the file holds.

use std::path::PathBuf;
use std::process::Command;

use crate::fixtures::{py, python};
use crate::support::TestDb;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/parquet-testing")
        .join(name)
}

/// What pyarrow makes of a file, as the Python expression `expr` over `t` (the table).
fn pyarrow(file: &std::path::Path, expr: &str) -> String {
    let out = Command::new(python())
        .args([
            "-c",
            &format!(
                "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); print({expr})"
            ),
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A regression test: int96 was decoded as 64-bit nanoseconds, so 9999-12-31 loaded as
/// 1816-03-29 and 290000-12-31 as 1815-11-08.
#[test]
fn spark_int96_timestamps_load_at_microseconds_without_wrapping() {
    let mut db = TestDb::new("int96");
    db.exec("create table {s}.i (a timestamptz)");
    db.load(data("int96_from_spark.parquet"), &db.t("i"), &[])
        .ok();
    // Spark's values as microseconds (the NOTICE lists them, as Spark wrote them).
    assert_eq!(
        db.value("select string_agg(coalesce((extract(epoch from a) * 1000000)::bigint::text, 'null'), ',' order by a nulls last) from {s}.i"),
        "1704070800000000,1704141296123456,1735599600000000,253402225200000000,9089380393200000000,null"
    );
}

/// A regression test: a footer counting 0 rows (an old parquet-rs wrote that) made the
/// reader return nothing, and with --allow-empty the load reported success.
#[test]
fn a_legacy_repeated_group_loads_every_row() {
    let mut db = TestDb::new("rna");
    db.exec("create table {s}.r (id int, \"phoneNumbers\" jsonb)");
    let f = data("repeated_no_annotation.parquet");
    db.load(&f, &db.t("r"), &["--allow-empty"]).ok();
    assert_eq!(
        db.value("select count(*) from {s}.r"),
        pyarrow(&f, "t.num_rows")
    );
    assert_eq!(
        db.value("select jsonb_array_length(\"phoneNumbers\"->'phone') from {s}.r where id = 6"),
        "3"
    );
    assert_eq!(
        db.value("select \"phoneNumbers\"->'phone'->2->>'number' from {s}.r where id = 6"),
        "3333333333"
    );
    // --create makes the group a jsonb column.
    db.load(&f, &db.t("made"), &["--create"]).ok();
    assert_eq!(db.value("select count(*) from {s}.made"), "6");
    assert_eq!(
        db.value("select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '{s}.made'::regclass and attname = 'phoneNumbers'"),
        "jsonb"
    );
}

/// A regression test: a Dremio footer (a field of its own where `bloom_filter_length`
/// belongs, a dictionary page "at offset 0") was refused with "Expected list element type
/// of I64 but got I16"; pyarrow reads it.
#[test]
fn a_dremio_footer_reads_as_pyarrow_reads_it() {
    let mut db = TestDb::new("dremio");
    db.exec("create table {s}.d (l_partkey int)");
    let f = data("dict-page-offset-zero.parquet");
    db.load(&f, &db.t("d"), &[]).ok();
    assert_eq!(
        db.value("select count(*) || ' ' || sum(l_partkey) from {s}.d"),
        pyarrow(
            &f,
            "t.num_rows, sum(x for x in t.column(0).to_pylist() if x is not None)"
        )
        .replace(['(', ')', ','], "")
    );
}

/// A regression test: a page damaged after writing loaded 5,120 rows without a word.
#[test]
fn a_page_whose_checksum_fails_is_refused_by_column_and_row_group() {
    let mut db = TestDb::new("crc");
    db.exec("create table {s}.c (a int not null, b int not null)");
    db.load(
        data("datapage_v1-corrupt-checksum.parquet"),
        &db.t("c"),
        &[],
    )
    .fails_with(1, "column \"a\", row group 0: Page CRC checksum mismatch");
    assert_eq!(db.value("select count(*) from {s}.c"), "0");
}

/// A regression test: zero-bit dictionary indices in a bit-packed run (Arrow C++ refuses
/// them; a one-entry dictionary in RLE runs, as writers make it, still loads) loaded
/// 21,186 rows of the dictionary's first value.
#[test]
fn dictionary_indices_of_width_zero_are_refused() {
    let mut db = TestDb::new("gh43605");
    db.exec("create table {s}.g (min_fl int)");
    db.load(data("ARROW-GH-43605.parquet"), &db.t("g"), &[])
        .fails_with(
            1,
            "column \"min_fl\", row group 0: invalid dictionary indices: bit width 0 with a bit-packed run",
        );
    assert_eq!(db.value("select count(*) from {s}.g"), "0");
}

/// Every typed source gives exactly the rows its metadata counts: Parquet (several row
/// groups, pages of both versions) and Avro (several blocks), written by pyarrow and
/// fastavro.
#[test]
fn typed_sources_give_every_row_their_metadata_counts() {
    let mut db = TestDb::new("rowcount");
    db.exec("create table {s}.p (id bigint, s text); create table {s}.a (id bigint, s text)");
    let pq = db.dir.path().join("many.parquet");
    let avro = db.dir.path().join("many.avro");
    py(
        r#"
import sys, pyarrow as pa, pyarrow.parquet as pq, fastavro
n = 100_003
t = pa.table({"id": pa.array(range(n), pa.int64()), "s": pa.array([None if i % 7 == 0 else f"v{i % 13}" for i in range(n)])})
pq.write_table(t, sys.argv[1], row_group_size=30_000, data_page_version="2.0", data_page_size=4096)
schema = {"type": "record", "name": "r", "fields": [{"name": "id", "type": "long"}, {"name": "s", "type": ["null", "string"]}]}
with open(sys.argv[2], "wb") as f:
    fastavro.writer(f, schema, ({"id": i, "s": None if i % 7 == 0 else f"v{i % 13}"} for i in range(n)), sync_interval=2_000)
"#,
        &[pq.to_str().unwrap(), avro.to_str().unwrap()],
    );
    let counted = pyarrow(&pq, "sum(t.num_rows for _ in [0])");
    let p = db.load(&pq, &db.t("p"), &["--json"]);
    p.ok();
    assert_eq!(p.json()["rows_read"].to_string(), counted);
    assert_eq!(db.value("select count(*) from {s}.p"), counted);
    let blocks = Command::new(python())
        .args([
            "-c",
            "import sys, fastavro; print(sum(b.num_records for b in fastavro.block_reader(open(sys.argv[1], 'rb'))))",
            avro.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let blocks = String::from_utf8(blocks.stdout).unwrap().trim().to_string();
    let a = db.load(&avro, &db.t("a"), &["--json"]);
    a.ok();
    assert_eq!(a.json()["rows_read"].to_string(), blocks);
    assert_eq!(db.value("select count(*) from {s}.a"), blocks);
    assert_eq!(
        db.value("select count(*) from (select * from {s}.p except all select * from {s}.a) d"),
        "0"
    );
}

/// Whatever the store: the same damaged files are refused, and the same odd ones read,
/// when they come from S3 by range requests (row group by row group) as from disk.
#[test]
fn remote_files_are_checked_as_local_ones() {
    let mut db = TestDb::new("remotepq");
    db.exec(
        "create table {s}.c (a int not null, b int not null); create table {s}.g (min_fl int);
         create table {s}.i (a timestamptz); create table {s}.d (l_partkey int)",
    );
    let web = crate::fixtures::http_server(&data(""));
    let url = |name: &str| format!("{}/{name}", web.url());
    db.load(url("datapage_v1-corrupt-checksum.parquet"), &db.t("c"), &[])
        .fails_with(1, "column \"a\", row group 0: Page CRC checksum mismatch");
    db.load(url("ARROW-GH-43605.parquet"), &db.t("g"), &[])
        .fails_with(
            1,
            "invalid dictionary indices: bit width 0 with a bit-packed run",
        );
    assert_eq!(db.value("select count(*) from {s}.c"), "0");
    assert_eq!(db.value("select count(*) from {s}.g"), "0");
    db.load(url("int96_from_spark.parquet"), &db.t("i"), &[])
        .ok();
    assert_eq!(
        db.value("select max((extract(epoch from a) * 1000000)::bigint)::text from {s}.i"),
        "9089380393200000000"
    );
    db.load(url("dict-page-offset-zero.parquet"), &db.t("d"), &[])
        .ok();
    assert_eq!(db.value("select count(*) from {s}.d"), "39");
}

/// Plain (not dictionary-encoded) INT96 pages pass the range check that guards against a
/// wrap, with the values pyarrow wrote.
#[test]
fn plain_int96_pages_load_exactly() {
    let mut db = TestDb::new("int96plain");
    db.exec("create table {s}.t (at timestamp)");
    let f = db.dir.path().join("plain96.parquet");
    py(
        r#"
import sys, datetime as dt, pyarrow as pa, pyarrow.parquet as pq
t = pa.table({"at": pa.array([dt.datetime(1900, 1, 1), dt.datetime(2262, 4, 11, 23, 47, 16, 854775)], pa.timestamp("us"))})
pq.write_table(t, sys.argv[1], use_deprecated_int96_timestamps=True, use_dictionary=False)
"#,
        &[f.to_str().unwrap()],
    );
    db.load(&f, &db.t("t"), &[]).ok();
    assert_eq!(
        db.value("select string_agg(at::text, ',' order by at) from {s}.t"),
        "1900-01-01 00:00:00,2262-04-11 23:47:16.854775"
    );
}
