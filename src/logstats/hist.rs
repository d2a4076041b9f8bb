//! Fixed log-scale histogram: 128 buckets, values 0..7 exact, then four
//! buckets per power of two up to 2^33 (the last bucket takes the rest).
//! Quantiles are bucket midpoints, so within ±12 % of the true value; the
//! maximum is exact. Fixed size → merging and memory are trivial.

use serde::ser::{Serialize, SerializeStruct, Serializer};

const N: usize = 128;

#[derive(Clone, PartialEq)]
pub struct Histogram {
    counts: [u64; N],
    count: u64,
    sum: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: [0; N],
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Histogram(n={}, p50={}, max={})",
            self.count,
            self.quantile(0.5),
            self.max
        )
    }
}

#[inline]
fn bucket(v: u64) -> usize {
    if v < 8 {
        return v as usize;
    }
    let lz = 63 - v.leading_zeros() as usize; // floor(log2 v) >= 3
    let sub = ((v >> (lz - 2)) & 3) as usize;
    (8 + (lz - 3) * 4 + sub).min(N - 1)
}

/// Smallest value of bucket `i`.
fn lower(i: usize) -> u64 {
    if i < 8 {
        return i as u64;
    }
    let lz = (i - 8) / 4 + 3;
    let sub = ((i - 8) % 4) as u64;
    (4 + sub) << (lz - 2)
}

impl Histogram {
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[bucket(v)] += 1;
        self.count += 1;
        self.sum = self.sum.saturating_add(v);
        self.max = self.max.max(v);
    }

    pub fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(o.counts.iter()) {
            *a += b;
        }
        self.count += o.count;
        self.sum = self.sum.saturating_add(o.sum);
        self.max = self.max.max(o.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> u64 {
        self.sum.checked_div(self.count).unwrap_or(0)
    }

    /// Value at quantile `q` (0..=1): the midpoint of the bucket holding it,
    /// never above the exact maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = (
                    lower(i),
                    if i + 1 < N {
                        lower(i + 1) - 1
                    } else {
                        self.max
                    },
                );
                return (lo + (hi.saturating_sub(lo)) / 2).min(self.max);
            }
        }
        self.max
    }

    /// Non-empty buckets as (lowest value, highest value, count).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(move |(i, &c)| {
                let hi = if i + 1 < N {
                    lower(i + 1) - 1
                } else {
                    u64::MAX
                };
                (lower(i), hi, c)
            })
    }
}

impl Serialize for Histogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct B {
            min: u64,
            max: u64,
            count: u64,
        }
        let buckets: Vec<B> = self
            .buckets()
            .map(|(min, max, count)| B { min, max, count })
            .collect();
        let mut st = s.serialize_struct("Histogram", 7)?;
        st.serialize_field("count", &self.count)?;
        st.serialize_field("sum", &self.sum)?;
        st.serialize_field("mean", &self.mean())?;
        st.serialize_field("p50", &self.quantile(0.5))?;
        st.serialize_field("p95", &self.quantile(0.95))?;
        st.serialize_field("max", &self.max)?;
        st.serialize_field("buckets", &buckets)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_monotonic() {
        for i in 0..N - 1 {
            assert_eq!(bucket(lower(i)), i, "lower({i})");
            assert_eq!(bucket(lower(i + 1) - 1), i, "upper of {i}");
            assert!(lower(i + 1) > lower(i));
        }
        assert_eq!(bucket(u64::MAX), N - 1);
    }

    #[test]
    fn quantiles_within_bucket_error() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        let p50 = h.quantile(0.5) as f64;
        let p95 = h.quantile(0.95) as f64;
        assert!((p50 - 5000.0).abs() / 5000.0 < 0.13, "p50 {p50}");
        assert!((p95 - 9500.0).abs() / 9500.0 < 0.13, "p95 {p95}");
        assert_eq!(h.max(), 10_000);
        assert_eq!(h.mean(), 5000);
        let mut g = Histogram::default();
        g.record(3);
        assert_eq!(g.quantile(0.5), 3);
        g.merge(&h);
        assert_eq!(g.count(), 10_001);
    }
}
