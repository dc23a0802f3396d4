//! `ingest demo`: a real load on the embedded defaults, for a first look.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use ingest_load::{self as load, LoadRequest, LoadSummary, TextOptions};
use ingest_pg::local_pg;
use ingest_pg::{DuplicatePolicy, LoadMode};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Rows in the generated file
    #[arg(long, default_value_t = 200_000)]
    pub rows: u64,
    /// Where the sample files (and a private PostgreSQL cluster, if one is needed) go
    #[arg(long, env = "INGEST_DATA_DIR", default_value = ".ingest")]
    pub data_dir: PathBuf,
}

pub async fn run(args: DemoArgs) -> i32 {
    match demo(args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ingest: demo failed: {e:#}");
            3
        }
    }
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let db = local_pg::find_or_start(&args.data_dir).await?;
    eprintln!("ingest: using {}", db.description);
    let client = ingest_pg::connect(&db.source).await?;
    client
        .batch_execute(
            "DROP TABLE IF EXISTS ingest_demo_orders;
             CREATE TABLE ingest_demo_orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL,
               sku varchar(12) NOT NULL, quantity integer NOT NULL, unit_price numeric(12,2) NOT NULL,
               ordered_at timestamptz NOT NULL, status text NOT NULL, gift boolean, note text)",
        )
        .await
        .context("creating the demo table")?;
    let orders = args.data_dir.join("demo_orders.csv");
    let updates = args.data_dir.join("demo_updates.csv");
    write_orders(&orders, 1, args.rows, 0)?;
    write_orders(&updates, args.rows / 2 + 1, args.rows, 1)?;

    let request = |file: &Path, mode: LoadMode| LoadRequest {
        file: file.to_path_buf(),
        records: None,
        table: "ingest_demo_orders".into(),
        database: db.source.clone(),
        mode,
        key: Vec::new(),
        on_duplicate: DuplicatePolicy::Last,
        delete_missing: false,
        scope: Vec::new(),
        maps: Vec::new(),
        ignore_unknown: false,
        format: None,
        compression: None,
        decompress: Default::default(),
        sheet: None,
        xlsx: Default::default(),
        read_timeout: ingest_store::DEFAULT_READ_TIMEOUT,
        text: TextOptions::default(),
        max_errors: Default::default(),
        errors_file: None,
        rules: None,
        rules_may_run_sql: false,
        service_schema: Default::default(),
        report: None,
        diff_file: None,
        dry_run: false,
        allow_empty: false,
        shape: Default::default(),
        before_commit: None,
        connection: None,
    };
    for (file, mode, what) in [
        (&orders, LoadMode::Insert, "append"),
        (
            &updates,
            LoadMode::Upsert,
            "upsert (half the rows new, a third of the rest changed)",
        ),
        (
            &updates,
            LoadMode::Upsert,
            "the same upsert again (nothing changes)",
        ),
    ] {
        let mut summary = LoadSummary::default();
        load::run(
            &request(file, mode),
            &mut summary,
            &crate::progress::progress(false),
        )
        .await?;
        println!(
            "{what}: {} rows read, {} inserted, {} updated, {} unchanged in {:.2}s ({:.0} rows/s)",
            summary.rows_read,
            summary.rows_inserted,
            summary.rows_updated,
            summary.rows_unchanged,
            summary.seconds,
            summary.rows_per_second
        );
    }
    let row = client
        .query_one(
            "SELECT count(*), sum(quantity * unit_price)::text FROM ingest_demo_orders",
            &[],
        )
        .await?;
    let (count, total): (i64, String) = (row.get(0), row.get(1));
    println!("ingest_demo_orders now holds {count} orders worth {total} in total");
    println!("files: {} and {}", orders.display(), updates.display());
    Ok(())
}

/// Orders `first..first+count`; `variant` changes the quantity of every third row.
fn write_orders(path: &Path, first: u64, count: u64, variant: u64) -> anyhow::Result<()> {
    let notes = [
        "",
        "frágil",
        "diz \"urgente\"",
        "a, b; c",
        "linha\nquebrada",
        "ação",
        "entregar após 18h",
    ];
    let statuses = ["novo", "pago", "enviado", "entregue", "cancelado"];
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(std::fs::File::create(path)?));
    w.write_record([
        "id",
        "customer_id",
        "sku",
        "quantity",
        "unit_price",
        "ordered_at",
        "status",
        "gift",
        "note",
    ])?;
    for id in first..first + count {
        // A cheap deterministic mix, so the same id always gets the same values.
        let h = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
        let quantity = h % 500 + 1 + if variant > 0 && id % 3 == 0 { 1 } else { 0 };
        let secs = 1_735_689_600 + h % 60_000_000;
        let at = chrono::DateTime::from_timestamp(secs as i64, 0)
            .expect("in range")
            .to_rfc3339();
        w.write_record([
            id.to_string(),
            (h % 50_000 + 1).to_string(),
            format!("SKU-{:07}", h % 10_000_000),
            quantity.to_string(),
            format!("{}.{:02}", h % 100_000, h % 100),
            at,
            statuses[(h % 5) as usize].to_string(),
            (h % 10 == 0).to_string(),
            notes[(h % 7) as usize].to_string(),
        ])?;
    }
    w.flush()?;
    std::io::stdout().flush().ok();
    Ok(())
}
