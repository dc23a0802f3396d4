//! Bad Parquet, Avro and xlsx files: a clear error naming the file (and the row, for a
//! value), and an untouched target.

use std::path::PathBuf;

use crate::fixtures::write_fixtures;
use crate::support::{Run, TestDb};

/// The broken files of `tests/fixtures/bad_typed.py`, in the test's directory.
fn bad_files(db: &TestDb) -> PathBuf {
    write_fixtures("bad_typed.py", db.dir.path(), &[]);
    db.dir.path().to_path_buf()
}

/// A table `t (id bigint primary key, qty integer not null, note text)` with one row.
fn seeded(name: &str) -> (TestDb, String, String, PathBuf) {
    let mut db = TestDb::new(name);
    db.exec("create table {s}.t (id bigint primary key, qty integer not null, note text); insert into {s}.t values (0, 0, 'seed')");
    let t = db.t("t");
    let before = db.fingerprint(&t);
    let dir = bad_files(&db);
    (db, t, before, dir)
}

#[track_caller]
fn refused(
    db: &mut TestDb,
    t: &str,
    before: &str,
    file: PathBuf,
    args: &[&str],
    code: i32,
    message: &str,
) -> Run {
    let run = db.load(&file, t, args);
    run.fails_with(code, message);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        run.stderr.contains(name),
        "the message names the file: {}",
        run.stderr
    );
    assert_eq!(db.fingerprint(t), before, "{name}: target changed");
    run
}

#[test]
fn broken_parquet_files() {
    let (mut db, t, before, dir) = seeded("badpq");
    refused(
        &mut db,
        &t,
        &before,
        dir.join("truncated.parquet"),
        &[],
        1,
        "truncated.parquet: Parquet:",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("corrupt.parquet"),
        &[],
        1,
        "corrupt.parquet: Parquet:",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("bool_qty.parquet"),
        &[],
        1,
        "column \"qty\" is Boolean in the Parquet file and cannot be loaded into integer column \"qty\"",
    );
    // The table's NOT NULL column is not in the file.
    refused(
        &mut db,
        &t,
        &before,
        dir.join("no_qty.parquet"),
        &[],
        2,
        "required column \"qty\" missing from the file (NOT NULL without a default)",
    );
    // A value too large for its column rejects its row, by row number.
    let run = refused(
        &mut db,
        &t,
        &before,
        dir.join("big_qty.parquet"),
        &[],
        1,
        "1 row rejected",
    );
    assert!(
        run.stderr
            .contains("row 2, column qty: does not fit integer"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1099511627776"),
        "the value is shown: {}",
        run.stderr
    );
    // The good file loads whole, so the broken ones failed for what they are.
    db.load(dir.join("good.parquet"), &t, &[]).ok();
    assert_eq!(db.value(&format!("select count(*) from {t}")), "50001");
}

#[test]
fn broken_avro_files() {
    let (mut db, t, before, dir) = seeded("badavro");
    refused(
        &mut db,
        &t,
        &before,
        dir.join("truncated.avro"),
        &[],
        1,
        "truncated.avro: Avro: the file is truncated",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("corrupt.avro"),
        &[],
        1,
        "corrupt.avro: Avro:",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("badmagic.avro"),
        &[],
        1,
        "badmagic.avro: not a Avro file",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("badmagic.avro"),
        &["--format", "avro"],
        1,
        "badmagic.avro: Avro:",
    );
    db.load(dir.join("good.avro"), &t, &[]).ok();
    assert_eq!(db.value(&format!("select count(*) from {t}")), "50001");
}

#[test]
fn awkward_workbooks() {
    let (mut db, t, before, dir) = seeded("badxlsx");
    let not_zip = db.file("plain.xlsx", "id,qty\n1,2\n");
    refused(
        &mut db,
        &t,
        &before,
        not_zip.clone(),
        &[],
        1,
        "plain.xlsx: not a xlsx file",
    );
    refused(
        &mut db,
        &t,
        &before,
        not_zip,
        &["--format", "xlsx"],
        1,
        "plain.xlsx: xlsx: not an xlsx workbook",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("bomb.xlsx"),
        &["--max-xlsx-unpacked-bytes", "50000000"],
        1,
        "bomb.xlsx: xlsx: the workbook would inflate to",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("errors.xlsx"),
        &["--max-xlsx-bytes", "100"],
        1,
        "--max-xlsx-bytes",
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("errors.xlsx"),
        &["--sheet", "Vendas"],
        1,
        "no sheet named \"Vendas\"; the workbook has Plan1",
    );
    // A cell in the very last column and row is one bad row, not 550 GB of memory.
    let far = db.t("far");
    db.exec("create table {s}.far (id int)");
    let far_before = db.fingerprint(&far);
    let run = refused(
        &mut db,
        &far,
        &far_before,
        dir.join("far.xlsx"),
        &[],
        1,
        "1 row rejected",
    );
    assert!(
        run.stderr
            .contains("line 1048576: a value in column 16384, beyond the header's 1 columns"),
        "{}",
        run.stderr
    );
    refused(
        &mut db,
        &t,
        &before,
        dir.join("sst.xlsx"),
        &[],
        1,
        "the workbook is corrupt",
    );
    let run = refused(
        &mut db,
        &t,
        &before,
        dir.join("errors.xlsx"),
        &[],
        1,
        "1 row rejected",
    );
    assert!(
        run.stderr
            .contains("line 3: the cell holds the Excel error #DIV/0!"),
        "{}",
        run.stderr
    );
    db.load(
        dir.join("errors.xlsx"),
        &t,
        &["--sheet", "plan1", "--max-errors", "1"],
    )
    .ok();
    assert_eq!(
        db.rows(&format!(
            "select id::text, qty::text, note from {t} where id > 0 order by id"
        )),
        [["1", "10", "ok"], ["3", "30", "ok"]].map(|r| r.map(|v| Some(v.to_string())).to_vec())
    );
    // --null applies to text cells as to CSV fields.
    db.exec(&format!("delete from {t} where id > 0"));
    db.load(
        dir.join("errors.xlsx"),
        &t,
        &["--max-errors", "1", "--null", "ok"],
    )
    .ok();
    assert_eq!(
        db.value(&format!(
            "select count(*) from {t} where id > 0 and note is null"
        )),
        "2"
    );
}
