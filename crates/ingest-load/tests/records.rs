//! A pull source's records as a load's input: typed batches from memory go through the
//! same mapping, rules, rejects and write as a file.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, StringArray};
use ingest_formats::{RecordSource, SourceBatch, SourceError, TypedBatch};
use ingest_load::{LoadRequest, LoadSummary, Progress, RecordsInput};

/// Two batches of (id, placa), the second with a plate that is not one.
struct Rows {
    batches: Vec<TypedBatch>,
}

impl RecordSource for Rows {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(Some(vec!["id".into(), "placa".into()]))
    }
    fn column_types(&self) -> Option<Vec<arrow_schema::DataType>> {
        Some(vec![
            arrow_schema::DataType::Int64,
            arrow_schema::DataType::Utf8,
        ])
    }
    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        Ok((!self.batches.is_empty()).then(|| SourceBatch::Typed(self.batches.remove(0))))
    }
}

fn batch(first_row: u64, ids: &[i64], plates: &[&str]) -> TypedBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.to_vec())),
        Arc::new(StringArray::from(plates.to_vec())),
    ];
    TypedBatch {
        columns,
        first_row,
        bytes_read: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_load_like_a_file_with_the_tables_rules() {
    let url = std::env::var("INGEST_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("it_records_{}", std::process::id());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             CREATE TABLE {schema}.v (id bigint primary key, placa text)"
        ))
        .await
        .unwrap();
    let args = ingest_load::args::LoadArgs {
        ..parse(&[
            "records",
            "--into",
            &format!("{schema}.v"),
            "--mode",
            "upsert",
            "--max-errors",
            "1",
        ])
    };
    let mut req: LoadRequest = ingest_load::args::request(&args).unwrap();
    req.database = ingest_pg::ConnectSource::Url(url.clone());
    req.file = "carrier_trips".into();
    req.rules = Some(
        ingest_quality::RuleSet::parse(
            "clean:\n  - {column: placa, ops: [upper]}\nrules:\n  - {id: placa_ok, column: placa, check: plate_br}\n",
            "rules",
        )
        .unwrap(),
    );
    req.records = Some(RecordsInput {
        label: "HTTP",
        open: Arc::new(|| {
            Ok(Box::new(Rows {
                batches: vec![
                    batch(1, &[1, 2], &["abc1d23", "FAA5F00"]),
                    batch(3, &[3], &["XX"]),
                ],
            }) as Box<dyn RecordSource>)
        }),
    });
    let mut summary = LoadSummary::default();
    ingest_load::run(&req, &mut summary, &Progress::quiet())
        .await
        .unwrap();
    assert_eq!(
        (summary.format, summary.rows_inserted, summary.rows_rejected),
        ("HTTP", 2, 1)
    );
    // The reject is named by its record's position, and by the rule.
    let reject = &summary.rejects_sample[0];
    assert_eq!((reject.line, reject.rule.as_deref()), (3, Some("placa_ok")));
    let rows = client
        .query(
            &format!("SELECT id, placa FROM {schema}.v ORDER BY id"),
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        [(1, "ABC1D23".to_string()), (2, "FAA5F00".to_string())]
    );
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

/// `ingest load`'s options, as the CLI parses them.
fn parse(argv: &[&str]) -> ingest_load::args::LoadArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        load: ingest_load::args::LoadArgs,
    }
    Cli::try_parse_from(std::iter::once("load").chain(argv.iter().copied()))
        .unwrap()
        .load
}
