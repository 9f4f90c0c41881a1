//! PNG plots drawn with plotters' bitmap backend.
//!
//! plotters' ab_glyph text backend knows no fonts until one is registered from bytes, so a
//! TrueType font is looked up on the machine at run time (`SPARQ_FONT`, then the usual system
//! paths) rather than shipped in the repository. Without one the plot is still drawn, without
//! text, and the caller is told so: a missing font must never fail a long pruning sweep.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use plotters::style::FontStyle;

/// The family name fonts are registered under.
pub(crate) const FAMILY: &str = "sans-serif";

/// Common locations of a sans-serif TrueType font (Debian/Ubuntu, Fedora/Arch, macOS, Windows).
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Directories searched (two levels deep) when no candidate exists.
const FONT_DIRS: &[&str] = &["/usr/share/fonts", "/usr/local/share/fonts"];

/// Registers a font once per process. `Ok(true)`: text can be drawn; `Ok(false)`: no font was
/// found; `Err`: `SPARQ_FONT` names a file that is not a usable font.
pub(crate) fn ensure_font() -> Result<bool> {
    static FONT: OnceLock<Result<bool, String>> = OnceLock::new();
    FONT.get_or_init(|| register_first_font().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn register_first_font() -> Result<bool> {
    if let Some(path) = std::env::var_os("SPARQ_FONT").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !register(&path)? {
            bail!(
                "SPARQ_FONT={}: not a TrueType/OpenType font",
                path.display()
            );
        }
        return Ok(true);
    }
    for path in CANDIDATES.iter().map(PathBuf::from).chain(scan_font_dirs()) {
        if path.is_file() && register(&path).unwrap_or(false) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The legend every sparq plot draws: a framed, mostly opaque white box at `pos`.
pub(crate) fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
    font_size: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, font_size))
        .draw()
}

/// `Ok(false)` when the file reads but does not parse as a font.
fn register(path: &Path) -> Result<bool> {
    let bytes = fs::read(path).with_context(|| format!("SPARQ_FONT={}", path.display()))?;
    // plotters keeps fonts for the life of the process; this leaks one font file, once.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    Ok(plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).is_ok())
}

/// `*.ttf` files up to two directory levels below [`FONT_DIRS`], sans fonts first, sorted.
fn scan_font_dirs() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs: Vec<PathBuf> = FONT_DIRS.iter().map(PathBuf::from).collect();
    for _ in 0..3 {
        let mut next = Vec::new();
        for dir in dirs {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for p in entries.flatten().map(|e| e.path()) {
                if p.is_dir() {
                    next.push(p);
                } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ttf")) {
                    found.push(p);
                }
            }
        }
        dirs = next;
    }
    found.sort_by_key(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        (
            !name.contains("sans"),
            name.contains("mono") || name.contains("bold"),
            p.clone(),
        )
    });
    found
}

/// One point of a return-vs-sparsity curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReturnPoint {
    pub sparsity: f64,
    pub mean: f64,
    pub std: f64,
}

/// Whether the plot has its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Drawn,
    /// No font was found: axes, points and lines only.
    Missing,
}

/// Mean return against sparsity with ±std error bars, and the dense policy's mean as a dashed
/// horizontal line. Written to a temporary file and renamed, so `path` is complete or absent.
pub fn return_vs_sparsity(
    path: &Path,
    title: &str,
    dense: &ReturnPoint,
    points: &[ReturnPoint],
) -> Result<Text> {
    let text = if ensure_font()? {
        Text::Drawn
    } else {
        Text::Missing
    };
    let tmp = path.with_extension(format!("tmp-{}.png", std::process::id()));
    let drawn = draw(&tmp, title, dense, points, text == Text::Drawn);
    let renamed =
        drawn.and_then(|()| fs::rename(&tmp, path).with_context(|| path.display().to_string()));
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed.map(|()| text)
}

fn draw(
    path: &Path,
    title: &str,
    dense: &ReturnPoint,
    points: &[ReturnPoint],
    text: bool,
) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("{}: drawing the plot failed: {e}", path.display())
    };
    let (y_min, y_max) = y_range(dense, points);
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if text {
        builder
            .caption(title, (FAMILY, 22))
            .x_label_area_size(45)
            .y_label_area_size(60);
    } else {
        builder.x_label_area_size(8).y_label_area_size(8);
    }
    let mut chart = builder
        .build_cartesian_2d(0f64..1f64, y_min..y_max)
        .map_err(|e| fail(&e))?;
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc("sparsity (fraction of prunable weights removed)")
            .y_desc("greedy return")
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw().map_err(|e| fail(&e))?;

    let grey = RGBColor(90, 90, 90);
    let dense_line = DashedLineSeries::new(
        [(0.0, dense.mean), (1.0, dense.mean)],
        10,
        6,
        grey.stroke_width(2),
    );
    let series = chart.draw_series(dense_line).map_err(|e| fail(&e))?;
    if text {
        series
            .label(format!("dense {:.1}", dense.mean))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey.stroke_width(2)));
    }
    let blue = RGBColor(31, 119, 180);
    let line = LineSeries::new(
        points.iter().map(|p| (p.sparsity, p.mean)),
        blue.stroke_width(2),
    );
    let series = chart.draw_series(line).map_err(|e| fail(&e))?;
    if text {
        series
            .label("pruned (mean ± std)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], blue.stroke_width(2)));
    }
    // Error bars by hand: plotters' ErrorBar needs a feature the workspace does not enable.
    for p in points {
        let (lo, hi) = (p.mean - p.std, p.mean + p.std);
        let w = 0.006;
        let bars = [
            vec![(p.sparsity, lo), (p.sparsity, hi)],
            vec![(p.sparsity - w, lo), (p.sparsity + w, lo)],
            vec![(p.sparsity - w, hi), (p.sparsity + w, hi)],
        ];
        chart
            .draw_series(
                bars.into_iter()
                    .map(|b| PathElement::new(b, blue.stroke_width(1))),
            )
            .map_err(|e| fail(&e))?;
    }
    chart
        .draw_series(
            points
                .iter()
                .map(|p| Circle::new((p.sparsity, p.mean), 4, blue.filled())),
        )
        .map_err(|e| fail(&e))?;
    if text {
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft, 14).map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

/// A y range covering every mean ± std and the dense line, with a margin; never empty.
fn y_range(dense: &ReturnPoint, points: &[ReturnPoint]) -> (f64, f64) {
    let values = points
        .iter()
        .flat_map(|p| [p.mean - p.std, p.mean + p.std])
        .chain([dense.mean - dense.std, dense.mean + dense.std])
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1.0);
    // Non-negative returns are shown from 0, so bar heights compare honestly.
    let bottom = if lo >= 0.0 { 0.0 } else { lo - pad };
    (bottom, hi + pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_range_covers_error_bars_and_dense_line() {
        let dense = ReturnPoint {
            sparsity: 0.0,
            mean: 500.0,
            std: 0.0,
        };
        let pts = [ReturnPoint {
            sparsity: 0.5,
            mean: 100.0,
            std: 50.0,
        }];
        let (lo, hi) = y_range(&dense, &pts);
        assert!(lo < 50.0 && hi > 500.0, "{lo} {hi}");
        // A flat curve still gets a non-empty range.
        let flat = ReturnPoint {
            sparsity: 0.5,
            mean: 500.0,
            std: 0.0,
        };
        let (lo, hi) = y_range(&dense, &[flat]);
        assert!(hi - lo >= 2.0);
    }

    #[test]
    fn writes_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        let dense = ReturnPoint {
            sparsity: 0.0,
            mean: 500.0,
            std: 0.0,
        };
        let pts = [
            ReturnPoint {
                sparsity: 0.5,
                mean: 480.0,
                std: 10.0,
            },
            ReturnPoint {
                sparsity: 0.9,
                mean: 200.0,
                std: 80.0,
            },
        ];
        return_vs_sparsity(&path, "test", &dense, &pts).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // Only the final file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn draws_without_any_font() {
        // No font registered under this family: the text-free path must not ask for one.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bare.png");
        let dense = ReturnPoint {
            sparsity: 0.0,
            mean: 10.0,
            std: 1.0,
        };
        let pts = [ReturnPoint {
            sparsity: 0.8,
            mean: 9.0,
            std: 2.0,
        }];
        draw(&path, "unused", &dense, &pts, false).unwrap();
        assert_eq!(&fs::read(&path).unwrap()[..4], b"\x89PNG");
    }
}
