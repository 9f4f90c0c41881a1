//! Training progress on stderr: a live bar on a terminal, a plain line every few seconds in logs.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain progress line is printed unless set otherwise.
pub const DEFAULT_LINE_INTERVAL: Duration = Duration::from_secs(10);
/// Steps per second are measured over windows at least this long.
const RATE_WINDOW: Duration = Duration::from_secs(2);
/// The bar's text is rebuilt at most this often (drawing is rate-limited by indicatif anyway).
const BAR_REFRESH: Duration = Duration::from_millis(200);
const BAR_TEMPLATE: &str = "[{elapsed_precise}] {bar:30} {pos}/{len} eta {eta}  {msg}";

/// The figures shown; `None` ones are left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgressStats {
    /// Environment steps done so far.
    pub step: u64,
    /// Return of a recent episode (or a running mean of recent ones).
    pub episode_return: Option<f64>,
    pub epsilon: Option<f64>,
    /// Fraction of prunable weights that are zero.
    pub sparsity: Option<f64>,
}

/// Where progress goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar if stderr is a terminal, plain lines otherwise.
    Auto,
    Bar,
    Lines,
    /// No progress output; `println` messages still go to stderr.
    Hidden,
}

enum Display {
    Bar {
        bar: ProgressBar,
        last_refresh: Option<Instant>,
    },
    Lines {
        sink: Box<dyn Write + Send>,
        interval: Duration,
        last_line: Instant,
    },
    Hidden,
}

/// Reports training progress; cheap enough to update every environment step.
pub struct Progress {
    total: u64,
    stats: ProgressStats,
    display: Display,
    rate: RateMeter,
    finished: bool,
}

impl Progress {
    /// A bar on a terminal, else a line every [`DEFAULT_LINE_INTERVAL`].
    pub fn new(total: u64) -> Progress {
        Progress::with_mode(total, ProgressMode::Auto, DEFAULT_LINE_INTERVAL)
    }

    /// `line_interval` is the time between plain lines (used in `Lines` mode).
    pub fn with_mode(total: u64, mode: ProgressMode, line_interval: Duration) -> Progress {
        let mode = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Lines,
            other => other,
        };
        let display = match mode {
            ProgressMode::Bar => {
                let style = ProgressStyle::with_template(BAR_TEMPLATE)
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                    .with_style(style);
                Display::Bar {
                    bar,
                    last_refresh: None,
                }
            }
            ProgressMode::Lines => Display::Lines {
                sink: Box::new(std::io::stderr()),
                interval: line_interval,
                last_line: Instant::now(),
            },
            ProgressMode::Hidden | ProgressMode::Auto => Display::Hidden,
        };
        Progress::from_display(total, display, Instant::now())
    }

    fn from_display(total: u64, display: Display, now: Instant) -> Progress {
        Progress {
            total,
            stats: ProgressStats::default(),
            display,
            rate: RateMeter::new(0, now),
            finished: false,
        }
    }

    /// Takes the latest figures; redraws the bar or prints a line when due.
    pub fn update(&mut self, stats: &ProgressStats) {
        self.update_at(stats, Instant::now());
    }

    fn update_at(&mut self, stats: &ProgressStats, now: Instant) {
        self.stats.clone_from(stats);
        self.rate.sample(stats.step, now);
        match &mut self.display {
            Display::Bar { bar, last_refresh } => {
                bar.set_position(stats.step);
                if last_refresh.is_none_or(|t| now.duration_since(t) >= BAR_REFRESH) {
                    *last_refresh = Some(now);
                    bar.set_message(figures(&self.stats, self.rate.sps));
                }
            }
            Display::Lines {
                sink,
                interval,
                last_line,
            } => {
                if now.duration_since(*last_line) >= *interval {
                    *last_line = now;
                    let line = format_line(&self.stats, self.total, self.rate.sps);
                    let _ = writeln!(sink, "{line}");
                }
            }
            Display::Hidden => {}
        }
    }

    /// Steps per second over the latest completed measuring window, once there is one.
    pub fn sps(&self) -> Option<f64> {
        self.rate.sps
    }

    /// Prints a message on its own line without breaking the bar.
    pub fn println(&mut self, msg: &str) {
        match &mut self.display {
            Display::Bar { bar, .. } => bar.println(msg),
            Display::Lines { sink, .. } => {
                let _ = writeln!(sink, "{msg}");
            }
            Display::Hidden => {
                let _ = writeln!(std::io::stderr(), "{msg}");
            }
        }
    }

    /// Shows the final figures: the bar is left drawn, a last line is printed.
    pub fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        match &mut self.display {
            Display::Bar { bar, .. } => {
                bar.set_message(figures(&self.stats, self.rate.sps));
                bar.finish();
            }
            Display::Lines { sink, .. } => {
                let line = format_line(&self.stats, self.total, self.rate.sps);
                let _ = writeln!(sink, "{line}");
            }
            Display::Hidden => {}
        }
    }
}

/// `step 12000/50000  sps 1480  return 187.3  eps 0.040  sparsity 0.00`.
pub fn format_line(stats: &ProgressStats, total: u64, sps: Option<f64>) -> String {
    let figures = figures(stats, sps);
    let mut line = format!("step {}/{}", stats.step, total);
    if !figures.is_empty() {
        line.push_str("  ");
        line.push_str(&figures);
    }
    line
}

/// The figures after the step count, two spaces apart.
fn figures(stats: &ProgressStats, sps: Option<f64>) -> String {
    let mut out = String::new();
    let mut put = |text: std::fmt::Arguments| {
        if !out.is_empty() {
            out.push_str("  ");
        }
        let _ = out.write_fmt(text);
    };
    if let Some(v) = sps {
        put(format_args!("sps {v:.0}"));
    }
    if let Some(v) = stats.episode_return {
        put(format_args!("return {v:.1}"));
    }
    if let Some(v) = stats.epsilon {
        put(format_args!("eps {v:.3}"));
    }
    if let Some(v) = stats.sparsity {
        put(format_args!("sparsity {v:.2}"));
    }
    out
}

/// Steps per second over consecutive windows of at least [`RATE_WINDOW`].
struct RateMeter {
    start_step: u64,
    start: Instant,
    sps: Option<f64>,
}

impl RateMeter {
    fn new(step: u64, now: Instant) -> RateMeter {
        RateMeter {
            start_step: step,
            start: now,
            sps: None,
        }
    }

    fn sample(&mut self, step: u64, now: Instant) {
        let dt = now.duration_since(self.start);
        if dt >= RATE_WINDOW {
            // A step counter that went back (a resumed run) restarts the window.
            let steps = step.saturating_sub(self.start_step);
            self.sps = Some(steps as f64 / dt.as_secs_f64());
            self.start_step = step;
            self.start = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn lines_progress(total: u64, t0: Instant) -> (Progress, Shared) {
        let out = Shared::default();
        let display = Display::Lines {
            sink: Box::new(out.clone()),
            interval: Duration::from_secs(10),
            last_line: t0,
        };
        (Progress::from_display(total, display, t0), out)
    }

    #[test]
    fn line_format_matches_the_documented_example() {
        let stats = ProgressStats {
            step: 12000,
            episode_return: Some(187.31),
            epsilon: Some(0.04),
            sparsity: Some(0.0),
        };
        assert_eq!(
            format_line(&stats, 50000, Some(1480.4)),
            "step 12000/50000  sps 1480  return 187.3  eps 0.040  sparsity 0.00"
        );
        let bare = ProgressStats {
            step: 7,
            ..Default::default()
        };
        assert_eq!(format_line(&bare, 10, None), "step 7/10");
    }

    #[test]
    fn lines_come_every_interval_with_windowed_sps() {
        let t0 = Instant::now();
        let (mut p, out) = lines_progress(100_000, t0);
        let at = |s| t0 + Duration::from_secs(s);
        let mut stats = ProgressStats::default();
        for (sec, step) in [(1, 1000), (5, 5000), (9, 9000)] {
            stats.step = step;
            p.update_at(&stats, at(sec));
        }
        assert_eq!(out.text(), "", "no line before the interval has passed");
        // Windows close at 5 s (5000 steps in 5 s) and 9 s (4000 in 4 s): 1000 sps.
        stats.step = 10_000;
        stats.epsilon = Some(0.5);
        p.update_at(&stats, at(10));
        assert_eq!(out.text(), "step 10000/100000  sps 1000  eps 0.500\n");
        // Window 9 s..15 s: 3000 steps in 6 s. No line: only 5 s since the last one.
        stats.step = 12_000;
        p.update_at(&stats, at(15));
        assert_eq!(p.sps(), Some(500.0));
        p.println("eval: return 12.0");
        p.finish();
        p.finish();
        assert_eq!(
            out.text(),
            concat!(
                "step 10000/100000  sps 1000  eps 0.500\n",
                "eval: return 12.0\n",
                "step 12000/100000  sps 500  eps 0.500\n",
            )
        );
    }
}
