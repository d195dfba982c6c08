//! `mf forecast`: closed-loop generation on a sequence task. One reservoir is fitted teacher-forced on the train
//! and validation segments, then from starting points spread through the test segment feeds its own output back as
//! its next input; the metric (Mackey-Glass: NRMSE at the horizon, Jaeger's NRMSE84 at 84; Lorenz-63: valid
//! prediction time) is printed, and the first start's true and generated continuations are written as CSV and,
//! with `--plot`, drawn.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mf_lab::models::CancelToken;
use mf_lab::sequence::{forecast, ForecastReport, SequenceData, FORECAST_STARTS};
use mf_plot::{draw_text, tick_label, ticks, Align};
use plotters::prelude::*;

use super::run::ModelArgs;
use super::shared::write_out;

/// Arguments of `mf forecast`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ForecastArgs {
    /// The model (a reservoir: mf-esn or esn), the task (`--dataset mackey-glass` or `lorenz`), `--set` values
    /// and the seed its reservoir is drawn from.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Generate a signal of your own: `--dataset FILE` is one long signal (CSV, Parquet or Arrow; one row per
    /// step, one column per channel) and every one of its channels must be named here, so that the output can be
    /// fed back as the next input.
    #[arg(long, value_name = "COLUMN")]
    pub target: Vec<String>,
    /// With `--target`: `zscore` scales every channel by its training-segment statistics; `none` keeps the values.
    #[arg(long, default_value = "none", value_parser = super::run::parse_normalise)]
    pub normalise: mf_lab::Normalise,
    /// Steps generated in closed loop after each switch (84: Jaeger's NRMSE84 for Mackey-Glass).
    #[arg(long, default_value_t = 84)]
    pub horizon: usize,
    /// Starting points, evenly spread through the test segment; the metric is over all of them (Jaeger used 100).
    #[arg(long, default_value_t = FORECAST_STARTS)]
    pub starts: usize,
    /// The CSV file of the first start's true and generated continuations (one row per step, one column per
    /// channel of each).
    #[arg(long, default_value = "forecast.csv")]
    pub out: PathBuf,
    /// Also draw both continuations into this PNG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print the report as JSON (metric, starts, both continuations, configuration).
    #[arg(long)]
    pub json: bool,
}

/// Runs `mf forecast`.
pub fn run_forecast(args: &ForecastArgs) -> Result<()> {
    let Some(data) = SequenceData::from_dataset(&args.model.dataset, &args.target, args.normalise)?
    else {
        bail!(
            "`{}` is not a sequence task that generates: mf forecast takes --dataset mackey-glass or lorenz, or a \
             signal file with --target naming every channel",
            args.model.dataset
        );
    };
    let req = args.model.request()?;
    let r = forecast(&req, data, args.horizon, args.starts, &CancelToken::new())?;
    write_out(Some(&args.out), &csv(&r))?;
    if let Some(plot) = &args.plot {
        draw(&r, plot)?;
    }
    if args.json {
        return super::print_json(&r);
    }
    println!(
        "{} on {}: {} {:.6} over {} starts, horizon {} ({:.2} s; {})",
        args.model.model,
        r.dataset,
        r.metric,
        r.value,
        r.starts.len(),
        r.horizon,
        r.wall_s,
        if r.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        }
    );
    println!("signal: {}", r.signal);
    eprintln!("wrote {}", args.out.display());
    if let Some(plot) = &args.plot {
        eprintln!("wrote {}", plot.display());
    }
    Ok(())
}

/// The CSV of the first start: `step`, then `true_<k>` and `generated_<k>` for each channel `k`.
pub fn csv(r: &ForecastReport) -> String {
    let q = r.truth.first().map_or(0, Vec::len);
    let mut s = String::from("step");
    for k in 0..q {
        s.push_str(&format!(",true_{k}"));
    }
    for k in 0..q {
        s.push_str(&format!(",generated_{k}"));
    }
    s.push('\n');
    for (h, (t, g)) in r.truth.iter().zip(&r.generated).enumerate() {
        s.push_str(&(h + 1).to_string());
        for v in t.iter().chain(g) {
            s.push_str(&format!(",{v}"));
        }
        s.push('\n');
    }
    s
}

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 560;
const LEFT: i32 = 100;
const TOP: i32 = 80;
const PLOT_W: i32 = 860;
const PLOT_H: i32 = 400;
const INK: RGBColor = RGBColor(20, 20, 20);
const GRID: RGBColor = RGBColor(225, 225, 225);
const TRUE_COLOR: RGBColor = RGBColor(31, 90, 200);
const GEN_COLOR: RGBColor = RGBColor(200, 60, 40);

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e}")
}

/// Draws the first channel of the first start's true and generated continuations into a PNG at `path`.
pub fn draw(r: &ForecastReport, path: &Path) -> Result<()> {
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let truth: Vec<f64> = r.truth.iter().map(|v| v[0]).collect();
    let generated: Vec<f64> = r.generated.iter().map(|v| v[0]).collect();
    let finite = truth.iter().chain(&generated).filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        bail!("nothing finite to draw");
    }
    let pad = if hi > lo { 0.08 * (hi - lo) } else { 1.0 };
    let (y0, y1) = (lo - pad, hi + pad);
    let (x0, x1) = (1.0, truth.len().max(2) as f64);
    let area = root
        .clone()
        .shrink((LEFT, TOP), (PLOT_W as u32, PLOT_H as u32));
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    let (yt, ystep) = ticks(y0, y1, 6.0);
    let (xt, xstep) = ticks(x0, x1, 8.0);
    for &y in &yt {
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], GRID.stroke_width(1)))
            .map_err(plot_err)?;
    }
    for &x in &xt {
        chart
            .draw_series(LineSeries::new([(x, y0), (x, y1)], GRID.stroke_width(1)))
            .map_err(plot_err)?;
    }
    for (series, color) in [(&truth, TRUE_COLOR), (&generated, GEN_COLOR)] {
        chart
            .draw_series(LineSeries::new(
                series
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(h, v)| ((h + 1) as f64, v.clamp(y0, y1))),
                color.stroke_width(2),
            ))
            .map_err(plot_err)?;
    }
    let px = |x: f64| LEFT + ((x - x0) / (x1 - x0) * f64::from(PLOT_W)) as i32;
    let py = |y: f64| TOP + ((y1 - y) / (y1 - y0) * f64::from(PLOT_H)) as i32;
    let text = |s: &str, at: (i32, i32), size: f32, align: Align| {
        draw_text(&root, s, at, size, align, INK).map_err(plot_err)
    };
    for &x in &xt {
        text(
            &tick_label(x, xstep),
            (px(x), TOP + PLOT_H + 18),
            18.0,
            Align::Center,
        )?;
    }
    for &y in &yt {
        text(
            &tick_label(y, ystep),
            (LEFT - 10, py(y)),
            18.0,
            Align::Right,
        )?;
    }
    text(
        &format!(
            "{} on {}, closed loop: {} = {:.4}",
            r.model, r.dataset, r.metric, r.value
        ),
        (LEFT + PLOT_W / 2, 30),
        24.0,
        Align::Center,
    )?;
    text(
        "steps after the switch to closed loop (first start, first channel)",
        (LEFT + PLOT_W / 2, TOP + PLOT_H + 48),
        18.0,
        Align::Center,
    )?;
    for (i, (name, color)) in [("true", TRUE_COLOR), ("generated", GEN_COLOR)]
        .into_iter()
        .enumerate()
    {
        let y = 58;
        let x = LEFT + 20 + 170 * i as i32;
        root.draw(&PathElement::new(
            vec![(x, y), (x + 30, y)],
            color.stroke_width(3),
        ))
        .map_err(plot_err)?;
        text(name, (x + 38, y), 18.0, Align::Left)?;
    }
    root.present()
        .map_err(plot_err)
        .with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mf_lab::ModelKind;

    fn args(dir: &Path, dataset: &str) -> ForecastArgs {
        ForecastArgs {
            model: ModelArgs {
                model: ModelKind::Esn,
                dataset: dataset.into(),
                preset: None,
                set: vec![
                    ("alpha".into(), 1.0),
                    ("omega".into(), 0.1),
                    ("n_units".into(), 50.0),
                ],
                seed: 1,
                protocol: Default::default(),
            },
            target: vec![],
            normalise: mf_lab::Normalise::None,
            horizon: 84,
            starts: 10,
            out: dir.join("f.csv"),
            plot: Some(dir.join("f.png")),
            json: true,
        }
    }

    #[test]
    fn forecast_writes_the_csv_of_both_continuations_and_a_png() {
        let dir = tempfile::tempdir().unwrap();
        for task in ["mackey-glass", "lorenz"] {
            run_forecast(&args(dir.path(), task)).unwrap();
            let csv = std::fs::read_to_string(dir.path().join("f.csv")).unwrap();
            let lines: Vec<&str> = csv.lines().collect();
            assert_eq!(lines.len(), 85, "{task}");
            let width = if task == "lorenz" { 7 } else { 3 };
            assert!(
                lines.iter().all(|l| l.split(',').count() == width),
                "{task}"
            );
            assert!(lines[0].starts_with("step,true_0"));
            let png = std::fs::read(dir.path().join("f.png")).unwrap();
            assert_eq!(&png[1..4], b"PNG");
        }
        let e = run_forecast(&args(dir.path(), "narma10"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be generated in closed loop"), "{e}");
        let e = run_forecast(&args(dir.path(), "GunPoint"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a sequence task"), "{e}");
    }
}
