//! Histograms with TensorFlow's default bucket edges: ±1e-12 growing by 10% up to ±1e20, plus
//! ±f64::MAX and 0 (the scheme of TF's `histogram.cc`, also used by PyTorch's SummaryWriter).
//! Relative resolution is the same at every scale, so weights of 1e-4 and 10 both bin well.

use std::sync::OnceLock;

use crate::proto::HistogramProto;

/// The right edges of the default buckets, ascending (1551 of them).
pub fn default_bucket_limits() -> &'static [f64] {
    static LIMITS: OnceLock<Vec<f64>> = OnceLock::new();
    LIMITS.get_or_init(|| {
        // Repeated multiplication, exactly as TF does, so our edges equal TF's bit for bit.
        let mut pos = Vec::new();
        let mut v = 1.0e-12;
        while v < 1.0e20 {
            pos.push(v);
            v *= 1.1;
        }
        pos.push(f64::MAX);
        let mut limits: Vec<f64> = pos.iter().rev().map(|x| -x).collect();
        limits.push(0.0);
        limits.extend_from_slice(&pos);
        limits
    })
}

/// Builds a histogram of the finite entries of `values` (non-finite ones are skipped).
///
/// Bucket `i` of the default scheme holds `v` with `limits[i-1] <= v < limits[i]`. Empty buckets
/// before the first and after the last occupied one are dropped and each run of empty buckets in
/// between is merged into one, so the buckets stay contiguous and the message small. With no
/// finite values, the result has `num == 0` and no buckets.
pub fn histogram_of(values: &[f32]) -> HistogramProto {
    let limits = default_bucket_limits();
    let mut counts = vec![0u64; limits.len()];
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut num, mut sum, mut sum_squares) = (0u64, 0.0f64, 0.0f64);
    for &x in values.iter().filter(|x| x.is_finite()) {
        let x = f64::from(x);
        // First limit strictly greater than x; f32 values are far below f64::MAX, so in range.
        counts[limits.partition_point(|&l| l <= x)] += 1;
        min = min.min(x);
        max = max.max(x);
        num += 1;
        sum += x;
        sum_squares += x * x;
    }
    let mut h = HistogramProto {
        num: num as f64,
        sum,
        sum_squares,
        ..Default::default()
    };
    if num == 0 {
        return h;
    }
    h.min = min;
    h.max = max;
    let first = counts.iter().position(|&c| c > 0).expect("num > 0");
    let last = counts.iter().rposition(|&c| c > 0).expect("num > 0");
    for i in first..=last {
        let empty_run_continues = counts[i] == 0 && h.bucket.last() == Some(&0.0);
        if empty_run_continues {
            *h.bucket_limit
                .last_mut()
                .expect("bucket pushed with its count") = limits[i];
        } else {
            h.bucket_limit.push(limits[i]);
            h.bucket.push(counts[i] as f64);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_tensorflow_layout() {
        let l = default_bucket_limits();
        // 775 positive edges (774 powers of 1.1 plus f64::MAX), mirrored, plus 0.
        assert_eq!(l.len(), 2 * 775 + 1);
        assert_eq!(l[775], 0.0);
        assert_eq!(l[776], 1e-12);
        assert_eq!(l[0], -f64::MAX);
        assert_eq!(*l.last().unwrap(), f64::MAX);
        assert!(l.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(l[777], 1e-12 * 1.1);
    }

    #[test]
    fn counts_land_in_the_right_buckets() {
        // 1.0 lies in [1.1^k e-12, 1.1^(k+1) e-12) with k = floor(12 ln10 / ln1.1) = 289.
        let h = histogram_of(&[1.0, 1.0, 0.0, -1.0, f32::NAN, f32::INFINITY]);
        assert_eq!(h.num, 4.0);
        assert_eq!((h.min, h.max, h.sum, h.sum_squares), (-1.0, 1.0, 1.0, 3.0));
        assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
        let l = default_bucket_limits();
        let one = 776 + 290; // right edge index of the bucket holding 1.0
        assert!(l[one - 1] <= 1.0 && 1.0 < l[one]);
        // Buckets: [-1 bucket], empty run, [0, 1e-12), empty run, [1 bucket].
        assert_eq!(h.bucket, vec![1.0, 0.0, 1.0, 0.0, 2.0]);
        assert_eq!(h.bucket_limit[0], -l[one - 1]); // -1 is in [-l[one], -l[one-1])
        assert_eq!(h.bucket_limit[1], 0.0); // empty run ends at the 0 edge
        assert_eq!(h.bucket_limit[2], 1e-12); // zero's bucket
        assert_eq!(h.bucket_limit[3], l[one - 1]); // run ends where 1.0's bucket starts
        assert_eq!(h.bucket_limit[4], l[one]);
    }

    #[test]
    fn empty_or_non_finite_input_gives_empty_histogram() {
        for input in [&[][..], &[f32::NAN, f32::NEG_INFINITY][..]] {
            let h = histogram_of(input);
            assert_eq!(h.num, 0.0);
            assert!(h.bucket.is_empty() && h.bucket_limit.is_empty());
        }
    }

    #[test]
    fn extreme_f32_values_are_binned() {
        let h = histogram_of(&[f32::MAX, f32::MIN, f32::MIN_POSITIVE, -1e-30]);
        assert_eq!(h.num, 4.0);
        assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
        assert!(h.bucket_limit.windows(2).all(|w| w[0] < w[1]));
    }
}
