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
use ndarray::{s, Array1, Array2, Array3, ArrayBase, Data, Dimension};
use ndarray_npy::WritableElement;
use serde::Serialize;

use super::run::ModelArgs;
use mf_lab::memory::{self, Available};
use mf_lab::models::{DataShape, TrialData};
use mf_lab::tasks::{load_dataset, Part, Task};

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
    config: serde_json::Value,
    test_score: f64,
    metric: mf_lab::Metric,
    files: Vec<String>,
}

fn x_with_nan(part: &Part) -> Array3<f32> {
    let mut x = part.seqs.x.clone();
    for (i, &l) in part.seqs.lengths.iter().enumerate() {
        x.slice_mut(s![i, l.., ..]).fill(f32::NAN);
    }
    x
}

/// Writes `a` to `dir/name` as `.npy` (format 1.0, little-endian on the usual hosts), always in C order: a
/// Fortran-ordered array would otherwise be written with `fortran_order: True`, which NumPy reads correctly but
/// readers written for C order (hardware mapping scripts) may not.
fn write<S, D>(dir: &Path, name: &str, a: &ArrayBase<S, D>) -> anyhow::Result<()>
where
    S: Data,
    S::Elem: WritableElement + Clone,
    D: Dimension,
{
    let path = dir.join(name);
    ndarray_npy::write_npy(&path, &a.as_standard_layout())
        .with_context(|| format!("writing {}", path.display()))
}

fn write_y(dir: &Path, name: &str, t: &Targets) -> anyhow::Result<()> {
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
    let Some(rc) = config.as_any().downcast_ref::<mf_esn::ReservoirConfig>() else {
        bail!(
            "mf export writes reservoir models (mf-esn, esn); {} is trained end to end",
            m.model.id()
        );
    };
    let ds = load_dataset(data_dir, &m.dataset)?;
    let task = Task::from_dataset(&ds)?;
    let test = task.test()?;
    // As `mf run` and sweeps do: a reservoir too large for the memory is refused before it is drawn.
    let data = TrialData {
        train: &task.train,
        val: None,
        eval: test,
    };
    let shape = DataShape::of(&data);
    memory::check(config.memory_bytes(&shape), &Available::now(), &shape)
        .with_context(|| format!("{} on {}", m.model, m.dataset))?;
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
    write(dir, "w_in.npy", &w.w_in)?;
    write(dir, "w_rec.npy", &w.w_rec)?;
    write(dir, "bias.npy", &w.bias)?;
    write(dir, "train_x.npy", &x_with_nan(&task.train))?;
    write(dir, "test_x.npy", &x_with_nan(test))?;
    write(dir, "train_len.npy", &lengths(&task.train))?;
    write(dir, "test_len.npy", &lengths(test))?;
    write_y(dir, "train_y.npy", &task.train.targets)?;
    write_y(dir, "test_y.npy", &test.targets)?;
    write(dir, "train_states.npy", fitted.train_states())?;
    write(dir, "test_states.npy", &test_states)?;
    match pred {
        Prediction::Classes(c) => {
            let c: Array1<i64> = c.iter().map(|&l| l as i64).collect();
            write(dir, "test_pred.npy", &c)?;
        }
        Prediction::Values(v) => write(dir, "test_pred.npy", &v.column(0))?,
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
        write(dir, "jacobian.npy", &j)?;
        files.push("jacobian.npy".into());
    }
    files.push("config.json".into());
    let cfg = ExportConfig {
        dataset: &m.dataset,
        model: m.model.id(),
        seed: m.seed,
        config: config.to_json(),
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
    use mf_lab::ModelKind;
    use ndarray::ArrayD;

    fn read<T: ndarray_npy::ReadableElement + Copy>(
        dir: &Path,
        name: &str,
    ) -> (Vec<usize>, Vec<T>) {
        let a: ArrayD<T> = ndarray_npy::read_npy(dir.join(name)).unwrap();
        (a.shape().to_vec(), a.iter().copied().collect())
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
            },
            out: dir.join("out"),
        }
    }

    #[test]
    fn padding_is_nan_and_trainable_models_are_refused() {
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
        assert!(export(&args, dir.path())
            .unwrap_err()
            .to_string()
            .contains("reservoir models"));
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
        let expected: [(&str, &str, &[usize]); 13] = [
            ("w_in.npy", "<f4", &[1, 4]),
            ("w_rec.npy", "<f4", &[4, 4]),
            ("bias.npy", "<f4", &[4]),
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
