//! Column profiles built as batches stream by, in constant memory: nulls, an estimate of
//! distinct values (HyperLogLog), min and max, and for numbers the mean and quantiles
//! from a uniform sample (reservoir sampling).
//!
//! Both sketches are written here rather than taken from a crate: they hash Arrow values
//! in place (a number's bits, a string's bytes) without building a `Hash` value per cell,
//! and each is a few lines whose error bounds the tests check.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use ingest_core::PgType;

use crate::report::{ColumnStats, Histogram, Quantiles};
use crate::row_checks::is_number;

/// HyperLogLog registers: 2^12 (4 KiB), a standard error of about 1.6%.
const HLL_BITS: u32 = 12;
/// Values kept for quantiles and the histogram.
const RESERVOIR: usize = 10_000;

/// What is known of one column so far.
#[derive(Debug, Clone)]
pub struct ColumnProfile {
    name: String,
    pg_type: PgType,
    rows: u64,
    nulls: u64,
    hll: Option<Vec<u8>>,
    /// Numbers as f64; dates and times by their Int64 form, shown through `data_type`.
    min_f: Option<f64>,
    max_f: Option<f64>,
    min_i: Option<(i64, ArrayRef)>,
    max_i: Option<(i64, ArrayRef)>,
    min_s: Option<String>,
    max_s: Option<String>,
    sum: f64,
    numbers: u64,
    reservoir: Vec<f64>,
    rng: u64,
}

impl ColumnProfile {
    pub fn new(name: &str, pg_type: &PgType) -> ColumnProfile {
        let hashable = !matches!(pg_type.arrow_type(), DataType::List(_) | DataType::Binary);
        ColumnProfile {
            name: name.to_string(),
            pg_type: pg_type.clone(),
            rows: 0,
            nulls: 0,
            hll: hashable.then(|| vec![0u8; 1 << HLL_BITS]),
            min_f: None,
            max_f: None,
            min_i: None,
            max_i: None,
            min_s: None,
            max_s: None,
            sum: 0.0,
            numbers: 0,
            reservoir: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Adds the kept rows of a batch.
    pub fn add(&mut self, array: &ArrayRef, keep: &[bool]) {
        // Most batches keep every row: then the rows are walked without a filter.
        let all = keep.iter().all(|k| *k);
        let kept: Vec<usize> = match all {
            true => Vec::new(),
            false => (0..keep.len()).filter(|&r| keep[r]).collect(),
        };
        self.rows += if all { keep.len() } else { kept.len() } as u64;
        let rows = || -> Box<dyn Iterator<Item = usize> + '_> {
            match all {
                true => Box::new(0..keep.len()),
                false => Box::new(kept.iter().copied()),
            }
        };
        if is_number(&self.pg_type) {
            let Ok(values) = arrow_cast::cast(array, &DataType::Float64) else {
                return;
            };
            let values = values.as_primitive::<Float64Type>();
            for r in rows() {
                if values.is_null(r) {
                    self.nulls += 1;
                    continue;
                }
                let v = values.value(r);
                self.hash_into(v.to_bits());
                self.add_number(v);
            }
            return;
        }
        match array.data_type() {
            DataType::Date32 | DataType::Timestamp(..) | DataType::Time64(_) => {
                let Ok(values) = arrow_cast::cast(array, &DataType::Int64) else {
                    return;
                };
                let values = values.as_primitive::<Int64Type>();
                for r in rows() {
                    if values.is_null(r) {
                        self.nulls += 1;
                        continue;
                    }
                    let v = values.value(r);
                    self.hash_into(v as u64);
                    if self.min_i.as_ref().is_none_or(|(m, _)| v < *m) {
                        self.min_i = Some((v, array.slice(r, 1)));
                    }
                    if self.max_i.as_ref().is_none_or(|(m, _)| v > *m) {
                        self.max_i = Some((v, array.slice(r, 1)));
                    }
                }
            }
            DataType::Utf8 => {
                let values = array.as_string::<i32>();
                for r in rows() {
                    if values.is_null(r) {
                        self.nulls += 1;
                        continue;
                    }
                    let v = values.value(r);
                    self.hash_into(hash_bytes(v.as_bytes()));
                    if self.min_s.as_deref().is_none_or(|m| v < m) {
                        self.min_s = Some(v.to_string());
                    }
                    if self.max_s.as_deref().is_none_or(|m| v > m) {
                        self.max_s = Some(v.to_string());
                    }
                }
            }
            DataType::Boolean => {
                let values = array.as_boolean();
                for r in rows() {
                    match values.is_null(r) {
                        true => self.nulls += 1,
                        false => self.hash_into(values.value(r) as u64),
                    }
                }
            }
            _ => self.nulls += rows().filter(|&r| array.is_null(r)).count() as u64,
        }
    }

    fn add_number(&mut self, v: f64) {
        self.min_f = Some(self.min_f.map_or(v, |m| m.min(v)));
        self.max_f = Some(self.max_f.map_or(v, |m| m.max(v)));
        self.sum += v;
        self.numbers += 1;
        if self.reservoir.len() < RESERVOIR {
            self.reservoir.push(v);
        } else {
            // Algorithm R: the n-th value replaces a kept one with probability k/n.
            // A uniform draw in 0..n by a multiply, not a division (which dominated).
            let j = ((u128::from(self.next_random()) * u128::from(self.numbers)) >> 64) as u64;
            if (j as usize) < RESERVOIR {
                self.reservoir[j as usize] = v;
            }
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: the sample needs to be uniform, not unpredictable.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn hash_into(&mut self, value: u64) {
        let Some(registers) = self.hll.as_mut() else {
            return;
        };
        let h = mix(value);
        let index = (h >> (64 - HLL_BITS)) as usize;
        let rank = ((h << HLL_BITS) | (1 << (HLL_BITS - 1))).leading_zeros() as u8 + 1;
        if rank > registers[index] {
            registers[index] = rank;
        }
    }

    /// The profile as reported.
    pub fn stats(&self) -> ColumnStats {
        let show = |a: &ArrayRef| {
            ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())
                .map(|f| f.value(0).to_string())
                .ok()
        };
        let (min, max) = if self.numbers > 0 {
            (self.min_f.map(fmt_number), self.max_f.map(fmt_number))
        } else if let (Some(lo), Some(hi)) = (&self.min_i, &self.max_i) {
            (show(&lo.1), show(&hi.1))
        } else {
            (self.min_s.clone(), self.max_s.clone())
        };
        let mut sample = self.reservoir.clone();
        sample.sort_by(f64::total_cmp);
        ColumnStats {
            name: self.name.clone(),
            pg_type: self.pg_type.to_string(),
            rows: self.rows,
            nulls: self.nulls,
            distinct: self
                .hll
                .as_ref()
                .map(|r| estimate(r).min(self.rows - self.nulls)),
            min,
            max,
            mean: (self.numbers > 0).then(|| self.sum / self.numbers as f64),
            quantiles: Quantiles::of_sorted(&sample),
            histogram: Histogram::of_sorted(&sample),
        }
    }
}

fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// splitmix64's finaliser: spreads close values (1, 2, 3) over all 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of the bytes, eight at a time (FNV-1a a byte at a time cost a tenth of a load
/// with rules); [`mix`] spreads it before it reaches a register.
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ word)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
    let mut tail = [0u8; 8];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    (h ^ u64::from_le_bytes(tail)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The HyperLogLog estimate, with the small-range (linear counting) correction.
fn estimate(registers: &[u8]) -> u64 {
    let m = registers.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = registers.iter().filter(|&&r| r == 0).count();
    let e = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    e.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int32Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn distinct_estimates_are_within_a_few_percent() {
        for n in [10_u64, 1_000, 100_000] {
            let mut p = ColumnProfile::new("c", &PgType::Int4);
            let values: ArrayRef = Arc::new(Int32Array::from_iter_values(
                (0..n as i32).chain(0..n as i32),
            ));
            p.add(&values, &vec![true; values.len()]);
            let d = p.stats().distinct.unwrap() as f64;
            assert!((d - n as f64).abs() / n as f64 <= 0.05, "{n}: {d}");
        }
        let mut p = ColumnProfile::new("c", &PgType::Text);
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..5000).map(|i| format!("v{}", i % 2500)),
        ));
        p.add(&values, &vec![true; 5000]);
        let d = p.stats().distinct.unwrap() as f64;
        assert!((d - 2500.0).abs() / 2500.0 <= 0.05, "{d}");
    }

    #[test]
    fn numbers_have_mean_min_max_and_quantiles() {
        let mut p = ColumnProfile::new("km", &PgType::Float8);
        let values: ArrayRef = Arc::new(Float64Array::from_iter(
            (0..=100).map(|v| Some(v as f64)).chain([None]),
        ));
        let mut keep = vec![true; 102];
        keep[0] = false; // a rejected row is not profiled
        p.add(&values, &keep);
        let s = p.stats();
        assert_eq!((s.rows, s.nulls), (101, 1));
        assert_eq!(
            (s.min.as_deref(), s.max.as_deref()),
            (Some("1"), Some("100"))
        );
        assert_eq!(s.mean, Some(50.5));
        let q = s.quantiles.unwrap();
        assert!((q.p50 - 50.5).abs() <= 1.0, "{q:?}");
        assert_eq!(s.histogram.unwrap().counts.iter().sum::<u64>(), 100);
    }

    #[test]
    fn the_reservoir_stays_uniform_past_its_size() {
        let mut p = ColumnProfile::new("x", &PgType::Float8);
        let values: ArrayRef =
            Arc::new(Float64Array::from_iter_values((0..200_000).map(f64::from)));
        p.add(&values, &vec![true; 200_000]);
        let q = p.stats().quantiles.unwrap();
        // The sample's median of 0..200,000 is within 3% of 100,000.
        assert!((q.p50 - 100_000.0).abs() < 6_000.0, "{q:?}");
        assert!(p.reservoir.len() == RESERVOIR);
    }
}
