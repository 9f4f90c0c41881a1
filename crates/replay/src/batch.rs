//! Reusable minibatch buffers, filled in place by `ReplayBuffer::sample`.

/// One sampled minibatch, row-major. Allocate once with [`Batch::new`] and pass it to every
/// `sample` call: the vectors are only resized if the batch size or observation length changes.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// `batch_size * obs_len` observations s_t.
    pub obs: Vec<f32>,
    /// `batch_size * obs_len` observations s_{t+k} to bootstrap from (the true final observation
    /// when the episode ended within the k steps).
    pub next_obs: Vec<f32>,
    /// Actions a_t.
    pub actions: Vec<i64>,
    /// n-step returns r_t + γ r_{t+1} + … + γ^{k-1} r_{t+k-1}, k = min(n, steps to episode end).
    pub returns: Vec<f32>,
    /// γ^k, or 0 when the episode terminated within the k steps (truncation still bootstraps).
    pub discounts: Vec<f32>,
    /// Importance-sampling weights, max-normalised over the batch; all 1 for uniform sampling.
    pub weights: Vec<f32>,
    /// Slot ids to pass back to `update_priorities`.
    pub indices: Vec<usize>,
    /// Per-row sampling points of prioritized draws (reused so sampling never allocates).
    pub(crate) points: Vec<f64>,
}

/// Compares the public contents only.
impl PartialEq for Batch {
    fn eq(&self, o: &Self) -> bool {
        self.obs == o.obs
            && self.next_obs == o.next_obs
            && self.actions == o.actions
            && self.returns == o.returns
            && self.discounts == o.discounts
            && self.weights == o.weights
            && self.indices == o.indices
    }
}

impl Batch {
    pub fn new(batch_size: usize, obs_len: usize) -> Self {
        let mut b = Self::default();
        b.resize(batch_size, obs_len);
        b
    }

    pub fn batch_size(&self) -> usize {
        self.actions.len()
    }

    /// No allocation when the sizes are unchanged.
    pub(crate) fn resize(&mut self, batch_size: usize, obs_len: usize) {
        self.obs.resize(batch_size * obs_len, 0.0);
        self.next_obs.resize(batch_size * obs_len, 0.0);
        self.actions.resize(batch_size, 0);
        self.returns.resize(batch_size, 0.0);
        self.discounts.resize(batch_size, 0.0);
        self.weights.resize(batch_size, 0.0);
        self.indices.resize(batch_size, 0);
        self.points.resize(batch_size, 0.0);
    }
}
