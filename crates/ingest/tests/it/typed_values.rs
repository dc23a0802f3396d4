//! Every Parquet and Avro type a producer's tools write, cast to its PostgreSQL column:
//! files written by pyarrow (Spark's types too: int96, dictionaries, nested) and fastavro
//! (logical types), values checked in the table.

use crate::fixtures::py;
use crate::support::TestDb;

#[test]
fn parquet_types_from_pyarrow() {
    let mut db = TestDb::new("pqtypes");
    db.exec(
        "create type {s}.mood as enum ('sad', 'ok', 'happy');
         create table {s}.t (id smallint, big numeric(38,4), price numeric, f real, d date, tm time,
             ts timestamp, tstz timestamptz, spark timestamptz, u uuid, b bytea, mood {s}.mood,
             tags int[], names text[], attrs jsonb, kv jsonb, deep jsonb, label varchar(5), flag boolean)",
    );
    let file = db.dir.path().join("types.parquet");
    py(
        r#"
import sys, uuid, decimal, datetime as dt, pyarrow as pa, pyarrow.parquet as pq
u = uuid.UUID("12345678-1234-5678-1234-567812345678")
rows = {
  "id": pa.array([1, 2], pa.int8()),
  "big": pa.array([decimal.Decimal("12345678901234567890123456789012.3456"), None], pa.decimal128(38, 4)),
  "price": pa.array([decimal.Decimal("0.10"), decimal.Decimal("-7")], pa.decimal128(5, 2)),
  "f": pa.array([1.5, None], pa.float32()),
  "d": pa.array([dt.date(2024, 2, 29), dt.date(1900, 1, 1)], pa.date32()),
  "tm": pa.array([dt.time(23, 59, 59, 999999), dt.time(0, 0)], pa.time64("us")),
  "ts": pa.array([dt.datetime(2024, 1, 1, 12, 0, 0, 123456), None], pa.timestamp("us")),
  "tstz": pa.array([dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone.utc), None], pa.timestamp("ms", tz="America/Sao_Paulo")),
  "spark": pa.array([dt.datetime(2024, 6, 1, 3, 4, 5), None], pa.timestamp("ns")),
  "u": pa.array([u.bytes, None], pa.binary(16)),
  "b": pa.array([b"\x00\xff", b""], pa.binary()),
  "mood": pa.array(["ok", "happy"]).dictionary_encode(),
  "tags": pa.array([[1, None, 3], []], pa.list_(pa.int32())),
  "names": pa.array([["a", "b,c"], None], pa.list_(pa.string())),
  "attrs": pa.array([{"k": 1, "s": "x"}, None], pa.struct([("k", pa.int64()), ("s", pa.string())])),
  "kv": pa.array([[("a", 1)], []], pa.map_(pa.string(), pa.int64())),
  "deep": pa.array([[{"x": [1, 2]}], None], pa.list_(pa.struct([("x", pa.list_(pa.int64()))]))),
  "label": pa.array(["short", "ok"]).dictionary_encode(),
  "flag": pa.array([True, None]),
}
pq.write_table(pa.table(rows), sys.argv[1], use_deprecated_int96_timestamps=True)
"#,
        &[file.to_str().unwrap()],
    );
    let t = db.t("t");
    db.load(&file, &t, &["--timezone", "UTC"]).ok();
    let got = db.rows(&format!(
        "select id::text, big::text, price::text, f::text, d::text, tm::text, ts::text, tstz::text, spark::text,
                u::text, encode(b, 'hex'), mood::text, tags::text, names::text, attrs::text, kv::text,
                deep::text, label, flag::text
         from {t} order by id"
    ));
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        got[0],
        [
            s("1"),
            s("12345678901234567890123456789012.3456"),
            s("0.10"),
            s("1.5"),
            s("2024-02-29"),
            s("23:59:59.999999"),
            s("2024-01-01 12:00:00.123456"),
            s("2024-01-01 12:00:00+00"),
            // int96 holds a zoneless value: local time in the session's zone (UTC here).
            s("2024-06-01 03:04:05+00"),
            s("12345678-1234-5678-1234-567812345678"),
            s("00ff"),
            s("ok"),
            s("{1,NULL,3}"),
            s("{a,\"b,c\"}"),
            s("{\"k\": 1, \"s\": \"x\"}"),
            s("{\"a\": 1}"),
            s("[{\"x\": [1, 2]}]"),
            s("short"),
            s("true"),
        ]
    );
    assert_eq!(
        got[1],
        [
            s("2"),
            None,
            s("-7.00"),
            None,
            s("1900-01-01"),
            s("00:00:00"),
            None,
            None,
            None,
            None,
            s(""),
            s("happy"),
            s("{}"),
            None,
            None,
            s("{}"),
            None,
            s("ok"),
            None,
        ]
    );
}

#[test]
fn avro_logical_types_from_fastavro() {
    let mut db = TestDb::new("avrotypes");
    db.exec(
        "create table {s}.t (id bigint, amount numeric(10,3), fixed_amount numeric(20,2), d date,
             tm time, tmu time, ts timestamptz, tsu timestamptz, u uuid, note text, score double precision,
             raw bytea, n int)",
    );
    let file = db.dir.path().join("types.avro");
    py(
        r#"
import sys, uuid, decimal, datetime as dt, fastavro
schema = fastavro.parse_schema({"type": "record", "name": "R", "fields": [
  {"name": "id", "type": "long"},
  {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 3}},
  {"name": "fixed_amount", "type": {"type": "fixed", "name": "F", "size": 9, "logicalType": "decimal", "precision": 20, "scale": 2}},
  {"name": "d", "type": {"type": "int", "logicalType": "date"}},
  {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
  {"name": "tmu", "type": {"type": "long", "logicalType": "time-micros"}},
  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "tsu", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
  {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "note", "type": ["null", "string"]},
  {"name": "score", "type": "float"},
  {"name": "raw", "type": "bytes"},
  {"name": "n", "type": ["int", "null"]}]})
utc = dt.timezone.utc
rows = [
  {"id": 1, "amount": decimal.Decimal("-1234567.891"), "fixed_amount": decimal.Decimal("123456789012345678.90"),
   "d": dt.date(2024, 2, 29), "tm": dt.time(1, 2, 3, 4000), "tmu": dt.time(23, 59, 59, 999999),
   "ts": dt.datetime(2024, 1, 1, 12, 0, 0, 5000, tzinfo=utc), "tsu": dt.datetime(2024, 1, 1, 12, 0, 0, 6, tzinfo=utc),
   "u": uuid.UUID("12345678-1234-5678-1234-567812345678"), "note": "Olá", "score": 0.5, "raw": b"\x01\x02", "n": 7},
  {"id": 2, "amount": decimal.Decimal("0.001"), "fixed_amount": decimal.Decimal("-0.01"), "d": dt.date(1970, 1, 1),
   "tm": dt.time(0, 0), "tmu": dt.time(0, 0), "ts": dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=utc), "tsu": None,
   "u": uuid.UUID("00000000-0000-0000-0000-000000000000"), "note": None, "score": -2.25, "raw": b"", "n": None},
]
with open(sys.argv[1], "wb") as f:
    fastavro.writer(f, schema, rows, codec="deflate")
"#,
        &[file.to_str().unwrap()],
    );
    let t = db.t("t");
    db.load(&file, &t, &["--timezone", "UTC"]).ok();
    let got = db.rows(&format!(
        "select amount::text, fixed_amount::text, d::text, tm::text, tmu::text, ts::text, tsu::text, u::text,
                note, score::text, encode(raw, 'hex'), n::text from {t} order by id"
    ));
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        got,
        [
            vec![
                s("-1234567.891"),
                s("123456789012345678.90"),
                s("2024-02-29"),
                s("01:02:03.004"),
                s("23:59:59.999999"),
                s("2024-01-01 12:00:00.005+00"),
                s("2024-01-01 12:00:00.000006+00"),
                s("12345678-1234-5678-1234-567812345678"),
                s("Olá"),
                s("0.5"),
                s("0102"),
                s("7"),
            ],
            vec![
                s("0.001"),
                s("-0.01"),
                s("1970-01-01"),
                s("00:00:00"),
                s("00:00:00"),
                s("1969-12-31 23:59:59+00"),
                None,
                s("00000000-0000-0000-0000-000000000000"),
                None,
                s("-2.25"),
                s(""),
                None,
            ],
        ]
    );
}
