//! A fitted model as `.npy` files and `config.json` (`mf export`), for hardware mapping and for inspection in
//! numpy. The model is the one `mf fit` writes for the same arguments (the first trial of `mf run`).
//!
//! Files (row convention `pre = x @ w_in + h @ w_rec + bias`, `h <- cell(pre, h)` from `h = 0`, and on the state
//! at each series' last step `out = h @ readout_w + readout_b`):
//!
//! | file | shape | type |
//! |---|---|---|
//! | `w_in.npy` | `(n_inputs, n_units)` | f32 |
//! | `w_rec.npy` | `(n_units, n_units)` | f32 |
//! | `bias.npy` | `(n_units,)` | f32 |
//! | `readout_w.npy` | `(n_units, n_columns)` | f64 (MF-ESN, ESN), f32 (MF-RNN, RNN) |
//! | `readout_b.npy` | `(n_columns,)` | as `readout_w.npy` |
//! | `readout_classes.npy` | `(n_seen,)` the class indices the ridge classifier saw in training (MF-ESN, ESN classification) | i64 |
//! | `train_x.npy`, `test_x.npy` | `(n, max_len, n_inputs)`, NaN after each series' end | f32 |
//! | `train_len.npy`, `test_len.npy` | `(n,)` | i64 |
//! | `train_y.npy`, `test_y.npy` | `(n,)` class index (i64) or `(n,)` target (f64) | |
//! | `train_states.npy`, `test_states.npy` | `(n, n_units)`, the state at each series' last step (MF-ESN, ESN) | f32 |
//! | `test_pred.npy` | `(n,)` predicted class index (i64) or value (f64) | |
//! | `jacobian.npy` | `(n_units, n_units)`, `J[i, j] = dh_i(t) / dh_j(t-1)` at the last step of the first training series (MF cells with ideal neurons only: with `d2d_sigma` or `c2c_sigma` the nominal cell's Jacobian is not the model's, and the file is left out) | f64 |
//! | `unit_kp0.npy`, `unit_kd0.npy`, `unit_eta_p.npy`, `unit_eta_d.npy` | `(n_units,)` each neuron's own device constants (MF-ESN with `d2d_sigma` > 0 only) | f64 |
//! | `config.json` | every hyper-parameter, the seeds, the data set, the class labels, the readout's rule and the files | |
//!
//! The readout's rule (`config.json`'s `readout.rule`): MF-ESN and ESN regression, and MF-RNN and RNN
//! regression, predict `out`. MF-ESN and ESN classification: with `s = readout_classes`, one seen class predicts
//! `s[0]`, two predict `s[1]` if `out[0] > 0` else `s[0]`, more predict `s[argmax(out)]` (the first maximum).
//! MF-RNN and RNN classification: two classes predict 1 if `out[0] > 0` else 0, more predict `argmax(out)`.

use std::path::{Path, PathBuf};

use mf_core::Targets;
use ndarray::{Array1, Array3, ArrayBase, Axis, Data, Dimension, Slice};
use ndarray_npy::WritableElement;
use serde::Serialize;

use crate::models::fitted::{ExportArray, ReadoutInfo};
use crate::models::CancelToken;
use crate::saved::{Predictions, SavedModel};
use crate::single::ModelRequest;
use crate::tasks::{load_dataset, Part, Task};
use crate::LabError;

pub use crate::models::fitted::last_step_jacobian;

#[derive(Debug, Serialize)]
struct ExportConfig<'a> {
    dataset: &'a str,
    model: &'a str,
    seed: u64,
    /// The seed the model was built from (`derive_seed(seed, 0)`, as `mf fit` and `mf run`'s first trial).
    model_seed: u64,
    config: serde_json::Value,
    test_score: f64,
    metric: crate::Metric,
    /// Class labels in class-index order (empty for regression).
    classes: &'a [String],
    readout: ReadoutInfo,
    files: Vec<String>,
}

/// What [`export_model`] wrote, and what it left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// Every file written, `config.json` last.
    pub files: Vec<PathBuf>,
    /// What was left out, and why.
    pub notes: Vec<String>,
}

fn x_with_nan(part: &Part) -> Array3<f32> {
    let mut x = part.seqs.x.clone();
    for (i, &l) in part.seqs.lengths.iter().enumerate() {
        x.index_axis_mut(Axis(0), i)
            .slice_axis_mut(Axis(0), Slice::from(l..))
            .fill(f32::NAN);
    }
    x
}

/// Writes `a` to `dir/name` as `.npy` (format 1.0, little-endian on the usual hosts), always in C order: a
/// Fortran-ordered array would otherwise be written with `fortran_order: True`, which NumPy reads correctly but
/// readers written for C order (hardware mapping scripts) may not.
pub(crate) fn write<S, D>(dir: &Path, name: &str, a: &ArrayBase<S, D>) -> Result<(), LabError>
where
    S: Data,
    S::Elem: WritableElement + Clone,
    D: Dimension,
{
    let path = dir.join(name);
    ndarray_npy::write_npy(&path, &a.as_standard_layout()).map_err(|e| LabError::Io {
        source: std::io::Error::other(e.to_string()),
        path,
    })
}

fn write_array(dir: &Path, name: &str, a: &ExportArray) -> Result<(), LabError> {
    match a {
        ExportArray::F32(a) => write(dir, name, a),
        ExportArray::F64(a) => write(dir, name, a),
        ExportArray::I64(a) => write(dir, name, a),
    }
}

fn write_y(dir: &Path, name: &str, t: &Targets) -> Result<(), LabError> {
    match t {
        Targets::Classes { labels, .. } => {
            let labels: Array1<i64> = labels.iter().map(|&l| l as i64).collect();
            write(dir, name, &labels)
        }
        Targets::Values(v) => write(dir, name, &v.column(0)),
    }
}

fn lengths(part: &Part) -> Array1<i64> {
    part.seqs.lengths.iter().map(|&l| l as i64).collect()
}

/// Whether `name` is a file an export writes: a `.npy` array or `config.json`.
fn owned_by_export(name: &str) -> bool {
    name.ends_with(".npy") || name == "config.json"
}

/// Makes `out` ready for an export: created when missing; when it already holds files, refused unless
/// `replace`, and then cleared of the files an earlier export wrote (its `.npy` arrays and `config.json`), so
/// that no array of another model (`unit_*.npy`, `jacobian.npy`, another layer) is left beside the new ones.
pub(crate) fn prepare(out: &Path, replace: bool) -> Result<(), LabError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LabError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let entries: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(io(out))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io(out))?;
    if entries.is_empty() {
        return Ok(());
    }
    if !replace {
        return Err(LabError::InvalidParams(format!(
            "{} is not empty; --force replaces the files of an earlier export (its .npy files and config.json)",
            out.display()
        )));
    }
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if path.is_file() && name.as_deref().is_some_and(owned_by_export) {
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

/// Fits the model of `req` on `req.dataset` of `data_dir` as `mf fit` does (the first trial of `mf run`) and
/// writes its files into `out` (created if needed; a directory that already holds files is refused unless
/// `replace`, see `prepare`): the model's own arrays ([`crate::models::FittedModel::arrays`]), the data it was
/// fitted and scored on, its test predictions and `config.json`.
pub fn export_model(
    req: &ModelRequest,
    data_dir: &Path,
    out: &Path,
    replace: bool,
) -> Result<Exported, LabError> {
    let ds = load_dataset(data_dir, &req.dataset)?;
    let task = Task::from_dataset(&ds)?;
    let test = task.test()?;
    // As `mf run` and sweeps do, a configuration too large for the memory is refused before anything is drawn.
    let model = SavedModel::fit(req, &task, &|_| {}, &CancelToken::new()).map_err(|e| match e {
        crate::saved::SavedModelError::Lab(e) => *e,
        e => LabError::InvalidData(e.to_string()),
    })?;
    let desc = model.description();
    prepare(out, replace)?;
    let own = model.fitted().arrays(&task.train, test)?;
    let mut files: Vec<String> = Vec::new();
    let put = |name: &str, a: ExportArray, files: &mut Vec<String>| -> Result<(), LabError> {
        write_array(out, &format!("{name}.npy"), &a)?;
        files.push(format!("{name}.npy"));
        Ok(())
    };
    // The model's weights and readout first, then the data, then its states and device constants.
    for (name, a) in own.weights {
        put(&name, a, &mut files)?;
    }
    write(out, "train_x.npy", &x_with_nan(&task.train))?;
    write(out, "test_x.npy", &x_with_nan(test))?;
    write(out, "train_len.npy", &lengths(&task.train))?;
    write(out, "test_len.npy", &lengths(test))?;
    write_y(out, "train_y.npy", &task.train.targets)?;
    write_y(out, "test_y.npy", &test.targets)?;
    files.extend(
        [
            "train_x",
            "test_x",
            "train_len",
            "test_len",
            "train_y",
            "test_y",
        ]
        .map(|f| format!("{f}.npy")),
    );
    for (name, a) in own.states {
        put(&name, a, &mut files)?;
    }
    let pred = match model
        .predict(&test.seqs)
        .map_err(|e| LabError::InvalidData(e.to_string()))?
    {
        Predictions::Classes { classes, .. } => ExportArray::I64(
            classes
                .iter()
                .map(|&l| l as i64)
                .collect::<Array1<i64>>()
                .into_dyn(),
        ),
        Predictions::Values(v) => ExportArray::F64(v.column(0).to_owned().into_dyn()),
    };
    put("test_pred", pred, &mut files)?;
    if let Some(j) = own.jacobian {
        put("jacobian", ExportArray::F64(j.into_dyn()), &mut files)?;
    }
    files.push("config.json".into());
    let cfg = ExportConfig {
        dataset: &req.dataset,
        model: req.model.id(),
        seed: req.seed,
        model_seed: desc.model_seed,
        config: desc.config.clone(),
        test_score: desc
            .test_score
            .expect("the test split exists: checked above"),
        metric: task.metric,
        classes: &desc.classes,
        readout: own.readout,
        files: files.clone(),
    };
    let path = out.join("config.json");
    let json = serde_json::to_string_pretty(&cfg).expect("an export description serialises");
    std::fs::write(&path, json).map_err(|source| LabError::Io { path, source })?;
    Ok(Exported {
        files: files.iter().map(|f| out.join(f)).collect(),
        notes: own.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::TrainingProtocol;
    use crate::{ModelKind, Normalise};
    use ndarray::{Array2, ArrayD};

    /// The arguments of `mf export`, as its tests write them.
    struct ExportArgs {
        model: ModelArgs,
        out: PathBuf,
    }

    struct ModelArgs {
        model: ModelKind,
        dataset: String,
        preset: Option<bool>,
        set: Vec<(String, f64)>,
        seed: u64,
        protocol: TrainingProtocol,
    }

    fn export(args: &ExportArgs, data_dir: &Path) -> Result<Vec<PathBuf>, LabError> {
        let m = &args.model;
        let req = ModelRequest {
            model: m.model,
            dataset: m.dataset.clone(),
            preset: m.preset == Some(true),
            set: m.set.iter().cloned().collect(),
            seed: m.seed,
            protocol: m.protocol,
            normalise: Normalise::None,
        };
        Ok(export_model(&req, data_dir, &args.out, false)?.files)
    }

    #[test]
    fn a_directory_with_files_is_refused_and_replace_leaves_no_array_of_the_earlier_export() {
        let out = tempfile::tempdir().unwrap();
        let req = |model: ModelKind, set: &[(&str, f64)]| ModelRequest {
            model,
            dataset: "synthetic-control".into(),
            preset: false,
            set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            seed: 5,
            protocol: TrainingProtocol::Reference,
            normalise: Normalise::None,
        };
        let none = Path::new("/nonexistent");
        let devices = req(ModelKind::MfEsn, &[("n_units", 10.0), ("d2d_sigma", 0.05)]);
        export_model(&devices, none, out.path(), false).unwrap();
        assert!(out.path().join("unit_kp0.npy").exists());
        std::fs::write(out.path().join("notes.txt"), "mine").unwrap();
        let esn = req(ModelKind::Esn, &[("n_units", 10.0)]);
        let e = export_model(&esn, none, out.path(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not empty") && e.contains("--force"), "{e}");
        let done = export_model(&esn, none, out.path(), true).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want: Vec<String> = done
            .files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .chain(["notes.txt".to_string()])
            .collect();
        want.sort();
        // Exactly the new export's files, and the user's own file untouched.
        assert_eq!(left, want);
        assert_eq!(
            std::fs::read_to_string(out.path().join("notes.txt")).unwrap(),
            "mine"
        );
    }

    fn read<T: ndarray_npy::ReadableElement + Copy>(
        dir: &Path,
        name: &str,
    ) -> (Vec<usize>, Vec<T>) {
        let a: ArrayD<T> = ndarray_npy::read_npy(dir.join(name)).unwrap();
        (a.shape().to_vec(), a.iter().copied().collect())
    }

    #[test]
    fn each_neurons_device_constants_are_exported_and_reproduce_the_states() {
        let out = tempfile::tempdir().unwrap();
        let args = ExportArgs {
            model: ModelArgs {
                model: ModelKind::MfEsn,
                dataset: "synthetic-control".into(),
                preset: None,
                set: vec![("n_units".into(), 20.0), ("d2d_sigma".into(), 0.05)],
                seed: 5,
                protocol: Default::default(),
            },
            out: out.path().to_path_buf(),
        };
        let files = export(&args, Path::new("/nonexistent")).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(!names.contains(&"jacobian.npy".to_string()), "{names:?}");
        let dir = out.path();
        let unit = |name: &str| {
            let (s, v) = read::<f64>(dir, &format!("unit_{name}.npy"));
            assert_eq!(s, vec![20]);
            v
        };
        let (kp0, kd0, eta_p, eta_d) = (unit("kp0"), unit("kd0"), unit("eta_p"), unit("eta_d"));
        let nominal = mf_core::Physics::default();
        assert!(kp0.iter().any(|&v| v != nominal.kp0), "the constants vary");
        let (_, w_in) = read::<f32>(dir, "w_in.npy");
        let (_, w_rec) = read::<f32>(dir, "w_rec.npy");
        let (_, bias) = read::<f32>(dir, "bias.npy");
        let (_, x) = read::<f32>(dir, "train_x.npy");
        let (_, states) = read::<f32>(dir, "train_states.npy");
        // Series 0 again from the files alone, each unit an f64 cell with its own exported constants.
        let cells: Vec<mf_core::CellKind> = (0..20)
            .map(|i| {
                let mut c = mf_core::MfCell::new(0.01, 1.0, 5.0);
                c.physics.kp0 = kp0[i];
                c.physics.kd0 = kd0[i];
                c.physics.eta_p = eta_p[i];
                c.physics.eta_d = eta_d[i];
                mf_core::CellKind::Mf(c)
            })
            .collect();
        // Series 0's 60 steps of 20 units, unit `i` advanced by `cell(i)`, in f64 from the exported f32 weights.
        let run = |cell: &dyn Fn(usize) -> mf_core::CellKind| {
            let mut h = vec![0.0f64; 20];
            for &xt in &x[..60] {
                let pre: Vec<f64> = (0..20)
                    .map(|i| {
                        xt as f64 * w_in[i] as f64
                            + (0..20)
                                .map(|j| h[j] * w_rec[j * 20 + i] as f64)
                                .sum::<f64>()
                            + bias[i] as f64
                    })
                    .collect();
                h = (0..20)
                    .map(|i| cell(i).update_scalar(pre[i], h[i]))
                    .collect();
            }
            h
        };
        let h = run(&|i| cells[i]);
        for i in 0..20 {
            assert!(
                (h[i] - states[i] as f64).abs() < 1e-4,
                "unit {i}: {} vs {}",
                h[i],
                states[i]
            );
        }
        // The nominal cell does not reproduce them: the exported constants are the ones that matter.
        let g = run(&|_| mf_core::CellKind::Mf(mf_core::MfCell::new(0.01, 1.0, 5.0)));
        assert!((0..20).any(|i| (g[i] - states[i] as f64).abs() > 1e-3));
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
                protocol: Default::default(),
            },
            out: out.path().to_path_buf(),
        };
        let files = export(&args, Path::new("/nonexistent")).unwrap();
        assert_eq!(files.len(), 17);
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

    /// A two-series data set `Var` of unequal lengths in `dir`, and the arguments exporting `model` (4 units) fitted
    /// on it to `dir/out`.
    fn var_export_args(dir: &Path, model: ModelKind) -> ExportArgs {
        let d = dir.join("Var");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("Var_TRAIN.tsv"),
            "1\t0.1\t0.2\t0.3\n2\t0.5\t0.4\tNaN\n",
        )
        .unwrap();
        std::fs::write(d.join("Var_TEST.tsv"), "1\t0.1\t0.2\n2\t0.5\t0.4\t0.3\n").unwrap();
        ExportArgs {
            model: ModelArgs {
                model,
                dataset: "Var".into(),
                preset: None,
                set: vec![("n_units".into(), 4.0)],
                seed: 1,
                protocol: Default::default(),
            },
            out: dir.join("out"),
        }
    }

    #[test]
    fn padding_is_nan_and_trainable_models_are_exported_without_states() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = var_export_args(dir.path(), ModelKind::Esn);
        let out = args.out.clone();
        let files = export(&args, dir.path()).unwrap();
        assert!(!files.iter().any(|f| f.ends_with("jacobian.npy")));
        let (s, x) = read::<f32>(&out, "test_x.npy");
        assert_eq!(s, vec![2, 3, 1]);
        assert!(x[2].is_nan() && !x[5].is_nan());
        let (_, len) = read::<i64>(&out, "test_len.npy");
        assert_eq!(len, vec![2, 3]);
        args.model.model = ModelKind::Rnn;
        args.model.set.push(("max_epochs".into(), 2.0));
        args.out = dir.path().join("rnn");
        let files = export(&args, dir.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names
                .iter()
                .any(|f| f.contains("states") || f.contains("jacobian")),
            "{names:?}"
        );
        // Two classes: one logit.
        let (s, _) = read::<f32>(&args.out, "readout_w.npy");
        assert_eq!(s, vec![4, 1]);
        let cfg = config(&args.out);
        assert_eq!(cfg["readout"]["kind"], "binary-logit");
        assert_eq!(cfg["classes"], serde_json::json!(["1", "2"]));
        let (rebuilt, margins) = rebuild(&args.out);
        let (_, pred) = read::<i64>(&args.out, "test_pred.npy");
        for ((r, p), m) in rebuilt.iter().zip(&pred).zip(&margins) {
            assert!(r == p || *m < 1e-4, "{r} vs {p} (margin {m})");
        }
    }

    fn config(dir: &Path) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap()
    }

    /// The test predictions rebuilt from the exported files alone: `mf-core` runs the cell named in `config.json`
    /// with the exported weights over `test_x.npy`, then the readout's rule applies. Returns the classes and, per
    /// series, the margin of the decision (how far the rule's comparison was from a tie).
    fn rebuild(dir: &Path) -> (Vec<i64>, Vec<f64>) {
        let cfg = config(dir);
        let cell: mf_core::CellKind =
            serde_json::from_value(cfg["config"]["cell"].clone()).unwrap();
        let weights = mf_core::Weights::<f32> {
            w_in: ndarray_npy::read_npy(dir.join("w_in.npy")).unwrap(),
            w_rec: ndarray_npy::read_npy(dir.join("w_rec.npy")).unwrap(),
            bias: ndarray_npy::read_npy(dir.join("bias.npy")).unwrap(),
        };
        let x: Array3<f32> = ndarray_npy::read_npy(dir.join("test_x.npy")).unwrap();
        let len: Array1<i64> = ndarray_npy::read_npy(dir.join("test_len.npy")).unwrap();
        let seqs = mf_core::Sequences::new(x, len.iter().map(|&l| l as usize).collect()).unwrap();
        let h = mf_core::harvest::harvest(&cell, &weights, &seqs, Default::default())
            .unwrap()
            .last;
        let kind = cfg["readout"]["kind"].as_str().unwrap().to_string();
        let out: Array2<f64> = if kind == "ridge-classifier" || kind == "ridge" {
            let w: Array2<f64> = ndarray_npy::read_npy(dir.join("readout_w.npy")).unwrap();
            let b: Array1<f64> = ndarray_npy::read_npy(dir.join("readout_b.npy")).unwrap();
            h.mapv(f64::from).dot(&w) + &b
        } else {
            let w: Array2<f32> = ndarray_npy::read_npy(dir.join("readout_w.npy")).unwrap();
            let b: Array1<f32> = ndarray_npy::read_npy(dir.join("readout_b.npy")).unwrap();
            (h.dot(&w) + &b).mapv(f64::from)
        };
        let seen: Vec<i64> = if kind == "ridge-classifier" {
            read::<i64>(dir, "readout_classes.npy").1
        } else {
            (0..out.ncols().max(2) as i64).collect()
        };
        let mut classes = Vec::new();
        let mut margins = Vec::new();
        for row in out.rows() {
            if row.len() == 1 {
                classes.push(if row[0] > 0.0 { seen[1] } else { seen[0] });
                margins.push(row[0].abs());
            } else {
                let best = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
                let second = (0..row.len())
                    .filter(|&k| k != best)
                    .map(|k| row[k])
                    .fold(f64::NEG_INFINITY, f64::max);
                classes.push(seen[best]);
                margins.push(row[best] - second);
            }
        }
        (classes, margins)
    }

    #[test]
    fn exported_files_alone_rebuild_the_predictions_of_all_four_models() {
        for (model, set) in [
            (ModelKind::MfEsn, vec![("n_units".to_string(), 12.0)]),
            (ModelKind::Esn, vec![("n_units".to_string(), 12.0)]),
            (
                ModelKind::MfRnn,
                vec![
                    ("n_units".to_string(), 8.0),
                    ("max_epochs".to_string(), 3.0),
                ],
            ),
            (
                ModelKind::Rnn,
                vec![
                    ("n_units".to_string(), 8.0),
                    ("max_epochs".to_string(), 3.0),
                ],
            ),
        ] {
            let out = tempfile::tempdir().unwrap();
            let args = ExportArgs {
                model: ModelArgs {
                    model,
                    dataset: "synthetic-control".into(),
                    preset: None,
                    set,
                    seed: 3,
                    protocol: Default::default(),
                },
                out: out.path().to_path_buf(),
            };
            export(&args, Path::new("/nonexistent")).unwrap();
            let (rebuilt, margins) = rebuild(out.path());
            let (_, pred) = read::<i64>(out.path(), "test_pred.npy");
            assert_eq!(rebuilt.len(), 300);
            if model.is_reservoir() {
                // The same harvest and the same f64 readout: the same bits.
                assert_eq!(rebuilt, pred, "{model}");
            } else {
                // mf-core's harvest and candle's recurrence agree to f32 rounding: only a near tie may differ.
                for (i, ((r, p), m)) in rebuilt.iter().zip(&pred).zip(&margins).enumerate() {
                    assert!(
                        r == p || *m < 1e-4,
                        "{model}: series {i}: {r} vs {p} (margin {m})"
                    );
                }
            }
            // The exported predictions are those of the model `mf fit` saves.
            let cfg = config(out.path());
            assert_eq!(cfg["model_seed"], mf_core::rng::derive_seed(3, 0));
            assert_eq!(cfg["classes"].as_array().unwrap().len(), 6);
        }
    }

    /// Arrays of the three exported element types in the layouts `write` meets: C order with a NaN, Fortran order
    /// (a transpose) and a strided column view.
    struct Known {
        x: Array3<f32>,
        fortran: Array2<f64>,
        ints: Array1<i64>,
        column_of: Array2<f64>,
    }

    impl Known {
        fn new() -> Known {
            let x = Array3::from_shape_fn((2, 3, 4), |(i, t, k)| {
                if i == 0 && t == 2 {
                    f32::NAN
                } else {
                    (i * 12 + t * 4 + k) as f32 * 0.1 - 1.0
                }
            });
            let fortran =
                Array2::from_shape_fn((3, 5), |(i, j)| (i as f64 + 1.0) / (j as f64 + 7.0))
                    .reversed_axes();
            assert!(!fortran.is_standard_layout());
            Known {
                x,
                fortran,
                ints: ndarray::array![-3, 0, 7, i64::MAX],
                column_of: Array2::from_shape_fn((4, 2), |(i, j)| (i * 2 + j) as f64 / 3.0),
            }
        }

        fn write(&self, dir: &Path) {
            write(dir, "x.npy", &self.x).unwrap();
            write(dir, "fortran.npy", &self.fortran).unwrap();
            write(dir, "ints.npy", &self.ints).unwrap();
            write(dir, "column.npy", &self.column_of.column(1)).unwrap();
        }

        /// `(file, descr, shape, element bits in C order)` of what `write` wrote.
        fn expected(&self) -> Vec<(&'static str, &'static str, Vec<usize>, Vec<u64>)> {
            vec![
                (
                    "x.npy",
                    "<f4",
                    vec![2, 3, 4],
                    self.x.iter().map(|v| u64::from(v.to_bits())).collect(),
                ),
                (
                    "fortran.npy",
                    "<f8",
                    vec![5, 3],
                    self.fortran.iter().map(|v| v.to_bits()).collect(),
                ),
                (
                    "ints.npy",
                    "<i8",
                    vec![4],
                    self.ints.iter().map(|&v| v as u64).collect(),
                ),
                (
                    "column.npy",
                    "<f8",
                    vec![4],
                    self.column_of
                        .column(1)
                        .iter()
                        .map(|v| v.to_bits())
                        .collect(),
                ),
            ]
        }
    }

    /// The `.npy` header of the file at `path` as text, checking the version 1.0 prelude and 64-byte alignment.
    fn header(path: &Path) -> String {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00", "{}", path.display());
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0, "{}", path.display());
        String::from_utf8(b[10..10 + hlen].to_vec()).unwrap()
    }

    #[test]
    fn arrays_of_any_layout_round_trip_through_read_npy_in_c_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let k = Known::new();
        k.write(d);
        let x: Array3<f32> = ndarray_npy::read_npy(d.join("x.npy")).unwrap();
        assert_eq!(x.dim(), (2, 3, 4));
        assert!(x.iter().zip(&k.x).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(x[[0, 2, 1]].is_nan());
        let f: Array2<f64> = ndarray_npy::read_npy(d.join("fortran.npy")).unwrap();
        assert_eq!(f, k.fortran);
        let n: Array1<i64> = ndarray_npy::read_npy(d.join("ints.npy")).unwrap();
        assert_eq!(n, k.ints);
        let c: Array1<f64> = ndarray_npy::read_npy(d.join("column.npy")).unwrap();
        assert_eq!(c, k.column_of.column(1));
        for (file, descr, shape, _) in k.expected() {
            let h = header(&d.join(file));
            assert!(h.contains(&format!("'descr': '{descr}'")), "{file}: {h}");
            assert!(h.contains("'fortran_order': False"), "{file}: {h}");
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            assert!(h.contains(&dims.join(", ")), "{file}: {h}");
        }
        // The element type is checked on reading: an f32 file is no f64 array.
        assert!(ndarray_npy::read_npy::<_, ArrayD<f64>>(d.join("x.npy")).is_err());
    }

    /// Loads every `.npy` file of `dir` with NumPy; per file: dtype string, shape, Fortran flag, format version and
    /// the elements' bits in C order (floats reinterpreted as unsigned integers, so NaN and every digit compare).
    const NUMPY_REPORT: &str = r#"
import json, os, sys
import numpy as np
out = {}
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".npy"):
        continue
    path = os.path.join(sys.argv[1], name)
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        _, fortran_order, _ = read_header(f)
    a = np.load(path)
    bits = np.ascontiguousarray(a).view("<u%d" % a.dtype.itemsize).ravel()
    out[name] = {"descr": a.dtype.str, "shape": list(a.shape), "fortran_order": fortran_order,
                 "version": list(version), "bits": [int(b) for b in bits]}
print(json.dumps(out))
"#;

    fn numpy_available() -> bool {
        std::process::Command::new("python3")
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn numpy_report(dir: &Path) -> serde_json::Value {
        let o = std::process::Command::new("python3")
            .args(["-c", NUMPY_REPORT])
            .arg(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    fn check_numpy(
        report: &serde_json::Value,
        file: &str,
        descr: &str,
        shape: &[usize],
        bits: &[u64],
    ) {
        let r = &report[file];
        assert_eq!(r["descr"], descr, "{file}");
        assert_eq!(r["shape"], serde_json::json!(shape), "{file}");
        assert_eq!(r["fortran_order"], false, "{file}");
        assert_eq!(r["version"], serde_json::json!([1, 0]), "{file}");
        assert_eq!(r["bits"], serde_json::json!(bits), "{file}");
    }

    #[test]
    fn numpy_reads_the_written_arrays_with_their_types_shapes_and_values() {
        if !numpy_available() {
            eprintln!(
                "skipping: `python3 -c 'import numpy'` failed (pip install numpy to run this test)"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // Arrays known in memory, in every layout `write` meets.
        let known = dir.path().join("known");
        std::fs::create_dir_all(&known).unwrap();
        let k = Known::new();
        k.write(&known);
        let report = numpy_report(&known);
        for (file, descr, shape, bits) in k.expected() {
            check_numpy(&report, file, descr, &shape, &bits);
        }
        // A real export: every file with its documented type and shape, and the values the Rust reader finds.
        let args = var_export_args(dir.path(), ModelKind::MfEsn);
        let files = export(&args, dir.path()).unwrap();
        let report = numpy_report(&args.out);
        let expected: [(&str, &str, &[usize]); 16] = [
            ("w_in.npy", "<f4", &[1, 4]),
            ("w_rec.npy", "<f4", &[4, 4]),
            ("bias.npy", "<f4", &[4]),
            ("readout_w.npy", "<f8", &[4, 1]),
            ("readout_b.npy", "<f8", &[1]),
            ("readout_classes.npy", "<i8", &[2]),
            ("train_x.npy", "<f4", &[2, 3, 1]),
            ("test_x.npy", "<f4", &[2, 3, 1]),
            ("train_len.npy", "<i8", &[2]),
            ("test_len.npy", "<i8", &[2]),
            ("train_y.npy", "<i8", &[2]),
            ("test_y.npy", "<i8", &[2]),
            ("train_states.npy", "<f4", &[2, 4]),
            ("test_states.npy", "<f4", &[2, 4]),
            ("test_pred.npy", "<i8", &[2]),
            ("jacobian.npy", "<f8", &[4, 4]),
        ];
        assert_eq!(report.as_object().unwrap().len(), expected.len());
        assert_eq!(files.len(), expected.len() + 1);
        for (file, descr, shape) in expected {
            let bits: Vec<u64> = match descr {
                "<f4" => read::<f32>(&args.out, file)
                    .1
                    .iter()
                    .map(|v| u64::from(v.to_bits()))
                    .collect(),
                "<f8" => read::<f64>(&args.out, file)
                    .1
                    .iter()
                    .map(|v| v.to_bits())
                    .collect(),
                _ => read::<i64>(&args.out, file)
                    .1
                    .iter()
                    .map(|&v| v as u64)
                    .collect(),
            };
            check_numpy(&report, file, descr, shape, &bits);
        }
        assert_eq!(report["test_len.npy"]["bits"], serde_json::json!([2, 3]));
    }
}
