//! `mf export`: a fitted reservoir model as `.npy` files and `config.json`, for hardware mapping and for
//! inspection in numpy.
//!
//! Files (row convention `pre = x @ w_in + h @ w_rec + bias`):
//!
//! | file | shape | type |
//! |---|---|---|
//! | `w_in.npy` | `(n_inputs, n_units)` | f32 |
//! | `w_rec.npy` | `(n_units, n_units)` | f32 |
//! | `bias.npy` | `(n_units,)` | f32 |
//! | `train_x.npy`, `test_x.npy` | `(n, max_len, n_inputs)`, NaN after each series' end | f32 |
//! | `train_len.npy`, `test_len.npy` | `(n,)` | i64 |
//! | `train_y.npy`, `test_y.npy` | `(n,)` class index (i64) or `(n,)` target (f64) | |
//! | `train_states.npy`, `test_states.npy` | `(n, n_units)`, the state at each series' last step | f32 |
//! | `test_pred.npy` | `(n,)` predicted class index (i64) or value (f64) | |
//! | `jacobian.npy` | `(n_units, n_units)`, `J[i, j] = dh_i(t) / dh_j(t-1)` at the last step of the first training series (MF only) | f64 |
//! | `config.json` | every hyper-parameter, the seed, the data set and the files | |

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mf_core::{CellKind, Targets};
use mf_esn::model::Prediction;
use ndarray::{s, Array1, Array2, Array3};
use serde::Serialize;

use super::run::{ModelArgs, ModelConfig};
use crate::npy;
use crate::tasks::{load_dataset, Part, Task};

/// `mf export`: write a fitted MF-ESN or ESN as `.npy` files.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output directory (created if needed).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct ExportConfig<'a> {
    dataset: &'a str,
    model: &'a str,
    seed: u64,
    config: &'a ModelConfig,
    test_score: f64,
    metric: crate::engine::Metric,
    files: Vec<String>,
}

fn x_with_nan(part: &Part) -> Array3<f32> {
    let mut x = part.seqs.x.clone();
    for (i, &l) in part.seqs.lengths.iter().enumerate() {
        x.slice_mut(s![i, l.., ..]).fill(f32::NAN);
    }
    x
}

fn write_y(dir: &Path, name: &str, t: &Targets) -> anyhow::Result<()> {
    match t {
        Targets::Classes { labels, .. } => {
            let v: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            npy::write(&dir.join(name), &[v.len()], &v)
        }
        Targets::Values(v) => {
            let col: Vec<f64> = v.column(0).to_vec();
            npy::write(&dir.join(name), &[col.len()], &col)
        }
    }
}

fn write_2d<T: npy::NpyElem>(dir: &Path, name: &str, a: &Array2<T>) -> anyhow::Result<()> {
    let v: Vec<T> = a.iter().copied().collect();
    npy::write(&dir.join(name), &[a.nrows(), a.ncols()], &v)
}

fn write_3d(dir: &Path, name: &str, a: &Array3<f32>) -> anyhow::Result<()> {
    let (n, t, d) = a.dim();
    let v: Vec<f32> = a.iter().copied().collect();
    npy::write(&dir.join(name), &[n, t, d], &v)
}

/// The Jacobian of the MF cell at the last step of series 0 of `part`, in f64: the state before the last step
/// is computed by stepping the f64 cell from zero.
pub fn last_step_jacobian(
    cell: &mf_core::MfCell,
    weights: &mf_core::Weights<f64>,
    part: &Part,
) -> anyhow::Result<Array2<f64>> {
    let len = part.seqs.lengths[0];
    let x = part.seqs.series(0).mapv(f64::from);
    let mut h = Array1::<f64>::zeros(weights.n_units());
    for t in 0..len - 1 {
        h = mf_core::stability::step(cell, weights, h.view(), x.row(t))?;
    }
    Ok(mf_core::stability::jacobian(
        cell,
        weights,
        h.view(),
        x.row(len - 1),
    )?)
}

/// Fits the model of `args` and writes its files; returns the files written.
pub fn export(args: &ExportArgs, data_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let m = &args.model;
    let config = m.config()?;
    let ModelConfig::Reservoir(rc) = &config else {
        bail!(
            "mf export writes reservoir models (mf-esn, esn); {} is trained end to end (its weights are saved by \
             mf-rnn's TrainedRnn::save as safetensors)",
            m.model.id()
        );
    };
    let ds = load_dataset(data_dir, &m.dataset)?;
    let task = Task::from_dataset(&ds)?;
    let test = task.test()?;
    let fitted = rc
        .clone()
        .into_params()?
        .fit(&task.train.seqs, &task.train.targets, m.seed)
        .with_context(|| format!("fitting {} on {}", m.model, m.dataset))?;
    let test_states = fitted.states(&test.seqs)?;
    let pred = fitted.predict(&test.seqs)?;
    let score = fitted.score(&test.seqs, &test.targets)?;
    let dir = &args.out;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let w = fitted.weights();
    write_2d(dir, "w_in.npy", &w.w_in)?;
    write_2d(dir, "w_rec.npy", &w.w_rec)?;
    npy::write(&dir.join("bias.npy"), &[w.bias.len()], &w.bias.to_vec())?;
    write_3d(dir, "train_x.npy", &x_with_nan(&task.train))?;
    write_3d(dir, "test_x.npy", &x_with_nan(test))?;
    for (name, part) in [("train_len.npy", &task.train), ("test_len.npy", test)] {
        let v: Vec<i64> = part.seqs.lengths.iter().map(|&l| l as i64).collect();
        npy::write(&dir.join(name), &[v.len()], &v)?;
    }
    write_y(dir, "train_y.npy", &task.train.targets)?;
    write_y(dir, "test_y.npy", &test.targets)?;
    write_2d(dir, "train_states.npy", fitted.train_states())?;
    write_2d(dir, "test_states.npy", &test_states)?;
    match pred {
        Prediction::Classes(c) => {
            let v: Vec<i64> = c.iter().map(|&l| l as i64).collect();
            npy::write(&dir.join("test_pred.npy"), &[v.len()], &v)?;
        }
        Prediction::Values(v) => {
            let col: Vec<f64> = v.column(0).to_vec();
            npy::write(&dir.join("test_pred.npy"), &[col.len()], &col)?;
        }
    }
    let mut files: Vec<String> = [
        "w_in",
        "w_rec",
        "bias",
        "train_x",
        "test_x",
        "train_len",
        "test_len",
        "train_y",
        "test_y",
        "train_states",
        "test_states",
        "test_pred",
    ]
    .iter()
    .map(|f| format!("{f}.npy"))
    .collect();
    if let CellKind::Mf(cell) = &rc.cell {
        let j = last_step_jacobian(cell, &w.to_f64(), &task.train)?;
        write_2d(dir, "jacobian.npy", &j)?;
        files.push("jacobian.npy".into());
    }
    files.push("config.json".into());
    let cfg = ExportConfig {
        dataset: &m.dataset,
        model: m.model.id(),
        seed: m.seed,
        config: &config,
        test_score: score,
        metric: task.metric,
        files: files.clone(),
    };
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&cfg)?)
        .with_context(|| format!("writing {}", dir.join("config.json").display()))?;
    Ok(files.iter().map(|f| dir.join(f)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ModelKind;

    fn read<T: npy::NpyElem>(dir: &Path, name: &str) -> (Vec<usize>, Vec<T>) {
        npy::decode(&std::fs::read(dir.join(name)).unwrap()).unwrap()
    }

    #[test]
    fn exported_files_reproduce_the_states_and_the_jacobian() {
        let out = tempfile::tempdir().unwrap();
        let args = ExportArgs {
            model: ModelArgs {
                model: ModelKind::MfEsn,
                dataset: "synthetic-control".into(),
                preset: None,
                set: vec![("n_units".into(), 20.0)],
                seed: 5,
            },
            out: out.path().to_path_buf(),
        };
        let files = export(&args, Path::new("/nonexistent")).unwrap();
        assert_eq!(files.len(), 14);
        let dir = out.path();
        let (s, w_in) = read::<f32>(dir, "w_in.npy");
        assert_eq!(s, vec![1, 20]);
        let (s, w_rec) = read::<f32>(dir, "w_rec.npy");
        assert_eq!(s, vec![20, 20]);
        let (_, bias) = read::<f32>(dir, "bias.npy");
        let (s, x) = read::<f32>(dir, "train_x.npy");
        assert_eq!(s, vec![300, 60, 1]);
        let (_, states) = read::<f32>(dir, "train_states.npy");
        let (s, jac) = read::<f64>(dir, "jacobian.npy");
        assert_eq!(s, vec![20, 20]);
        // Re-run series 0 from the exported files alone with the f64 cell: the exported state must match, and
        // the Jacobian must match central finite differences of that step.
        let cell = mf_core::MfCell::new(0.01, 1.0, 5.0);
        let weights = mf_core::Weights {
            w_in: Array2::from_shape_vec((1, 20), w_in.iter().map(|&v| v as f64).collect())
                .unwrap(),
            w_rec: Array2::from_shape_vec((20, 20), w_rec.iter().map(|&v| v as f64).collect())
                .unwrap(),
            bias: Array1::from_iter(bias.iter().map(|&v| v as f64)),
        };
        let mut h = Array1::<f64>::zeros(20);
        let mut prev = h.clone();
        for &xt in &x[..60] {
            prev = h.clone();
            h = mf_core::stability::step(
                &cell,
                &weights,
                h.view(),
                ndarray::arr1(&[xt as f64]).view(),
            )
            .unwrap();
        }
        for i in 0..20 {
            assert!(
                (h[i] - states[i] as f64).abs() < 1e-4,
                "unit {i}: {} vs {}",
                h[i],
                states[i]
            );
        }
        let xl = ndarray::arr1(&[x[59] as f64]);
        let eps = 1e-6;
        for j in 0..20 {
            let (mut a, mut b) = (prev.clone(), prev.clone());
            a[j] += eps;
            b[j] -= eps;
            let fa = mf_core::stability::step(&cell, &weights, a.view(), xl.view()).unwrap();
            let fb = mf_core::stability::step(&cell, &weights, b.view(), xl.view()).unwrap();
            for i in 0..20 {
                let fd = (fa[i] - fb[i]) / (2.0 * eps);
                assert!(
                    (fd - jac[i * 20 + j]).abs() < 1e-6,
                    "J[{i},{j}] {fd} vs {}",
                    jac[i * 20 + j]
                );
            }
        }
        let (s, pred) = read::<i64>(dir, "test_pred.npy");
        assert_eq!(s, vec![300]);
        assert!(pred.iter().all(|&p| (0..6).contains(&p)));
        let cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(cfg["config"]["n_units"], 20);
        assert_eq!(cfg["seed"], 5);
    }

    #[test]
    fn padding_is_nan_and_trainable_models_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("Var");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("Var_TRAIN.tsv"),
            "1\t0.1\t0.2\t0.3\n2\t0.5\t0.4\tNaN\n",
        )
        .unwrap();
        std::fs::write(d.join("Var_TEST.tsv"), "1\t0.1\t0.2\n2\t0.5\t0.4\t0.3\n").unwrap();
        let out = dir.path().join("out");
        let mut args = ExportArgs {
            model: ModelArgs {
                model: ModelKind::Esn,
                dataset: "Var".into(),
                preset: None,
                set: vec![("n_units".into(), 4.0)],
                seed: 1,
            },
            out: out.clone(),
        };
        let files = export(&args, dir.path()).unwrap();
        assert!(!files.iter().any(|f| f.ends_with("jacobian.npy")));
        let (s, x) = read::<f32>(&out, "test_x.npy");
        assert_eq!(s, vec![2, 3, 1]);
        assert!(x[2].is_nan() && !x[5].is_nan());
        let (_, len) = read::<i64>(&out, "test_len.npy");
        assert_eq!(len, vec![2, 3]);
        args.model.model = ModelKind::Rnn;
        assert!(export(&args, dir.path())
            .unwrap_err()
            .to_string()
            .contains("reservoir models"));
    }
}
