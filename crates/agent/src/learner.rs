//! The DQN learner: online and target networks over flat parameters, the optimizer, and the
//! pruning masks that every update respects.
//!
//! One update, in order: forward → TD targets from the target network (no grad) → loss →
//! backward (by hand for plain MLPs, `mlp.rs`; autograd otherwise) → accumulate saliency (if
//! asked) → keep |∂L/∂w| (RigL's update steps) → mask gradients → clip the gradient norm →
//! optimizer step → re-mask weights → sync the target every `target_update_interval` updates.
//! Under the straight-through estimator the gradient stays unmasked, the optimizer steps a dense
//! copy of the weights, and the network's weights are that copy times the mask.

use sparq_config::{AgentConfig, Loss};
use tch::{Device, Kind, Reduction, Tensor};

use crate::AgentError;
use crate::mlp::{self, Mlp, Params};
use crate::net;
use crate::optim::Optimizer;
use sparq_policy::{Layout, NetSpec};

/// A minibatch as host slices (the replay buffer's reusable batch), converted with one copy each.
pub struct BatchRef<'a> {
    pub obs: &'a [f32],
    pub next_obs: &'a [f32],
    pub actions: &'a [i64],
    /// n-step discounted reward sums.
    pub returns: &'a [f32],
    /// γ^k for bootstrapping, 0 where the episode terminated.
    pub discounts: &'a [f32],
    /// Importance weights (prioritized replay), or `None` for uniform sampling.
    pub weights: Option<&'a [f32]>,
}

impl<'a> BatchRef<'a> {
    /// A replay minibatch; `weighted` applies its importance weights (prioritized replay).
    pub fn of(b: &'a sparq_replay::Batch, weighted: bool) -> Self {
        BatchRef {
            obs: &b.obs,
            next_obs: &b.next_obs,
            actions: &b.actions,
            returns: &b.returns,
            discounts: &b.discounts,
            weights: weighted.then_some(b.weights.as_slice()),
        }
    }
}

/// One batch's TD loss: the taken actions' Q-values, the TD targets, the mean loss, ∂loss/∂params.
struct LossAndGrad {
    q: Tensor,
    y: Tensor,
    loss: Tensor,
    grad: Tensor,
}

/// Running sums of logged training values, kept on the device to avoid a sync per update.
struct Stats {
    loss_sum: Tensor,
    q_sum: Tensor,
    count: u64,
}

pub struct Learner {
    spec: NetSpec,
    layout: Layout,
    device: Device,
    obs_shape: Vec<i64>,
    loss: Loss,
    double: bool,
    max_grad_norm: f64,
    tau: f64,
    target_update_interval: u64,
    /// Online parameters: the one autograd leaf.
    params: Tensor,
    target: Tensor,
    /// 1 for kept entries, 0 for pruned ones (biases of removed units included).
    mask: Tensor,
    masked: bool,
    optimizer: Optimizer,
    /// The hand-written backward pass, for the plain MLPs it supports; autograd otherwise.
    mlp: Option<Mlp>,
    /// Σ|w·∂L/∂w| since the last pruning step, when the saliency criterion is on.
    saliency: Option<Tensor>,
    /// Straight-through estimator: the dense weights the optimizer steps; `params` holds them
    /// masked, for the forward pass.
    dense: Option<Tensor>,
    /// Whether the next update keeps |∂L/∂w| before masking (RigL's grow scores).
    keep_grad: bool,
    /// The kept |∂L/∂w| of the last update asked for.
    dense_grad: Option<Tensor>,
    stats: Stats,
    /// Gradient steps done.
    pub grad_steps: u64,
}

/// Mean loss and Q over the updates since the last [`Learner::take_stats`].
#[derive(Debug, Clone, Copy)]
pub struct TrainStats {
    pub loss: f64,
    pub q_mean: f64,
    pub updates: u64,
}

impl Learner {
    /// A fresh learner whose initial weights are a function of `seed` ([`net::init_params`]).
    pub fn new(
        spec: NetSpec,
        cfg: &AgentConfig,
        device: Device,
        track_saliency: bool,
        seed: u64,
    ) -> Result<Self, AgentError> {
        spec.validate()?;
        let layout = spec.layout();
        let params = net::init_params(&layout, device, seed)?.f_set_requires_grad(true)?;
        let target = deep_copy(&params)?;
        let mask = Tensor::f_ones([layout.numel as i64], (Kind::Float, device))?;
        let optimizer = Optimizer::new(cfg, &target)?;
        let saliency = if track_saliency {
            Some(target.f_zeros_like()?)
        } else {
            None
        };
        let mlp = if Mlp::supports(&spec) {
            Some(Mlp::new(&spec, &layout, &params, &target)?)
        } else {
            None
        };
        let zero = Tensor::f_zeros([], (Kind::Float, device))?;
        let obs_shape = spec.obs.shape().iter().map(|&d| d as i64).collect();
        Ok(Learner {
            spec,
            layout,
            device,
            obs_shape,
            loss: cfg.loss,
            double: cfg.double,
            max_grad_norm: cfg.max_grad_norm,
            tau: cfg.tau,
            target_update_interval: cfg.target_update_interval,
            params,
            target,
            mask,
            masked: false,
            optimizer,
            mlp,
            saliency,
            dense: None,
            keep_grad: false,
            dense_grad: None,
            stats: Stats {
                loss_sum: deep_copy(&zero)?,
                q_sum: zero,
                count: 0,
            },
            grad_steps: 0,
        })
    }

    pub fn spec(&self) -> &NetSpec {
        &self.spec
    }
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    pub fn device(&self) -> Device {
        self.device
    }

    fn batch_tensor(&self, data: &[f32], batch: i64) -> Result<Tensor, AgentError> {
        let mut shape = Vec::with_capacity(1 + self.obs_shape.len());
        shape.push(batch);
        shape.extend_from_slice(&self.obs_shape);
        self.on_device(Tensor::f_from_slice(data)?.f_view(shape.as_slice())?)
    }

    fn vec_tensor<T: tch::kind::Element>(&self, data: &[T]) -> Result<Tensor, AgentError> {
        self.on_device(Tensor::f_from_slice(data)?)
    }

    /// A host tensor on the learner's device; on the CPU no libtorch call at all (each costs
    /// microseconds, a sizeable share of a small network's update).
    fn on_device(&self, t: Tensor) -> Result<Tensor, AgentError> {
        if self.device == Device::Cpu {
            Ok(t)
        } else {
            Ok(t.f_to_device(self.device)?)
        }
    }

    /// Q-values `[batch, actions]` of `obs` under the online or the target parameters, without
    /// gradient.
    fn q_values(&self, which: Params, obs: &Tensor) -> Result<Tensor, AgentError> {
        let _guard = tch::no_grad_guard();
        match &self.mlp {
            Some(mlp) => mlp.forward(which, obs),
            None => {
                let flat = match which {
                    Params::Online => &self.params,
                    Params::Target => &self.target,
                };
                net::forward(&self.spec, &self.layout, flat, obs)
            }
        }
    }

    /// The TD loss of a batch and its gradient (nothing is stepped). Returns the chosen actions'
    /// Q-values, the TD targets, the loss and ∂loss/∂params.
    fn loss_and_grad(&mut self, b: &BatchRef) -> Result<LossAndGrad, AgentError> {
        let n = b.actions.len() as i64;
        let obs = self.batch_tensor(b.obs, n)?;
        let next_obs = self.batch_tensor(b.next_obs, n)?;
        let actions = self.vec_tensor(b.actions)?.f_unsqueeze(1)?;
        let returns = self.vec_tensor(b.returns)?;
        let discounts = self.vec_tensor(b.discounts)?;
        let weights = b.weights.map(|w| self.vec_tensor(w)).transpose()?;

        let y = {
            let q_next_target = self.q_values(Params::Target, &next_obs)?;
            let _guard = tch::no_grad_guard();
            let q_next = if self.double {
                let a = self
                    .q_values(Params::Online, &next_obs)?
                    .f_argmax(1, true)?;
                q_next_target.f_gather(1, &a, false)?.f_squeeze_dim(1)?
            } else {
                q_next_target.f_amax(1, false)?
            };
            returns.f_addcmul(&discounts, &q_next)?
        };
        let loss_of = |q: &Tensor| -> Result<Tensor, AgentError> {
            let per_sample = match self.loss {
                Loss::Huber => q.f_huber_loss(&y, Reduction::None, 1.0)?,
                Loss::Mse => q.f_mse_loss(&y, Reduction::None)?,
            };
            Ok(match &weights {
                Some(w) => per_sample.f_mul(w)?.f_mean(Kind::Float)?,
                None => per_sample.f_mean(Kind::Float)?,
            })
        };

        let (q, loss, grad) = match &self.mlp {
            Some(mlp) => {
                let _guard = tch::no_grad_guard();
                let (q_all, tape) = mlp.forward_taped(&obs)?;
                let q = q_all.f_gather(1, &actions, false)?.f_squeeze_dim(1)?;
                let loss = loss_of(&q)?;
                let dq = mlp::loss_grad(self.loss, &q_all, &actions, &q, &y, weights.as_ref())?;
                (q, loss, mlp.backward(&tape, dq)?)
            }
            None => {
                let q = net::forward(&self.spec, &self.layout, &self.params, &obs)?
                    .f_gather(1, &actions, false)?
                    .f_squeeze_dim(1)?;
                let loss = loss_of(&q)?;
                let mut grad = self.params.f_grad()?;
                if grad.defined() {
                    let _ = grad.f_zero_()?;
                }
                loss.f_backward()?;
                (q, loss, self.params.f_grad()?)
            }
        };
        if let Some(acc) = &mut self.saliency {
            let _guard = tch::no_grad_guard();
            let _ = acc.f_add_(&self.params.f_mul(&grad)?.f_abs()?)?;
        }
        Ok(LossAndGrad { q, y, loss, grad })
    }

    /// Adds one batch's |w·∂L/∂w| to the saliency sums without changing any weight (post-hoc
    /// saliency pruning scores a trained network this way).
    pub fn accumulate_saliency(&mut self, b: &BatchRef) -> Result<(), AgentError> {
        if self.saliency.is_none() {
            return Err(AgentError::Config(
                "saliency is not tracked by this learner".into(),
            ));
        }
        let _ = self.loss_and_grad(b)?;
        Ok(())
    }

    /// Clears the saliency sums.
    pub fn reset_saliency(&mut self) -> Result<(), AgentError> {
        if let Some(acc) = &mut self.saliency {
            let _ = acc.f_zero_()?;
        }
        Ok(())
    }

    /// One gradient step. Returns |TD error| per sample when `want_td` (prioritized replay).
    pub fn update(&mut self, b: &BatchRef, want_td: bool) -> Result<Option<Vec<f32>>, AgentError> {
        let n = b.actions.len();
        let LossAndGrad {
            q,
            y,
            loss,
            mut grad,
        } = self.loss_and_grad(b)?;

        let _guard = tch::no_grad_guard();
        if self.keep_grad {
            self.dense_grad = Some(grad.f_abs()?);
        }
        // Under STE the gradient of the masked weights reaches the dense ones unmasked.
        if self.masked && self.dense.is_none() {
            let _ = grad.f_mul_(&self.mask)?;
        }
        if self.max_grad_norm > 0.0 {
            // clip_grad_norm_: g *= min(1, max_norm / (‖g‖ + 1e-6)), without a host sync.
            let mut coef = grad.f_norm()?;
            let _ = coef
                .f_add_scalar_(1e-6)?
                .f_reciprocal_()?
                .f_mul_scalar_(self.max_grad_norm)?
                .f_clamp_max_(1.0)?;
            let _ = grad.f_mul_(&coef)?;
        }
        match &mut self.dense {
            Some(dense) => {
                self.optimizer.apply(dense, &grad)?;
                self.params.f_copy_(&dense.f_mul(&self.mask)?)?;
            }
            None => {
                self.optimizer.apply(&mut self.params, &grad)?;
                if self.masked {
                    let _ = self.params.f_mul_(&self.mask)?;
                }
            }
        }
        self.grad_steps += 1;
        if self.grad_steps % self.target_update_interval == 0 {
            self.sync_target()?;
        }
        // Under no_grad, so no detach.
        let _ = self.stats.loss_sum.f_add_(&loss)?;
        let _ = self.stats.q_sum.f_add_(&q.f_mean(Kind::Float)?)?;
        self.stats.count += 1;

        if want_td {
            let td = q.f_detach()?.f_sub(&y)?.f_abs()?.f_to_device(Device::Cpu)?;
            let mut out = vec![0f32; n];
            td.f_copy_data(&mut out, n)?;
            return Ok(Some(out));
        }
        Ok(None)
    }

    /// Target ← online (τ = 1) or target ← (1−τ)·target + τ·online; pruned entries stay zero.
    pub fn sync_target(&mut self) -> Result<(), AgentError> {
        let _guard = tch::no_grad_guard();
        if self.tau >= 1.0 {
            self.target.f_copy_(&self.params)?;
        } else {
            let _ = self.target.f_lerp_(&self.params, self.tau)?;
            if self.masked {
                let _ = self.target.f_mul_(&self.mask)?;
            }
        }
        Ok(())
    }

    /// Switches to the straight-through estimator: from now on the optimizer steps a dense copy
    /// of the weights with the unmasked gradient, and the network computes with that copy times
    /// the mask. Call before the first update.
    pub fn enable_straight_through(&mut self) -> Result<(), AgentError> {
        self.dense = Some(deep_copy(&self.params)?);
        Ok(())
    }

    /// Keep |∂L/∂w| (before masking) of the next update for [`Learner::take_dense_grad_host`]:
    /// RigL reads it on its mask-update steps only.
    pub fn keep_dense_grad(&mut self, keep: bool) {
        self.keep_grad = keep;
    }

    /// The |∂L/∂w| kept from the last update, if it was asked for.
    pub fn take_dense_grad_host(&mut self) -> Result<Option<Vec<f32>>, AgentError> {
        self.dense_grad
            .take()
            .as_ref()
            .map(Self::to_host)
            .transpose()
    }

    /// The weights whose magnitudes rank connections: the dense copy under STE, the network's
    /// own otherwise.
    pub fn ranking_weights_host(&self) -> Result<Vec<f32>, AgentError> {
        Self::to_host(self.dense.as_ref().unwrap_or(&self.params))
    }

    /// Installs a new mask (flat, 0/1, one entry per parameter): zeroes the pruned weights and
    /// their optimizer moments, so a connection grown later starts at zero with zero moments.
    /// Under STE only the network's copy is masked: the dense weights and moments live on. The
    /// target network picks the masks up at its next sync.
    pub fn set_mask(&mut self, mask: &[f32]) -> Result<(), AgentError> {
        if mask.len() != self.layout.numel {
            return Err(AgentError::Checkpoint(format!(
                "mask has {} entries, the network {}",
                mask.len(),
                self.layout.numel
            )));
        }
        let _guard = tch::no_grad_guard();
        let m = Tensor::f_from_slice(mask)?.f_to_device(self.device)?;
        self.mask.f_copy_(&m)?;
        self.masked = mask.contains(&0.0);
        match &self.dense {
            Some(dense) => self.params.f_copy_(&dense.f_mul(&self.mask)?)?,
            None => {
                let _ = self.params.f_mul_(&self.mask)?;
                self.optimizer.mask_(&self.mask)?;
            }
        }
        if let Some(acc) = &mut self.saliency {
            let _ = acc.f_zero_()?;
        }
        Ok(())
    }

    /// Copies a flat tensor (online params, target, mask or saliency) to the host.
    fn to_host(t: &Tensor) -> Result<Vec<f32>, AgentError> {
        let n = t.numel();
        let mut out = vec![0f32; n];
        t.f_detach()?
            .f_to_device(Device::Cpu)?
            .f_copy_data(&mut out, n)?;
        Ok(out)
    }

    pub fn params_host(&self) -> Result<Vec<f32>, AgentError> {
        Self::to_host(&self.params)
    }
    pub fn target_host(&self) -> Result<Vec<f32>, AgentError> {
        Self::to_host(&self.target)
    }
    pub fn mask_host(&self) -> Result<Vec<f32>, AgentError> {
        Self::to_host(&self.mask)
    }

    /// Copies the online parameters into `dst` (e.g. a [`crate::HostPolicy`]'s buffer).
    pub fn copy_params_into(&self, dst: &mut [f32]) -> Result<(), AgentError> {
        let _guard = tch::no_grad_guard();
        let n = dst.len().min(self.layout.numel);
        if self.device == Device::Cpu {
            self.params.f_copy_data(dst, n)?;
        } else {
            self.params.f_to_device(Device::Cpu)?.f_copy_data(dst, n)?;
        }
        Ok(())
    }

    /// Accumulated saliency |w·∂L/∂w| since the last mask change, if tracked.
    pub fn saliency_host(&self) -> Result<Option<Vec<f32>>, AgentError> {
        self.saliency.as_ref().map(Self::to_host).transpose()
    }

    /// Mean loss and Q since the last call; resets the sums.
    pub fn take_stats(&mut self) -> Result<Option<TrainStats>, AgentError> {
        if self.stats.count == 0 {
            return Ok(None);
        }
        let count = self.stats.count;
        let loss = self.stats.loss_sum.f_double_value(&[])? / count as f64;
        let q_mean = self.stats.q_sum.f_double_value(&[])? / count as f64;
        let _guard = tch::no_grad_guard();
        let _ = self.stats.loss_sum.f_zero_()?;
        let _ = self.stats.q_sum.f_zero_()?;
        self.stats.count = 0;
        Ok(Some(TrainStats {
            loss,
            q_mean,
            updates: count,
        }))
    }

    /// The running loss/Q sums not yet logged, for checkpoints: (loss sum, Q sum, updates).
    pub fn stats_state(&self) -> Result<(f32, f32, u64), AgentError> {
        Ok((
            self.stats.loss_sum.f_double_value(&[])? as f32,
            self.stats.q_sum.f_double_value(&[])? as f32,
            self.stats.count,
        ))
    }

    pub fn restore_stats(
        &mut self,
        (loss_sum, q_sum, count): (f32, f32, u64),
    ) -> Result<(), AgentError> {
        let _guard = tch::no_grad_guard();
        let _ = self.stats.loss_sum.f_fill_(f64::from(loss_sum))?;
        let _ = self.stats.q_sum.f_fill_(f64::from(q_sum))?;
        self.stats.count = count;
        Ok(())
    }

    /// Non-finite values in the online parameters (the NaN guard).
    pub fn params_finite(&self) -> Result<bool, AgentError> {
        Ok(self.params.f_isfinite()?.f_all()?.f_int64_value(&[])? != 0)
    }

    /// Whether everything a checkpoint holds (online and target parameters, optimizer moments)
    /// is finite: checked before every checkpoint, so none ever holds NaN or infinity.
    pub fn state_finite(&self) -> Result<bool, AgentError> {
        let all_finite = |t: &Tensor| -> Result<bool, AgentError> {
            Ok(t.f_isfinite()?.f_all()?.f_int64_value(&[])? != 0)
        };
        if !all_finite(&self.params)? || !all_finite(&self.target)? {
            return Ok(false);
        }
        if let Some(d) = &self.dense {
            if !all_finite(d)? {
                return Ok(false);
            }
        }
        for (_, t) in self.optimizer.state_tensors() {
            if !all_finite(t)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The learner's state as named host vectors, for checkpoints.
    pub fn state_host(&self) -> Result<Vec<(String, Vec<f32>)>, AgentError> {
        let mut v = vec![
            ("params".to_string(), Self::to_host(&self.params)?),
            ("target".to_string(), Self::to_host(&self.target)?),
            ("mask".to_string(), Self::to_host(&self.mask)?),
        ];
        for (name, t) in self.optimizer.state_tensors() {
            v.push((name.to_string(), Self::to_host(t)?));
        }
        if let Some(acc) = &self.saliency {
            v.push(("saliency".to_string(), Self::to_host(acc)?));
        }
        if let Some(dense) = &self.dense {
            v.push(("ste.dense".to_string(), Self::to_host(dense)?));
        }
        Ok(v)
    }

    /// One tensor of [`Learner::state_host`] by name (`optim.first`, `ste.dense`, ...).
    pub fn state_tensor_host(&self, name: &str) -> Result<Option<Vec<f32>>, AgentError> {
        Ok(self
            .state_host()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v))
    }

    /// Sets the learning rate for the next updates (`agent.lr_schedule`).
    pub fn set_lr(&mut self, lr: f64) {
        self.optimizer.set_lr(lr);
    }

    pub fn optimizer_step(&self) -> u64 {
        self.optimizer.step
    }

    /// Restores the state written by [`Learner::state_host`]; a size mismatch means the checkpoint
    /// belongs to another architecture.
    pub fn restore_host(
        &mut self,
        state: &[(String, Vec<f32>)],
        grad_steps: u64,
        optimizer_step: u64,
    ) -> Result<(), AgentError> {
        let numel = self.layout.numel;
        let get = |name: &str| -> Result<Tensor, AgentError> {
            let v = state
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v)
                .ok_or_else(|| AgentError::Checkpoint(format!("tensor '{name}' is missing")))?;
            if v.len() != numel {
                return Err(AgentError::Checkpoint(format!(
                    "tensor '{name}' has {} values but this network has {numel} parameters (another architecture?)",
                    v.len()
                )));
            }
            Ok(Tensor::f_from_slice(v)?.f_to_device(self.device)?)
        };
        let (params, target, mask) = (get("params")?, get("target")?, get("mask")?);
        let (first, second) = (get("optim.first")?, get("optim.second")?);
        let saliency = if state.iter().any(|(n, _)| n == "saliency") {
            Some(get("saliency")?)
        } else {
            None
        };
        let dense = self.dense.is_some().then(|| get("ste.dense")).transpose()?;
        {
            let _guard = tch::no_grad_guard();
            self.params.f_copy_(&params)?;
            self.target.f_copy_(&target)?;
            self.mask.f_copy_(&mask)?;
            if let (Some(d), Some(saved)) = (&mut self.dense, &dense) {
                d.f_copy_(saved)?;
            }
            if let Some(acc) = &mut self.saliency {
                match &saliency {
                    Some(s) => acc.f_copy_(s)?,
                    None => {
                        let _ = acc.f_zero_()?;
                    }
                }
            }
        }
        self.masked = Self::to_host(&self.mask)?.contains(&0.0);
        self.optimizer.restore(&first, &second, optimizer_step)?;
        self.grad_steps = grad_steps;
        Ok(())
    }
}

/// A new tensor with `t`'s values, detached from autograd.
fn deep_copy(t: &Tensor) -> Result<Tensor, AgentError> {
    let _guard = tch::no_grad_guard();
    let mut c = t.f_zeros_like()?;
    c.f_copy_(t)?;
    Ok(c)
}
