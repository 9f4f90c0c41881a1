//! `sparq report`'s PNGs: lines of point estimates, each with its confidence interval drawn as
//! a translucent band (return against sparsity, learning curves, performance profiles). Fonts as
//! in `plot.rs`: without one the figure is drawn without text.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;
use sparq_stats::Interval;

use crate::plot::{FAMILY, draw_legend, ensure_font};

/// A named line: `(x, estimate with interval)` in x order.
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, Interval)>,
}

/// One chart: a title (may be empty) and its lines.
pub struct Panel {
    pub title: String,
    pub lines: Vec<Line>,
}

/// Draws `panels` side by side, each line with its CI band, into `path` (a temporary file, then
/// a rename, so `path` is complete or absent).
pub fn lines(path: &Path, title: &str, x_desc: &str, y_desc: &str, panels: &[Panel]) -> Result<()> {
    let text = ensure_font()?;
    let tmp = path.with_extension(format!("tmp-{}.png", std::process::id()));
    let drawn = draw(&tmp, title, x_desc, y_desc, panels, text);
    let renamed = drawn
        .and_then(|()| std::fs::rename(&tmp, path).with_context(|| path.display().to_string()));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// Markers only on sparse lines: on a 101-threshold profile they would hide the line.
const MAX_MARKED_POINTS: usize = 30;

fn draw(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    panels: &[Panel],
    text: bool,
) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("{}: drawing the plot failed: {e}", path.display())
    };
    let n = panels.len().max(1);
    let width = if n == 1 { 1000 } else { 640 * n as u32 };
    let root = BitMapBackend::new(path, (width, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let root = if text {
        root.titled(title, (FAMILY, 22)).map_err(|e| fail(&e))?
    } else {
        root
    };
    let areas = root.split_evenly((1, n));
    // One y range for all panels, so they compare at a glance.
    let all = panels
        .iter()
        .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter()));
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, i) in all {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(i.lo).min(i.point);
        y1 = y1.max(i.hi).max(i.point);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.06).max(1e-3);
    let (y0, y1) = (if y0 >= 0.0 { 0.0 } else { y0 - pad }, y1 + pad);
    let xpad = (x1 - x0) * 0.02;
    for (panel, area) in panels.iter().zip(areas.iter()) {
        let mut builder = ChartBuilder::on(area);
        builder.margin(16);
        if text {
            if !panel.title.is_empty() {
                builder.caption(&panel.title, (FAMILY, 17));
            }
            builder.x_label_area_size(45).y_label_area_size(60);
        } else {
            builder.x_label_area_size(8).y_label_area_size(8);
        }
        let mut chart = builder
            .build_cartesian_2d((x0 - xpad)..(x1 + xpad), y0..y1)
            .map_err(|e| fail(&e))?;
        let mut mesh = chart.configure_mesh();
        if text {
            mesh.x_desc(x_desc)
                .y_desc(y_desc)
                .label_style((FAMILY, 14))
                .axis_desc_style((FAMILY, 16));
        } else {
            mesh.x_labels(0).y_labels(0);
        }
        mesh.draw().map_err(|e| fail(&e))?;
        for (k, line) in panel.lines.iter().enumerate() {
            let color = color(k);
            // The band: upper edge forward, lower edge back.
            let band: Vec<(f64, f64)> = line
                .points
                .iter()
                .map(|(x, i)| (*x, i.hi))
                .chain(line.points.iter().rev().map(|(x, i)| (*x, i.lo)))
                .collect();
            if line.points.len() > 1 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band,
                        color.mix(0.15).filled(),
                    )))
                    .map_err(|e| fail(&e))?;
            }
            let series = chart
                .draw_series(LineSeries::new(
                    line.points.iter().map(|(x, i)| (*x, i.point)),
                    color.stroke_width(2),
                ))
                .map_err(|e| fail(&e))?;
            if text {
                series.label(line.name.clone()).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
            if line.points.len() <= MAX_MARKED_POINTS {
                chart
                    .draw_series(
                        line.points
                            .iter()
                            .map(|(x, i)| Circle::new((*x, i.point), 3, color.filled())),
                    )
                    .map_err(|e| fail(&e))?;
            }
            // A single point still shows its interval.
            if line.points.len() == 1 {
                let (x, i) = line.points[0];
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        [(x, i.lo), (x, i.hi)],
                        color.stroke_width(1),
                    )))
                    .map_err(|e| fail(&e))?;
            }
        }
        if text {
            draw_legend(&mut chart, SeriesLabelPosition::LowerLeft, 13).map_err(|e| fail(&e))?;
        }
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

/// matplotlib's tab10, then plotters' larger palette: distinct and readable on white (Palette99
/// starts with a yellow that a thin line on white hides).
fn color(k: usize) -> RGBAColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    match TAB10.get(k) {
        Some(&(r, g, b)) => RGBColor(r, g, b).to_rgba(),
        None => Palette99::pick(k).to_rgba(),
    }
}
