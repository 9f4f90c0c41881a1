//! Bit-exact serde for floats. serde_json's default float parser may be off by one ulp, which
//! would make a restored environment drift from the original; snapshots store raw bits instead.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `[f64; N]` as its `u64` bit patterns.
pub mod f64_array {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(v: &[f64; N], s: S) -> Result<S::Ok, S::Error> {
        v.map(f64::to_bits).as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[f64; N], D::Error> {
        let bits = Vec::<u64>::deserialize(d)?;
        let got = bits.len();
        let bits: [u64; N] = bits
            .try_into()
            .map_err(|_| serde::de::Error::custom(format!("expected {N} floats, got {got}")))?;
        Ok(bits.map(f64::from_bits))
    }
}

/// `Vec<f32>` as `u32` bit patterns.
pub mod f32_vec {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_bits()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        Ok(Vec::<u32>::deserialize(d)?
            .into_iter()
            .map(f32::from_bits)
            .collect())
    }
}
