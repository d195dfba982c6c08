//! Runs the paper's MF-RNN and RNN presets (Tables VI and VIII) on a UCR `.tsv` data set with the SPEC protocol:
//! per trial a seeded, stratified 80/20 split of the training part for early stopping, a fresh model, and its test
//! accuracy; 5 trials reported as mean +- population standard deviation next to the paper's Table IV.
//!
//! `RAYON_NUM_THREADS=1 cargo run --release -p mf-rnn --example paper_rnn -- /path/to/datasets Coffee`

use std::path::Path;

use mf_core::rng::{derive_seed, rng_from_seed};
use mf_core::{Sequences, Targets};
use mf_rnn::{presets, train, RnnConfig};
use ndarray::Array3;
use rand::seq::SliceRandom;

/// Paper Table IV accuracies (RNN, MF-RNN) for the `.tsv` data sets.
const PAPER: [(&str, &str, &str); 4] = [
    ("SyntheticControl", "0.799 +- 0.119", "0.927 +- 0.048"),
    ("ECG5000", "0.804 +- 0.247", "0.909 +- 0.004"),
    ("Wafer", "0.804 +- 0.109", "0.910 +- 0.037"),
    ("Coffee", "0.543 +- 0.014", "0.950 +- 0.029"),
];

type Error = Box<dyn std::error::Error>;

/// Reads a UCR `.tsv` file: label first, then the values, tab separated; labels are returned as read.
fn read_tsv(path: &Path) -> Result<(Vec<Vec<f32>>, Vec<i64>), Error> {
    let text = std::fs::read_to_string(path)?;
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split('\t');
        labels.push(fields.next().unwrap_or_default().trim().parse::<f64>()? as i64);
        rows.push(
            fields
                .map(|v| v.trim().parse::<f32>())
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    Ok((rows, labels))
}

fn to_data(rows: &[Vec<f32>], labels: &[i64], classes: &[i64]) -> (Sequences, Targets) {
    let t = rows.iter().map(Vec::len).max().unwrap_or(1);
    let x = Array3::from_shape_fn((rows.len(), t, 1), |(i, j, _)| {
        rows[i].get(j).copied().unwrap_or(f32::NAN)
    });
    let lengths = rows.iter().map(Vec::len).collect();
    let labels = labels
        .iter()
        .map(|l| classes.iter().position(|c| c == l).expect("known class"))
        .collect();
    (
        Sequences::new(x, lengths).expect("lengths"),
        Targets::Classes {
            labels,
            n_classes: classes.len(),
        },
    )
}

/// Stratified split: about 20% of each class to validation, seeded.
fn split(labels: &[usize], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = rng_from_seed(seed);
    let (mut fit, mut val) = (Vec::new(), Vec::new());
    let n_classes = labels.iter().max().map_or(0, |m| m + 1);
    for c in 0..n_classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        idx.shuffle(&mut rng);
        let n_val = ((idx.len() as f64) * 0.2).round() as usize;
        val.extend_from_slice(&idx[..n_val]);
        fit.extend_from_slice(&idx[n_val..]);
    }
    (fit, val)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map_or("/work/shared/datasets", String::as_str);
    let name = args.get(2).map_or("Coffee", String::as_str);
    let trials: u64 = args.get(3).map_or(Ok(5), |s| s.parse())?;
    let base = Path::new(dir).join(name);
    let (train_rows, train_labels) = read_tsv(&base.join(format!("{name}_TRAIN.tsv")))?;
    let (test_rows, test_labels) = read_tsv(&base.join(format!("{name}_TEST.tsv")))?;
    let mut classes = train_labels.clone();
    classes.sort_unstable();
    classes.dedup();
    let (x, y) = to_data(&train_rows, &train_labels, &classes);
    let (tx, ty) = to_data(&test_rows, &test_labels, &classes);
    let Targets::Classes { labels, .. } = &y else {
        unreachable!()
    };
    let paper = PAPER.iter().find(|p| p.0 == name);
    let models: [(&str, Option<RnnConfig>, Option<&str>); 2] = [
        ("RNN", presets::rnn(name), paper.map(|p| p.1)),
        ("MF-RNN", presets::mf_rnn(name), paper.map(|p| p.2)),
    ];
    for (model, config, paper) in models {
        let config = config.ok_or("no preset for this data set")?;
        let mut scores = Vec::new();
        for trial in 0..trials {
            let (fit, val) = split(labels, derive_seed(7, trial));
            let cfg = config.clone().seed(derive_seed(11, trial));
            let start = std::time::Instant::now();
            let m = train(
                &cfg,
                (&x.select(&fit), &y.select(&fit)),
                (&x.select(&val), &y.select(&val)),
                &mut |_| {},
            )?;
            let acc = m.score(&tx, &ty)?;
            println!(
                "{name} {model} trial {trial}: accuracy {acc:.3} ({} epochs, best {}, {:.1} s)",
                m.history().len(),
                m.best_epoch(),
                start.elapsed().as_secs_f64()
            );
            scores.push(acc);
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let std =
            (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64).sqrt();
        println!(
            "{name} {model}: {mean:.3} +- {std:.3}   paper: {}",
            paper.unwrap_or("n/a")
        );
    }
    Ok(())
}
