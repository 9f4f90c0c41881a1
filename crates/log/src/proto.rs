//! The subset of TensorBoard's protobuf messages sparq writes and reads, hand-written for prost.
//! Field numbers and types checked against the descriptors in the `tensorboard` 2.21 pip package
//! (`tensorboard.compat.proto.{event,summary,histogram}_pb2`). Fields we never use are left out;
//! prost skips them when reading files from other writers.

/// `tensorboard.Event`: one record of an event file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(oneof = "event::What", tags = "3, 5, 7")]
    pub what: Option<event::What>,
}

pub mod event {
    /// `Event.what`: a oneof, so presence is explicit.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum What {
        /// "brain.Event:2" in the first record of a file.
        #[prost(string, tag = "3")]
        FileVersion(String),
        #[prost(message, tag = "5")]
        Summary(super::Summary),
        #[prost(message, tag = "7")]
        SessionLog(super::SessionLog),
    }
}

/// `tensorboard.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorboard.Summary.Value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    #[prost(string, tag = "1")]
    pub tag: String,
    #[prost(oneof = "summary_value::Kind", tags = "2, 5")]
    pub kind: Option<summary_value::Kind>,
}

pub mod summary_value {
    /// `Summary.Value.value`: a oneof, so a scalar 0.0 is still written (proto3 would drop a
    /// plain float field equal to 0 and TensorBoard would then not see the value at all).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(float, tag = "2")]
        SimpleValue(f32),
        #[prost(message, tag = "5")]
        Histo(super::HistogramProto),
    }
}

/// `tensorboard.HistogramProto`. `bucket[i]` counts values in
/// `[bucket_limit[i-1], bucket_limit[i])` (the first bucket starts at `min`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramProto {
    #[prost(double, tag = "1")]
    pub min: f64,
    #[prost(double, tag = "2")]
    pub max: f64,
    /// A double in the proto, though it is a count.
    #[prost(double, tag = "3")]
    pub num: f64,
    #[prost(double, tag = "4")]
    pub sum: f64,
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

/// `tensorboard.SessionLog`: a START record tells TensorBoard a run restarted at `Event.step`,
/// so it discards earlier-written events at or after that step.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionLog {
    #[prost(enumeration = "SessionStatus", tag = "1")]
    pub status: i32,
    #[prost(string, tag = "2")]
    pub checkpoint_path: String,
    #[prost(string, tag = "3")]
    pub msg: String,
}

/// `tensorboard.SessionLog.SessionStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SessionStatus {
    Unspecified = 0,
    Start = 1,
    Stop = 2,
    Checkpoint = 3,
}

impl Event {
    /// The summary values of this event (empty for non-summary events).
    pub fn values(&self) -> &[SummaryValue] {
        match &self.what {
            Some(event::What::Summary(s)) => &s.value,
            _ => &[],
        }
    }

    /// The scalar logged under `tag` in this event, if any.
    pub fn scalar(&self, tag: &str) -> Option<f32> {
        self.values().iter().find_map(|v| match &v.kind {
            Some(summary_value::Kind::SimpleValue(x)) if v.tag == tag => Some(*x),
            _ => None,
        })
    }

    /// The histogram logged under `tag` in this event, if any.
    pub fn histogram(&self, tag: &str) -> Option<&HistogramProto> {
        self.values().iter().find_map(|v| match &v.kind {
            Some(summary_value::Kind::Histo(h)) if v.tag == tag => Some(h),
            _ => None,
        })
    }

    /// The file version string, for the first event of a file.
    pub fn file_version(&self) -> Option<&str> {
        match &self.what {
            Some(event::What::FileVersion(v)) => Some(v),
            _ => None,
        }
    }

    /// The session status, for session-log events.
    pub fn session_status(&self) -> Option<SessionStatus> {
        match &self.what {
            Some(event::What::SessionLog(s)) => SessionStatus::try_from(s.status).ok(),
            _ => None,
        }
    }
}
