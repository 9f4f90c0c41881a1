//! Adam and centred RMSProp on the flat parameter tensor, written out so that their state can be
//! checkpointed (tch's optimizers cannot export it) and so that pruned weights' moments can be
//! zeroed. Both follow `torch.optim` exactly (Adam without amsgrad; RMSprop with `centered=True`).

use sparq_config::{AgentConfig, Optimizer as OptimizerKind};
use tch::Tensor;

use crate::AgentError;

pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Updates done so far (Adam's bias-correction clock).
    pub step: u64,
    /// Adam: first moment; RMSProp: running mean of gradients.
    first: Tensor,
    /// Adam: second moment; RMSProp: running mean of squared gradients.
    second: Tensor,
}

impl Optimizer {
    pub fn new(cfg: &AgentConfig, like: &Tensor) -> Result<Self, AgentError> {
        let (beta1, beta2, eps) = match cfg.optimizer {
            OptimizerKind::Adam => (0.9, 0.999, cfg.adam_eps),
            OptimizerKind::RmspropCentered => {
                (cfg.rmsprop_alpha, cfg.rmsprop_alpha, cfg.rmsprop_eps)
            }
        };
        Ok(Optimizer {
            kind: cfg.optimizer,
            lr: cfg.lr,
            beta1,
            beta2,
            eps,
            step: 0,
            first: like.f_zeros_like()?,
            second: like.f_zeros_like()?,
        })
    }

    /// One update of `params` (a leaf) from `grad`. Call under `no_grad`.
    pub fn apply(&mut self, params: &mut Tensor, grad: &Tensor) -> Result<(), AgentError> {
        self.step += 1;
        match self.kind {
            OptimizerKind::Adam => {
                let t = self.step as i32;
                let bc1 = 1.0 - self.beta1.powi(t);
                let bc2 = 1.0 - self.beta2.powi(t);
                let _ = self.first.f_lerp_(grad, 1.0 - self.beta1)?;
                let _ = self.second.f_lerp_(&grad.f_square()?, 1.0 - self.beta2)?;
                // params += m / denom with denom = (√v/√bc2 + eps)·(−bc1/lr), i.e. −lr/bc1 · m/(√v̂ + eps)
                let mut denom = self.second.f_clamp_min(self.sqrt_floor())?;
                let _ = denom.f_sqrt_()?;
                let _ = denom.f_div_scalar_(bc2.sqrt())?;
                let _ = denom.f_add_scalar_(self.eps)?;
                let _ = denom.f_mul_scalar_(-bc1 / self.lr)?;
                let _ = params.f_addcdiv_(&self.first, &denom)?;
            }
            OptimizerKind::RmspropCentered => {
                let alpha = self.beta2;
                let _ = self.second.f_lerp_(&grad.f_square()?, 1.0 - alpha)?;
                let _ = self.first.f_lerp_(grad, 1.0 - alpha)?;
                let mut denom = self.second.f_addcmul(&self.first, &self.first.f_neg()?)?;
                let _ = denom.f_clamp_min_(self.sqrt_floor())?;
                let _ = denom.f_sqrt_()?;
                let _ = denom.f_add_scalar_(self.eps)?;
                let _ = denom.f_mul_scalar_(-1.0 / self.lr)?;
                let _ = params.f_addcdiv_(grad, &denom)?;
            }
        }
        Ok(())
    }

    /// The smallest value passed to `sqrt`. MKL's vectorised sqrt (libtorch's CPU kernel) takes a
    /// slow path for zeros, subnormals and values below about 1e-33: 6× slower on zeros and 37× on
    /// subnormals (benchmarks/README.md, prune-overhead). Pruned weights keep their moments at
    /// exactly 0 and dead units' moments decay into subnormals, so without the floor pruning alone
    /// cost ~10 % of training time. √floor = 1e-7·eps is far below eps, so the update changes
    /// only where √v is already negligible next to eps.
    fn sqrt_floor(&self) -> f64 {
        (1e-7 * self.eps).powi(2)
    }

    /// Sets the learning rate for the next updates (learning-rate schedules).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Zeroes the state of pruned entries so momentum cannot regrow them.
    pub fn mask_(&mut self, mask: &Tensor) -> Result<(), AgentError> {
        let _ = self.first.f_mul_(mask)?;
        let _ = self.second.f_mul_(mask)?;
        Ok(())
    }

    /// Named state tensors for checkpoints.
    pub fn state_tensors(&self) -> [(&'static str, &Tensor); 2] {
        [("optim.first", &self.first), ("optim.second", &self.second)]
    }

    pub fn restore(
        &mut self,
        first: &Tensor,
        second: &Tensor,
        step: u64,
    ) -> Result<(), AgentError> {
        let _guard = tch::no_grad_guard();
        self.first.f_copy_(first)?;
        self.second.f_copy_(second)?;
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, OptimizerConfig};
    use tch::{Device, Kind};

    /// Our optimizers against libtorch's own `torch.optim` on the same gradients.
    fn compare(kind: OptimizerKind, reference: impl OptimizerConfig) {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let x = vs.root().randn("x", &[50], 0.0, 1.0);
        let mut theirs = reference.build(&vs, 1e-2).unwrap();
        let cfg = AgentConfig {
            optimizer: kind,
            lr: 1e-2,
            ..AgentConfig::default()
        };
        let mut ours_params = x.detach().copy();
        let mut ours = Optimizer::new(&cfg, &ours_params).unwrap();
        // Entries 0..10 never get a gradient and 10..20 only ~1e-18 ones: their second moments stay
        // 0 or fall below the sqrt floor, which must not move them differently from libtorch.
        let scale = Tensor::cat(
            &[
                Tensor::zeros([10], (Kind::Float, Device::Cpu)),
                Tensor::full([10], 1e-18, (Kind::Float, Device::Cpu)),
                Tensor::ones([30], (Kind::Float, Device::Cpu)),
            ],
            0,
        );
        for step in 0..30 {
            // The same loss for both; only float rounding of the update order may differ: d/dx of Σ s·sin(x)·x².
            let loss = (&scale * x.sin() * x.square()).sum(Kind::Float);
            theirs.zero_grad();
            loss.backward();
            theirs.step();
            let ours_grad = {
                let y = ours_params.detach().set_requires_grad(true);
                let l = (&scale * y.sin() * y.square()).sum(Kind::Float);
                l.backward();
                y.grad().copy()
            };
            let _g = tch::no_grad_guard();
            ours.apply(&mut ours_params, &ours_grad).unwrap();
            let diff = f64::try_from((&ours_params - &x.detach()).abs().max()).unwrap();
            assert!(
                diff < 1e-5,
                "{kind:?} differs from libtorch by {diff} after step {step}"
            );
            let untouched = f64::try_from(
                (ours_params.narrow(0, 0, 10) - x.detach().narrow(0, 0, 10))
                    .abs()
                    .max(),
            )
            .unwrap();
            assert_eq!(
                untouched, 0.0,
                "{kind:?}: entries without gradient moved after step {step}"
            );
        }
    }

    #[test]
    fn adam_matches_libtorch() {
        compare(
            OptimizerKind::Adam,
            nn::Adam {
                beta1: 0.9,
                beta2: 0.999,
                wd: 0.0,
                eps: 1e-8,
                amsgrad: false,
            },
        );
    }

    #[test]
    fn centred_rmsprop_matches_libtorch() {
        compare(
            OptimizerKind::RmspropCentered,
            nn::RmsProp {
                alpha: 0.95,
                eps: 0.01,
                wd: 0.0,
                momentum: 0.0,
                centered: true,
            },
        );
    }
}
