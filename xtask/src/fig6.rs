//! Paper Fig. 6: the eigenvalues of the MF cell's Jacobian on the complex plane, with Theorem V.4's centres
//! `gamma - dt P_i` and Bauer-Fike discs, Theorem V.6's lines `gamma - dt p_max` and `gamma - dt p_min`, and the
//! unit circle.
//!
//! The spectra come from `mf stability --eigs --json` (the paper's setting: N = 100, state ~ N(0, 1), input 1,
//! `W_x ~ U(-5, 5)`, zero bias, `W_h` rescaled to a given spectral norm, the same seed for every panel); this
//! module only draws them.

use std::path::Path;

use anyhow::{bail, Context, Result};
use mf_plot::{num, tick_label, Align};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

/// One panel: the hyper-parameters the paper varies (`dt`, `gamma`, `||W_h||`), with `s = 1` as in the paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Panel {
    /// Names the output file `fig6_<name>.png`.
    pub name: &'static str,
    /// Discretisation step.
    pub dt: f64,
    /// Stabiliser.
    pub gamma: f64,
    /// RESCALE slope.
    pub s: f64,
    /// Spectral norm `||W_h||_2` of the recurrent kernel.
    pub norm: f64,
}

/// The panels drawn by `cargo xtask reproduce`: a reference setting and one change of each hyper-parameter the
/// paper discusses (a smaller `dt` contracts the spectrum, a smaller `gamma` shifts it left, a stronger `W_h`
/// widens the Bauer-Fike discs) plus a `dt` large enough to break Theorem V.6's lower bound.
pub const PANELS: [Panel; 5] = [
    Panel {
        name: "reference",
        dt: 0.1,
        gamma: 1.0,
        s: 1.0,
        norm: 1.0,
    },
    Panel {
        name: "small-dt",
        dt: 0.01,
        gamma: 1.0,
        s: 1.0,
        norm: 1.0,
    },
    Panel {
        name: "low-gamma",
        dt: 0.1,
        gamma: 0.5,
        s: 1.0,
        norm: 1.0,
    },
    Panel {
        name: "strong-coupling",
        dt: 0.1,
        gamma: 1.0,
        s: 1.0,
        norm: 5.0,
    },
    Panel {
        name: "large-dt",
        dt: 0.25,
        gamma: 1.0,
        s: 1.0,
        norm: 1.0,
    },
];

impl Panel {
    /// The arguments of `mf stability` that compute this panel's spectrum.
    pub fn stability_args(&self) -> Vec<String> {
        vec![
            "stability".into(),
            "--dt".into(),
            self.dt.to_string(),
            "--gamma".into(),
            self.gamma.to_string(),
            "--s".into(),
            self.s.to_string(),
            "--norm".into(),
            self.norm.to_string(),
            "--eigs".into(),
            "--json".into(),
        ]
    }
}

/// A complex number as `mf stability` writes it: `[re, im]`, or a bare real.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
enum Point {
    Complex([f64; 2]),
    Real(f64),
}

impl Point {
    fn xy(self) -> (f64, f64) {
        match self {
            Point::Complex([re, im]) => (re, im),
            Point::Real(re) => (re, 0.0),
        }
    }
}

/// The part of `mf stability --eigs --json` the figure needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Spectrum {
    eigenvalues: Vec<Point>,
    centres: Vec<Point>,
    /// Bauer-Fike radius `dt ||M||_2`.
    radius: f64,
    /// Theorem V.6's lines `[gamma - dt p_max, gamma - dt p_min]`.
    v6_bounds: [f64; 2],
    spectral_radius: f64,
}

impl Spectrum {
    /// Parses the JSON printed by `mf stability --eigs --json`.
    pub fn from_json(text: &str) -> Result<Self> {
        let s: Spectrum = serde_json::from_str(text)
            .context("not the JSON of `mf stability --eigs --json` (eigenvalues, centres, radius, v6_bounds)")?;
        let finite = s
            .eigenvalues
            .iter()
            .chain(&s.centres)
            .all(|p| p.xy().0.is_finite() && p.xy().1.is_finite());
        if s.eigenvalues.is_empty() || !finite || !s.radius.is_finite() {
            bail!("the spectrum is empty or not finite");
        }
        Ok(s)
    }

    fn eigenvalues(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.eigenvalues.iter().map(|p| p.xy())
    }

    fn centres(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.centres.iter().map(|p| p.xy())
    }
}

const PANEL_W: u32 = 720;
const PANEL_H: u32 = 900;
const PLOT: i32 = 600;
const LEFT: i32 = 80;
const TOP: i32 = 100;

const EIG: RGBColor = RGBColor(31, 90, 200);
const CENTRE: RGBColor = RGBColor(20, 150, 60);
const DISC: RGBColor = RGBColor(120, 200, 140);
const UNIT: RGBColor = RGBColor(210, 40, 40);
const GRID: RGBColor = RGBColor(225, 225, 225);
const AXIS: RGBColor = RGBColor(150, 150, 150);
const INK: RGBColor = RGBColor(20, 20, 20);

/// Font sizes in pixels (ascent to descent): the title line, and every other label.
const TITLE: f32 = 30.0;
const LABEL: f32 = 22.0;
/// Distance between the legend's rows.
const LEGEND_ROW: i32 = 32;

/// Draws `text` in the figures' ink ([`mf_plot::draw_text`]).
fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    size: f32,
    align: Align,
) -> Result<()> {
    Ok(mf_plot::draw_text(area, text, at, size, align, INK)?)
}

/// Tick positions at a step of 1, 2 or 5 times a power of ten, about five per axis.
fn ticks(lo: f64, hi: f64) -> (Vec<f64>, f64) {
    mf_plot::ticks(lo, hi, 5.0)
}

/// Draws the panels side by side into one PNG.
pub fn draw(panels: &[(Panel, Spectrum)], path: &Path) -> Result<()> {
    if panels.is_empty() {
        bail!("no panel to draw");
    }
    let root = BitMapBackend::new(path, figure_size(panels.len())).into_drawing_area();
    draw_on(&root, panels)?;
    root.present()
        .map_err(plot_err)
        .with_context(|| format!("could not write {}", path.display()))
}

/// Width and height in pixels of a figure of `n` panels side by side.
fn figure_size(n: usize) -> (u32, u32) {
    (PANEL_W * n as u32, PANEL_H)
}

/// Draws the panels side by side on `root`, which is `figure_size(panels.len())` large.
fn draw_on(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    panels: &[(Panel, Spectrum)],
) -> Result<()> {
    root.fill(&WHITE).map_err(plot_err)?;
    for (i, (panel, spectrum)) in panels.iter().enumerate() {
        draw_panel(root, i as i32 * PANEL_W as i32, panel, spectrum)?;
    }
    Ok(())
}

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e}")
}

/// A square window `(x0, x1, y0, y1)` holding the unit circle, every eigenvalue and centre and both V.6 lines.
fn window(s: &Spectrum) -> (f64, f64, f64, f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (-1.0f64, 1.0f64, -1.0f64, 1.0f64);
    let bounds = s.v6_bounds.iter().map(|&b| (b, 0.0));
    for (x, y) in s.eigenvalues().chain(s.centres()).chain(bounds) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let half = 0.5 * (x1 - x0).max(y1 - y0) * 1.1;
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    (cx - half, cx + half, cy - half, cy + half)
}

fn circle(cx: f64, cy: f64, r: f64, n: usize) -> Vec<(f64, f64)> {
    (0..=n)
        .map(|k| {
            let t = std::f64::consts::TAU * k as f64 / n as f64;
            (cx + r * t.cos(), cy + r * t.sin())
        })
        .collect()
}

fn draw_panel(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    x_offset: i32,
    panel: &Panel,
    s: &Spectrum,
) -> Result<()> {
    let (x0, x1, y0, y1) = window(s);
    let plot_area = root
        .clone()
        .shrink((x_offset + LEFT, TOP), (PLOT as u32, PLOT as u32));
    let mut chart = ChartBuilder::on(&plot_area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;

    let (xt, xstep) = ticks(x0, x1);
    let (yt, ystep) = ticks(y0, y1);
    for &x in &xt {
        chart
            .draw_series(LineSeries::new([(x, y0), (x, y1)], GRID.stroke_width(1)))
            .map_err(plot_err)?;
    }
    for &y in &yt {
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], GRID.stroke_width(1)))
            .map_err(plot_err)?;
    }
    chart
        .draw_series(LineSeries::new(
            [(x0, 0.0), (x1, 0.0)],
            AXIS.stroke_width(1),
        ))
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, y0), (0.0, y1)],
            AXIS.stroke_width(1),
        ))
        .map_err(plot_err)?;

    // Bauer-Fike discs: every eigenvalue lies in at least one (Theorem V.4).
    for (cx, cy) in s.centres() {
        chart
            .draw_series(LineSeries::new(
                circle(cx, cy, s.radius, 96),
                DISC.mix(0.35).stroke_width(1),
            ))
            .map_err(plot_err)?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            circle(0.0, 0.0, 1.0, 256),
            10,
            6,
            UNIT.stroke_width(2),
        ))
        .map_err(plot_err)?;
    for b in s.v6_bounds {
        chart
            .draw_series(DashedLineSeries::new(
                [(b, y0), (b, y1)],
                8,
                6,
                CENTRE.stroke_width(2),
            ))
            .map_err(plot_err)?;
    }
    chart
        .draw_series(s.eigenvalues().map(|p| Circle::new(p, 4, EIG.filled())))
        .map_err(plot_err)?;
    chart
        .draw_series(s.centres().map(|p| Circle::new(p, 2, CENTRE.filled())))
        .map_err(plot_err)?;

    // The frame is drawn last so that discs running off the window end cleanly at its edge.
    let (l, t, r, b) = (x_offset + LEFT, TOP, x_offset + LEFT + PLOT, TOP + PLOT);
    root.draw(&Rectangle::new([(l, t), (r, b)], INK.stroke_width(1)))
        .map_err(plot_err)?;

    let px = |x: f64| l + ((x - x0) / (x1 - x0) * PLOT as f64).round() as i32;
    let py = |y: f64| b - ((y - y0) / (y1 - y0) * PLOT as f64).round() as i32;
    for &x in &xt {
        let label = tick_label(x, xstep);
        draw_text(root, &label, (px(x), b + 16), LABEL, Align::Center)?;
    }
    for &y in &yt {
        let label = tick_label(y, ystep);
        draw_text(root, &label, (l - 8, py(y)), LABEL, Align::Right)?;
    }
    draw_text(root, "Re", (l + PLOT / 2, b + 44), LABEL, Align::Center)?;
    draw_text(root, "Im", (l - 8, t - 14), LABEL, Align::Right)?;

    let title = format!(
        "dt={}  gamma={}  s={}  |W_h|={}",
        num(panel.dt),
        num(panel.gamma),
        num(panel.s),
        num(panel.norm)
    );
    draw_text(root, &title, (l + PLOT / 2, 28), TITLE, Align::Center)?;
    let [lo, hi] = s.v6_bounds;
    let v6 = if lo > -1.0 && hi < 1.0 {
        "holds"
    } else {
        "fails"
    };
    let facts = format!(
        "rho(J)={:.3}  radius={:.3}  V.6 [{:.3}, {:.3}] {v6}",
        s.spectral_radius, s.radius, lo, hi
    );
    draw_text(root, &facts, (l + PLOT / 2, 66), LABEL, Align::Center)?;

    // Legend, three rows under the axis title.
    let row = |k: i32| b + 88 + k * LEGEND_ROW;
    let col = |k: i32| l + k * (PLOT / 2);
    legend_dot(root, (col(0), row(0)), 4, &EIG)?;
    draw_text(
        root,
        "eigenvalues",
        (col(0) + 14, row(0)),
        LABEL,
        Align::Left,
    )?;
    legend_dot(root, (col(1), row(0)), 3, &CENTRE)?;
    draw_text(
        root,
        "centres gamma-dt P_i",
        (col(1) + 14, row(0)),
        LABEL,
        Align::Left,
    )?;
    legend_dash(root, (col(0), row(1)), &UNIT)?;
    draw_text(
        root,
        "unit circle",
        (col(0) + 30, row(1)),
        LABEL,
        Align::Left,
    )?;
    legend_dash(root, (col(1), row(1)), &CENTRE)?;
    draw_text(
        root,
        "V.6 bounds",
        (col(1) + 30, row(1)),
        LABEL,
        Align::Left,
    )?;
    root.draw(&Circle::new((col(0) + 4, row(2)), 8, DISC.stroke_width(2)))
        .map_err(plot_err)?;
    draw_text(
        root,
        "Bauer-Fike discs (Theorem V.4)",
        (col(0) + 22, row(2)),
        LABEL,
        Align::Left,
    )?;
    Ok(())
}

fn legend_dot(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    (x, y): (i32, i32),
    r: i32,
    color: &RGBColor,
) -> Result<()> {
    root.draw(&Circle::new((x + 4, y), r, color.filled()))
        .map_err(plot_err)
}

fn legend_dash(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    (x, y): (i32, i32),
    color: &RGBColor,
) -> Result<()> {
    for k in 0..2 {
        let x = x + k * 12;
        root.draw(&PathElement::new(
            vec![(x, y), (x + 8, y)],
            color.stroke_width(2),
        ))
        .map_err(plot_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"cell": {"dt": 0.1}, "eigenvalues": [[0.5, 0.2], [0.5, -0.2], [-0.3, 0.0]],
        "centres": [[0.6, 0.0], [-0.2, 0.0], [0.9, 0.0]], "radius": 0.25, "spectral_radius": 0.54,
        "v6_bounds": [-0.02, 0.98], "lemma_v1": {"value": 1.2, "holds": false}}"#;

    #[test]
    fn spectra_parse_from_pairs_or_bare_reals_and_reject_non_finite_values() {
        let s = Spectrum::from_json(SAMPLE).unwrap();
        assert_eq!(s.eigenvalues().count(), 3);
        assert_eq!(s.centres().nth(1), Some((-0.2, 0.0)));
        let bare = SAMPLE.replace("[[0.6, 0.0], [-0.2, 0.0], [0.9, 0.0]]", "[0.6, -0.2, 0.9]");
        let bare = Spectrum::from_json(&bare).unwrap();
        assert!(bare.centres().eq(s.centres()));
        assert!(Spectrum::from_json(&SAMPLE.replace("0.25", "1e400")).is_err());
        assert!(Spectrum::from_json("{}").is_err());
    }

    #[test]
    fn the_window_is_square_and_holds_the_unit_circle_and_every_point() {
        let s = Spectrum::from_json(SAMPLE).unwrap();
        let (x0, x1, y0, y1) = window(&s);
        assert!((x1 - x0 - (y1 - y0)).abs() < 1e-12);
        assert!(x0 < -1.0 && x1 > 1.0 && y0 < -1.0 && y1 > 1.0);
    }

    #[test]
    fn ticks_use_round_steps_inside_the_range() {
        let (t, step) = ticks(-1.1, 1.1);
        assert_eq!(step, 0.5);
        assert_eq!(t, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(tick_label(-0.0, 0.5), "0");
        assert_eq!(tick_label(1.5, 0.5), "1.5");
        let (t, step) = ticks(-30.0, 12.0);
        assert_eq!(step, 10.0);
        assert_eq!(t.first(), Some(&-30.0));
    }

    #[test]
    fn a_figure_is_written_as_png() {
        let dir = std::env::temp_dir().join(format!("xtask-fig6-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fig6.png");
        let s = Spectrum::from_json(SAMPLE).unwrap();
        draw(&[(PANELS[0], s.clone()), (PANELS[1], s)], &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_title_and_labels_are_drawn_in_the_embedded_font() {
        let (w, h) = figure_size(1);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            draw_on(&root, &[(PANELS[0], Spectrum::from_json(SAMPLE).unwrap())]).unwrap();
            root.present().unwrap();
        }
        // Only text is drawn above the plot (the title and the facts line), so its dark pixels are letters.
        let dark = |rows: std::ops::Range<u32>| {
            rows.flat_map(|y| (0..w).map(move |x| ((y * w + x) * 3) as usize))
                .filter(|&i| rgb[i..i + 3].iter().all(|&c| c < 128))
                .count()
        };
        assert!(dark(0..(TOP as u32 - 10)) > 1000, "no text above the plot");
        // The tick labels and the axis title under it.
        let below = (TOP + PLOT) as u32 + 2;
        assert!(dark(below..below + 60) > 200, "no labels under the plot");
    }

    #[test]
    fn panel_arguments_name_every_hyper_parameter() {
        let a = PANELS[3].stability_args().join(" ");
        assert_eq!(
            a,
            "stability --dt 0.1 --gamma 1 --s 1 --norm 5 --eigs --json"
        );
    }
}
