//! Per-message state of queue ids in flight, in bounded memory.
//!
//! An entry lives from the first line of a queue id until Postfix logs
//! `removed`. Ids that never finish (log cut, lost lines) are evicted when the
//! table reaches its cap: the least recently touched half goes first.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// What we must remember about a message between its lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Msg {
    /// Size from qmgr's `size=`; 0 = not seen yet.
    pub size: u64,
    /// Line counter of the last touch (eviction order).
    last: u64,
    /// smtpd `client=` / pickup seen and its size not yet counted.
    pub received: bool,
    /// Already counted as a deferred message.
    pub deferred: bool,
}

/// Queue id (up to 16 bytes packed, longer ids hashed) + host index.
pub type Key = (u128, u32);

#[inline]
pub fn key(qid: &[u8], host: u32) -> Key {
    let mut k: u128 = 0;
    if qid.len() <= 16 {
        for &c in qid {
            k = (k << 8) | c as u128;
        }
    } else {
        // Two independent FNV-1a passes; the top bit marks hashed ids.
        let (mut a, mut b) = (0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4u64);
        for &c in qid {
            a = (a ^ c as u64).wrapping_mul(0x100_0000_01b3);
            b = (b ^ c as u64).wrapping_mul(0x0000_0100_0000_01b3 ^ 0x5bd1_e995);
        }
        k = ((a as u128) << 64 | b as u128) | 1u128 << 127;
    }
    (k, host)
}

/// Multiplicative hasher for our integer keys (std's SipHash is 3x slower here).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(26) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    #[inline]
    fn write_u128(&mut self, x: u128) {
        self.write_u64(x as u64);
        self.write_u64((x >> 64) as u64);
    }
    #[inline]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64);
    }
}

pub struct QueueTable {
    map: HashMap<Key, Msg, BuildHasherDefault<IdHasher>>,
    cap: usize,
    tick: u64,
    pub evicted: u64,
    pub peak: usize,
}

impl QueueTable {
    pub fn new(cap: usize) -> Self {
        QueueTable {
            map: HashMap::default(),
            cap: cap.max(16),
            tick: 0,
            evicted: 0,
            peak: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The entry of `k`, created if missing.
    #[inline]
    pub fn entry(&mut self, k: Key) -> &mut Msg {
        use std::collections::hash_map::Entry;
        self.tick += 1;
        if self.map.len() >= self.cap && !self.map.contains_key(&k) {
            self.evict();
        }
        let (t, len) = (self.tick, self.map.len());
        match self.map.entry(k) {
            Entry::Occupied(o) => {
                let m = o.into_mut();
                m.last = t;
                m
            }
            Entry::Vacant(v) => {
                self.peak = self.peak.max(len + 1);
                v.insert(Msg {
                    last: t,
                    ..Msg::default()
                })
            }
        }
    }

    /// The entry of `k` if it exists.
    #[inline]
    pub fn get(&mut self, k: Key) -> Option<&mut Msg> {
        self.tick += 1;
        let t = self.tick;
        let m = self.map.get_mut(&k)?;
        m.last = t;
        Some(m)
    }

    #[inline]
    pub fn remove(&mut self, k: Key) {
        self.map.remove(&k);
    }

    /// Drop the least recently touched entries until the table is 3/4 full.
    fn evict(&mut self) {
        let target = self.cap * 3 / 4;
        while self.map.len() > target {
            let oldest = self.map.values().map(|m| m.last).min().unwrap_or(self.tick);
            let cut = oldest + (self.tick - oldest) / 2 + 1;
            let before = self.map.len();
            self.map.retain(|_, m| m.last >= cut);
            self.evicted += (before - self.map.len()) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_distinguish_ids_and_hosts() {
        assert_ne!(key(b"ABC", 0), key(b"ABD", 0));
        assert_ne!(key(b"ABC", 0), key(b"ABC", 1));
        assert_ne!(
            key(b"4cLZ2y0QWlz9XYZabcdefg", 0),
            key(b"4cLZ2y0QWlz9XYZabcdefh", 0)
        );
    }

    #[test]
    fn cap_evicts_oldest_first() {
        let mut q = QueueTable::new(100);
        q.entry(key(b"KEEP", 0)).size = 7;
        for i in 0..10_000u32 {
            q.entry(key(format!("ID{i}").as_bytes(), 0));
            if i % 10 == 0 {
                q.get(key(b"KEEP", 0));
            }
        }
        assert!(q.len() <= 100);
        assert!(q.evicted >= 9_900);
        assert_eq!(q.get(key(b"KEEP", 0)).map(|m| m.size), Some(7));
        q.remove(key(b"KEEP", 0));
        assert!(q.get(key(b"KEEP", 0)).is_none());
    }
}
