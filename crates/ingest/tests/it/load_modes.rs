//! Append, upsert, merge and replace: end states and counts.

use crate::support::TestDb;

const ORDERS: &str = "create table {s}.orders (id bigint primary key, sku varchar(12) not null,
    qty integer not null, price numeric(12,2) not null, at timestamptz not null,
    status text not null default 'novo', gift boolean, note text)";

const FILE: &str = "id,sku,qty,price,at,status,gift,note
1,SKU-1,3,10.50,2025-01-01T10:00:00+00:00,novo,false,
2,SKU-2,1,0.99,2025-01-02 11:30:00-03:00,pago,true,\"diz \"\"urgente\"\"\"
3,SKU-3,7,1234.00,2025-01-03T00:00:00Z,enviado,,\"linha
quebrada\"
";

#[test]
fn append_gives_the_rows_the_server_csv_parser_gives() {
    let mut db = TestDb::new("append");
    db.exec(ORDERS);
    db.exec(&ORDERS.replace("orders", "reference"));
    let f = db.file("orders.csv", FILE);
    let run = db.load(&f, &db.t("orders"), &["--json"]);
    run.ok();
    db.copy_csv(&db.t("reference"), &f, "");
    assert!(db.same_rows(&db.t("orders"), &db.t("reference")));
    let s = run.json();
    assert_eq!(s["rows_read"], 3);
    assert_eq!(s["rows_inserted"], 3);
    assert_eq!(s["status"], "succeeded");
}

#[test]
fn upsert_inserts_updates_and_leaves_identical_rows_alone() {
    let mut db = TestDb::new("upsert");
    db.exec(ORDERS);
    let f = db.file("orders.csv", FILE);
    db.load(&f, &db.t("orders"), &[]).ok();
    let xmin_before = db.value("select xmin::text from {s}.orders where id = 1");
    let update = db.file(
        "update.csv",
        "id,sku,qty,price,at,status,gift,note
1,SKU-1,3,10.50,2025-01-01T10:00:00+00:00,novo,false,
2,SKU-2,5,0.99,2025-01-02 11:30:00-03:00,pago,true,changed
4,SKU-4,1,1.00,2025-02-01T00:00:00Z,novo,,
",
    );
    let run = db.load(&update, &db.t("orders"), &["--mode", "upsert", "--json"]);
    run.ok();
    let s = run.json();
    assert_eq!(
        (
            s["rows_inserted"].as_u64(),
            s["rows_updated"].as_u64(),
            s["rows_unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        db.value("select qty || note from {s}.orders where id = 2"),
        "5changed"
    );
    assert_eq!(db.value("select count(*) from {s}.orders"), "4");
    // The identical row was not rewritten: same tuple version.
    assert_eq!(
        db.value("select xmin::text from {s}.orders where id = 1"),
        xmin_before
    );
    // Again: nothing changes at all.
    let again = db.load(&update, &db.t("orders"), &["--mode", "upsert", "--json"]);
    assert_eq!(again.json()["rows_unchanged"], 3);
    // No staging table is left behind.
    assert_eq!(
        db.value("select count(*) from pg_tables where schemaname = 'ingest_staging'"),
        "0"
    );
}

#[test]
fn duplicate_keys_last_wins_by_default_first_and_reject_on_request() {
    let mut db = TestDb::new("dups");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let f = db.file("dups.csv", "k,v\n1,a\n2,b\n1,c\n");
    db.load(&f, &db.t("kv"), &["--mode", "upsert"]).ok();
    assert_eq!(
        db.value("select string_agg(k || v, ' ' order by k) from {s}.kv"),
        "1c 2b"
    );
    db.exec("truncate {s}.kv");
    db.load(
        &f,
        &db.t("kv"),
        &["--mode", "upsert", "--on-duplicate", "first"],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(k || v, ' ' order by k) from {s}.kv"),
        "1a 2b"
    );
    db.exec("truncate {s}.kv");
    let errors = db.dir.path().join("dups.csv.rejects.csv");
    db.load(
        &f,
        &db.t("kv"),
        &[
            "--mode",
            "upsert",
            "--on-duplicate",
            "reject",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    )
    .fails_with(1, "2 rows rejected");
    assert_eq!(db.value("select count(*) from {s}.kv"), "0");
    let report = std::fs::read_to_string(&errors).unwrap();
    assert!(
        report.contains("2,k,1,\"duplicate key (lines 2, 4)\""),
        "{report}"
    );
    assert!(
        report.contains("4,k,1,\"duplicate key (lines 2, 4)\""),
        "{report}"
    );
    // With room for them, the other rows load.
    db.load(
        &f,
        &db.t("kv"),
        &[
            "--mode",
            "upsert",
            "--on-duplicate",
            "reject",
            "--max-errors",
            "2",
        ],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(k || v, ' ' order by k) from {s}.kv"),
        "2b"
    );
}

#[test]
fn merge_deletes_missing_rows_only_within_scope() {
    let mut db = TestDb::new("merge");
    db.exec("create table {s}.stock (store int, sku text, qty int, primary key (store, sku))");
    db.exec("insert into {s}.stock values (1,'a',1),(1,'b',2),(2,'a',3),(2,'z',4)");
    let f = db.file("store1.csv", "store,sku,qty\n1,a,10\n1,c,5\n");
    let run = db.load(
        &f,
        &db.t("stock"),
        &[
            "--mode",
            "merge",
            "--delete-missing",
            "--scope",
            "store=1",
            "--json",
        ],
    );
    run.ok();
    assert_eq!(run.json()["rows_deleted"], 1);
    assert_eq!(
        db.value("select string_agg(store || sku || qty, ' ' order by store, sku) from {s}.stock"),
        "1a10 1c5 2a3 2z4"
    );
}

#[test]
fn merge_with_delete_missing_refuses_rejected_rows_instead_of_deleting_their_targets() {
    let mut db = TestDb::new("mergereject");
    db.exec("create table {s}.stock (sku text primary key, qty int)");
    db.exec("insert into {s}.stock values ('a', 1), ('b', 2)");
    let before = db.fingerprint(&db.t("stock"));
    // Row b is meant as an update, but its quantity is not a number.
    let f = db.file("stock.csv", "sku,qty\na,10\nb,many\n");
    db.load(
        &f,
        &db.t("stock"),
        &["--mode", "merge", "--delete-missing", "--max-errors", "5"],
    )
    .fails_with(1, "would be deleted");
    assert_eq!(db.fingerprint(&db.t("stock")), before);
}

#[test]
fn replace_swaps_the_contents() {
    let mut db = TestDb::new("replace");
    db.exec("create table {s}.kv (k int primary key, v text)");
    db.exec("insert into {s}.kv values (1,'old'),(9,'gone')");
    let f = db.file("new.csv", "k,v\n1,new\n2,two\n");
    db.load(&f, &db.t("kv"), &["--mode", "replace"]).ok();
    assert_eq!(
        db.value("select string_agg(k || v, ' ' order by k) from {s}.kv"),
        "1new 2two"
    );
}

#[test]
fn dry_run_checks_everything_and_writes_nothing() {
    let mut db = TestDb::new("dryrun");
    db.exec(ORDERS);
    let f = db.file("orders.csv", FILE);
    let run = db.load(&f, &db.t("orders"), &["--dry-run", "--json"]);
    run.ok();
    assert_eq!(run.json()["rows_read"], 3);
    // What an append would insert.
    assert_eq!(run.json()["rows_inserted"], 3);
    assert_eq!(db.value("select count(*) from {s}.orders"), "0");
    let bad = db.file(
        "bad.csv",
        "id,sku,qty,price,at,status,gift,note\n1,SKU-1,x,1,2025-01-01,novo,,\n",
    );
    db.load(&bad, &db.t("orders"), &["--dry-run"])
        .fails_with(1, "line 2, column qty");
}

#[test]
fn pt_br_locale_reads_semicolons_decimal_commas_dates_and_windows_1252() {
    let mut db = TestDb::new("ptbr");
    db.exec("create table {s}.vendas (id int, valor numeric(12,2), dia date, quando timestamp, cliente text)");
    let mut content = b"id;valor;dia;quando;cliente\r\n".to_vec();
    content
        .extend_from_slice(b"1;1.234,56;31/12/2025;31/12/2025 23:59:58;Jo\xe3o A\xe7\xfacar\r\n");
    content.extend_from_slice(b"2;-0,5;01/02/2026;01/02/2026 08:00;\r\n");
    let f = db.file("vendas.csv", content);
    db.load(&f, &db.t("vendas"), &["--locale", "pt-BR"]).ok();
    assert_eq!(
        db.rows("select valor::text, dia::text, quando::text, cliente from {s}.vendas order by id"),
        vec![
            vec![
                Some("1234.56".into()),
                Some("2025-12-31".into()),
                Some("2025-12-31 23:59:58".into()),
                Some("João Açúcar".into())
            ],
            vec![
                Some("-0.50".into()),
                Some("2026-02-01".into()),
                Some("2026-02-01 08:00:00".into()),
                None
            ],
        ]
    );
}

#[test]
fn pt_br_locale_reads_a_utf8_file_as_utf8() {
    let mut db = TestDb::new("ptbrutf8");
    db.exec("create table {s}.v (id int, cliente text)");
    let f = db.file("v.csv", "id;cliente\n1;João Açúcar\n");
    db.load(&f, &db.t("v"), &["--locale", "pt-BR"]).ok();
    assert_eq!(db.value("select cliente from {s}.v"), "João Açúcar");
    // An explicit --encoding is obeyed as given.
    db.exec("truncate {s}.v");
    db.load(
        &f,
        &db.t("v"),
        &["--locale", "pt-BR", "--encoding", "windows-1252"],
    )
    .ok();
    assert_eq!(db.value("select cliente from {s}.v"), "JoÃ£o AÃ§Ãºcar");
}

#[test]
fn rejects_within_the_limit_are_reported_and_the_rest_loads() {
    let mut db = TestDb::new("limit");
    db.exec("create table {s}.n (id int primary key, v smallint)");
    let f = db.file("n.csv", "id,v\n1,1\n2,99999\n3,3\n4,abc\n");
    let errors = db.dir.path().join("rejects.ndjson");
    db.load(&f, &db.t("n"), &["--max-errors", "1"])
        .fails_with(1, "2 rows rejected, more than --max-errors 1");
    assert_eq!(db.value("select count(*) from {s}.n"), "0");
    let run = db.load(
        &f,
        &db.t("n"),
        &[
            "--max-errors",
            "50%",
            "--errors-file",
            errors.to_str().unwrap(),
            "--json",
        ],
    );
    run.ok();
    assert_eq!(run.json()["rows_rejected"], 2);
    assert_eq!(
        db.value("select string_agg(id::text, ',' order by id) from {s}.n"),
        "1,3"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&errors)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[0]["line"].as_u64(),
            lines[0]["column"].as_str(),
            lines[0]["value"].as_str()
        ),
        (Some(3), Some("v"), Some("99999"))
    );
    assert_eq!(
        (lines[1]["line"].as_u64(), lines[1]["value"].as_str()),
        (Some(5), Some("abc"))
    );
}

#[test]
fn two_concurrent_upserts_into_one_table_both_land() {
    let mut db = TestDb::new("concurrent");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let mut a = String::from("k,v\n");
    let mut b = String::from("k,v\n");
    for i in 0..20_000 {
        a.push_str(&format!("{i},a\n"));
        b.push_str(&format!("{},b\n", i + 10_000));
    }
    let fa = db.file("a.csv", a);
    let fb = db.file("b.csv", b);
    let table = db.t("kv");
    std::thread::scope(|s| {
        let ha = s.spawn(|| crate::support::load(&fa, &table, &["--mode", "upsert"]));
        let hb = s.spawn(|| crate::support::load(&fb, &table, &["--mode", "upsert"]));
        ha.join().unwrap().ok();
        hb.join().unwrap().ok();
    });
    assert_eq!(db.value("select count(*) from {s}.kv"), "30000");
    assert_eq!(
        db.value("select count(*) from {s}.kv where k < 10000 and v = 'a'"),
        "10000"
    );
    assert_eq!(
        db.value("select count(*) from {s}.kv where k >= 20000 and v = 'b'"),
        "10000"
    );
    // The overlap went to one of the two, whole rows only.
    assert_eq!(
        db.value("select count(*) from {s}.kv where k between 10000 and 19999 and v in ('a','b')"),
        "10000"
    );
}

#[test]
fn libpq_variables_are_used_without_a_database_url() {
    let mut db = TestDb::new("pgenv");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let f = db.file("kv.csv", "k,v\n1,a\n");
    let config: postgres::Config = crate::support::database_url().parse().unwrap();
    let host = match &config.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let run = crate::support::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(["load", f.to_str().unwrap(), "--into", &db.t("kv")])
            .env_remove("DATABASE_URL")
            .env("PGHOST", host)
            .env("PGPORT", port)
            .env("PGUSER", config.get_user().unwrap())
            .env("PGDATABASE", config.get_dbname().unwrap()),
    );
    run.ok();
    assert_eq!(db.value("select v from {s}.kv"), "a");
}

#[test]
fn bom_crlf_and_embedded_newlines_give_editor_line_numbers_in_rejects() {
    let mut db = TestDb::new("lines");
    db.exec("create table {s}.n (id int, note text)");
    let f = db.file(
        "lines.csv",
        "\u{feff}id,note\r\n1,\"two\r\nlines\"\r\n2,ok\r\nx,bad\r\n",
    );
    let run = db.load(&f, &db.t("n"), &[]);
    // Line 1 header, 2-3 the first record, 4 the second, 5 the bad one.
    run.fails_with(1, "line 5, column id");
    assert!(
        run.stderr.contains("rejected line 5, column id"),
        "rejects are shown as found: {}",
        run.stderr
    );
    db.load(&f, &db.t("n"), &["--max-errors", "1"]).ok();
    assert_eq!(
        db.value("select note from {s}.n where id = 1"),
        "two\r\nlines"
    );
}

#[test]
fn standard_input_is_read_for_a_dash() {
    use std::io::Write;
    let mut db = TestDb::new("stdin");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["load", "-", "--into", &db.t("kv"), "--json"])
        .env("DATABASE_URL", crate::support::database_url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"k,v\n1,a\n2,b\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        db.value("select string_agg(k || v, ' ' order by k) from {s}.kv"),
        "1a 2b"
    );
}
