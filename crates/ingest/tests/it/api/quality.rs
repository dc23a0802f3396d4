//! Quality rules over the API: a table's registered rules (versioned, applied to every
//! later job), a job's own rules, the rejects and warnings they name, the HTML report, and
//! SQL in rules only from a token allowed to send it.

use serde_json::{Value, json};

use super::*;
use crate::support::TestDb;

const JSON: (&str, &str) = ("content-type", "application/json");
const YAML: (&str, &str) = ("content-type", "application/yaml");

/// The table's second rule set: cleaning, a rule of each kind, one of them a warning.
const RULES_V2: &str = r#"
clean:
  - {column: Placa, ops: [upper, {remove: "- "}]}
rules:
  - {id: cpf_valido, column: cpf, check: cpf}
  - {id: ano_ok, column: ano, check: range, min: 1950, max: 2027}
  - {id: email_ok, column: email, check: regex, pattern: '^[^@\s]+@[^@\s]+\.[^@\s]+$', severity: warn}
  - {id: datas, check: sql, expr: "fim is null or fim >= inicio"}
"#;

/// Line 3 fails a warning (loaded), lines 4, 5 and 6 one reject rule each.
const FROTA: &str = "id,placa,cpf,ano,email,inicio,fim
1,abc-1234,529.982.247-25,2010,ana@exemplo.com.br,2020-01-01,2021-01-01
2,xyz 9k87,111.444.777-35,1999,sem-arroba,2020-01-01,
3,def5678,123.456.789-00,2005,caio@exemplo.com,2020-01-01,
4,ghi9012,529.982.247-25,1900,duda@exemplo.com,2020-01-01,
5,jkl3456,111.444.777-35,2015,eva@exemplo.com,2021-06-01,2021-01-01
";

#[test]
fn registered_rules_are_versioned_and_every_later_job_applies_them() {
    let mut db = TestDb::new("apiqual");
    let queue = format!("{}_q", db.schema);
    db.exec(
        "create table {s}.veiculos (id int primary key, placa text, cpf text, ano int,
                                    email text, inicio date, fim date)",
    );
    db.exec("create table {s}.outra (id int primary key)");
    let t = db.t("veiculos");
    let srv = serve(&db, &queue);
    let p = srv.port;

    rules_are_versioned(p, &t);
    rules_that_do_not_fit_are_refused(p, &t, &db.t("outra"), &db.t("nada"));
    let id = a_job_applies_the_registered_rules(&mut db, p, &t);
    rejects_and_warnings_name_their_rule(p, &id);
    the_report_is_a_page_with_charts(p, &t, &id);
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

/// `PUT /v1/tables/{table}/rules` with `body`: (status, body).
fn put_rules(p: u16, headers: &[(&str, &str)], table: &str, body: &str) -> (u16, String) {
    let path = format!("/v1/tables/{table}/rules");
    let (status, _, answer) = http(p, "PUT", &path, headers, body.as_bytes());
    (status, answer)
}

fn get_rules(p: u16, headers: &[(&str, &str)], table: &str) -> (u16, String) {
    let (status, _, answer) = http(p, "GET", &format!("/v1/tables/{table}/rules"), headers, b"");
    (status, answer)
}

/// The answer is a problem of type `kind` whose detail names each of `names`.
fn assert_problem(answer: (u16, String), status: u16, kind: &str, names: &[&str]) {
    let (got, body) = answer;
    assert_eq!(got, status, "{body}");
    let problem = json(&body);
    let (kind_seen, detail) = (problem["type"].as_str(), problem["detail"].as_str());
    assert!(
        kind_seen.is_some_and(|k| k.ends_with(&format!("/{kind}"))),
        "{body}"
    );
    for name in names {
        assert!(detail.is_some_and(|d| d.contains(name)), "{name}: {body}");
    }
}

/// The ids of a rule set's rules (as stored) or of a report's outcomes.
fn ids(rules: &Value) -> Vec<&str> {
    let rules = rules.as_array().unwrap_or_else(|| panic!("{rules}"));
    rules.iter().filter_map(|r| r["id"].as_str()).collect()
}

/// JSON or YAML, each PUT is the next version; GET gives the latest, columns spelled as
/// the table spells them.
fn rules_are_versioned(p: u16, t: &str) {
    let v1 = r#"{"rules": [{"id": "cpf_valido", "column": "cpf", "check": "cpf"}]}"#;
    let (status, body) = put_rules(p, &[JSON], t, v1);
    assert_eq!(status, 200, "{body}");
    let first = json(&body);
    assert_eq!(
        (first["table"].as_str(), first["version"].as_i64()),
        (Some(t), Some(1))
    );
    assert!(
        first["created_at"].as_str().is_some_and(|c| !c.is_empty()),
        "{first}"
    );
    let (status, body) = put_rules(p, &[YAML], t, RULES_V2);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["version"], 2, "{body}");
    let (status, body) = get_rules(p, &[], t);
    assert_eq!(status, 200, "{body}");
    let latest = json(&body);
    assert_eq!(latest["version"], 2);
    assert_eq!(
        ids(&latest["rules"]["rules"]),
        ["cpf_valido", "ano_ok", "email_ok", "datas"]
    );
    // `Placa` in the YAML is the table's `placa`: stored as the table spells it.
    assert_eq!(latest["rules"]["clean"][0]["column"], "placa", "{latest}");
    assert_eq!(latest["rules"]["rules"][1]["max"].as_f64(), Some(2027.0));
}

/// A set that does not fit the table is refused, naming the rule and what is wrong, and
/// registers nothing; no rules, no table: 404.
fn rules_that_do_not_fit_are_refused(p: u16, t: &str, without_rules: &str, missing: &str) {
    let no_column = "rules:\n  - {id: chassi_ok, column: chassi, check: not_null}\n";
    let answer = put_rules(p, &[YAML], t, no_column);
    assert_problem(answer, 400, "invalid-rules", &["chassi_ok", "chassi"]);
    let bad_regex = "rules:\n  - {id: placa_fmt, column: placa, check: regex, pattern: '(['}\n";
    let answer = put_rules(p, &[YAML], t, bad_regex);
    assert_problem(answer, 400, "invalid-rules", &["placa_fmt"]);
    let typo = "rules:\n  - {id: ano_ok, column: ano, check: range, mni: 1}\n";
    assert_problem(
        put_rules(p, &[YAML], t, typo),
        400,
        "invalid-rules",
        &["mni"],
    );
    // None of them became a version.
    assert_eq!(json(&get_rules(p, &[], t).1)["version"], 2);
    assert_problem(get_rules(p, &[], without_rules), 404, "no-rules", &[]);
    let answer = put_rules(p, &[YAML], missing, RULES_V2);
    assert_problem(answer, 404, "unknown-table", &[]);
}

/// A job of `file` into `table` with `extra` top-level fields (`rules`, `options`...).
fn job_body(table: &str, file: &std::path::Path, extra: Value) -> String {
    let mut body =
        json!({"source": {"url": file.display().to_string()}, "target": {"table": table}});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    body.to_string()
}

/// Submits a job (expecting 201) and waits for its end.
fn run_job(p: u16, auth: &[(&str, &str)], body: &str) -> Value {
    let headers: Vec<(&str, &str)> = [JSON].iter().chain(auth).copied().collect();
    let (status, _, created) = http(p, "POST", "/v1/jobs", &headers, body.as_bytes());
    assert_eq!(status, 201, "{created}");
    let id = json(&created)["id"].as_str().unwrap().to_string();
    let (_, _, done) = http(p, "GET", &format!("/v1/jobs/{id}?wait=30"), auth, b"");
    let done = json(&done);
    assert!(
        done["state"] != "running" && done["state"] != "queued",
        "{done}"
    );
    done
}

/// A job without rules of its own: the registered version 2 cleans, rejects and warns.
fn a_job_applies_the_registered_rules(db: &mut TestDb, p: u16, t: &str) -> String {
    let file = db.file("frota.csv", FROTA);
    let done = run_job(
        p,
        &[],
        &job_body(t, &file, json!({"options": {"max_errors": 10}})),
    );
    let stats = &done["stats"];
    assert_eq!(done["state"], "succeeded", "{done}");
    let id = done["id"].as_str().unwrap().to_string();
    assert_eq!(done["report_url"], format!("/v1/jobs/{id}/report"));
    // The warned row is loaded and counted apart from the rejected ones.
    let counts = ["rows_inserted", "rows_rejected", "warnings"].map(|k| stats[k].as_u64());
    assert_eq!(counts, [Some(2), Some(3), Some(1)], "{stats}");
    let quality = &stats["quality"];
    assert_eq!(quality["rules_version"], 2, "{stats}");
    let outcomes = &quality["rules"];
    assert_eq!(ids(outcomes), ["cpf_valido", "ano_ok", "email_ok", "datas"]);
    let numbers = |key: &str| -> Vec<Option<u64>> {
        outcomes
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o[key].as_u64())
            .collect()
    };
    assert_eq!(numbers("failed"), [Some(1); 4], "{outcomes}");
    // Row rules see every row; the sql rule only the 3 rows the row rules kept.
    assert_eq!(
        numbers("checked"),
        [Some(5), Some(5), Some(5), Some(3)],
        "{outcomes}"
    );
    assert_eq!(outcomes[0]["severity"], "reject");
    assert_eq!(outcomes[2]["severity"], "warn");
    assert_eq!(
        outcomes[0]["sample"],
        json!([{"line": 4, "value": "123.456.789-00"}])
    );
    assert!(
        quality["columns"].as_array().is_some_and(|c| !c.is_empty()),
        "{quality}"
    );
    // Exactly the good row and the warned one, cleaned by the registered step.
    assert_eq!(
        db.value(&format!(
            "select string_agg(id || ':' || placa, ',' order by id) from {t}"
        )),
        "1:ABC1234,2:XYZ9K87"
    );
    id
}

/// `/errors` with `query`.
fn errors(p: u16, id: &str, query: &str) -> String {
    let (status, _, body) = http(p, "GET", &format!("/v1/jobs/{id}/errors{query}"), &[], b"");
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// Rejects and warnings, each naming its rule and severity, in CSV and NDJSON, filtered
/// by severity.
fn rejects_and_warnings_name_their_rule(p: u16, id: &str) {
    let csv = errors(p, id, "");
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let head: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        head,
        [
            "line", "column", "value", "reason", "file", "rule", "severity"
        ]
    );
    let mut rows: Vec<[String; 5]> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            [0, 1, 2, 5, 6].map(|i| r[i].to_string())
        })
        .collect();
    rows.sort_by_key(|r| r[0].parse::<u64>().unwrap());
    let picked: Vec<[&str; 3]> = rows.iter().map(|r| [&*r[0], &*r[3], &*r[4]]).collect();
    assert_eq!(
        picked,
        [
            ["3", "email_ok", "warn"],
            ["4", "cpf_valido", "reject"],
            ["5", "ano_ok", "reject"],
            ["6", "datas", "reject"],
        ],
        "{csv}"
    );
    assert_eq!([&*rows[1][1], &*rows[1][2]], ["cpf", "123.456.789-00"]);
    // NDJSON says the same; ?severity=warn keeps the warning alone, reject the others.
    let nd = errors(p, id, "?format=ndjson");
    let rules: Vec<Value> = nd.lines().map(|l| json(l)["rule"].clone()).collect();
    assert_eq!(rules.len(), 4, "{nd}");
    assert!(rules.iter().all(Value::is_string), "{nd}");
    let warned = errors(p, id, "?format=ndjson&severity=warn");
    let only: Vec<Value> = warned.lines().map(json).collect();
    assert_eq!(only.len(), 1, "{warned}");
    assert_eq!(
        [
            &only[0]["line"],
            &only[0]["column"],
            &only[0]["value"],
            &only[0]["rule"],
            &only[0]["severity"]
        ],
        [
            &json!(3),
            &json!("email"),
            &json!("sem-arroba"),
            &json!("email_ok"),
            &json!("warn")
        ]
    );
    let rejected = errors(p, id, "?severity=reject");
    assert_eq!(rejected.lines().count(), 1 + 3, "{rejected}");
    assert!(!rejected.contains(",warn"), "{rejected}");
    let path = format!("/v1/jobs/{id}/errors?severity=fatal");
    assert_eq!(http(p, "GET", &path, &[], b"").0, 400);
}

/// The report: 404 before a job ran, then one HTML page naming every rule, with charts.
fn the_report_is_a_page_with_charts(p: u16, t: &str, id: &str) {
    let upload = json!({"source": {"upload": true}, "target": {"table": t}, "format": "csv"});
    let (_, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[JSON],
        upload.to_string().as_bytes(),
    );
    let waiting = json(&created)["id"].as_str().unwrap().to_string();
    let (status, _, body) = http(p, "GET", &format!("/v1/jobs/{waiting}/report"), &[], b"");
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        http(p, "POST", &format!("/v1/jobs/{waiting}/cancel"), &[], b"").0,
        202
    );
    let (status, head, page) = http(p, "GET", &format!("/v1/jobs/{id}/report"), &[], b"");
    assert_eq!(status, 200, "{page}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    for rule in ["cpf_valido", "ano_ok", "email_ok", "datas"] {
        assert!(page.contains(rule), "{rule} missing from the report");
    }
    assert!(page.contains("<svg"), "no chart in the report");
}

#[test]
fn a_jobs_own_rules_apply_after_the_tables_and_a_bad_set_is_refused() {
    let mut db = TestDb::new("apiqinline");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, qty int)");
    let t = db.t("t");
    let srv = serve(&db, &queue);
    let p = srv.port;
    let registered = "rules:\n  - {id: id_pequeno, column: id, check: range, max: 100}\n";
    assert_eq!(put_rules(p, &[YAML], &t, registered).0, 200);
    // Lines 3 and 4 fail the job's rule, line 6 the table's.
    let file = db.file("in.csv", "id,qty\n1,10\n2,500\n3,-1\n4,100\n200,5\n");
    let own = json!({"rules": [{"id": "qty_ok", "column": "qty", "check": "range", "min": 0, "max": 100}]});
    let body = job_body(
        &t,
        &file,
        json!({"rules": own, "options": {"max_errors": 10}}),
    );
    let done = run_job(p, &[], &body);
    assert_eq!(done["state"], "succeeded", "{done}");
    let quality = &done["stats"]["quality"];
    assert!(quality.is_object(), "{done}");
    // The table's rules first, then the job's own.
    assert_eq!(
        ids(&quality["rules"]),
        ["id_pequeno", "qty_ok"],
        "{quality}"
    );
    assert_eq!(quality["rules_version"], 1);
    let failed: Vec<_> = [0, 1]
        .map(|i| quality["rules"][i]["failed"].as_u64())
        .into();
    assert_eq!(failed, [Some(1), Some(2)], "{quality}");
    assert_eq!(
        db.value(&format!(
            "select string_agg(id::text, ',' order by id) from {t}"
        )),
        "1,4"
    );
    let id = done["id"].as_str().unwrap();
    let mut named: Vec<(i64, String)> = errors(p, id, "?format=ndjson")
        .lines()
        .map(|l| {
            let e = json(l);
            (
                e["line"].as_i64().unwrap(),
                e["rule"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    named.sort();
    let want = [(3, "qty_ok"), (4, "qty_ok"), (6, "id_pequeno")].map(|(l, r)| (l, r.to_string()));
    assert_eq!(named, want);
    a_bad_set_of_its_own_is_refused(&mut db, p, &t, &file);
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

/// Rules of a job's own that cannot run are refused when the job is submitted: no job,
/// the table untouched.
fn a_bad_set_of_its_own_is_refused(db: &mut TestDb, p: u16, t: &str, file: &std::path::Path) {
    let before = db.fingerprint(t);
    let (_, _, list) = http(p, "GET", "/v1/jobs", &[], b"");
    let jobs = json(&list)["jobs"].as_array().map(Vec::len);
    for (rules, names) in [
        (
            json!({"rules": [{"id": "peso_ok", "column": "peso", "check": "not_null"}]}),
            ["peso_ok", "peso"],
        ),
        (
            json!({"rules": [{"id": "fmt", "column": "qty", "check": "regex", "pattern": "(["}]}),
            ["fmt", "regex"],
        ),
        (
            json!({"rules": [{"id": "sem_limite", "column": "qty", "check": "range"}]}),
            ["sem_limite", "min"],
        ),
        (json!({"regras": []}), ["regras", "rules"]),
    ] {
        let body = job_body(t, file, json!({"rules": rules}));
        let (status, _, answer) = http(p, "POST", "/v1/jobs", &[JSON], body.as_bytes());
        assert_problem((status, answer), 400, "invalid-rules", &names);
    }
    let (_, _, list) = http(p, "GET", "/v1/jobs", &[], b"");
    assert_eq!(json(&list)["jobs"].as_array().map(Vec::len), jobs);
    assert_eq!(db.fingerprint(t), before);
}

#[test]
fn sql_in_rules_needs_a_token_allowed_to_send_it() {
    let mut db = TestDb::new("apiqtok");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, qty int)");
    db.exec("create table {s}.other (id int primary key)");
    db.exec("create table {s}.log (loaded bigint)");
    let (t, other) = (db.t("t"), db.t("other"));
    let srv = serve(&db, &queue);
    let p = srv.port;
    let token = |name: &str, tables: &str, more: &[&str]| {
        let args = [&["create", "--name", name, "--tables", tables], more].concat();
        let (code, secret, err) = token_cmd(&queue, &args);
        assert_eq!(code, 0, "{err}");
        format!("Bearer {secret}")
    };
    let (etl, admin, outro) = (
        token("etl", &t, &[]),
        token("admin", &t, &["--allow-sql"]),
        token("outro", &other, &[]),
    );
    let file = db.file("in.csv", "id,qty\n1,10\n");
    without_allow_sql_no_sql_is_sent(&mut db, p, &etl, &t, &file);
    with_allow_sql_it_is(&mut db, p, &admin, &t, &file);
    // Registered SQL runs in every later job into the table, whoever sends it.
    let more = db.file("more.csv", "id,qty\n2,5\n3,-2\n");
    let body = job_body(&t, &more, json!({"options": {"max_errors": 5}}));
    let done = run_job(p, &[("authorization", &etl)], &body);
    assert_eq!(done["state"], "succeeded", "{done}");
    let outcomes = &done["stats"]["quality"]["rules"];
    assert!(outcomes.is_array(), "{done}");
    assert_eq!(ids(outcomes), ["positivo"], "{done}");
    assert_eq!(outcomes[0]["failed"], 1, "{done}");
    assert_eq!(
        db.value(&format!(
            "select string_agg(id::text, ',' order by id) from {t}"
        )),
        "1,2"
    );
    // A token for another table reaches none of this one's rules.
    let auth = [("authorization", outro.as_str())];
    let answer = put_rules(p, &[auth[0], YAML], &t, "rules: []\n");
    assert_problem(answer, 403, "table-not-allowed", &[]);
    assert_problem(get_rules(p, &auth, &t), 403, "table-not-allowed", &[]);
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

/// A token without --allow-sql sends no SQL, neither with a job nor registered; rules
/// without SQL it may register.
fn without_allow_sql_no_sql_is_sent(
    db: &mut TestDb,
    p: u16,
    etl: &str,
    t: &str,
    file: &std::path::Path,
) {
    let before = db.fingerprint(t);
    let headers = [JSON, ("authorization", etl)];
    let log = db.t("log");
    let sql_check = json!({"rules": [{"id": "positivo", "check": "sql", "expr": "qty > 0"}]});
    let after_load = json!({"after_load": [format!("insert into {log} select count(*) from {t}")]});
    for rules in [&sql_check, &after_load] {
        let body = job_body(t, file, json!({"rules": rules}));
        let (status, _, answer) = http(p, "POST", "/v1/jobs", &headers, body.as_bytes());
        assert_problem(
            (status, answer),
            403,
            "sql-not-allowed",
            &["etl", "--allow-sql"],
        );
        let answer = put_rules(p, &headers, t, &rules.to_string());
        assert_problem(answer, 403, "sql-not-allowed", &["etl", "--allow-sql"]);
    }
    assert_problem(get_rules(p, &headers, t), 404, "no-rules", &[]);
    assert_eq!(db.fingerprint(t), before);
    // Rules without SQL are its to register.
    let plain = "rules:\n  - {id: qty_ok, column: qty, check: range, min: 0}\n";
    let (status, body) = put_rules(p, &[("authorization", etl), YAML], t, plain);
    assert_eq!(
        (status, json(&body)["version"].as_i64()),
        (200, Some(1)),
        "{body}"
    );
}

/// A token created with --allow-sql registers a sql check and sends after_load with a job.
fn with_allow_sql_it_is(db: &mut TestDb, p: u16, admin: &str, t: &str, file: &std::path::Path) {
    let auth = ("authorization", admin);
    let sql_check = json!({"rules": [{"id": "positivo", "check": "sql", "expr": "qty > 0"}]});
    let (status, body) = put_rules(p, &[JSON, auth], t, &sql_check.to_string());
    assert_eq!(
        (status, json(&body)["version"].as_i64()),
        (200, Some(2)),
        "{body}"
    );
    let log = db.t("log");
    let after_load = json!({"after_load": [format!("insert into {log} select count(*) from {t}")]});
    let done = run_job(p, &[auth], &job_body(t, file, json!({"rules": after_load})));
    assert_eq!(done["state"], "succeeded", "{done}");
    // The statement ran after the write, seeing the loaded row.
    assert_eq!(
        db.value(&format!("select string_agg(loaded::text, ',') from {log}")),
        "1"
    );
}

#[test]
fn after_load_keeps_an_aggregate_in_step_and_a_failed_job_changes_neither_table() {
    let mut db = TestDb::new("apiqafter");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.vendas (id int primary key, loja text not null, valor int not null)");
    db.exec("create table {s}.totais (loja text primary key, total bigint not null)");
    let (vendas, totais) = (db.t("vendas"), db.t("totais"));
    // No token exists: a loopback caller may send SQL with its job.
    let srv = serve(&db, &queue);
    let p = srv.port;
    let rules = json!({
        "rules": [{"id": "valor_ok", "column": "valor", "check": "range", "min": 0}],
        "after_load": [format!(
            "insert into {totais} select loja, sum(valor) from {vendas} group by loja
             on conflict (loja) do update set total = excluded.total"
        )],
    });
    let load = |db: &mut TestDb, name: &str, rows: &str, max_errors: u32| {
        let file = db.file(name, format!("id,loja,valor\n{rows}"));
        let extra = json!({"rules": rules, "options": {"max_errors": max_errors}});
        run_job(p, &[], &job_body(&vendas, &file, extra))
    };
    let totals = |db: &mut TestDb| {
        db.value(&format!(
            "select string_agg(loja || '=' || total, ',' order by loja) from {totais}"
        ))
    };
    assert_eq!(
        load(&mut db, "a.csv", "1,A,10\n2,A,20\n3,B,5\n", 0)["state"],
        "succeeded"
    );
    assert_eq!(totals(&mut db), "A=30,B=5");
    assert_eq!(
        load(&mut db, "b.csv", "4,B,7\n5,C,1\n", 0)["state"],
        "succeeded"
    );
    assert_eq!(totals(&mut db), "A=30,B=12,C=1");
    // Two rows fail valor_ok where one is tolerated: the job fails, and neither the table
    // nor the aggregate its after_load keeps has changed.
    let (before, before_totals) = (db.fingerprint(&vendas), db.fingerprint(&totais));
    let failed = load(&mut db, "c.csv", "6,A,100\n7,A,-1\n8,B,-2\n", 1);
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["stats"]["rows_rejected"], 2, "{failed}");
    assert_eq!(
        (db.fingerprint(&vendas), db.fingerprint(&totais)),
        (before, before_totals)
    );
    assert_eq!(totals(&mut db), "A=30,B=12,C=1");
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}
