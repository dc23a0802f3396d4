//! Timestamps between zones, as PostgreSQL casts them: a naive value is local time in the
//! session's zone; a zoned value is an instant.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{ArrowError, DataType, TimeUnit};
use chrono::{DateTime, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

pub(super) fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
    )
}

/// A timestamp or date column as microseconds: zoned (UTC) for `timestamptz`, naive for
/// `timestamp`.
pub(super) fn to_timestamp(
    array: &dyn Array,
    target_has_zone: bool,
    zone: Tz,
) -> Result<ArrayRef, ArrowError> {
    let source_has_zone = matches!(array.data_type(), DataType::Timestamp(_, Some(_)));
    // The same instant or wall-clock value in microseconds, zone set aside.
    let micros = cast_with_options(
        array,
        &DataType::Timestamp(TimeUnit::Microsecond, None),
        &CastOptions {
            safe: false,
            ..Default::default()
        },
    )?;
    let micros = micros.as_primitive::<TimestampMicrosecondType>();
    let values: PrimitiveArray<TimestampMicrosecondType> = match (source_has_zone, target_has_zone)
    {
        (true, true) | (false, false) => micros.clone(),
        // Wall-clock time in the session's zone to an instant.
        (false, true) => micros.try_unary(|v| local_to_utc(v, zone))?,
        // An instant to wall-clock time in the session's zone.
        (true, false) => micros.try_unary(|v| utc_to_local(v, zone))?,
    };
    let zone = target_has_zone.then(|| Arc::from("UTC"));
    Ok(Arc::new(values.with_timezone_opt(zone)))
}

fn local_to_utc(v: i64, zone: Tz) -> Result<i64, ArrowError> {
    let Some(utc) = DateTime::from_timestamp_micros(v) else {
        return beyond_chrono(v, zone, -1);
    };
    let naive = utc.naive_utc();
    // A time skipped by a DST change moves forward, as PostgreSQL does; a repeated one
    // takes the earlier instant.
    let local = zone
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .ok_or_else(|| out_of_range(v))?;
    Ok(local.timestamp_micros())
}

fn utc_to_local(v: i64, zone: Tz) -> Result<i64, ArrowError> {
    let Some(utc) = DateTime::from_timestamp_micros(v) else {
        return beyond_chrono(v, zone, 1);
    };
    let local: NaiveDateTime = utc.with_timezone(&zone).naive_local();
    Ok(local.and_utc().timestamp_micros())
}

/// PostgreSQL's timestamps reach year 294,276; chrono's end at 262,143. Past that the
/// zone's offset is the one it has at chrono's last instant (zone rules stop changing
/// long before), added (`sign` 1) or taken away (-1).
fn beyond_chrono(v: i64, zone: Tz, sign: i64) -> Result<i64, ArrowError> {
    let edge = if v > 0 {
        DateTime::<chrono::Utc>::MAX_UTC
    } else {
        DateTime::<chrono::Utc>::MIN_UTC
    };
    let offset = edge
        .with_timezone(&zone)
        .naive_local()
        .and_utc()
        .timestamp_micros()
        - edge.timestamp_micros();
    v.checked_add(sign * offset).ok_or_else(|| out_of_range(v))
}

fn out_of_range(v: i64) -> ArrowError {
    ArrowError::CastError(format!("timestamp {v} µs is out of range"))
}
