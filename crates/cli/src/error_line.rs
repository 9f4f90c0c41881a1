//! The one line `sparq` prints for a failed command: the error and its causes, each said once.

/// The error and its causes in one line, each said once. Library errors embed their cause's
/// text in their own message *and* expose it as `source()` (thiserror does both for a field
/// named `source` or marked `#[from]`), so anyhow's `{:#}` would print it twice; a cause whose
/// text the line already holds is skipped. libtorch's C++ messages are cut before their stack
/// frames ("Exception raised from ...").
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let kept: Vec<&str> = text
            .lines()
            .map(str::trim)
            .take_while(|l| !l.starts_with("Exception raised from") && !l.starts_with("frame #"))
            .filter(|l| !l.is_empty())
            .collect();
        let part = kept.join(" ");
        if part.is_empty() || line.contains(&part) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&part);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_line;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Embeds {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(2);
        let e = anyhow::Error::new(Embeds {
            path: "x.toml".into(),
            source: io,
        });
        let line = error_line(&e);
        assert_eq!(line.matches("os error 2").count(), 1, "{line}");
        assert!(line.starts_with("x.toml: "), "{line}");
    }

    #[test]
    fn context_and_a_new_cause_are_both_kept() {
        let e = anyhow::anyhow!("disk full").context("writing checkpoint");
        assert_eq!(error_line(&e), "writing checkpoint: disk full");
    }

    #[test]
    fn libtorch_frames_are_cut() {
        let e = anyhow::anyhow!(
            "negative dimension -5\nException raised from check at aten.cpp:12\nframe #0: foo\nframe #1: bar"
        );
        assert_eq!(error_line(&e), "negative dimension -5");
    }
}
