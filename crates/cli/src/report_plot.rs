//! `sparq report`'s PNGs: lines of point estimates, each with its confidence interval drawn as
//! a translucent band (return against sparsity, learning curves, performance profiles). Fonts as
//! in `plot.rs`: without one the figure is drawn without text.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;
use sparq_stats::Interval;

use crate::plot::{FAMILY, ensure_font};

/// A named line: `(x, estimate with interval)` in x order.
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, Interval)>,
}

/// Draws `lines` with CI bands into `path` (temporary file, then rename).
pub fn lines(path: &Path, title: &str, x_desc: &str, y_desc: &str, lines: &[Line]) -> Result<()> {
    let text = ensure_font()?;
    let tmp = path.with_extension(format!("tmp-{}.png", std::process::id()));
    let drawn = draw(&tmp, title, x_desc, y_desc, lines, text);
    let renamed = drawn
        .and_then(|()| std::fs::rename(&tmp, path).with_context(|| path.display().to_string()));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

fn draw(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    lines: &[Line],
    text: bool,
) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("{}: drawing the plot failed: {e}", path.display())
    };
    let pts = lines.iter().flat_map(|l| l.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, i) in pts {
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
    let root = BitMapBackend::new(path, (1000, 620)).into_drawing_area();
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
    for (k, line) in lines.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
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
                    color.mix(0.18).filled(),
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
        chart
            .draw_series(
                line.points
                    .iter()
                    .map(|(x, i)| Circle::new((*x, i.point), 3, color.filled())),
            )
            .map_err(|e| fail(&e))?;
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 13))
            .draw()
            .map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
