//! Bad input: a clear message naming the file, line and column, and an untouched target.

use crate::support::{Run, TestDb};

/// A table with one row in it, so "untouched" is more than "still empty".
fn seeded(name: &str) -> (TestDb, String, String) {
    let mut db = TestDb::new(name);
    db.exec(
        "create type {s}.mood as enum ('sad', 'ok', 'happy');
         create table {s}.t (id int primary key, code varchar(3), n smallint, m {s}.mood, note text);
         insert into {s}.t values (1, 'abc', 1, 'ok', 'seed')",
    );
    let table = db.t("t");
    let before = db.fingerprint(&table);
    (db, table, before)
}

/// Loads `content` into the seeded table and checks the failure and the untouched table.
#[track_caller]
fn refused(name: &str, content: &[u8], args: &[&str], code: i32, message: &str) -> Run {
    let (mut db, table, before) = seeded(name);
    let file = db.file(&format!("{name}.csv"), content);
    let run = db.load(&file, &table, args);
    run.fails_with(code, message);
    assert!(
        run.stderr.contains(&format!("{name}.csv")),
        "the message names the file: {}",
        run.stderr
    );
    assert_eq!(db.fingerprint(&table), before, "target changed");
    run
}

#[test]
fn ragged_row_with_too_few_fields() {
    refused(
        "few",
        b"id,code,n,m,note\n2,ab,1,ok,x\n3,ab\n",
        &[],
        1,
        "line 3: expected 5 fields, found 2",
    );
}

#[test]
fn ragged_row_with_too_many_fields() {
    refused(
        "many",
        b"id,code,n,m,note\n2,ab,1,ok,x,extra\n",
        &[],
        1,
        "line 2: expected 5 fields, found 6",
    );
}

#[test]
fn unterminated_quote() {
    refused(
        "quote",
        b"id,code,n,m,note\n2,ab,1,ok,x\n3,ab,1,ok,\"never closed\n4,ab,1,ok,y\n",
        &[],
        1,
        "line 3: a quoted field is never closed",
    );
}

#[test]
fn invalid_utf8_without_encoding_points_at_the_option() {
    refused(
        "utf8",
        b"id,code,n,m,note\n2,ab,1,ok,Jo\xe3o\n",
        &[],
        1,
        "line 2, column note: invalid UTF-8",
    );
}

#[test]
fn the_same_bytes_load_with_the_right_encoding() {
    let (mut db, table, _) = seeded("latin1");
    let file = db.file("latin1.csv", b"id,code,n,m,note\n2,ab,1,ok,Jo\xe3o\n");
    db.load(&file, &table, &["--encoding", "latin1"]).ok();
    assert_eq!(db.value("select note from {s}.t where id = 2"), "João");
}

#[test]
fn nul_byte() {
    refused(
        "nul",
        b"id,code,n,m,note\n2,ab,1,ok,a\0b\n",
        &[],
        1,
        "line 2, column note: NUL byte",
    );
}

#[test]
fn line_over_the_size_limit() {
    let mut content = b"id,code,n,m,note\n2,ab,1,ok,".to_vec();
    content.extend(std::iter::repeat_n(b'x', 5000));
    content.push(b'\n');
    refused(
        "long",
        &content,
        &["--max-line-bytes", "1024"],
        1,
        "line 2: record longer than 1024 bytes",
    );
}

#[test]
fn empty_file() {
    refused("empty", b"", &[], 1, "the file is empty");
}

#[test]
fn header_only_file() {
    refused(
        "headeronly",
        b"id,code,n,m,note\n",
        &[],
        1,
        "the file has a header but no rows",
    );
}

#[test]
fn empty_file_is_accepted_when_asked() {
    let (mut db, table, before) = seeded("allowempty");
    let file = db.file("allowempty.csv", b"id,code,n,m,note\n");
    db.load(&file, &table, &["--allow-empty"]).ok();
    assert_eq!(db.fingerprint(&table), before);
}

#[test]
fn duplicate_header_names() {
    refused(
        "duphead",
        b"id,code,ID,m,note\n2,ab,1,ok,x\n",
        &[],
        1,
        "appears twice",
    );
}

#[test]
fn unknown_column() {
    refused(
        "unknown",
        b"id,code,colour\n2,ab,red\n",
        &[],
        2,
        "column \"colour\" of the file is not a column of",
    );
}

#[test]
fn missing_required_column() {
    let (mut db, _, _) = seeded("required");
    db.exec("create table {s}.r (id int primary key, must text not null, opt text, dflt text not null default 'x')");
    let table = db.t("r");
    let file = db.file("required.csv", b"id,opt\n1,a\n");
    db.load(&file, &table, &[])
        .fails_with(2, "required column \"must\" missing from the file");
    assert_eq!(db.value("select count(*) from {s}.r"), "0");
}

#[test]
fn value_out_of_range_for_its_type() {
    let run = refused(
        "range",
        b"id,code,n,m,note\n2,ab,40000,ok,x\n",
        &[],
        1,
        "line 2, column n",
    );
    assert!(run.stderr.contains("40000"), "{}", run.stderr);
}

#[test]
fn varchar_too_long() {
    refused(
        "varchar",
        b"id,code,n,m,note\n2,abcd,1,ok,x\n",
        &[],
        1,
        "line 2, column code",
    );
}

#[test]
fn unknown_enum_label() {
    refused(
        "enum",
        b"id,code,n,m,note\n2,ab,1,angry,x\n",
        &[],
        1,
        "line 2, column m",
    );
}

#[test]
fn null_in_a_not_null_column() {
    refused(
        "notnull",
        b"id,code,n,m,note\n,ab,1,ok,x\n",
        &[],
        1,
        "line 2, column id: null in a NOT NULL column",
    );
}

#[test]
fn nonexistent_table() {
    let db = TestDb::new("notable");
    let file = db.file("x.csv", b"a\n1\n");
    db.load(&file, &db.t("nope"), &[])
        .fails_with(2, "does not exist");
}

#[test]
fn hostile_identifiers_are_quoted_never_interpolated() {
    let mut db = TestDb::new("hostile");
    db.exec(
        r#"create table {s}."odd; drop table x --""" (
             "id"" ;" int primary key, "Ação Ü" text, "select" text)"#,
    );
    db.exec("create table {s}.x (canary int)");
    let table = format!("{}.odd; drop table x --\"", db.schema);
    let file = db.file(
        "hostile.csv",
        "\"id\"\" ;\",ação ü,SELECT\n1,olá,from\n".as_bytes(),
    );
    db.load(&file, &table, &["--mode", "upsert"]).ok();
    assert_eq!(
        db.value(r#"select "Ação Ü" || "select" from {s}."odd; drop table x --""""#),
        "oláfrom"
    );
    assert_eq!(
        db.value("select count(*) from {s}.x"),
        "0",
        "the canary table still exists"
    );
}

#[test]
fn a_constraint_the_server_checks_fails_the_load_and_leaves_the_table() {
    let (mut db, table, before) = seeded("constraint");
    db.exec("alter table {s}.t add constraint positive check (n > 0)");
    // The refused row starts on line 4 (a quoted newline on the row before it).
    let file = db.file(
        "constraint.csv",
        b"id,code,n,m,note\n2,ab,1,ok,\"x\ny\"\n3,ab,-1,ok,z\n",
    );
    let run = db.load(&file, &table, &[]);
    run.fails_with(1, "constraint.csv: line 4: ");
    assert!(run.stderr.contains("positive"), "{}", run.stderr);
    assert_eq!(db.fingerprint(&table), before);
}

#[test]
fn unreachable_database_exits_3() {
    let db = TestDb::new("noserver");
    let file = db.file("x.csv", b"a\n1\n");
    let run = crate::support::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(["load", file.to_str().unwrap(), "--into", "t"])
            .env("DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/none"),
    );
    run.fails_with(3, "cannot connect to PostgreSQL");
    assert!(
        !run.stderr.contains("secret"),
        "password leaked: {}",
        run.stderr
    );
}

/// A regression test: a NUL inside one field failed the whole load, even with
/// --max-errors; now it rejects its row, named by line and column, and the rest loads.
#[test]
fn a_nul_inside_one_field_rejects_that_row_only() {
    let (mut db, table, _) = seeded("nul_one");
    let file = db.file(
        "nul_one.csv",
        b"id,code,n,m,note\n2,ab,1,ok,fine\n3,ab,1,ok,A\0B\n4,ab,1,ok,also\n",
    );
    let errors = db.dir.path().join("rejects.csv");
    let run = db.load(
        &file,
        &table,
        &[
            "--max-errors",
            "5",
            "--json",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    );
    run.ok();
    assert_eq!(run.json()["rows_rejected"], 1);
    assert_eq!(run.json()["rows_inserted"], 2);
    assert_eq!(
        db.value("select count(*) from {s}.t where id in (2, 4)"),
        "2"
    );
    let listed = std::fs::read_to_string(&errors).unwrap();
    assert!(listed.contains("3,note,"), "{listed}");
    assert!(listed.contains("NUL byte"), "{listed}");
}
