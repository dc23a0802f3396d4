//! `ingest infer`: the `CREATE TABLE` a file would make, on stdout.

use ingest_load::args::InferArgs;

pub async fn run(a: InferArgs) -> i32 {
    let req = match a.request() {
        Ok(req) => req,
        Err(msg) => {
            eprintln!("ingest: {msg}");
            return 2;
        }
    };
    match ingest_load::infer_table(&req).await {
        Ok(sql) => {
            println!("{sql};");
            0
        }
        Err(e) => {
            eprintln!("ingest: {e}");
            e.exit_code()
        }
    }
}
