//! A hand-written backward pass for plain MLP Q-networks (vector observations, one output head).
//!
//! For the small networks of classic control an update costs libtorch's per-call overhead more
//! than arithmetic, and autograd adds calls of its own: graph nodes and saved tensors, the split of
//! the flat parameters and its backward (a zeroed full-size copy), gradient accumulation. This
//! pass calls the kernels autograd's derivative formulas call — `addmm` forward; `mm`, `sum` and
//! the activation's `*_backward` going back — on weight views made once, and writes ∂L/∂θ
//! straight into one flat gradient. Gradients are therefore bit-identical to autograd's (tested
//! below), with about half the libtorch calls. Convolutions and dueling heads keep autograd.

use sparq_config::{Activation, Loss};
use sparq_envs::ObsSpace;
use tch::{Kind, Reduction, Tensor};

use crate::AgentError;
use crate::net;
use sparq_policy::{LayerKind, Layout, NetSpec};

/// Which flat parameter tensor a forward pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Params {
    Online,
    Target,
}

pub(crate) struct Mlp {
    activation: Activation,
    online: Vec<LinearViews>,
    target: Vec<LinearViews>,
    /// ∂L/∂θ, flat like the parameters; every backward pass overwrites all of it.
    grad: Tensor,
    grad_views: Vec<LinearViews>,
}

/// One Linear layer as views into a flat tensor.
struct LinearViews {
    /// `[out, in]`.
    w: Tensor,
    /// `w.t()`, the `addmm` operand.
    wt: Tensor,
    b: Tensor,
}

impl LinearViews {
    fn of_all(layout: &Layout, flat: &Tensor) -> Result<Vec<Self>, AgentError> {
        let _guard = tch::no_grad_guard();
        let mut views = Vec::with_capacity(layout.layers.len());
        for l in &layout.layers {
            let (out, fan_in) = (l.units() as i64, l.fan_in() as i64);
            let w = flat
                .f_narrow(0, l.weight_offset as i64, out * fan_in)?
                .f_view([out, fan_in])?;
            let wt = w.f_tr()?;
            let b = flat.f_narrow(0, l.bias_offset as i64, out)?;
            views.push(LinearViews { w, wt, b });
        }
        Ok(views)
    }
}

/// What backward needs from a forward pass: every layer's input (the observations, then each
/// hidden activation's output) and every hidden layer's pre-activation.
pub(crate) struct Tape {
    inputs: Vec<Tensor>,
    pre: Vec<Tensor>,
}

impl Mlp {
    /// Whether `spec` is a network this pass handles: Linear layers only, one head.
    pub fn supports(spec: &NetSpec) -> bool {
        matches!(spec.obs, ObsSpace::Vector { .. })
            && !spec.dueling
            && spec
                .layout()
                .layers
                .iter()
                .all(|l| l.kind == LayerKind::Linear)
    }

    /// Views into `params` and `target`, which must keep their storage (they are only ever
    /// updated in place).
    pub fn new(
        spec: &NetSpec,
        layout: &Layout,
        params: &Tensor,
        target: &Tensor,
    ) -> Result<Self, AgentError> {
        let grad = params.f_zeros_like()?;
        Ok(Mlp {
            activation: spec.activation,
            online: LinearViews::of_all(layout, params)?,
            target: LinearViews::of_all(layout, target)?,
            grad_views: LinearViews::of_all(layout, &grad)?,
            grad,
        })
    }

    /// Q-values `[batch, actions]` of `obs`; call under `no_grad`.
    pub fn forward(&self, which: Params, obs: &Tensor) -> Result<Tensor, AgentError> {
        self.run(which, obs, None)
    }

    /// The online network's Q-values, recording what [`Mlp::backward`] needs.
    pub fn forward_taped(&self, obs: &Tensor) -> Result<(Tensor, Tape), AgentError> {
        let n = self.online.len();
        let mut tape = Tape {
            inputs: Vec::with_capacity(n),
            pre: Vec::with_capacity(n - 1),
        };
        let q = self.run(Params::Online, obs, Some(&mut tape))?;
        Ok((q, tape))
    }

    fn run(
        &self,
        which: Params,
        obs: &Tensor,
        mut tape: Option<&mut Tape>,
    ) -> Result<Tensor, AgentError> {
        let layers = match which {
            Params::Online => &self.online,
            Params::Target => &self.target,
        };
        let mut x = obs.shallow_clone();
        for (i, l) in layers.iter().enumerate() {
            // `F.linear` on a 2-D input with a bias is this `addmm`.
            let y = l.b.f_addmm(&x, &l.wt)?;
            if i + 1 == layers.len() {
                if let Some(t) = tape {
                    t.inputs.push(x);
                }
                return Ok(y);
            }
            let h = net::activate(self.activation, &y)?;
            if let Some(t) = tape.as_deref_mut() {
                t.inputs.push(x);
                t.pre.push(y);
            }
            x = h;
        }
        unreachable!("a layout always has an output layer")
    }

    /// ∂L/∂θ for ∂L/∂Q = `dq` (`[batch, actions]`), written into the flat gradient and returned
    /// (a shallow copy of it). Call under `no_grad`.
    pub fn backward(&self, tape: &Tape, dq: Tensor) -> Result<Tensor, AgentError> {
        let mut g = dq;
        for i in (0..self.online.len()).rev() {
            let (grad, x) = (&self.grad_views[i], &tape.inputs[i]);
            // addmm's formulas: ∂W = gᵀ·x (W enters transposed), ∂b = Σ_batch g, ∂x = g·W.
            let _ = g.f_tr()?.f_mm_out(&grad.w, x)?;
            let _ = g.f_sum_intlist_out(&grad.b, [0i64].as_slice(), false, None::<Kind>)?;
            if i == 0 {
                break;
            }
            let dx = g.f_mm(&self.online[i].w)?;
            g = self.activation_backward(&dx, &tape.pre[i - 1], x)?;
        }
        Ok(self.grad.shallow_clone())
    }

    /// The activation's derivative formula as autograd applies it (from the saved output for
    /// ReLU and tanh, from the input otherwise).
    fn activation_backward(
        &self,
        grad: &Tensor,
        pre: &Tensor,
        post: &Tensor,
    ) -> Result<Tensor, AgentError> {
        Ok(match self.activation {
            Activation::Relu => post.f_threshold_backward(grad, 0.0)?,
            Activation::Tanh => Tensor::f_tanh_backward(grad, post)?,
            Activation::Elu => Tensor::f_elu_backward(grad, 1.0, 1.0, 1.0, false, pre)?,
            Activation::Gelu => pre.f_gelu_backward(grad, "none")?,
            Activation::LeakyRelu => pre.f_leaky_relu_backward(grad, 0.01, false)?,
        })
    }
}

/// ∂loss/∂Q (`[batch, actions]`) for loss = mean over the batch of w·ℓ(Q(s, a), y), formed as
/// autograd forms it so that gradients stay bit-identical: mean's 1/n (times the importance weight
/// `w`, if any), then the loss's own backward formula, scattered to the taken actions. `q_all` is
/// the online network's output, `q` its entries at `actions` (`[batch, 1]`) squeezed to `[batch]`,
/// `y` the TD targets.
pub(crate) fn loss_grad(
    loss: Loss,
    q_all: &Tensor,
    actions: &Tensor,
    q: &Tensor,
    y: &Tensor,
    weights: Option<&Tensor>,
) -> Result<Tensor, AgentError> {
    let n = q.size()[0];
    let inv_n = f64::from(1f32 / n as f32);
    let g = match weights {
        Some(w) => w.f_mul_scalar(inv_n)?,
        None => Tensor::f_full([n], inv_n, (Kind::Float, q.device()))?,
    };
    let dq_taken = match loss {
        Loss::Huber => q.f_huber_loss_backward(&g, y, Reduction::None, 1.0)?,
        Loss::Mse => q.f_mse_loss_backward(&g, y, Reduction::None)?,
    };
    let mut dq = q_all.f_zeros_like()?;
    let _ = dq.f_scatter_add_(1, actions, &dq_taken.f_unsqueeze(1)?)?;
    Ok(dq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparq_config::NetworkConfig;
    use tch::Device;

    fn spec(activation: Activation) -> NetSpec {
        let cfg = NetworkConfig {
            hidden: vec![24, 16],
            activation,
            ..NetworkConfig::default()
        };
        NetSpec::from_config(&cfg, false, ObsSpace::Vector { dim: 5 }, 3)
    }

    /// The hand-written gradient equals autograd's bit for bit, for every activation and loss,
    /// with and without importance weights.
    #[test]
    fn gradients_match_autograd_exactly() {
        use Activation::*;
        for activation in [Relu, Tanh, Elu, Gelu, LeakyRelu] {
            for loss_kind in [Loss::Huber, Loss::Mse] {
                for weighted in [false, true] {
                    check_against_autograd(activation, loss_kind, weighted);
                }
            }
        }
    }

    fn check_against_autograd(activation: Activation, loss_kind: Loss, weighted: bool) {
        let case = format!("{activation:?} {loss_kind:?} weighted={weighted}");
        tch::manual_seed(7);
        let spec = spec(activation);
        let layout = spec.layout();
        let params = net::init_params(&layout, Device::Cpu, 7).unwrap();
        let target = net::init_params(&layout, Device::Cpu, 8).unwrap();
        let n = 37;
        let opts = (Kind::Float, Device::Cpu);
        let obs = Tensor::randn([n, 5], opts);
        let actions = Tensor::randint(3, [n, 1], (Kind::Int64, Device::Cpu));
        // Targets that put some TD errors inside Huber's ±1 and some outside.
        let y = Tensor::randn([n], opts).f_mul_scalar(2.0).unwrap();
        let w = Tensor::rand([n], opts).f_add_scalar(0.1).unwrap();
        let weights = weighted.then_some(&w);

        let leaf = params.copy().set_requires_grad(true);
        let q = net::forward(&spec, &layout, &leaf, &obs)
            .unwrap()
            .gather(1, &actions, false)
            .squeeze_dim(1);
        let per = match loss_kind {
            Loss::Huber => q.huber_loss(&y, Reduction::None, 1.0),
            Loss::Mse => q.mse_loss(&y, Reduction::None),
        };
        let loss = match weights {
            Some(w) => per * w,
            None => per,
        }
        .mean(Kind::Float);
        loss.backward();
        let expected = leaf.grad();

        let _guard = tch::no_grad_guard();
        let mlp = Mlp::new(&spec, &layout, &params, &target).unwrap();
        let (q_all, tape) = mlp.forward_taped(&obs).unwrap();
        let q = q_all.gather(1, &actions, false).squeeze_dim(1);
        let dq = loss_grad(loss_kind, &q_all, &actions, &q, &y, weights).unwrap();
        let got = mlp.backward(&tape, dq).unwrap();

        assert!(
            expected.abs().max().double_value(&[]) > 0.0,
            "{case}: a zero gradient tests nothing"
        );
        let same = got.eq_tensor(&expected).all().int64_value(&[]) == 1;
        assert!(
            same,
            "{case}: max |Δ| {}",
            (&got - &expected).abs().max().double_value(&[])
        );
        // The forward passes agree too, online and target.
        let reference = net::forward(&spec, &layout, &target, &obs).unwrap();
        let ours = mlp.forward(Params::Target, &obs).unwrap();
        assert!(ours.equal(&reference), "{case}: target forward differs");
    }

    #[test]
    fn supports_only_plain_mlps() {
        assert!(Mlp::supports(&spec(Activation::Relu)));
        let mut dueling = spec(Activation::Relu);
        dueling.dueling = true;
        assert!(!Mlp::supports(&dueling));
        let image = NetSpec::from_config(
            &NetworkConfig::default(),
            false,
            ObsSpace::Binary {
                channels: 4,
                height: 10,
                width: 10,
            },
            3,
        );
        assert!(!Mlp::supports(&image));
    }
}
