//! The console's HTML handlers without a browser: what each page answers, that a file's or
//! a table's markup comes out escaped, that a token sees its own tables and jobs only, and
//! that forms and writes need the session's CSRF token.

use super::{http, json, serve_with, token_cmd, wait_end};
use crate::support::TestDb;

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A `name=value` cookie a response sets.
fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .find_map(|l| {
            let v = l.split_once(':')?.1.trim();
            v.starts_with(&format!("{name}="))
                .then(|| v.split(';').next().unwrap().to_string())
        })
}

/// A hidden `csrf` field's value in a page.
fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf-token\" content=\"";
    let at = page.find(marker).expect("a csrf meta") + marker.len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    assert!(csrf.len() >= 48, "{csrf:?}");
    csrf
}

#[test]
fn pages_answer_escape_what_they_show_and_keep_to_the_callers_tables() {
    let mut db = TestDb::new("console");
    let queue = format!("{}_q", db.schema);
    // A table whose column name is markup: it must show as text.
    db.exec("CREATE TABLE {s}.vendas (id bigint primary key, \"<script>alert(1)</script>\" text)");
    db.exec("CREATE TABLE {s}.outra (id bigint primary key)");
    let server = serve_with(&db, &queue, &["--max-upload-bytes", "4096"], &[]);
    let p = server.port;

    // Open mode (loopback, no token): the pages render, under a strict CSP.
    let (status, head, page) = http(p, "GET", "/", &[], b"");
    assert_eq!(status, 200, "{page}");
    assert!(
        header(&head, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = header(&head, "content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        page.contains("<label for=\"file\">File</label>")
            && page.contains("<label for=\"table\">Table</label>")
    );
    assert!(page.contains(&format!("{}.vendas", db.schema)));
    assert!(
        !page.contains("<script>alert(1)</script>"),
        "markup from the catalog must be escaped"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || page.contains("&#60;script&#62;")
    );
    let cookie = set_cookie(&head, "ingest_csrf").expect("a CSRF cookie in open mode");
    assert!(
        head.to_ascii_lowercase()
            .contains("httponly; samesite=strict"),
        "{head}"
    );
    let csrf = csrf_of(&page);
    assert!(cookie.ends_with(&csrf));

    // Portuguese from the browser's languages; assets are served with long cache lives.
    let (_, _, pt) = http(p, "GET", "/", &[("accept-language", "pt-BR,pt;q=0.9")], b"");
    assert!(
        pt.contains("lang=\"pt-BR\"") && pt.contains(">Verificar<") && pt.contains(">Tarefas<")
    );
    let css = pt
        .split("href=\"/assets/console.css")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let (status, head, _) = http(p, "GET", &format!("/assets/console.css{css}"), &[], b"");
    assert_eq!(status, 200);
    assert!(
        header(&head, "cache-control")
            .unwrap()
            .contains("immutable")
    );

    // A job with markup in its file's name shows it as text on the jobs list and its page.
    let file = db.file("x.csv", "id\n1\n2\nnot-a-number\n");
    let (status, _, body) = http(
        p,
        "POST",
        "/v1/files?name=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.csv",
        &[],
        &std::fs::read(&file).unwrap(),
    );
    assert_eq!(status, 201, "{body}");
    let file_id = json(&body)["id"].as_str().unwrap().to_string();
    let request = format!(
        r#"{{"source": {{"file": "{file_id}"}}, "target": {{"table": "{}"}}, "check": true, "options": {{"max_errors": "100%"}}}}"#,
        db.t("outra")
    );
    let (status, _, body) = http(
        p,
        "POST",
        "/v1/jobs",
        &[("content-type", "application/json")],
        request.as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let job = json(&body)["id"].as_str().unwrap().to_string();
    let done = wait_end(p, &job);
    assert_eq!(
        (
            done["state"].as_str(),
            done["stats"]["rows_rejected"].as_i64()
        ),
        (Some("succeeded"), Some(1))
    );
    assert_eq!(
        db.value("SELECT count(*) FROM {s}.outra"),
        "0",
        "a Check writes nothing"
    );
    let (_, _, jobs) = http(p, "GET", "/jobs", &[], b"");
    assert!(
        !jobs.contains("<img")
            && (jobs.contains("&#60;img src=x") || jobs.contains("&lt;img src=x")),
        "{jobs}"
    );
    assert!(jobs.contains(">Check<"));
    let (status, _, page) = http(p, "GET", &format!("/jobs/{job}"), &[], b"");
    assert_eq!(status, 200);
    assert!(page.contains("not-a-number") && page.contains("role=\"status\""));
    // The rejected row as the file holds it, for a Brazilian Excel.
    let (status, head, csv) = http(
        p,
        "GET",
        &format!("/v1/jobs/{job}/errors?format=csv&original=true&locale=pt-BR&download=true"),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{csv}");
    assert!(
        header(&head, "content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        csv.starts_with("\u{feff}id;linha;motivo\r\n")
            || csv.starts_with("\u{feff}id;linha;motivo\n"),
        "{csv:?}"
    );
    assert!(csv.contains("not-a-number;4;"), "{csv:?}");

    // A file over the server's upload limit is refused, and nothing is kept of it.
    let (status, _, body) = http(p, "POST", "/v1/files?name=big.csv", &[], &vec![b'x'; 5000]);
    assert_eq!(status, 413, "{body}");
    assert!(json(&body)["detail"].as_str().unwrap().contains("4096"));

    // A form without the CSRF token is refused; with it, it works.
    let (status, _, _) = http(
        p,
        "POST",
        &format!("/jobs/{job}/retry"),
        &[("content-type", "application/x-www-form-urlencoded")],
        b"",
    );
    assert_eq!(status, 403);
    let with = format!("csrf={csrf}");
    let (status, head, _) = http(
        p,
        "POST",
        &format!("/jobs/{job}/cancel"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &cookie),
        ],
        with.as_bytes(),
    );
    assert_eq!(status, 303, "{head}");

    // Once a token exists, the console asks to sign in; a token sees its table only.
    let (code, token, err) = token_cmd(
        &queue,
        &["create", "--name", "one", "--tables", &db.t("vendas")],
    );
    assert_eq!(code, 0, "{err}");
    let (status, head, _) = http(p, "GET", "/", &[], b"");
    assert_eq!((status, header(&head, "location")), (303, Some("/login")));
    let (_, head, login) = http(p, "GET", "/login", &[], b"");
    let pre = set_cookie(&head, "ingest_csrf").unwrap();
    let form = format!("csrf={}&token=wrong", csrf_of(&login));
    let (status, _, page) = http(
        p,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &pre),
        ],
        form.as_bytes(),
    );
    assert_eq!(status, 401);
    assert!(page.contains("role=\"alert\""));
    let form = format!("csrf={}&token={token}", csrf_of(&login));
    let (status, head, _) = http(
        p,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &pre),
        ],
        form.as_bytes(),
    );
    assert_eq!(status, 303);
    let session = set_cookie(&head, "ingest_session").expect("a session cookie");
    assert!(head.contains("HttpOnly; SameSite=Strict"));
    assert!(!session.contains(&token), "the cookie is not the token");
    let (status, _, page) = http(p, "GET", "/", &[("cookie", &session)], b"");
    assert_eq!(status, 200);
    assert!(
        page.contains(&db.t("vendas")) && !page.contains(&db.t("outra")),
        "only the token's tables"
    );
    let (_, _, jobs) = http(p, "GET", "/jobs", &[("cookie", &session)], b"");
    assert!(!jobs.contains(&job), "another table's job is not listed");
    let (status, _, _) = http(
        p,
        "GET",
        &format!("/jobs/{job}"),
        &[("cookie", &session)],
        b"",
    );
    assert_eq!(status, 404);
    // The API through the session cookie: reads work, writes need the session's CSRF token.
    let (status, _, body) = http(p, "GET", "/v1/tables", &[("cookie", &session)], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["tables"].as_array().unwrap().len(), 1);
    let (status, _, _) = http(
        p,
        "POST",
        "/v1/files?name=a.csv",
        &[("cookie", &session)],
        b"id\n1\n",
    );
    assert_eq!(status, 403);
    let (_, _, page) = http(p, "GET", "/", &[("cookie", &session)], b"");
    let session_csrf = csrf_of(&page);
    let (status, _, _) = http(
        p,
        "POST",
        "/v1/files?name=a.csv",
        &[("cookie", &session), ("x-csrf-token", &session_csrf)],
        b"id\n1\n",
    );
    assert_eq!(status, 201);
    // Signing out ends the session.
    let form = format!("csrf={session_csrf}");
    http(
        p,
        "POST",
        "/logout",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &session),
        ],
        form.as_bytes(),
    );
    let (status, _, _) = http(p, "GET", "/", &[("cookie", &session)], b"");
    assert_eq!(status, 303);
    db.exec(&format!("DROP SCHEMA \"{queue}\" CASCADE"));
}

/// The console's uploads are deleted a day after, unless a job still reads them.
#[test]
fn old_uploads_are_deleted() {
    let mut db = TestDb::new("console_sweep");
    let queue = format!("{}_q", db.schema);
    let migrate = std::process::Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["migrate", "--schema", &queue])
        .env("DATABASE_URL", crate::support::database_url())
        .output()
        .unwrap();
    assert!(migrate.status.success());
    let old = db.file("old.csv", "id\n1\n");
    let fresh = db.file("fresh.csv", "id\n2\n");
    for (path, age) in [(&old, "2 days"), (&fresh, "1 hour")] {
        db.exec(&format!(
            "INSERT INTO \"{queue}\".files (url, name, size, created_at) VALUES ('file://{}', 'x.csv', 4, now() - interval '{age}')",
            path.display()
        ));
    }
    let _server = super::serve(&db, &queue);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while old.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the old upload was not deleted"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(fresh.exists(), "a fresh upload stays");
    assert_eq!(
        db.value(&format!("SELECT count(*) FROM \"{queue}\".files")),
        "1"
    );
    db.exec(&format!("DROP SCHEMA \"{queue}\" CASCADE"));
}
