//! Tables from files: `ingest infer`, `--create` and `--evolve`, all atomic with the load.

use std::process::Command;

use crate::fixtures::py;
use crate::support::{TestDb, run};

const ORDERS: &str = "id,customer_id,sku,qty,price,at,gift,note,doc
1,77,SKU-1,3,10.50,2025-01-01T10:00:00+00:00,false,,{\"a\": 1}
2,78,SKU-2,1,0.99,2025-01-02 11:30:00-03:00,true,\"diz \"\"urgente\"\"\",[1]
3,40000,SKU-3,7,1234.00,2025-01-03T00:00:00Z,,x,{}
";

fn types(db: &mut TestDb, table: &str) -> String {
    db.value(&format!(
        "select string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' order by attnum)
           from pg_attribute where attrelid = '{table}'::regclass and attnum > 0 and not attisdropped"
    ))
}

#[test]
fn infer_prints_the_table_a_csv_would_make() {
    let db = TestDb::new("infer");
    let f = db.file("orders.csv", ORDERS);
    let out = run(Command::new(env!("CARGO_BIN_EXE_ingest")).args([
        "infer",
        f.to_str().unwrap(),
        "--key",
        "id",
    ]));
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "CREATE TABLE \"orders\" (
  \"id\" smallint,
  \"customer_id\" integer,
  \"sku\" text,
  \"qty\" smallint,
  \"price\" numeric(12,2),
  \"at\" timestamp with time zone,
  \"gift\" boolean,
  \"note\" text,
  \"doc\" jsonb,
  PRIMARY KEY (\"id\")
);"
    );
    // A key the file lacks is a usage error.
    let out = run(Command::new(env!("CARGO_BIN_EXE_ingest")).args([
        "infer",
        f.to_str().unwrap(),
        "--key",
        "nope",
    ]));
    out.fails_with(2, "--key \"nope\"");
}

#[test]
fn create_makes_the_table_from_a_csv_and_loads_it() {
    let mut db = TestDb::new("create_csv");
    let f = db.file("orders.csv", ORDERS);
    let t = db.t("orders");
    let r = db.load(
        &f,
        &t,
        &["--create", "--key", "id", "--mode", "upsert", "--json"],
    );
    r.ok();
    assert_eq!(r.json()["rows_inserted"], 3);
    assert_eq!(
        types(&mut db, &t),
        "id smallint, customer_id integer, sku text, qty smallint, price numeric(12,2), \
         at timestamp with time zone, gift boolean, note text, doc jsonb"
    );
    assert_eq!(
        db.value("select string_agg(format('%s|%s|%s|%s', id, price, gift, note), ';' order by id) from {s}.orders"),
        "1|10.50|f|;2|0.99|t|diz \"urgente\";3|1234.00||x"
    );
    // The key became the primary key: the same file again changes nothing.
    let again = db.load(&f, &t, &["--create", "--mode", "upsert", "--json"]);
    again.ok();
    assert_eq!(again.json()["rows_unchanged"], 3);
}

#[test]
fn create_under_pt_br_reads_decimal_commas_and_day_first_dates() {
    let mut db = TestDb::new("create_br");
    let f = db.file(
        "vendas.csv",
        "id;valor;data;quando\n1;1.234,56;02/01/2025;02/01/2025 10:30:00\n2;7,5;31/12/1999;31/12/1999 23:59\n",
    );
    let t = db.t("vendas");
    db.load(&f, &t, &["--create", "--locale", "pt-BR"]).ok();
    assert_eq!(
        types(&mut db, &t),
        "id smallint, valor numeric(12,2), data date, quando timestamp without time zone"
    );
    assert_eq!(
        db.value("select string_agg(format('%s|%s|%s', valor, data, quando), ';' order by id) from {s}.vendas"),
        "1234.56|2025-01-02|2025-01-02 10:30:00;7.50|1999-12-31|1999-12-31 23:59:00"
    );
}

#[test]
fn create_takes_a_parquet_files_own_types() {
    let mut db = TestDb::new("create_pq");
    let f = db.dir.path().join("typed.parquet");
    py(
        r#"
import sys, datetime as dt, decimal, pyarrow as pa, pyarrow.parquet as pq
t = pa.table({
    "i64": pa.array([1, 2], pa.int64()), "i16": pa.array([1, 2], pa.int16()),
    "amount": pa.array([decimal.Decimal("1.50"), None], pa.decimal128(12, 2)),
    "at": pa.array([dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)] * 2, pa.timestamp("us", tz="UTC")),
    "local": pa.array([dt.datetime(2025, 1, 1)] * 2, pa.timestamp("ms")),
    "day": pa.array([dt.date(2025, 1, 1)] * 2, pa.date32()),
    "tags": pa.array([[1, 2], []], pa.list_(pa.int64())),
    "attrs": pa.array([{"a": 1}, {"a": 2}], pa.struct([("a", pa.int32())])),
    "raw": pa.array([b"\x00", b"\xff"], pa.binary()),
})
pq.write_table(t, sys.argv[1])
"#,
        &[f.to_str().unwrap()],
    );
    let t = db.t("typed");
    db.load(&f, &t, &["--create"]).ok();
    assert_eq!(
        types(&mut db, &t),
        "i64 bigint, i16 smallint, amount numeric(12,2), at timestamp with time zone, \
         local timestamp without time zone, day date, tags bigint[], attrs jsonb, raw bytea"
    );
    assert_eq!(
        db.value("select string_agg(format('%s|%s|%s|%s', i64, amount, tags, attrs), ';' order by i64) from {s}.typed"),
        "1|1.50|{1,2}|{\"a\": 1};2||{}|{\"a\": 2}"
    );
}

#[test]
fn a_failed_create_leaves_no_table() {
    let mut db = TestDb::new("create_fail");
    let mut csv = String::from("id,v\n");
    for i in 1..=100 {
        csv.push_str(&format!("{i},{i}.5\n"));
    }
    csv.push_str("101,abc\n");
    let f = db.file("late_bad.csv", csv);
    let t = db.t("never");
    db.load(&f, &t, &["--create", "--infer-rows", "10"])
        .fails_with(1, "rejected");
    assert_eq!(db.value(&format!("select to_regclass('{t}') is null")), "t");
    // Sampling every row first sees the text and makes a text column instead.
    db.load(&f, &t, &["--create", "--infer-rows", "all"]).ok();
    assert_eq!(types(&mut db, &t), "id smallint, v text");
    assert_eq!(db.value("select count(*) from {s}.never"), "101");
    // A dry run checks the whole file against the table it would make, and makes none.
    let other = db.t("dry");
    db.load(&f, &other, &["--create", "--dry-run", "--max-errors", "5"])
        .ok();
    assert_eq!(
        db.value(&format!("select to_regclass('{other}') is null")),
        "t"
    );
}

#[test]
fn evolve_adds_the_files_new_columns_and_nothing_else() {
    let mut db = TestDb::new("evolve");
    db.exec(
        "create table {s}.ev (id bigint primary key, a text); insert into {s}.ev values (1, 'old')",
    );
    let t = db.t("ev");
    let f = db.file("ev.csv", "id,a,b,when\n2,x,10,2025-01-02\n3,y,20,\n");
    // Without --evolve the new columns are refused, and nothing changes.
    db.load(&f, &t, &[]).fails_with(2, "\"b\"");
    assert_eq!(types(&mut db, &t), "id bigint, a text");
    db.load(&f, &t, &["--evolve"]).ok();
    assert_eq!(
        types(&mut db, &t),
        "id bigint, a text, b smallint, when date"
    );
    assert_eq!(
        db.value("select string_agg(format('%s|%s|%s|%s', id, a, b, \"when\"), ';' order by id) from {s}.ev"),
        "1|old||;2|x|10|2025-01-02;3|y|20|"
    );
    // A failed load takes its new column with it; an existing column keeps its type.
    let bad = db.file("ev2.csv", "id,a,c\n4,z,1\n5,w,oops2\n");
    db.load(&bad, &t, &["--evolve", "--infer-rows", "1"])
        .fails_with(1, "rejected");
    assert_eq!(
        types(&mut db, &t),
        "id bigint, a text, b smallint, when date"
    );
}

#[test]
fn concurrent_creates_of_one_table_both_load() {
    let mut db = TestDb::new("create_race");
    let t = db.t("race");
    let a = db.file("a.csv", "id,v\n1,a\n2,b\n");
    let b = db.file("b.csv", "id,v\n3,c\n");
    let one = db.spawn_load(&a, &t, &["--create"]);
    let two = db.spawn_load(&b, &t, &["--create"]);
    for child in [one, two] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        db.value("select string_agg(id::text, ',' order by id) from {s}.race"),
        "1,2,3"
    );
}
