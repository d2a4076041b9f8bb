//! Heavy hitters in bounded memory: the Space-Saving algorithm (Metwally et
//! al. 2005). `cap` counters; a new key replaces the smallest counter and
//! inherits its count as its error bound. Any key with true frequency above
//! total/cap is guaranteed to be present; reported counts overestimate by at
//! most `error`.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Heavy {
    pub key: String,
    /// Upper bound of the key's count.
    pub count: u64,
    /// count - error is a lower bound.
    pub error: u64,
}

#[derive(Debug, Clone)]
pub struct TopK {
    cap: usize,
    keys: Vec<Box<[u8]>>,
    counts: Vec<(u64, u64)>,
    index: HashMap<Box<[u8]>, usize>,
}

impl TopK {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        TopK {
            cap,
            keys: Vec::with_capacity(cap),
            counts: Vec::with_capacity(cap),
            index: HashMap::with_capacity(cap),
        }
    }

    #[inline]
    pub fn add(&mut self, key: &[u8]) {
        if let Some(&i) = self.index.get(key) {
            self.counts[i].0 += 1;
            return;
        }
        if self.keys.len() < self.cap {
            self.index.insert(key.into(), self.keys.len());
            self.keys.push(key.into());
            self.counts.push((1, 0));
            return;
        }
        let (i, &(min, _)) = self
            .counts
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.0)
            .expect("cap >= 1");
        let old = std::mem::replace(&mut self.keys[i], key.into());
        self.index.remove(&old);
        self.index.insert(key.into(), i);
        self.counts[i] = (min + 1, min);
    }

    /// The `n` largest counters, largest first (ties by key).
    pub fn top(&self, n: usize) -> Vec<Heavy> {
        let mut v: Vec<Heavy> = self
            .keys
            .iter()
            .zip(&self.counts)
            .map(|(k, &(count, error))| Heavy {
                key: String::from_utf8_lossy(k).into_owned(),
                count,
                error,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_capacity() {
        let mut t = TopK::new(10);
        for k in ["a", "b", "a", "c", "a", "b"] {
            t.add(k.as_bytes());
        }
        let top = t.top(2);
        assert_eq!(
            (top[0].key.as_str(), top[0].count, top[0].error),
            ("a", 3, 0)
        );
        assert_eq!((top[1].key.as_str(), top[1].count), ("b", 2));
    }

    #[test]
    fn heavy_hitters_survive_a_long_tail() {
        let mut t = TopK::new(16);
        for i in 0..10_000u32 {
            t.add(b"big.example");
            if i % 2 == 0 {
                t.add(b"mid.example");
            }
            t.add(format!("tail{i}.example").as_bytes());
        }
        let top = t.top(2);
        assert_eq!(top[0].key, "big.example");
        assert!(top[0].count >= 10_000 && top[0].count - top[0].error <= 10_000);
        assert_eq!(top[1].key, "mid.example");
        assert!(t.keys.len() <= 16 && t.index.len() <= 16);
    }
}
