//! Sum tree over leaf priorities (as in Dopamine's `sum_tree.py`), stored as one flat array.
//!
//! Node `1` is the root, node `j` has children `2j` and `2j+1`, leaf `i` is node `base + i`.
//! Every inner node is recomputed as the sum of its two children (never updated by deltas), so
//! the tree never drifts and rebuilding it from the leaves gives bit-identical sums.

#[derive(Debug, Clone, PartialEq)]
pub struct SumTree {
    len: usize,
    base: usize,
    nodes: Vec<f64>,
}

impl SumTree {
    /// A tree of `len` leaves, all zero.
    pub fn new(len: usize) -> Self {
        let base = len.max(1).next_power_of_two();
        Self {
            len,
            base,
            nodes: vec![0.0; 2 * base],
        }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn total(&self) -> f64 {
        self.nodes[1]
    }

    pub fn get(&self, i: usize) -> f64 {
        self.nodes[self.base + i]
    }

    pub fn leaves(&self) -> &[f64] {
        &self.nodes[self.base..self.base + self.len]
    }

    /// Sets leaf `i` and refreshes its ancestors. `value` must be finite and >= 0 (the buffer
    /// guarantees it); panics if `i >= len()`, like slice indexing.
    pub fn set(&mut self, i: usize, value: f64) {
        assert!(
            i < self.len,
            "sum tree leaf {i} out of range (len {})",
            self.len
        );
        debug_assert!(value.is_finite() && value >= 0.0);
        let mut j = self.base + i;
        self.nodes[j] = value;
        while j > 1 {
            j /= 2;
            self.nodes[j] = self.nodes[2 * j] + self.nodes[2 * j + 1];
        }
    }

    /// Replaces all leaves and recomputes every inner node.
    pub fn rebuild(&mut self, leaves: &[f64]) {
        debug_assert_eq!(leaves.len(), self.len);
        self.nodes[self.base..self.base + self.len].copy_from_slice(leaves);
        for j in (1..self.base).rev() {
            self.nodes[j] = self.nodes[2 * j] + self.nodes[2 * j + 1];
        }
    }

    /// Sum of leaves `0..i` (walks the path to leaf `i`).
    pub fn prefix_sum(&self, i: usize) -> f64 {
        if i >= self.len {
            return self.total();
        }
        let mut sum = 0.0;
        let mut j = self.base + i;
        while j > 1 {
            if j % 2 == 1 {
                sum += self.nodes[j - 1];
            }
            j /= 2;
        }
        sum
    }

    /// The leaf `i` with `prefix_sum(i) <= u < prefix_sum(i) + get(i)`. A child with sum zero is
    /// never entered while its sibling is positive, so with `total() > 0` the result always has a
    /// positive priority, even when rounding puts `u` at or beyond the total.
    pub fn find(&self, mut u: f64) -> usize {
        let mut j = 1;
        while j < self.base {
            let left = self.nodes[2 * j];
            let right = self.nodes[2 * j + 1];
            if right <= 0.0 || (left > 0.0 && u < left) {
                j *= 2;
            } else {
                u -= left;
                j = 2 * j + 1;
            }
        }
        j - self.base
    }

    /// [`SumTree::find`] for every `us[i]` into `out[i]`. All paths descend level by level
    /// together so their cache misses overlap (one path alone is a chain of dependent loads).
    /// `us` is clobbered.
    pub fn find_many(&self, us: &mut [f64], out: &mut [usize]) {
        debug_assert_eq!(us.len(), out.len());
        out.fill(1);
        let mut width = 1;
        while width < self.base {
            for (j, u) in out.iter_mut().zip(us.iter_mut()) {
                let left = self.nodes[2 * *j];
                let right = self.nodes[2 * *j + 1];
                // Same rule as `find`, written without branches (they are unpredictable).
                let go_right = (right > 0.0) & ((left <= 0.0) | (*u >= left));
                *u -= if go_right { left } else { 0.0 };
                *j = 2 * *j + usize::from(go_right);
            }
            width *= 2;
        }
        for j in out.iter_mut() {
            *j -= self.base;
        }
    }

    pub fn allocated_bytes(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_sums_and_find_match_hand_values() {
        let mut t = SumTree::new(5);
        for (i, p) in [1.0, 0.0, 2.0, 3.0, 0.5].into_iter().enumerate() {
            t.set(i, p);
        }
        assert_eq!(t.total(), 6.5);
        let prefix = [0.0, 1.0, 1.0, 3.0, 6.0, 6.5];
        for (i, want) in prefix.iter().enumerate() {
            assert_eq!(t.prefix_sum(i), *want, "prefix {i}");
        }
        // [0,1) -> 0, [1,3) -> 2 (leaf 1 has zero mass), [3,6) -> 3, [6,6.5) -> 4.
        let cases = [
            (0.0, 0),
            (0.999, 0),
            (1.0, 2),
            (2.99, 2),
            (3.0, 3),
            (5.99, 3),
            (6.0, 4),
            (6.49, 4),
        ];
        for (u, want) in cases {
            assert_eq!(t.find(u), want, "find({u})");
        }
        let mut us: Vec<f64> = cases.iter().map(|c| c.0).collect();
        let mut got = vec![0; us.len()];
        t.find_many(&mut us, &mut got);
        assert_eq!(got, cases.iter().map(|c| c.1).collect::<Vec<_>>());
        // Out-of-range u lands on the last positive leaf, never on padding.
        assert_eq!(t.find(100.0), 4);
        t.set(4, 0.0);
        assert_eq!(t.find(100.0), 3);
        assert_eq!(t.total(), 6.0);
    }

    #[test]
    fn rebuild_equals_incremental() {
        let leaves: Vec<f64> = (0..37).map(|i| ((i * 13) % 7) as f64 * 0.37).collect();
        let mut a = SumTree::new(37);
        for (i, &p) in leaves.iter().enumerate() {
            a.set(i, 5.0);
            a.set(i, p);
        }
        let mut b = SumTree::new(37);
        b.rebuild(&leaves);
        assert_eq!(a, b);
        let want: f64 = leaves.iter().sum();
        assert!((a.total() - want).abs() < 1e-12);
    }

    #[test]
    fn find_skips_zero_leaves_at_every_level() {
        let mut t = SumTree::new(8);
        t.set(5, 2.0);
        for u in [0.0, 1.0, 1.999, 2.0, 1e9] {
            assert_eq!(t.find(u), 5);
        }
    }
}
