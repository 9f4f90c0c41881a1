//! From dense f32 weights to a stored format: sparse rows, and symmetric per-output-unit int8
//! (scale = max |w| / 127, so the largest weight of each unit is exact and zeros stay zero).

use crate::format::{Csr, Format, Weights};

/// Below this density (nonzero weights ÷ all) a layer is stored sparse by the automatic choice.
/// Measured in benchmarks/policy-runtime.md: the sparse kernels overtake the dense ones near here.
pub const SPARSE_DENSITY_MAX: f64 = 0.4;

/// The format the automatic choice gives a linear layer of this density.
pub fn auto_format(density: f64, int8: bool) -> Format {
    match (density <= SPARSE_DENSITY_MAX, int8) {
        (true, false) => Format::SparseF32,
        (true, true) => Format::SparseI8,
        (false, false) => Format::DenseF32,
        (false, true) => Format::DenseI8,
    }
}

/// `w` (`[units × fan_in]`, row-major) stored as `format`.
pub fn encode(w: &[f32], units: usize, fan_in: usize, format: Format) -> Weights {
    assert_eq!(
        w.len(),
        units * fan_in,
        "weights do not match the layer shape"
    );
    match format {
        Format::DenseF32 => Weights::DenseF32(w.to_vec()),
        Format::SparseF32 => Weights::SparseF32(csr(w, fan_in, |v| v)),
        Format::DenseI8 => {
            let scales: Vec<f32> = w.chunks_exact(fan_in).map(scale_of).collect();
            let q = w
                .chunks_exact(fan_in)
                .zip(&scales)
                .flat_map(|(row, &s)| row.iter().map(move |&v| quantize(v, s)))
                .collect();
            Weights::DenseI8 { scales, q }
        }
        Format::SparseI8 => {
            let scales: Vec<f32> = w.chunks_exact(fan_in).map(scale_of).collect();
            let mut csr = Csr {
                row_ptr: vec![0],
                cols: Vec::new(),
                vals: Vec::new(),
            };
            for (row, r) in w.chunks_exact(fan_in).enumerate() {
                for (j, &v) in r.iter().enumerate() {
                    let q = quantize(v, scales[row]);
                    if q != 0 {
                        csr.cols.push(j as u32);
                        csr.vals.push(q);
                    }
                }
                csr.row_ptr.push(csr.vals.len() as u32);
            }
            Weights::SparseI8 { scales, csr }
        }
    }
}

fn csr(w: &[f32], fan_in: usize, f: impl Fn(f32) -> f32) -> Csr<f32> {
    let mut c = Csr {
        row_ptr: vec![0],
        cols: Vec::new(),
        vals: Vec::new(),
    };
    for row in w.chunks_exact(fan_in) {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                c.cols.push(j as u32);
                c.vals.push(f(v));
            }
        }
        c.row_ptr.push(c.vals.len() as u32);
    }
    c
}

fn scale_of(row: &[f32]) -> f32 {
    row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0
}

fn quantize(v: f32, scale: f32) -> i8 {
    if scale == 0.0 {
        0
    } else {
        (v / scale).round().clamp(-127.0, 127.0) as i8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_keeps_each_units_largest_weight_and_its_zeros() {
        let w = [0.5, -1.0, 0.0, 0.25, 0.0, 0.0, 2.0, -0.01];
        let Weights::DenseI8 { scales, q } = encode(&w, 2, 4, Format::DenseI8) else {
            unreachable!()
        };
        assert_eq!(q[1], -127);
        assert_eq!(q[6], 127);
        assert_eq!((q[2], q[4], q[5]), (0, 0, 0));
        let back = Weights::DenseI8 { scales, q }.to_dense(2, 4);
        for (a, b) in back.iter().zip(&w) {
            assert!((a - b).abs() <= 1.0 / 254.0 * 2.0 + 1e-7, "{a} vs {b}");
        }
    }

    #[test]
    fn sparse_round_trips_to_the_same_dense_weights() {
        let w = [0.0, 1.5, 0.0, -2.0, 3.0, 0.0];
        let s = encode(&w, 2, 3, Format::SparseF32);
        assert_eq!(s.nonzero(), 3);
        assert_eq!(s.to_dense(2, 3), w);
    }
}
