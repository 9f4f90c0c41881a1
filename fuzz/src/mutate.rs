//! Byte-level mutations (AFL/libFuzzer style): flips, interesting values, insertions, deletions,
//! duplications, splices and truncations, plus dictionary tokens a target supplies.

use rand::RngExt;
use rand_pcg::Pcg64;

/// Largest input a mutation may grow to: keeps every exec cheap.
pub const MAX_LEN: usize = 1 << 20;

const INTERESTING_8: [u8; 9] = [0, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'\n', b'"'];
const INTERESTING_32: [u32; 8] = [
    0,
    1,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff,
    0x1_0000,
    64,
];
const INTERESTING_64: [u64; 8] = [
    0,
    1,
    u64::MAX,
    i64::MAX as u64,
    1 << 53,
    1 << 32,
    0x7ff0_0000_0000_0000,
    0x7ff8_0000_0000_0000,
];

/// The mutation engine's random source plus the target's dictionary.
pub struct Mutator {
    pub rng: Pcg64,
    pub dict: Vec<Vec<u8>>,
}

impl Mutator {
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.rng.random_range(0..n)
        }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// 1 to 8 stacked byte mutations of `data`, `other` being a second corpus entry to splice.
    pub fn mutate_bytes(&mut self, data: &mut Vec<u8>, other: &[u8]) {
        let most = if self.chance(0.7) { 2 } else { 8 };
        let rounds = 1 + self.below(most);
        for _ in 0..rounds {
            self.one(data, other);
        }
        data.truncate(MAX_LEN);
    }

    fn one(&mut self, d: &mut Vec<u8>, other: &[u8]) {
        let len = d.len();
        match self.below(13) {
            0 if len > 0 => {
                let i = self.below(len);
                d[i] ^= 1 << self.below(8);
            }
            1 if len > 0 => {
                let i = self.below(len);
                d[i] = self.rng.random();
            }
            2 if len > 0 => {
                let i = self.below(len);
                d[i] = INTERESTING_8[self.below(INTERESTING_8.len())];
            }
            3 if len >= 4 => {
                let i = self.below(len - 3);
                let v = INTERESTING_32[self.below(INTERESTING_32.len())];
                let b = if self.chance(0.5) {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                d[i..i + 4].copy_from_slice(&b);
            }
            4 if len >= 8 => {
                let i = self.below(len - 7);
                let v = INTERESTING_64[self.below(INTERESTING_64.len())];
                d[i..i + 8].copy_from_slice(&v.to_le_bytes());
            }
            5 if len > 0 => {
                // Arithmetic on one byte.
                let i = self.below(len);
                let delta = 1 + self.below(16) as u8;
                d[i] = if self.chance(0.5) {
                    d[i].wrapping_add(delta)
                } else {
                    d[i].wrapping_sub(delta)
                };
            }
            6 => {
                let at = self.below(len + 1);
                let n = 1 + self.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
                d.splice(at..at, bytes);
            }
            7 if len > 0 => {
                let at = self.below(len);
                let n = 1 + self.below((len - at).min(64));
                d.drain(at..at + n);
            }
            8 if len > 0 => {
                // Duplicate a block (repetition finds length and count bugs).
                let from = self.below(len);
                let n = 1 + self.below((len - from).min(256));
                let block = d[from..from + n].to_vec();
                let at = self.below(len + 1);
                let most = if self.chance(0.9) { 2 } else { 64 };
                let times = 1 + self.below(most);
                for _ in 0..times {
                    d.splice(at..at, block.iter().copied());
                }
            }
            9 if !other.is_empty() => {
                // Splice: our head, the other input's tail.
                let cut = self.below(len + 1);
                let from = self.below(other.len());
                d.truncate(cut);
                d.extend_from_slice(&other[from..]);
            }
            10 if len > 0 => {
                let keep = self.below(len);
                d.truncate(keep);
            }
            11 if !self.dict.is_empty() => {
                let k = self.below(self.dict.len());
                let tok = self.dict[k].clone();
                let at = self.below(len + 1);
                if self.chance(0.5) || len == 0 {
                    d.splice(at..at, tok);
                } else {
                    let end = (at + tok.len()).min(len);
                    d.splice(at..end, tok);
                }
            }
            12 if len > 1 && self.chance(0.5) => {
                // Swap two bytes.
                let (i, j) = (self.below(len), self.below(len));
                d.swap(i, j);
            }
            12 if len > 0 => {
                // Flip the case of an ASCII letter (hex digits, keywords, enum names).
                let i = self.below(len);
                if d[i].is_ascii_alphabetic() {
                    d[i] ^= 0x20;
                }
            }
            _ => {
                let at = self.below(len + 1);
                d.insert(at, INTERESTING_8[self.below(INTERESTING_8.len())]);
            }
        }
    }
}
