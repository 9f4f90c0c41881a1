//! Interoperability with TensorBoard's own writer: tests/fixtures/tensorboard_written.tfevents
//! was written by TensorBoard's RecordWriter and protobuf classes
//! (`scripts/dev/check-tensorboard --write-fixture FILE`).

use std::path::Path;

use prost::Message;
use sparq_log::proto::SessionStatus;
use sparq_log::{masked_crc32c, read_events};

const FIXTURE: &str = "tests/fixtures/tensorboard_written.tfevents";

fn fixture() -> &'static Path {
    Path::new(FIXTURE)
}

#[test]
fn reads_what_tensorboard_wrote() {
    let events = read_events(fixture()).unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].file_version(), Some("brain.Event:2"));
    assert_eq!(events[0].wall_time, 1_700_000_000.25);
    assert_eq!(events[1].scalar("train/loss"), Some(0.5));
    assert_eq!(events[1].scalar("train/q_mean"), Some(-3.25));
    assert_eq!(events[2].scalar("train/loss"), Some(0.0));
    let h = events[3].histogram("weights/fc1").unwrap();
    assert_eq!(
        (h.min, h.max, h.num, h.sum, h.sum_squares),
        (-1.0, 2.5, 4.0, 3.0, 8.25)
    );
    assert_eq!(h.bucket_limit, vec![-0.9, 0.0, 1e-12, 2.6]);
    assert_eq!(h.bucket, vec![1.0, 0.0, 1.0, 2.0]);
    assert_eq!(events[4].session_status(), Some(SessionStatus::Start));
    assert_eq!(events[4].step, 4);
}

/// Our encoding of each event is byte-identical to TensorBoard's, framing and CRCs included.
#[test]
fn our_encoding_matches_tensorboards_bytes() {
    let raw = std::fs::read(fixture()).unwrap();
    let mut ours = Vec::new();
    for event in read_events(fixture()).unwrap() {
        let data = event.encode_to_vec();
        let len = (data.len() as u64).to_le_bytes();
        ours.extend_from_slice(&len);
        ours.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        ours.extend_from_slice(&data);
        ours.extend_from_slice(&masked_crc32c(&data).to_le_bytes());
    }
    assert_eq!(ours, raw);
}
