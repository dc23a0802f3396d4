//! Quality rules at load time from the command line: cleaning, row rules, whole-load
//! rules, fail rules, after_load, the report, the dry-run diff, and rules registered with
//! the table.

use std::process::Command;

use crate::support::{Run, TestDb, database_url, run};

/// `ingest ARGS…` against the test database, with the test's own service schema.
fn ingest(db: &TestDb, args: &[&str]) -> Run {
    run(Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(args)
        .env("DATABASE_URL", database_url())
        .env("INGEST_SCHEMA", format!("{}_svc", db.schema)))
}

/// `ingest load` with the test's service schema (where registered rules live).
fn load(db: &TestDb, file: &std::path::Path, table: &str, args: &[&str]) -> Run {
    let mut all = vec!["load", file.to_str().unwrap(), "--into", table];
    all.extend_from_slice(args);
    ingest(db, &all)
}

fn drop_service_schema(db: &mut TestDb) {
    db.exec("drop schema if exists {s}_svc cascade");
}

/// Rows of the errors file as (line, column, rule, severity).
fn rejects(path: &std::path::Path) -> Vec<(String, String, String, String)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].into(), rec[1].into(), rec[5].into(), rec[6].into())
        })
        .collect()
}

#[test]
fn row_rules_reject_by_name_and_warnings_load() {
    let mut db = TestDb::new("qrow");
    db.exec(
        "create table {s}.p (id int primary key, cpf text, cnpj text, placa text, cep text,
           email text, uf text, ano int, nome varchar(40))",
    );
    let f = db.file(
        "p.csv",
        "id,cpf,cnpj,placa,cep,email,uf,ano,nome\n\
         1,529.982.247-25,11.222.333/0001-81,ABC1D23,01310-100,a@b.com,SP,2000,Ana\n\
         2,529.982.247-26,11.222.333/0001-81,ABC1D23,01310-100,a@b.com,SP,2000,Bia\n\
         3,529.982.247-25,11.222.333/0001-82,ABC1234,01310-100,a@b.com,SP,2000,Caio\n\
         4,529.982.247-25,12.ABC.345/01DE-35,ABCD123,0131-100,a@b.com,SP,2000,Duda\n\
         5,529.982.247-25,11.222.333/0001-81,ABC1234,01310100,sem-arroba,XX,1900,\n\
         6,,,,,,,,Eva\n\
         7,529.982.247-25,11.222.333/0001-81,ABC1D23,01310-100,sem@ponto,SP,2000,Fabio\n",
    );
    let rules = db.file(
        "r.yaml",
        r#"
rules:
  - {id: cpf_ok, column: cpf, check: cpf}
  - {id: cnpj_ok, column: cnpj, check: cnpj}
  - {id: placa_ok, column: placa, check: plate_br}
  - {id: cep_ok, column: cep, check: cep}
  - {id: email_ok, column: email, check: email, severity: warn}
  - {id: uf_ok, column: uf, check: in, values: [SP, RJ]}
  - {id: ano_ok, column: ano, check: range, min: 1950, max: 2027}
  - {id: nome_ok, column: nome, check: not_null}
  - {id: nome_curto, column: nome, check: length, max: 3, severity: warn}
"#,
    );
    let errors = db.dir.path().join("rej.csv");
    let run = load(
        &db,
        &f,
        &db.t("p"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--max-errors",
            "10",
            "--json",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    );
    run.ok();
    // Rows 2 (cpf), 3 (cnpj), 4 (plate, cep) and 5 (uf, year, name) are out; 1, 6 and 7
    // in (NULL passes every check but not_null; 7 only has warnings).
    assert_eq!(
        db.value("select string_agg(id::text, ',' order by id) from {s}.p"),
        "1,6,7"
    );
    let got = rejects(&errors);
    let want = [
        ("3", "cpf", "cpf_ok", "reject"),
        ("4", "cnpj", "cnpj_ok", "reject"),
        ("5", "placa", "placa_ok", "reject"),
        ("5", "cep", "cep_ok", "reject"),
        ("8", "email", "email_ok", "warn"),
        ("6", "uf", "uf_ok", "reject"),
        ("6", "ano", "ano_ok", "reject"),
        ("6", "nome", "nome_ok", "reject"),
        ("8", "nome", "nome_curto", "warn"),
    ];
    for (line, column, rule, severity) in want {
        assert!(
            got.iter()
                .any(|g| (g.0.as_str(), g.1.as_str(), g.2.as_str(), g.3.as_str())
                    == (line, column, rule, severity)),
            "{line} {column} {rule} {severity} not in {got:?}"
        );
    }
    let summary = run.json();
    assert_eq!(summary["rows_rejected"], 4);
    // Warnings are about rows loaded: Caio, Duda and the e-mail without @ were rejected
    // by other rules; row 7's name and e-mail are listed.
    assert!(!got.iter().any(|g| g.3 == "warn" && g.0 != "8"), "{got:?}");
    assert_eq!(summary["warnings"], 2);
    let rules = summary["quality"]["rules"].as_array().unwrap();
    let failed = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap()["failed"].clone();
    assert_eq!(
        (failed("cpf_ok"), failed("nome_curto"), failed("ano_ok")),
        // A warn rule counts the rows loaded, as its warnings do.
        (1.into(), 1.into(), 1.into())
    );
    let columns = summary["quality"]["columns"].as_array().unwrap();
    let ano = columns.iter().find(|c| c["name"] == "ano").unwrap();
    // Profiled over the rows kept: 1 and 7 (2000) and 6 (NULL).
    assert_eq!(
        (
            ano["rows"].clone(),
            ano["nulls"].clone(),
            ano["min"].clone()
        ),
        (3.into(), 1.into(), "2000".into())
    );
}

#[test]
fn cleaning_runs_before_types() {
    let mut db = TestDb::new("qclean");
    db.exec("create table {s}.c (id int, nome text, doc bigint, status text, placa text)");
    let f = db.file(
        "c.csv",
        "id,nome,doc,status,placa\n\
         1,\"  Jose\u{301}   da  Silva \",123.456.789-09,A,abc-1d23\n\
         2,Ana,1,I,faa 5f00\n\
         3,Bia,2,Z,AAA0000\n",
    );
    let rules = db.file(
        "r.yaml",
        r#"
clean:
  - {column: nome, ops: [trim, collapse_spaces, nfc]}
  - {column: doc, ops: [digits_only]}
  - {column: placa, ops: [upper, {remove: "- "}]}
  - {column: status, map: {A: ativo, I: inativo}, unmapped: reject}
"#,
    );
    let run = load(
        &db,
        &f,
        &db.t("c"),
        &["--rules", rules.to_str().unwrap(), "--max-errors", "1"],
    );
    run.ok();
    assert!(
        run.stderr
            .contains("line 4, column status: value \"Z\" is not in the cleaning map"),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.rows("select nome, doc::text, status, placa from {s}.c order by id"),
        [
            ["José da Silva", "12345678909", "ativo", "ABC1D23"].map(|v| Some(v.to_string())),
            ["Ana", "1", "inativo", "FAA5F00"].map(|v| Some(v.to_string())),
        ]
    );
}

#[test]
fn whole_load_rules_keep_bad_rows_out_and_after_load_keeps_aggregates_in_step() {
    let mut db = TestDb::new("qset");
    db.exec(
        "create table {s}.v (id int primary key, placa text, mun int, km float8, ini date, fim date);
         create table {s}.mun (cod int primary key); insert into {s}.mun select generate_series(1, 9);
         create table {s}.agg (n int); insert into {s}.agg values (-1);",
    );
    let mut csv = String::from("id,placa,mun,km,ini,fim\n");
    for i in 1..=40 {
        csv.push_str(&format!(
            "{i},P{i},{},{},2024-01-01,\n",
            1 + i % 9,
            100 + i % 7
        ));
    }
    csv.push_str("41,P1,1,101,2024-01-01,\n"); // repeats P1: the last wins
    csv.push_str("42,P42,99,101,2024-01-01,\n"); // municipality 99 does not exist
    csv.push_str("43,P43,1,100000,2024-01-01,\n"); // an outlier (warned)
    csv.push_str("44,P44,1,101,2024-05-10,2024-05-01\n"); // ends before it starts
    let f = db.file("v.csv", csv);
    let rules = db.file(
        "r.yaml",
        format!(
            r#"
rules:
  - {{id: placa_unica, column: placa, check: unique, keep: last}}
  - {{id: municipio, column: mun, check: exists_in, table: {s}.mun, key: cod}}
  - {{id: km_atipico, column: km, check: outlier, method: zscore, k: 4, severity: warn}}
  - {{id: datas, check: sql, expr: "fim is null or fim >= ini"}}
after_load:
  - "update {s}.agg set n = (select count(*) from {s}.v)"
"#,
            s = db.schema
        ),
    );
    let r = rules.to_str().unwrap();
    let before = (db.fingerprint(&db.t("v")), db.fingerprint(&db.t("agg")));
    let strict = load(&db, &f, &db.t("v"), &["--rules", r]);
    strict.fails_with(1, "3 rows rejected");
    assert!(
        strict.stderr.contains("[rule municipio]"),
        "{}",
        strict.stderr
    );
    // Nothing changed: neither the table nor the aggregate.
    assert_eq!(
        before,
        (db.fingerprint(&db.t("v")), db.fingerprint(&db.t("agg")))
    );
    let errors = db.dir.path().join("rej.csv");
    let run = load(
        &db,
        &f,
        &db.t("v"),
        &[
            "--rules",
            r,
            "--max-errors",
            "3",
            "--json",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    );
    run.ok();
    let got = rejects(&errors);
    for (line, rule, severity) in [
        ("2", "placa_unica", "reject"),
        ("43", "municipio", "reject"),
        ("44", "km_atipico", "warn"),
        ("45", "datas", "reject"),
    ] {
        assert!(
            got.iter()
                .any(|g| g.0 == line && g.2 == rule && g.3 == severity),
            "{line} {rule}: {got:?}"
        );
    }
    assert_eq!(run.json()["rows_inserted"], 41);
    assert_eq!(run.json()["rows_unchanged"], 0);
    assert_eq!(
        db.value("select count(*) from {s}.v where id in (1, 42, 44)"),
        "0"
    );
    assert_eq!(
        db.value("select count(*) from {s}.v where id in (41, 43)"),
        "2"
    );
    assert_eq!(db.value("select n from {s}.agg"), "41");
}

#[test]
fn a_fail_rule_fails_the_load_naming_it() {
    let mut db = TestDb::new("qfail");
    db.exec("create table {s}.t (id int, v int)");
    let f = db.file("t.csv", "id,v\n1,5\n2,50\n3,7\n");
    let rules = db.file(
        "r.yaml",
        "rules:\n  - {id: v_teto, column: v, check: range, max: 10, severity: fail}\n",
    );
    load(&db, &f, &db.t("t"), &["--rules", rules.to_str().unwrap()]).fails_with(
        1,
        "rule v_teto failed (1 row, the first on line 3 (value \"50\"))",
    );
    let rules = db.file(
        "n.yaml",
        "rules:\n  - {id: poucas, check: row_count, min: 10, severity: fail}\n",
    );
    load(&db, &f, &db.t("t"), &["--rules", rules.to_str().unwrap()]).fails_with(
        1,
        "rule poucas failed (3 rows to write; expected at least 10)",
    );
    let warn = db.file(
        "w.yaml",
        "rules:\n  - {id: poucas, check: row_count, min: 10, severity: warn}\n",
    );
    load(&db, &f, &db.t("t"), &["--rules", warn.to_str().unwrap()]).ok();
    assert_eq!(db.value("select count(*) from {s}.t"), "3");
}

#[test]
fn bad_rule_sets_are_refused_naming_the_rule_and_the_table_is_untouched() {
    let mut db = TestDb::new("qbad");
    db.exec("create table {s}.t (id int, v int); insert into {s}.t values (0, 0)");
    let f = db.file("t.csv", "id,v\n1,5\n");
    let before = db.fingerprint(&db.t("t"));
    let cases: [(&str, &str); 7] = [
        (
            "rules:\n  - {id: a, column: v, check: range, mni: 1}",
            "unknown field `mni`",
        ),
        (
            "rules:\n  - {id: a, column: v, check: regex, pattern: '(['}",
            "rule a: pattern \"([\" is not a valid regex",
        ),
        (
            "rules:\n  - {id: a, column: nope, check: not_null}",
            "rule a: ",
        ),
        (
            "rules:\n  - {id: a, column: v, check: exists_in, table: no_such_ref}",
            "reference table \"no_such_ref\" does not exist",
        ),
        (
            "rules:\n  - {id: a, check: sql, expr: 'nope > 1'}",
            "rule a: expr \"nope > 1\": column \"nope\" does not exist",
        ),
        (
            "rules:\n  - {id: a, column: v, check: range, min: 'x'}",
            "rule a: integer column: bound \"x\" is not a number",
        ),
        (
            "after_load:\n  - 'insert into no_such_table values (1)'",
            "after_load statement 1",
        ),
    ];
    for (i, (yaml, message)) in cases.iter().enumerate() {
        let rules = db.file(&format!("r{i}.yaml"), yaml);
        let run = load(&db, &f, &db.t("t"), &["--rules", rules.to_str().unwrap()]);
        assert_ne!(run.code, 0, "{yaml}");
        assert!(run.stderr.contains(message), "{yaml}: {}", run.stderr);
        assert_eq!(db.fingerprint(&db.t("t")), before, "{yaml}");
    }
}

#[test]
fn a_dry_run_counts_what_would_change_and_lists_it() {
    let mut db = TestDb::new("qdiff");
    db.exec(
        "create table {s}.t (id int primary key, v int, tag text, doc jsonb);
         insert into {s}.t values (1, 1, 'a', '{}'), (2, 2, 'b', '{}'), (3, 3, 'c', '{}'), (9, 9, 'z', null)",
    );
    let f = db.file(
        "t.csv",
        "id,v,tag,doc\n1,1,a,{}\n2,20,b,{}\n3,3,c2,\"{\"\"k\"\":1}\"\n4,4,d,\n",
    );
    let before = db.fingerprint(&db.t("t"));
    let diff = db.dir.path().join("diff.ndjson");
    let run = load(
        &db,
        &f,
        &db.t("t"),
        &[
            "--mode",
            "merge",
            "--delete-missing",
            "--dry-run",
            "--json",
            "--diff-file",
            diff.to_str().unwrap(),
        ],
    );
    run.ok();
    let s = run.json();
    let counts = (
        &s["rows_inserted"],
        &s["rows_updated"],
        &s["rows_unchanged"],
        &s["rows_deleted"],
    );
    assert_eq!(counts, (&1.into(), &2.into(), &1.into(), &1.into()), "{s}");
    assert_eq!(
        db.fingerprint(&db.t("t")),
        before,
        "a dry run writes nothing"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&diff)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["change"], "update");
    assert_eq!(lines[0]["key"]["id"], 2);
    assert_eq!(
        lines[0]["columns"],
        serde_json::json!({"v": {"old": 2, "new": 20}})
    );
    assert_eq!(
        lines[1]["columns"]["tag"],
        serde_json::json!({"old": "c", "new": "c2"})
    );
    assert_eq!(
        lines[1]["columns"]["doc"]["new"],
        serde_json::json!({"k": 1})
    );
    assert_eq!(
        (lines[2]["change"].as_str(), lines[2]["row"]["tag"].as_str()),
        (Some("insert"), Some("d"))
    );
    assert_eq!(
        (lines[3]["change"].as_str(), lines[3]["key"]["id"].as_i64()),
        (Some("delete"), Some(9))
    );
    // The same load for real does what the dry run said.
    let real = load(
        &db,
        &f,
        &db.t("t"),
        &["--mode", "merge", "--delete-missing", "--json"],
    );
    real.ok();
    let r = real.json();
    assert_eq!(
        (
            &r["rows_inserted"],
            &r["rows_updated"],
            &r["rows_unchanged"],
            &r["rows_deleted"]
        ),
        counts
    );
    load(
        &db,
        &f,
        &db.t("t"),
        &["--diff-file", diff.to_str().unwrap()],
    )
    .fails_with(2, "--diff-file lists changes by key");
}

#[test]
fn registered_rules_apply_to_every_load_and_are_versioned() {
    let mut db = TestDb::new("qreg");
    db.exec("create table {s}.t (id int, cpf text)");
    let good = db.file("good.csv", "id,cpf\n1,529.982.247-25\n");
    let bad = db.file("bad.csv", "id,cpf\n2,529.982.247-26\n");
    let rules = db.file(
        "r.yaml",
        "rules:\n  - {id: cpf_ok, column: CPF, check: cpf}\n",
    );
    let r = rules.to_str().unwrap();
    let table = db.t("t");
    ingest(&db, &["rules", "check", &table, r]).ok();
    ingest(&db, &["rules", "apply", &table, r]).ok();
    let applied = ingest(&db, &["rules", "apply", &table, r]);
    applied.ok();
    assert!(
        applied
            .stderr
            .contains("rules version 2 registered (0 cleaning steps, 1 rule"),
        "{}",
        applied.stderr
    );
    let shown = ingest(&db, &["rules", "show", &table]);
    shown.ok();
    // Stored with the table's own spelling of the column.
    assert!(
        shown.stdout.contains("column: cpf") && shown.stdout.contains("id: cpf_ok"),
        "{}",
        shown.stdout
    );
    load(&db, &bad, &table, &[]).fails_with(1, "[rule cpf_ok]");
    let ok = load(&db, &good, &table, &["--json"]);
    ok.ok();
    assert_eq!(ok.json()["quality"]["rules_version"], 2);
    // An empty set clears them; a set naming a missing column is refused, naming it.
    ingest(&db, &["rules", "apply", &table, "/dev/null"]).ok();
    load(&db, &bad, &table, &[]).ok();
    let missing = db.file(
        "m.yaml",
        "rules:\n  - {id: x, column: nope, check: not_null}\n",
    );
    ingest(&db, &["rules", "apply", &table, missing.to_str().unwrap()]).fails_with(2, "rule x: ");
    let schema = ingest(&db, &["rules", "schema"]);
    schema.ok();
    let schema: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    assert!(schema["properties"]["rules"].is_object(), "{schema}");
    assert_eq!(db.value("select count(*) from {s}.t"), "2");
    drop_service_schema(&mut db);
}

#[test]
fn the_report_is_one_page_with_charts_even_for_a_failed_load() {
    let mut db = TestDb::new("qreport");
    db.exec("create table {s}.t (id int, km float8)");
    let mut csv = String::from("id,km\n");
    for i in 0..500 {
        csv.push_str(&format!("{i},{}\n", (i * 37) % 1000));
    }
    let f = db.file("t.csv", csv);
    let rules = db.file(
        "r.yaml",
        "rules:\n  - {id: km_max, column: km, check: range, max: 900}\n",
    );
    let page = db.dir.path().join("q.html");
    let p = page.to_str().unwrap();
    load(
        &db,
        &f,
        &db.t("t"),
        &["--rules", rules.to_str().unwrap(), "--report", p],
    )
    .fails_with(1, "rows rejected");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("km_max") && html.contains("failed") && html.matches("<svg").count() >= 2,
        "{html}"
    );
    assert!(!html.contains("<script") && !html.contains("src="));
    // Without rules, --report still profiles the columns.
    load(&db, &f, &db.t("t"), &["--report", p]).ok();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("No rules applied") && html.contains("<svg"),
        "{html}"
    );
    load(&db, &f, &db.t("t"), &["--report", "/no/such/dir/q.html"])
        .fails_with(2, "report /no/such/dir/q.html");
    assert_eq!(db.value("select count(*) from {s}.t"), "500");
}

#[test]
fn rules_and_cleaning_apply_to_a_typed_file_written_by_pyarrow() {
    let mut db = TestDb::new("qparquet");
    db.exec("create table {s}.v (id bigint, placa text, ano int, km float8)");
    let file = db.dir.path().join("v.parquet");
    crate::fixtures::py(
        "import sys, pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({'id': pa.array([1, 2, 3, 4], pa.int64()),
                         'placa': pa.array(['abc-1d23', 'faa 5f00', 'XX', None]),
                         'ano': pa.array([2000, 2207, 2010, 2011], pa.int32()),
                         'km': pa.array([10.5, 20.0, 30.0, None])}), sys.argv[1])",
        &[file.to_str().unwrap()],
    );
    let rules = db.file(
        "r.yaml",
        r#"
clean:
  - {column: placa, ops: [upper, {remove: "- "}]}
rules:
  - {id: placa_ok, column: placa, check: plate_br}
  - {id: ano_ok, column: ano, check: range, min: 1950, max: 2027}
  - {id: km_ok, column: km, check: not_null, severity: warn}
"#,
    );
    let errors = db.dir.path().join("rej.csv");
    let run = load(
        &db,
        &file,
        &db.t("v"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--max-errors",
            "5",
            "--json",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    );
    run.ok();
    // Strings are cleaned as text; the typed year is checked as a number; a Parquet
    // row's "line" is its row number.
    assert_eq!(
        db.rows("select id::text, placa from {s}.v order by id"),
        [["1", "ABC1D23"], ["4", "NULL"]].map(|r| r.map(|v| (v != "NULL").then(|| v.to_string())))
    );
    let got = rejects(&errors);
    assert!(
        got.contains(&("2".into(), "ano".into(), "ano_ok".into(), "reject".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "3".into(),
            "placa".into(),
            "placa_ok".into(),
            "reject".into()
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&("4".into(), "km".into(), "km_ok".into(), "warn".into())),
        "{got:?}"
    );
    assert_eq!(run.json()["warnings"], 1);
}

#[test]
fn edge_cases_of_rules_hold() {
    let mut db = TestDb::new("qedge");
    // Values only the server reads (inet) are checked by their text.
    db.exec("create table {s}.h (id int, ip inet)");
    let f = db.file("h.csv", "id,ip\n1,10.0.0.1\n2,192.168.0.1\n3,\n");
    let rules = db.file(
        "h.yaml",
        "rules:\n  - {id: ip_presente, column: ip, check: not_null}\n  - {id: rede, column: ip, check: regex, pattern: '^10\\.'}\n",
    );
    let errors = db.dir.path().join("h.csv.rej");
    load(
        &db,
        &f,
        &db.t("h"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--max-errors",
            "5",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(ip::text, ',') from {s}.h"),
        "10.0.0.1/32"
    );
    let got = rejects(&errors);
    assert!(
        got.contains(&("3".into(), "ip".into(), "rede".into(), "reject".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "4".into(),
            "ip".into(),
            "ip_presente".into(),
            "reject".into()
        )),
        "{got:?}"
    );

    // A NaN does not make every other value an outlier.
    db.exec("create table {s}.k (id int, km float8)");
    let f = db.file("k.csv", "id,km\n1,1\n2,2\n3,NaN\n4,3\n5,2\n6,1000\n");
    let rules = db.file(
        "k.yaml",
        "rules:\n  - {id: km_atipico, column: km, check: outlier, k: 1.5}\n",
    );
    load(
        &db,
        &f,
        &db.t("k"),
        &["--rules", rules.to_str().unwrap(), "--max-errors", "5"],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(id::text, ',' order by id) from {s}.k"),
        "1,2,3,4,5"
    );

    // row_count counts the rows written, after duplicate keys are dropped.
    db.exec("create table {s}.u (id int primary key, v int)");
    let f = db.file("u.csv", "id,v\n1,1\n1,2\n2,2\n");
    let rules = db.file(
        "u.yaml",
        "rules:\n  - {id: no_max, check: row_count, max: 2, severity: fail}\n",
    );
    let run = load(
        &db,
        &f,
        &db.t("u"),
        &[
            "--mode",
            "upsert",
            "--rules",
            rules.to_str().unwrap(),
            "--json",
        ],
    );
    run.ok();
    assert_eq!(run.json()["rows_duplicate"], 1);
    // An empty file is judged too.
    let empty = db.file("empty.csv", "");
    let rules = db.file(
        "e.yaml",
        "rules:\n  - {id: cheio, check: row_count, min: 1, severity: fail}\n",
    );
    load(
        &db,
        &empty,
        &db.t("u"),
        &["--allow-empty", "--rules", rules.to_str().unwrap()],
    )
    .fails_with(
        1,
        "rule cheio failed (0 rows to write; expected at least 1)",
    );

    // keep: none leaves every copy out, and says so.
    let f = db.file("n.csv", "id,v\n10,7\n11,7\n12,8\n");
    let rules = db.file(
        "n.yaml",
        "rules:\n  - {id: v_unico, column: v, check: unique, keep: none}\n",
    );
    let run = load(
        &db,
        &f,
        &db.t("u"),
        &["--rules", rules.to_str().unwrap(), "--max-errors", "2"],
    );
    run.ok();
    assert!(
        run.stderr.contains("every copy is left out"),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.value("select string_agg(id::text, ',' order by id) from {s}.u where id >= 10"),
        "12"
    );
}
