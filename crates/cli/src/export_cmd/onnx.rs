//! `sparq export --format onnx`: the Q-network as an ONNX graph (opset 17), written with
//! hand-written prost messages for the few parts of onnx.proto it needs.
//!
//! Linear layers are `Gemm(transB = 1)`, convolutions `Conv` (3×3, stride 1, no padding), then
//! `Flatten`; dueling heads end in `Add(V, Sub(A, ReduceMean(A)))`. GELU is written out as
//! `0.5·x·(1 + Erf(x/√2))` (the `Gelu` operator needs opset 20). With `--int8` the graph is the
//! calibrated int8 policy file's (docs/runtime.md): each int8 layer an int8 initializer with
//! per-output-unit scales feeding `DequantizeLinear(axis 0)`, 4× smaller than f32, and the head
//! that calibration refits in f32 an f32 one; runtimes fold the dequantization into a constant
//! at load time.

use prost::Message;
use sparq_runtime::{Activation, LayerKind, PolicyFile, Role, Weights};

pub const OPSET: i64 = 17;
/// IR version 8 is the one that goes with opset 17.
const IR_VERSION: i64 = 8;

#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(string, tag = "3")]
    pub producer_version: String,
    #[prost(string, tag = "6")]
    pub doc_string: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, tag = "2")]
    pub f: f32,
    #[prost(int64, tag = "3")]
    pub i: i64,
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(oneof = "DimValue", tags = "1, 2")]
    pub value: Option<DimValue>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DimValue {
    #[prost(int64, tag = "1")]
    Value(i64),
    #[prost(string, tag = "2")]
    Param(String),
}

const FLOAT: i32 = 1;
const INT8: i32 = 3;
const ATTR_FLOAT: i32 = 1;
const ATTR_INT: i32 = 2;
const ATTR_INTS: i32 = 7;

fn tensor_f32(name: &str, dims: &[usize], v: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: FLOAT,
        name: name.into(),
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

fn tensor_i8(name: &str, dims: &[usize], v: &[i8]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: INT8,
        name: name.into(),
        raw_data: v.iter().map(|&x| x as u8).collect(),
    }
}

fn value_info(name: &str, dims: Vec<DimValue>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .into_iter()
                        .map(|d| Dimension { value: Some(d) })
                        .collect(),
                }),
            }),
        }),
    }
}

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: ATTR_INT,
        ..Default::default()
    }
}
fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.to_vec(),
        r#type: ATTR_INTS,
        ..Default::default()
    }
}
fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: ATTR_FLOAT,
        ..Default::default()
    }
}

struct Graph {
    nodes: Vec<NodeProto>,
    init: Vec<TensorProto>,
}

impl Graph {
    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: output.into(),
            op_type: op.into(),
            attribute,
        });
        output.to_string()
    }

    fn activate(&mut self, f: Activation, x: &str, name: &str) -> String {
        match f {
            Activation::Relu => self.node("Relu", &[x], name, vec![]),
            Activation::Tanh => self.node("Tanh", &[x], name, vec![]),
            Activation::Elu => self.node("Elu", &[x], name, vec![attr_float("alpha", 1.0)]),
            Activation::LeakyRelu => {
                self.node("LeakyRelu", &[x], name, vec![attr_float("alpha", 0.01)])
            }
            Activation::Gelu => {
                let consts = [
                    ("gelu_rsqrt2", std::f32::consts::FRAC_1_SQRT_2),
                    ("gelu_one", 1.0),
                    ("gelu_half", 0.5),
                ];
                for (n, v) in consts {
                    if !self.init.iter().any(|t| t.name == n) {
                        self.init.push(tensor_f32(n, &[], &[v]));
                    }
                }
                let s = self.node("Mul", &[x, "gelu_rsqrt2"], &format!("{name}_s"), vec![]);
                let e = self.node("Erf", &[&s], &format!("{name}_erf"), vec![]);
                let p = self.node("Add", &[&e, "gelu_one"], &format!("{name}_p"), vec![]);
                let h = self.node("Mul", &[x, "gelu_half"], &format!("{name}_h"), vec![]);
                self.node("Mul", &[&h, &p], name, vec![])
            }
        }
    }

    /// The weight of a layer as a float tensor (`[units, fan_in]` for a linear one): an
    /// initializer, or for a layer stored in int8 its int8 values through DequantizeLinear.
    fn weight(&mut self, l: &sparq_runtime::LayerData) -> String {
        let name = format!("{}.weight", l.name);
        let (scales, q) = match &l.weights {
            Weights::DenseI8 { scales, q } => (scales, q.clone()),
            Weights::SparseI8 { scales, csr } => (scales, csr.to_dense(l.units, l.fan_in)),
            Weights::DenseF32(_) | Weights::SparseF32(_) => {
                let dims = match l.kind {
                    LayerKind::Conv3x3 => vec![l.units, l.fan_in / 9, 3, 3],
                    LayerKind::Linear => vec![l.units, l.fan_in],
                };
                let dense = l.weights.to_dense(l.units, l.fan_in);
                self.init.push(tensor_f32(&name, &dims, &dense));
                return name;
            }
        };
        // A zero scale (an all-zero unit) is not allowed by DequantizeLinear's contract.
        let scales: Vec<f32> = scales
            .iter()
            .map(|&s| if s == 0.0 { 1.0 } else { s })
            .collect();
        let (qn, sn, zn) = (
            format!("{name}_q"),
            format!("{name}_scale"),
            format!("{name}_zero"),
        );
        self.init.push(tensor_i8(&qn, &[l.units, l.fan_in], &q));
        self.init.push(tensor_f32(&sn, &[l.units], &scales));
        self.init
            .push(tensor_i8(&zn, &[l.units], &vec![0; l.units]));
        self.node(
            "DequantizeLinear",
            &[&qn, &sn, &zn],
            &name,
            vec![attr_int("axis", 0)],
        )
    }
}

/// The ONNX model of `f`: its f32 layers as dense f32 initializers, its int8 layers as int8 ones
/// (the same values and scales, so an int8 policy file's calibration carries over).
pub fn model(f: &PolicyFile) -> Vec<u8> {
    let mut g = Graph {
        nodes: Vec::new(),
        init: Vec::new(),
    };
    let mut x = "obs".to_string();
    let mut flat = f.obs_shape.len() == 1;
    let (mut value, mut adv) = (None, None);
    for l in &f.layers {
        let w = g.weight(l);
        let b = format!("{}.bias", l.name);
        g.init.push(tensor_f32(&b, &[l.units], &l.bias));
        let y = match l.kind {
            LayerKind::Conv3x3 => g.node(
                "Conv",
                &[&x, &w, &b],
                &format!("{}_out", l.name),
                vec![
                    attr_ints("kernel_shape", &[3, 3]),
                    attr_ints("strides", &[1, 1]),
                    attr_ints("pads", &[0, 0, 0, 0]),
                ],
            ),
            LayerKind::Linear => {
                if !flat {
                    x = g.node("Flatten", &[&x], "flat", vec![attr_int("axis", 1)]);
                    flat = true;
                }
                let out = if l.role == Role::Out {
                    "q".to_string()
                } else {
                    format!("{}_out", l.name)
                };
                g.node("Gemm", &[&x, &w, &b], &out, vec![attr_int("transB", 1)])
            }
        };
        match l.role {
            Role::Hidden => x = g.activate(f.activation, &y, &format!("{}_act", l.name)),
            Role::Value => value = Some(y),
            Role::Advantage => adv = Some(y),
            Role::Out => {}
        }
    }
    if let (Some(v), Some(a)) = (value, adv) {
        let mean = g.node(
            "ReduceMean",
            &[&a],
            "advantage_mean",
            vec![attr_ints("axes", &[1]), attr_int("keepdims", 1)],
        );
        let centred = g.node("Sub", &[&a, &mean], "advantage_centred", vec![]);
        g.node("Add", &[&v, &centred], "q", vec![]);
    }
    let mut obs_dims = vec![DimValue::Param("batch".into())];
    obs_dims.extend(f.obs_shape.iter().map(|&d| DimValue::Value(d as i64)));
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "sparq".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "sparq DQN policy for {}: input obs [batch, {}], output q [batch, {}] (Q-values; act = argmax)",
            f.env_id,
            f.obs_shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            f.num_actions
        ),
        graph: Some(GraphProto {
            node: g.nodes,
            name: "sparq_q_network".into(),
            initializer: g.init,
            input: vec![value_info("obs", obs_dims)],
            output: vec![value_info(
                "q",
                vec![
                    DimValue::Param("batch".into()),
                    DimValue::Value(f.num_actions as i64),
                ],
            )],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    };
    model.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparq_runtime::{Csr, Format, LayerData};

    fn initializer<'a>(m: &'a ModelProto, name: &str) -> &'a TensorProto {
        let g = m.graph.as_ref().unwrap();
        g.initializer
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no initializer {name}"))
    }

    fn floats(t: &TensorProto) -> Vec<f32> {
        t.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn int8_layers_carry_their_values_and_scales_and_f32_layers_stay_f32() {
        // A sparse int8 hidden layer (as calibrated files store it) and an f32 head (as
        // calibration refits it).
        let w: Vec<f32> = (0..12)
            .map(|i| {
                if i % 3 == 0 {
                    0.0
                } else {
                    i as f32 * 0.1 - 0.5
                }
            })
            .collect();
        let hidden = sparq_runtime::quant::encode(&w, 3, 4, Format::SparseI8);
        let Weights::SparseI8 { scales, csr } = &hidden else {
            panic!("encode returns the format asked for")
        };
        let (scales, csr): (Vec<f32>, Csr<i8>) = (scales.clone(), csr.clone());
        let layer = |name: &str, role, units, fan_in, weights| LayerData {
            name: name.into(),
            kind: LayerKind::Linear,
            role,
            units,
            fan_in,
            source_nonzero: 0,
            weights,
            bias: vec![0.25; units],
        };
        let head = vec![0.5f32, -1.5, 2.0, 0.125, 3.0, -0.75];
        let f = PolicyFile {
            env_id: "CartPole-v1".into(),
            obs_shape: vec![4],
            num_actions: 2,
            activation: Activation::Relu,
            dueling: false,
            source_hash: [0; 32],
            layers: vec![
                layer("fc0", Role::Hidden, 3, 4, hidden.clone()),
                layer("out", Role::Out, 2, 3, Weights::DenseF32(head.clone())),
            ],
        };
        let m = ModelProto::decode(model(&f).as_slice()).unwrap();

        let q = initializer(&m, "fc0.weight_q");
        assert_eq!((q.data_type, q.dims.as_slice()), (INT8, &[3i64, 4][..]));
        let mut want = [0i8; 12];
        for r in 0..3 {
            let (cols, vals) = csr.row(r);
            for (&j, &v) in cols.iter().zip(vals) {
                want[r * 4 + j as usize] = v;
            }
        }
        assert_eq!(
            q.raw_data,
            want.iter().map(|&v| v as u8).collect::<Vec<_>>()
        );
        assert_eq!(floats(initializer(&m, "fc0.weight_scale")), scales);

        let out = initializer(&m, "out.weight");
        assert_eq!(out.data_type, FLOAT);
        assert_eq!(floats(out), head);
        let g = m.graph.as_ref().unwrap();
        assert!(!g.initializer.iter().any(|t| t.name == "out.weight_q"));
        assert_eq!(
            g.node
                .iter()
                .filter(|n| n.op_type == "DequantizeLinear")
                .count(),
            1
        );
    }
}
