//! `mf robustness`: a model's test score against one hyper-parameter's values (a hardware non-ideality such as
//! `w_noise` or `adc_bits`, or any other), over fresh draws, one curve per model: `robustness.csv` (every draw),
//! `robustness_summary.csv` (mean and spread per value) and `robustness.png` in the output directory.
//!
//! A value a model cannot be scored at (its states overflow, say) fails alone: its row in both files has no score
//! and its reason in the `failed` column, the figure leaves it out and says so, stderr names it, and the command
//! exits non-zero once everything computed is written.
//!
//! The loop lives in `mf_lab::robustness`; this module parses arguments, prints and draws the figure.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mf_lab::models::CancelToken;
use mf_lab::robustness::{run_robustness, Level, Robustness, RobustnessRequest};
use mf_lab::ModelKind;
use mf_plot::{draw_text, num, tick_label, Align};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::run::Preset;

/// `mf robustness`: robustness curves of one or more models.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct RobustnessArgs {
    /// Model: mf-esn, esn, mf-rnn or rnn; repeat for one curve per model.
    #[arg(long = "model", short = 'm', required = true)]
    pub models: Vec<ModelKind>,
    /// Data set: a name in the data directory (e.g. ECG5000) or a generated set.
    #[arg(long, short = 'd', default_value = "synthetic-control")]
    pub dataset: String,
    /// Start from the paper's selected hyper-parameters for this data set.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Override one hyper-parameter at every point, e.g. `--set n_units=50` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = super::parse_set)]
    pub set: Vec<(String, f64)>,
    /// The hyper-parameter varied. Hardware non-idealities of MF-ESN, ESN, MF-RNN and RNN (0 = off): w_bits,
    /// w_noise, stuck_zero, stuck_max, adc_bits, readout_bits (trainable models retrain at every value from the
    /// same seeds); MF-RNN and RNN also train_w_noise; MF-ESN and deep MF-ESN also d2d_sigma and c2c_sigma (the MF
    /// neurons' device-to-device spread and cycle-to-cycle noise); any other hyper-parameter works too.
    #[arg(long)]
    pub param: String,
    /// Its values, comma-separated, e.g. `0,0.05,0.1,0.2`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub values: Vec<f64>,
    /// Fresh models per model and value (draw i uses seed derive_seed(seed, i) at every value).
    #[arg(long, default_value_t = 5)]
    pub draws: usize,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory for robustness.csv, robustness_summary.csv and robustness.png (created if needed).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

impl RobustnessArgs {
    /// The library's request.
    pub fn request(&self) -> Result<RobustnessRequest> {
        let set = super::params_of(&self.set)?;
        if set.contains_key(&self.param) {
            bail!("--set {} is also the varied --param", self.param);
        }
        Ok(RobustnessRequest {
            models: self.models.clone(),
            dataset: self.dataset.clone(),
            preset: self.preset == Some(Preset::Paper),
            set,
            param: self.param.clone(),
            values: self.values.clone(),
            draws: self.draws,
            seed: self.seed,
            protocol: Default::default(),
        })
    }
}

/// Runs the curves of `args`, writes the CSV files and the figure, and returns the result; a line per finished
/// (model, value) goes to stderr, then one per (model, value) that failed.
pub fn robustness(args: &RobustnessArgs, data_dir: &Path) -> Result<Robustness> {
    let req = args.request()?;
    let mut scores: Vec<f64> = Vec::new();
    let mut on_point = |p: &mf_lab::robustness::Point| {
        // Draws run in order: a first draw starts a level, and the draws of a level that failed are dropped.
        if p.draw == 0 {
            scores.clear();
        }
        scores.push(p.score);
        if p.draw + 1 == req.draws {
            let m = mf_lab::protocol::mean(&scores);
            let s = mf_lab::protocol::pop_std(&scores);
            let model = model_name(&p.model);
            eprintln!(
                "{model:<7} {} = {:<8} {m:.4} ± {s:.4} ({} draws)",
                p.param,
                num(p.value),
                scores.len()
            );
            scores.clear();
        }
    };
    let out = run_robustness(
        &req,
        data_dir,
        &|_, _| {},
        &mut on_point,
        &CancelToken::new(),
    )?;
    for f in &out.failed {
        eprintln!(
            "{:<7} {} = {:<8} failed: {}",
            model_name(&f.model),
            f.param,
            num(f.value),
            f.reason
        );
    }
    out.write_csv(&args.out)?;
    let png = args.out.join("robustness.png");
    draw(&out, &png)?;
    Ok(out)
}

/// `mf robustness`: run, write, and print the summary table; an error after writing when a level failed.
pub fn run_robustness_command(args: &RobustnessArgs, data_dir: &Path) -> Result<()> {
    let out = robustness(args, data_dir)?;
    print!("{}", out.levels_csv());
    eprintln!(
        "wrote robustness.csv, robustness_summary.csv and robustness.png to {} ({:.1} s)",
        args.out.display(),
        out.wall_s
    );
    if !out.failed.is_empty() {
        let n = out.levels.len() + out.failed.len();
        let which: Vec<String> = out
            .failed
            .iter()
            .map(|f| format!("{} at {} = {}", model_name(&f.model), f.param, num(f.value)))
            .collect();
        let what = format!(
            "{} (the reasons are above and in the `failed` column of the CSV files)",
            which.join(", ")
        );
        if out.levels.is_empty() {
            bail!("every one of the {n} levels failed: {what}");
        }
        let others = match out.levels.len() {
            1 => "the other level is written".to_string(),
            k => format!("the {k} others are written"),
        };
        bail!(
            "{} of the {n} levels failed and {} no score: {what}; {others}",
            out.failed.len(),
            if out.failed.len() == 1 { "has" } else { "have" },
        );
    }
    Ok(())
}

/// A model id as tables name it (`mf-esn` as `MF-ESN`); an id this build does not know stays as it is.
fn model_name(id: &str) -> String {
    id.parse::<ModelKind>()
        .map_or_else(|_| id.to_string(), |m| m.to_string())
}

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 680;
const LEFT: i32 = 110;
const TOP: i32 = 90;
const PLOT_W: i32 = 620;
const PLOT_H: i32 = 480;

const GRID: RGBColor = RGBColor(225, 225, 225);
const INK: RGBColor = RGBColor(20, 20, 20);
const PALETTE: [RGBColor; 6] = [
    RGBColor(200, 60, 40),
    RGBColor(31, 90, 200),
    RGBColor(20, 150, 60),
    RGBColor(150, 60, 170),
    RGBColor(230, 140, 20),
    RGBColor(90, 90, 90),
];
const TITLE: f32 = 28.0;
const LABEL: f32 = 21.0;

/// Whether `param` counts bits, where 0 means off (exact) rather than a level on the axis.
fn is_bits(param: &str) -> bool {
    param.ends_with("_bits")
}

/// What the x axis measures.
fn axis_label(param: &str) -> String {
    let what = match param {
        "w_noise" => "relative programming noise of each weight",
        "w_bits" => "weight resolution, bits",
        "adc_bits" => "ADC resolution of the states, bits",
        "readout_bits" => "readout weight resolution, bits",
        "stuck_zero" => "fraction of devices stuck at 0",
        "stuck_max" => "fraction of devices stuck at max |w|",
        "train_w_noise" => "relative weight noise injected in training",
        "d2d_sigma" => "relative device-to-device spread of the neurons' constants",
        "c2c_sigma" => "relative cycle-to-cycle noise of the neurons' rates",
        _ => return param.to_string(),
    };
    format!("{param}: {what}")
}

/// Draws the curves of `r` into a PNG at `path`.
pub fn draw(r: &Robustness, path: &Path) -> Result<()> {
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    draw_on(&root, r)?;
    root.present()
        .map_err(plot_err)
        .with_context(|| format!("could not write {}", path.display()))
}

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e}")
}

/// The models of `r` in the order they first appear.
fn models(r: &Robustness) -> Vec<String> {
    let mut m: Vec<String> = Vec::new();
    for l in &r.levels {
        if !m.contains(&l.model) {
            m.push(l.model.clone());
        }
    }
    m
}

fn draw_on(root: &DrawingArea<BitMapBackend<'_>, Shift>, r: &Robustness) -> Result<()> {
    root.fill(&WHITE).map_err(plot_err)?;
    let bits = is_bits(&r.param);
    // With bits, 0 is "off": the exact model, drawn as a dashed level line instead of a point.
    let on_axis = |l: &&Level| !(bits && l.value == 0.0);
    let mut xs: Vec<f64> = r.levels.iter().filter(on_axis).map(|l| l.value).collect();
    if xs.is_empty() {
        // Nothing scored: the axis spans the values that failed, and the note says why it is empty.
        xs = r.failed.iter().map(|f| f.value).collect();
    }
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    if xs.is_empty() {
        bail!("no value to draw on the axis");
    }
    let (lo, hi) = (xs[0], xs[xs.len() - 1]);
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
    let (x0, x1) = (lo - pad, hi + pad);
    let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
    for l in &r.levels {
        y0 = y0.min(l.mean - l.std);
        y1 = y1.max(l.mean + l.std);
    }
    if r.levels.is_empty() {
        (y0, y1) = (0.0, 1.0);
    }
    let ypad = if y1 > y0 { 0.08 * (y1 - y0) } else { 0.01 };
    let (y0, y1) = (y0 - ypad, y1 + ypad);

    let area = root
        .clone()
        .shrink((LEFT, TOP), (PLOT_W as u32, PLOT_H as u32));
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    let (yt, ystep) = ticks(y0, y1);
    let xt: Vec<f64> = if xs.len() <= 12 {
        xs.clone()
    } else {
        ticks(x0, x1).0
    };
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
    let names = models(r);
    // Curves are nudged apart so that their error bars do not hide each other.
    let dodge = (x1 - x0) * 0.006;
    for (k, model) in names.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let shift = (k as f64 - (names.len() as f64 - 1.0) / 2.0) * dodge;
        let mut levels: Vec<&Level> = r
            .levels
            .iter()
            .filter(|l| &l.model == model)
            .filter(on_axis)
            .collect();
        levels.sort_by(|a, b| a.value.total_cmp(&b.value));
        if let Some(off) = r
            .levels
            .iter()
            .find(|l| &l.model == model && bits && l.value == 0.0)
        {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, off.mean), (x1, off.mean)],
                    10,
                    6,
                    color.mix(0.7).stroke_width(2),
                ))
                .map_err(plot_err)?;
        }
        chart
            .draw_series(LineSeries::new(
                levels.iter().map(|l| (l.value + shift, l.mean)),
                color.stroke_width(3),
            ))
            .map_err(plot_err)?;
        for l in &levels {
            let x = l.value + shift;
            let (a, b) = (l.mean - l.std, l.mean + l.std);
            let cap = (x1 - x0) * 0.008;
            for seg in [
                [(x, a), (x, b)],
                [(x - cap, a), (x + cap, a)],
                [(x - cap, b), (x + cap, b)],
            ] {
                chart
                    .draw_series(LineSeries::new(seg, color.stroke_width(2)))
                    .map_err(plot_err)?;
            }
        }
        chart
            .draw_series(
                levels
                    .iter()
                    .map(|l| Circle::new((l.value + shift, l.mean), 5, color.filled())),
            )
            .map_err(plot_err)?;
    }
    let (l, t, rr, b) = (LEFT, TOP, LEFT + PLOT_W, TOP + PLOT_H);
    root.draw(&Rectangle::new([(l, t), (rr, b)], INK.stroke_width(1)))
        .map_err(plot_err)?;
    let px = |x: f64| l + ((x - x0) / (x1 - x0) * PLOT_W as f64).round() as i32;
    let py = |y: f64| b - ((y - y0) / (y1 - y0) * PLOT_H as f64).round() as i32;
    // Values crowded together keep their grid lines but not every label: a label closer than MIN_GAP pixels to
    // the last one drawn is left out.
    const MIN_GAP: i32 = 44;
    let mut last = i32::MIN / 2;
    for &x in &xt {
        if px(x) - last >= MIN_GAP {
            draw_text(root, &num(x), (px(x), b + 18), LABEL, Align::Center, INK)?;
            last = px(x);
        }
    }
    for &y in &yt {
        let label = tick_label(y, ystep);
        draw_text(root, &label, (l - 10, py(y)), LABEL, Align::Right, INK)?;
    }
    draw_text(
        root,
        &axis_label(&r.param),
        (l + PLOT_W / 2, b + 52),
        LABEL,
        Align::Center,
        INK,
    )?;
    let metric = r.metric.label();
    draw_text(
        root,
        &format!("{metric} (mean ± std)"),
        (l, t - 20),
        LABEL,
        Align::Left,
        INK,
    )?;
    let mut title = format!("{}: {metric} vs {}", r.dataset, r.param);
    if let Some(l) = r.levels.first() {
        title.push_str(&format!(", {} draws", l.n));
    }
    draw_text(
        root,
        &title,
        (WIDTH as i32 / 2, 30),
        TITLE,
        Align::Center,
        INK,
    )?;

    // Legend, right of the plot.
    let lx = rr + 24;
    let mut ly = t + 20;
    for (k, model) in names.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        root.draw(&PathElement::new(
            vec![(lx, ly), (lx + 34, ly)],
            color.stroke_width(3),
        ))
        .map_err(plot_err)?;
        root.draw(&Circle::new((lx + 17, ly), 5, color.filled()))
            .map_err(plot_err)?;
        let name = model
            .parse::<ModelKind>()
            .map_or(model.clone(), |m| m.to_string());
        draw_text(root, &name, (lx + 44, ly), LABEL, Align::Left, INK)?;
        ly += 32;
    }
    if bits && r.levels.iter().any(|l| l.value == 0.0) {
        for k in 0..3 {
            let x = lx + k * 13;
            root.draw(&PathElement::new(
                vec![(x, ly), (x + 8, ly)],
                INK.mix(0.6).stroke_width(2),
            ))
            .map_err(plot_err)?;
        }
        draw_text(
            root,
            "0 bits: exact",
            (lx + 44, ly),
            LABEL,
            Align::Left,
            INK,
        )?;
        ly += 32;
    }
    failed_note(root, r, &names, (lx, ly))
}

/// The levels that failed, listed below the legend at `(x, y)` in the colour of their model's curve: they are
/// not drawn, and the figure says so rather than let a gap pass for a level never asked for.
fn failed_note(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    r: &Robustness,
    names: &[String],
    (x, mut y): (i32, i32),
) -> Result<()> {
    if r.failed.is_empty() {
        return Ok(());
    }
    // As many lines as fit above the bottom of the plot; the rest are counted.
    const LINE: i32 = 26;
    let room = ((TOP + PLOT_H - y) / LINE - 1).max(1) as usize;
    y += 8;
    draw_text(root, "failed, not drawn:", (x, y), LABEL, Align::Left, INK)?;
    let shown = if r.failed.len() > room {
        room - 1
    } else {
        r.failed.len()
    };
    for f in &r.failed[..shown] {
        y += LINE;
        // A model none of whose levels scored has no curve, and no colour of its own.
        let color = names
            .iter()
            .position(|m| *m == f.model)
            .map_or(INK, |k| PALETTE[k % PALETTE.len()]);
        let text = format!("{} at {}", model_name(&f.model), num(f.value));
        draw_text(root, &text, (x + 12, y), LABEL, Align::Left, color)?;
    }
    if shown < r.failed.len() {
        y += LINE;
        let more = format!("and {} more", r.failed.len() - shown);
        draw_text(root, &more, (x + 12, y), LABEL, Align::Left, INK)?;
    }
    Ok(())
}

/// Tick positions at a step of 1, 2 or 5 times a power of ten, about eight per axis.
fn ticks(lo: f64, hi: f64) -> (Vec<f64>, f64) {
    mf_plot::ticks(lo, hi, 8.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: RobustnessArgs,
    }

    fn parse(line: &str) -> RobustnessArgs {
        Cli::try_parse_from(std::iter::once("mf").chain(line.split_whitespace()))
            .unwrap()
            .args
    }

    #[test]
    fn arguments_take_repeated_models_and_a_comma_separated_list_of_values() {
        let a = parse("-m mf-esn --model esn --param w_noise --values 0,0.05,0.1 --out x");
        assert_eq!(a.models, [ModelKind::MfEsn, ModelKind::Esn]);
        assert_eq!(a.values, [0.0, 0.05, 0.1]);
        assert_eq!((a.draws, a.seed), (5, 0));
        let clash = parse("-m esn --param w_noise --values 0 --set w_noise=0.1 --out x");
        assert!(clash.request().is_err());
    }

    #[test]
    fn a_run_writes_both_csv_files_and_a_figure_with_text() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r");
        let a = parse(&format!(
            "-m mf-esn -m esn --param adc_bits --values 0,2,6 --draws 2 --set n_units=20 --out {}",
            out.display()
        ));
        let r = robustness(&a, Path::new("/nonexistent")).unwrap();
        assert_eq!(r.levels.len(), 6);
        for f in ["robustness.csv", "robustness_summary.csv"] {
            assert!(
                std::fs::read_to_string(out.join(f))
                    .unwrap()
                    .lines()
                    .count()
                    > 6
            );
        }
        let bytes = std::fs::read(out.join("robustness.png")).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // The title above the plot is the only thing drawn there: its dark pixels are letters.
        let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
            draw_on(&root, &r).unwrap();
            root.present().unwrap();
        }
        let dark = (0..50u32)
            .flat_map(|y| (0..WIDTH).map(move |x| ((y * WIDTH + x) * 3) as usize))
            .filter(|&i| rgb[i..i + 3].iter().all(|&c| c < 128))
            .count();
        assert!(dark > 500, "no title: {dark} dark pixels");
    }

    /// The pixels of `r`'s figure, as RGB.
    fn pixels(r: &Robustness) -> Vec<u8> {
        let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
            draw_on(&root, r).unwrap();
            root.present().unwrap();
        }
        rgb
    }

    #[test]
    fn a_level_that_fails_is_written_without_a_score_named_below_the_legend_and_fails_the_command()
    {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r");
        // With seed 0 and 30 units, the third draw at a spread of 20% overflows; 10% scores.
        let a = parse(&format!(
            "-m mf-esn --param d2d_sigma --values 0.2,0.1 --draws 4 --seed 0 --set n_units=30 --out {}",
            out.display()
        ));
        let e = run_robustness_command(&a, Path::new("/nonexistent")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 of the 2 levels failed and has no score: MF-ESN at d2d_sigma = 0.2 (the reasons are above and in \
             the `failed` column of the CSV files); the other level is written"
        );
        let summary = std::fs::read_to_string(out.join("robustness_summary.csv")).unwrap();
        let rows: Vec<&str> = summary.lines().collect();
        assert!(
            rows[1].starts_with(
                "synthetic-control,accuracy,mf-esn,d2d_sigma,0.2,0,,,,,trial 3/4 (seed "
            ),
            "{summary}"
        );
        assert!(
            rows[2].starts_with("synthetic-control,accuracy,mf-esn,d2d_sigma,0.1,4,"),
            "{summary}"
        );
        let draws = std::fs::read_to_string(out.join("robustness.csv")).unwrap();
        assert_eq!(draws.lines().count(), 1 + 1 + 4, "{draws}");
        assert!(out.join("robustness.png").is_file());
        // Below the legend's one entry, the note names the level left out; without a failure nothing is there.
        let r = robustness(&a, Path::new("/nonexistent")).unwrap();
        let note = |rgb: &[u8]| {
            let x0 = (LEFT + PLOT_W + 24) as u32;
            (TOP as u32 + 40..TOP as u32 + 120)
                .flat_map(|y| (x0..WIDTH).map(move |x| ((y * WIDTH + x) * 3) as usize))
                .filter(|&i| rgb[i..i + 3].iter().any(|&c| c < 200))
                .count()
        };
        assert!(note(&pixels(&r)) > 200, "no note of the failed level");
        let scored = Robustness {
            failed: Vec::new(),
            ..r
        };
        assert_eq!(note(&pixels(&scored)), 0);
    }

    #[test]
    fn ticks_are_round_and_labels_are_short() {
        let (t, step) = ticks(0.81, 0.95);
        assert_eq!(step, 0.02);
        assert!((t[0] - 0.82).abs() < 1e-12 && t.len() >= 6, "{t:?}");
        assert_eq!(tick_label(0.9000001, 0.05), "0.90");
        assert_eq!(num(0.05), "0.05");
        assert!(is_bits("adc_bits") && !is_bits("w_noise"));
    }
}
