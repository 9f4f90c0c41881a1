//! Erdős–Rényi-Kernel sparsity allocation (Evci et al. 2020, "Rigging the Lottery"; used for
//! deep RL by Graesser et al. 2022).

/// Per-layer densities (kept fractions) for an overall sparsity `sparsity` over the given weight
/// shapes: d_l = min(1, ε·r_l) with r_l = Σ shape / Π shape, and ε solved so that
/// Σ d_l·n_l = (1 − sparsity)·Σ n_l. Layers whose ε·r_l would exceed 1 are made dense and ε is
/// re-solved for the rest (this only raises ε, so marking all of them at once is exact).
pub fn erk_densities(shapes: &[&[usize]], sparsity: f64) -> Vec<f64> {
    let numel: Vec<f64> = shapes
        .iter()
        .map(|s| s.iter().product::<usize>() as f64)
        .collect();
    let ratio: Vec<f64> = shapes
        .iter()
        .zip(&numel)
        .map(|(s, n)| s.iter().sum::<usize>() as f64 / n)
        .collect();
    let kept_total = (1.0 - sparsity) * numel.iter().sum::<f64>();
    let mut dense = vec![false; shapes.len()];
    loop {
        let dense_weights: f64 = (0..shapes.len())
            .filter(|&l| dense[l])
            .map(|l| numel[l])
            .sum();
        let divisor: f64 = (0..shapes.len())
            .filter(|&l| !dense[l])
            .map(|l| ratio[l] * numel[l])
            .sum();
        if divisor == 0.0 {
            return vec![1.0; shapes.len()];
        }
        let eps = (kept_total - dense_weights) / divisor;
        let mut changed = false;
        for l in 0..shapes.len() {
            if !dense[l] && eps * ratio[l] > 1.0 {
                dense[l] = true;
                changed = true;
            }
        }
        if !changed {
            return (0..shapes.len())
                .map(|l| {
                    if dense[l] {
                        1.0
                    } else {
                        (eps * ratio[l]).max(0.0)
                    }
                })
                .collect();
        }
    }
}
