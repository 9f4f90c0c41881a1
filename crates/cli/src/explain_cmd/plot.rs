//! `sparq explain`'s figures, drawn with plotters' bitmap backend and the font `crate::plot`
//! finds. Classic control: one bar chart per method, mean |saliency| per feature (a bar per
//! policy with `--compare`). MinAtar: one figure per method, a row per chosen frame (and per
//! policy), the frame itself first and then one heat map per channel on a shared, symmetric
//! colour scale with its colour bar.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Report;
use super::saliency::{METHODS, Method};
use crate::plot::{FAMILY, draw_legend, ensure_font};

/// Policy colours: first, second (`--compare`).
const POLICY_COLOURS: [RGBColor; 2] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14)];
/// Channel colours of the frame image (matplotlib's tab10, as MinAtar's own display uses a
/// qualitative map).
const CHANNEL_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draws every figure into `out`; returns the file names written.
pub fn draw_all(out: &Path, report: &Report) -> Result<Vec<String>> {
    let text = ensure_font()?;
    if !text {
        eprintln!(
            "sparq: no TrueType font found (set SPARQ_FONT=/path/to/font.ttf): the figures have no labels"
        );
    }
    if report.obs_shape.len() == 3 {
        METHODS
            .iter()
            .map(|&m| {
                let name = format!("saliency-{}.png", m.name());
                atomic_png(&out.join(&name), |p| draw_frames(p, report, m, text))?;
                Ok(name)
            })
            .collect()
    } else {
        let name = "saliency.png".to_string();
        atomic_png(&out.join(&name), |p| draw_bars(p, report, text))?;
        Ok(vec![name])
    }
}

/// Draws into a temporary file and renames it, so a figure is complete or absent.
fn atomic_png(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}.png", std::process::id()));
    let done = draw(&tmp)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| anyhow!("{}: {e}", path.display())));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

fn fail(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> anyhow::Error + '_ {
    move |e| anyhow!("{}: drawing the figure failed: {e}", path.display())
}

/// A short name for a policy in a legend: its last two path components.
fn short(path: &str) -> String {
    let parts: Vec<&str> = path.trim_end_matches('/').rsplit('/').take(2).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// Classic control: a 2 × 2 grid, one bar chart per method.
fn draw_bars(path: &Path, report: &Report, text: bool) -> Result<()> {
    let f = fail(path);
    let root = BitMapBackend::new(path, (1200, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| f(&e))?;
    let root = if text {
        root.titled(
            &format!(
                "{}: mean |saliency| of the greedy action's Q over {} states",
                report.env_id, report.states
            ),
            (FAMILY, 24),
        )
        .map_err(|e| f(&e))?
    } else {
        root
    };
    let panels = root.split_evenly((2, 2));
    let names = &report.names;
    let k = report.policies.len();
    for (panel, method) in panels.iter().zip(METHODS) {
        let values: Vec<&Vec<f32>> = report
            .policies
            .iter()
            .map(|p| {
                &p.summary
                    .iter()
                    .find(|s| s.method == method)
                    .expect("every method is summarised")
                    .mean_abs
            })
            .collect();
        let top = values
            .iter()
            .flat_map(|v| v.iter())
            .fold(0f32, |a, &b| a.max(b));
        // Headroom for the legend when there is one, so it never hides a bar.
        let room = if k > 1 { 1.4 } else { 1.12 };
        let top = if top > 0.0 {
            f64::from(top) * room
        } else {
            1.0
        };
        let mut b = ChartBuilder::on(panel);
        b.margin(14);
        if text {
            b.caption(method.label(), (FAMILY, 20))
                .x_label_area_size(40)
                .y_label_area_size(80);
        } else {
            b.x_label_area_size(8).y_label_area_size(8);
        }
        let d = names.len();
        let mut chart = b
            .build_cartesian_2d(-0.5f64..(d as f64 - 0.5), 0f64..top)
            .map_err(|e| f(&e))?;
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh();
        if text {
            let label = |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < d {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            };
            mesh.x_labels(d)
                .x_label_formatter(&label)
                .y_desc("mean |saliency|")
                .x_desc("observation feature")
                .label_style((FAMILY, 14))
                .axis_desc_style((FAMILY, 15))
                .draw()
                .map_err(|e| f(&e))?;
        } else {
            mesh.x_labels(0).y_labels(0).draw().map_err(|e| f(&e))?;
        }
        let width = 0.7 / k as f64;
        for (p, vals) in values.iter().enumerate() {
            let colour = POLICY_COLOURS[p % 2];
            let x0 = |i: usize| i as f64 - 0.35 + p as f64 * width;
            let series = chart
                .draw_series(vals.iter().enumerate().map(|(i, &v)| {
                    Rectangle::new(
                        [(x0(i), 0.0), (x0(i) + width, f64::from(v))],
                        colour.filled(),
                    )
                }))
                .map_err(|e| f(&e))?;
            if text && k > 1 {
                let label = format!(
                    "{} (sparsity {:.2})",
                    short(&report.policies[p].path),
                    report.policies[p].sparsity
                );
                series.label(label).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled())
                });
            }
        }
        if text && k > 1 {
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 13).map_err(|e| f(&e))?;
        }
    }
    root.present().map_err(|e| f(&e))?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult =
    Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

/// Pixels per grid cell, and the gaps of the MinAtar figure.
const CELL: i32 = 18;
const GAP: i32 = 14;
const LEFT: i32 = 180;
const TOP: i32 = 70;
const BAR: i32 = 110;

/// MinAtar: rows of (frame, heat map per channel), a colour bar on the right.
fn draw_frames(path: &Path, report: &Report, method: Method, text: bool) -> Result<()> {
    let f = fail(path);
    let (c, h, w) = (
        report.obs_shape[0],
        report.obs_shape[1],
        report.obs_shape[2],
    );
    let (pw, ph) = (w as i32 * CELL, h as i32 * CELL);
    let frames = report.policies[0].frames.len();
    let rows = frames * report.policies.len();
    let width = LEFT + (c as i32 + 1) * (pw + GAP) + BAR;
    let height = TOP + rows as i32 * (ph + GAP + 18) + 20;
    let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| f(&e))?;

    // One symmetric scale over the whole figure, so colours compare across frames and policies.
    let maps = |p: usize, i: usize| -> Option<&Vec<f32>> {
        report.policies[p].frames[i]
            .maps
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, v)| v)
    };
    let scale = (0..report.policies.len())
        .flat_map(|p| (0..frames).filter_map(move |i| maps(p, i)))
        .flat_map(|v| v.iter())
        .fold(0f32, |a, &b| a.max(b.abs()));
    let scale = if scale > 0.0 { scale } else { 1.0 };

    let font = |size: i32| (FAMILY, size).into_font();
    let say = |s: &str, at: (i32, i32), size: i32, anchor: Pos, colour: &RGBColor| -> Result<()> {
        if text {
            root.draw(&Text::new(
                s.to_string(),
                at,
                font(size).color(colour).pos(anchor),
            ))
            .map_err(|e| f(&e))?;
        }
        Ok(())
    };
    let top_left = Pos::new(HPos::Left, VPos::Top);
    let centre = Pos::new(HPos::Center, VPos::Bottom);
    say(
        &format!(
            "{}: {} of the greedy action's Q (red raises it, blue lowers it)",
            report.env_id,
            method.label()
        ),
        (12, 10),
        20,
        top_left,
        &BLACK,
    )?;
    // Column headers: the frame, then each channel in its frame colour.
    let col_x = |col: i32| LEFT + col * (pw + GAP);
    say("frame", (col_x(0) + pw / 2, TOP - 8), 15, centre, &BLACK)?;
    for (ch, name) in report.names.iter().enumerate() {
        say(
            name,
            (col_x(ch as i32 + 1) + pw / 2, TOP - 8),
            15,
            centre,
            &CHANNEL_COLOURS[ch % 10],
        )?;
    }

    let mut row = 0;
    for i in 0..frames {
        for (p, policy) in report.policies.iter().enumerate() {
            let frame = &policy.frames[i];
            let y0 = TOP + row * (ph + GAP + 18);
            let who = if report.policies.len() > 1 {
                format!("{}\nsparsity {:.2}\n", last(&policy.path), policy.sparsity)
            } else {
                String::new()
            };
            for (k, line) in format!(
                "{who}state {}\naction {}\nQ {:.2}",
                frame.state, frame.action, frame.q[frame.action]
            )
            .lines()
            .enumerate()
            {
                say(
                    line,
                    (12, y0 + 4 + 18 * k as i32),
                    14,
                    top_left,
                    &POLICY_COLOURS[p % 2],
                )?;
            }
            draw_frame_image(&root, (col_x(0), y0), &frame.obs, (c, h, w)).map_err(|e| f(&e))?;
            // Axes of the grid: row and column indices along the frame's left and bottom edges.
            for at in [0, h / 2, h - 1].map(|r| r as i32) {
                say(
                    &at.to_string(),
                    (col_x(0) - 4, y0 + at * CELL + CELL / 2),
                    11,
                    Pos::new(HPos::Right, VPos::Center),
                    &BLACK,
                )?;
            }
            for at in [0, w / 2, w - 1].map(|c| c as i32) {
                say(
                    &at.to_string(),
                    (col_x(0) + at * CELL + CELL / 2, y0 + ph + 2),
                    11,
                    Pos::new(HPos::Center, VPos::Top),
                    &BLACK,
                )?;
            }
            if let Some(map) = maps(p, i) {
                for ch in 0..c {
                    let plane = &map[ch * h * w..(ch + 1) * h * w];
                    draw_heat(&root, (col_x(ch as i32 + 1), y0), plane, (h, w), scale)
                        .map_err(|e| f(&e))?;
                }
            }
            row += 1;
        }
    }

    // The colour bar, with its ends and zero labelled.
    let bx = col_x(c as i32 + 1) + 6;
    let (by0, by1) = (TOP, TOP + (ph + GAP + 18) * rows.min(2) as i32 - GAP);
    let steps = (by1 - by0).max(1);
    for y in 0..steps {
        let v = 1.0 - 2.0 * y as f32 / steps as f32;
        root.draw(&Rectangle::new(
            [(bx, by0 + y), (bx + 18, by0 + y + 1)],
            diverging(v).filled(),
        ))
        .map_err(|e| f(&e))?;
    }
    root.draw(&Rectangle::new(
        [(bx, by0), (bx + 18, by1)],
        BLACK.stroke_width(1),
    ))
    .map_err(|e| f(&e))?;
    let left_mid = Pos::new(HPos::Left, VPos::Center);
    say(&tick(scale), (bx + 22, by0), 12, left_mid, &BLACK)?;
    say("0", (bx + 22, (by0 + by1) / 2), 12, left_mid, &BLACK)?;
    say(&tick(-scale), (bx + 22, by1), 12, left_mid, &BLACK)?;
    say(
        "cells: row, column",
        (col_x(0), height - 16),
        11,
        top_left,
        &BLACK,
    )?;
    root.present().map_err(|e| f(&e))?;
    Ok(())
}

/// A colour-bar label: plain decimals in the usual range, scientific notation outside it.
fn tick(v: f32) -> String {
    if (0.01..1000.0).contains(&v.abs()) {
        format!("{v:+.3}")
    } else {
        format!("{v:+.2e}")
    }
}

/// The last component of a path: a label that fits beside a frame.
fn last(path: &str) -> String {
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    name.chars().take(18).collect()
}

/// The frame: each active cell in the colour of its highest active channel, on light grey.
fn draw_frame_image(
    root: &Area<'_>,
    (x0, y0): (i32, i32),
    obs: &[f32],
    (c, h, w): (usize, usize, usize),
) -> DrawResult {
    for r in 0..h {
        for col in 0..w {
            let colour = (0..c)
                .rev()
                .find(|&ch| obs[ch * h * w + r * w + col] != 0.0)
                .map_or(RGBColor(235, 235, 235), |ch| CHANNEL_COLOURS[ch % 10]);
            cell(root, x0, y0, r, col, colour)?;
        }
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + w as i32 * CELL, y0 + h as i32 * CELL)],
        BLACK.stroke_width(1),
    ))
}

fn draw_heat(
    root: &Area<'_>,
    (x0, y0): (i32, i32),
    plane: &[f32],
    (h, w): (usize, usize),
    scale: f32,
) -> DrawResult {
    for r in 0..h {
        for col in 0..w {
            cell(root, x0, y0, r, col, diverging(plane[r * w + col] / scale))?;
        }
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + w as i32 * CELL, y0 + h as i32 * CELL)],
        BLACK.stroke_width(1),
    ))
}

fn cell(root: &Area<'_>, x0: i32, y0: i32, r: usize, col: usize, colour: RGBColor) -> DrawResult {
    let (x, y) = (x0 + col as i32 * CELL, y0 + r as i32 * CELL);
    root.draw(&Rectangle::new(
        [(x, y), (x + CELL, y + CELL)],
        colour.filled(),
    ))
}

/// Blue (−1) through white (0) to red (+1).
fn diverging(v: f32) -> RGBColor {
    let v = v.clamp(-1.0, 1.0);
    let (blue, red) = ((59.0, 76.0, 192.0), (180.0, 4.0, 38.0));
    let end = if v >= 0.0 { red } else { blue };
    let t = v.abs();
    let mix = |e: f32| (255.0 + (e - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_scale_is_white_at_zero_and_saturates() {
        assert_eq!(diverging(0.0), RGBColor(255, 255, 255));
        assert_eq!(diverging(1.0), RGBColor(180, 4, 38));
        assert_eq!(diverging(-7.0), RGBColor(59, 76, 192));
    }
}
