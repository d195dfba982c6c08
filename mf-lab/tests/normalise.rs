//! Input normalisation end to end: the statistics, the splits they apply to, saved models, streaming, the
//! store's identity of a sweep, and the invariance to the data's scale that it exists for.

use std::path::{Path, PathBuf};

use mf_core::Sequences;
use mf_data::{Dataset, RawSplit, Split};
use mf_lab::eval::ModelEvaluator;
use mf_lab::models::CancelToken;
use mf_lab::models::FittedModel;
use mf_lab::normalise::{InputScaling, Normalise};
use mf_lab::saved::{Predictions, SavedModel, DESCRIPTION_FILE};
use mf_lab::single::{run_trials_on_test, ModelRequest};
use mf_lab::tasks::{load_dataset, Task};
use mf_lab::training::TrainingProtocol;
use mf_lab::{spec_dir, Evaluator, Job, LabError, ModelKind, Spec, Store};

/// Mean and population variance of each input dimension over the steps inside each series, by Welford's
/// online update: an independent computation of the statistics `InputScaling::zscore` takes in two passes.
fn welford(seqs: &Sequences) -> (Vec<f64>, Vec<f64>) {
    let d = seqs.n_inputs();
    let (mut n, mut mean, mut m2) = (0.0f64, vec![0.0f64; d], vec![0.0f64; d]);
    for (i, &len) in seqs.lengths.iter().enumerate() {
        for t in 0..len {
            n += 1.0;
            for k in 0..d {
                let v = f64::from(seqs.x[[i, t, k]]);
                let delta = v - mean[k];
                mean[k] += delta / n;
                m2[k] += delta * (v - mean[k]);
            }
        }
    }
    (mean, m2.iter().map(|m| m / n).collect())
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

/// Two classes of 2-dimensional series of lengths 5 to 14: dimension 1 around 1000 (spread about 50),
/// dimension 2 around 0 (spread 0.01), one value missing inside a series; the test split is shifted by 300 in
/// dimension 1, so its own statistics differ from the training split's.
fn two_scale_dataset() -> Dataset {
    let split = |n: usize, shift: f64, phase: f64| {
        let mut series = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let len = 5 + (i * 7) % 10;
            let class = i % 2;
            let a: Vec<f64> = (0..len)
                .map(|t| {
                    1000.0
                        + shift
                        + 50.0 * (0.7 * t as f64 + i as f64 + phase).sin()
                        + 20.0 * class as f64
                })
                .collect();
            let b: Vec<f64> = (0..len)
                .map(|t| 0.01 * (1.3 * t as f64 + 2.0 * i as f64).cos() - 0.005 * class as f64)
                .collect();
            series.push(vec![a, b]);
            labels.push(["a", "b"][class].to_string());
        }
        series[3][0][2] = f64::NAN;
        Split::from_raw(&RawSplit {
            series,
            labels: Some(labels),
            targets: None,
            declared_classes: None,
        })
        .unwrap()
    };
    Dataset::new(
        "two-scale",
        split(40, 0.0, 0.0),
        Some(split(20, 300.0, 0.4)),
    )
    .unwrap()
}

fn task() -> Task {
    Task::from_dataset(&two_scale_dataset()).unwrap()
}

#[test]
fn the_normalised_training_split_has_mean_0_and_std_1_in_every_dimension() {
    let raw = task();
    let (z, scaling) = raw.normalised(Normalise::Zscore).unwrap();
    let scaling = scaling.unwrap();
    let (mean, var) = welford(&raw.train.seqs);
    for k in 0..2 {
        assert!(
            close(scaling.mean[k], mean[k], 1e-12),
            "{scaling:?} {mean:?}"
        );
        assert!(
            close(scaling.std[k], var[k].sqrt(), 1e-9),
            "{scaling:?} {var:?}"
        );
    }
    // The scales differ by 10^5, and both come out at mean 0 and standard deviation 1 (to f32 rounding).
    assert!(scaling.std[0] / scaling.std[1] > 1e3);
    let (zm, zv) = welford(&z.train.seqs);
    for k in 0..2 {
        assert!(zm[k].abs() < 1e-6, "dimension {k}: mean {}", zm[k]);
        assert!(
            (zv[k].sqrt() - 1.0).abs() < 1e-6,
            "dimension {k}: std {}",
            zv[k].sqrt()
        );
    }
    // Steps after a series' end are left as they were.
    let (len0, max) = (raw.train.seqs.lengths[0], raw.train.seqs.max_len());
    for t in len0..max {
        assert_eq!(z.train.seqs.x[[0, t, 0]], raw.train.seqs.x[[0, t, 0]]);
    }
    assert_eq!(z.train.targets, raw.train.targets);
    // `none` is the task itself, untouched.
    let (same, none) = raw.normalised(Normalise::None).unwrap();
    assert!(none.is_none() && std::ptr::eq(same.as_ref(), &raw));
}

#[test]
fn the_test_split_is_scaled_with_the_training_statistics_not_its_own() {
    let raw = task();
    let (z, _) = raw.normalised(Normalise::Zscore).unwrap();
    let (mean, var) = welford(&raw.train.seqs);
    let (rt, zt) = (&raw.test().unwrap().seqs, &z.test().unwrap().seqs);
    for (i, &len) in rt.lengths.iter().enumerate() {
        for t in 0..len {
            for k in 0..2 {
                let expected = (f64::from(rt.x[[i, t, k]]) - mean[k]) / var[k].sqrt();
                let got = f64::from(zt.x[[i, t, k]]);
                assert!(
                    (got - expected).abs() < 1e-5,
                    "{i} {t} {k}: {got} vs {expected}"
                );
            }
        }
    }
    // The test split's shift of 300 shows: its own statistics would have centred it.
    let (test_mean, _) = welford(zt);
    assert!(test_mean[0] > 3.0, "{test_mean:?}");
}

#[test]
fn model_selection_fits_the_scaling_on_the_fit_part_alone() {
    let raw = task();
    let (fit, val) = raw.fit_val_normalised(0.25, 9, Normalise::Zscore).unwrap();
    let (raw_fit, raw_val) = raw.fit_val(0.25, 9);
    let (fm, fv) = welford(&fit.seqs);
    assert!(fm.iter().all(|m| m.abs() < 1e-6) && fv.iter().all(|v| (v.sqrt() - 1.0).abs() < 1e-6));
    let (mean, var) = welford(&raw_fit.seqs);
    for (i, &len) in raw_val.seqs.lengths.iter().enumerate() {
        for t in 0..len {
            let expected = (f64::from(raw_val.seqs.x[[i, t, 0]]) - mean[0]) / var[0].sqrt();
            assert!((f64::from(val.seqs.x[[i, t, 0]]) - expected).abs() < 1e-5);
        }
    }
    // Not the whole training split's statistics.
    let whole = InputScaling::zscore(&raw.train.seqs).unwrap();
    assert!(!close(whole.mean[0], mean[0], 1e-9));
}

#[test]
fn a_constant_dimension_is_refused_naming_the_split_and_the_dimension() {
    let mut raw = two_scale_dataset().train.to_raw();
    for s in &mut raw.series {
        s[1].iter_mut().for_each(|v| *v = 0.5);
    }
    let ds = Dataset::new("flat", Split::from_raw(&raw).unwrap(), None).unwrap();
    let e = Task::from_dataset(&ds)
        .unwrap()
        .normalised(Normalise::Zscore)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "flat: training split: z-score normalisation: input dimension 2 is constant (0.5)"
        ),
        "{e}"
    );
}

fn request(model: ModelKind, set: &[(&str, f64)], normalise: Normalise) -> ModelRequest {
    ModelRequest {
        model,
        dataset: "two-scale".into(),
        preset: false,
        set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        seed: 5,
        protocol: TrainingProtocol::FreshSplit,
        normalise,
    }
}

fn requests(normalise: Normalise) -> Vec<ModelRequest> {
    vec![
        request(ModelKind::MfEsn, &[("n_units", 20.0)], normalise),
        request(
            ModelKind::Rnn,
            &[("n_units", 8.0), ("max_epochs", 3.0)],
            normalise,
        ),
    ]
}

fn fit(req: &ModelRequest, task: &Task) -> SavedModel {
    SavedModel::fit(req, task, &|_| {}, &CancelToken::new()).unwrap()
}

fn bits(p: &Predictions) -> Vec<u64> {
    match p {
        Predictions::Classes { classes, scores } => classes
            .iter()
            .map(|&c| c as u64)
            .chain(scores.iter().map(|v| v.to_bits()))
            .collect(),
        Predictions::Values(v) => v.iter().map(|v| v.to_bits()).collect(),
    }
}

/// The fitted model's classes for `seqs`, given to it as they are (no scaling on the way).
fn own_classes(fitted: &dyn FittedModel, seqs: &Sequences) -> Vec<usize> {
    match fitted.predict(seqs, 6).unwrap() {
        Predictions::Classes { classes, .. } => classes,
        p => panic!("{p:?}"),
    }
}

#[test]
fn fit_save_load_predict_with_zscore_is_bit_identical_to_the_model_in_process() {
    let raw = task();
    let (z, scaling) = raw.normalised(Normalise::Zscore).unwrap();
    let raw_test = &raw.test().unwrap().seqs;
    let z_test = &z.test().unwrap().seqs;
    for req in requests(Normalise::Zscore) {
        let model = fit(&req, &raw);
        assert_eq!(model.description().normalise, scaling, "{}", req.model);
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let back = SavedModel::load(dir.path()).unwrap();
        assert_eq!(back.description(), model.description());
        // Raw series into the saved model, normalised series into the fitted model: the same bits.
        let (a, b) = (
            model.predict(raw_test).unwrap(),
            back.predict(raw_test).unwrap(),
        );
        assert_eq!(bits(&a), bits(&b), "{}", req.model);
        let Predictions::Classes { classes, .. } = &b else {
            panic!("classification")
        };
        assert_eq!(
            classes,
            &own_classes(model.fitted(), z_test),
            "{}",
            req.model
        );
        assert_eq!(
            mf_lab::saved::score(&b, &raw.test().unwrap().targets).unwrap(),
            model.description().test_score.unwrap()
        );
    }
}

#[test]
fn streaming_with_zscore_predicts_what_the_batch_predicts() {
    let raw = task();
    let test = raw.test().unwrap();
    for req in requests(Normalise::Zscore) {
        let model = fit(&req, &raw);
        let batch = model.predict(&test.seqs).unwrap();
        let mut stream = model.stream().unwrap();
        for i in 0..test.len() {
            stream.reset();
            let s = test.seqs.series(i);
            for row in s.rows() {
                stream.push(&row.to_vec()).unwrap();
            }
            match (stream.predict(), &batch) {
                (
                    Predictions::Classes { classes, scores },
                    Predictions::Classes {
                        classes: bc,
                        scores: bs,
                    },
                ) => {
                    assert_eq!(classes[0], bc[i], "{}: series {i}", req.model);
                    for (a, b) in scores.row(0).iter().zip(bs.row(i)) {
                        assert!(a == b || (a - b).abs() < 1e-4, "{}: {a} vs {b}", req.model);
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        // A sample that overflows once scaled (dimension 2 has a standard deviation near 0.007) is refused,
        // naming the value.
        let huge = stream.push(&[0.0, f32::MAX]);
        assert!(
            huge.as_ref()
                .is_err_and(|e| e.to_string().contains("value 2")),
            "{huge:?}"
        );
    }
}

#[test]
fn an_old_description_without_the_field_loads_as_unnormalised() {
    let raw = task();
    let test = &raw.test().unwrap().seqs;
    // A model without normalisation writes no field at all, as descriptions did before it existed.
    let plain = fit(
        &request(ModelKind::MfEsn, &[("n_units", 20.0)], Normalise::None),
        &raw,
    );
    let dir = tempfile::tempdir().unwrap();
    plain.save(dir.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(DESCRIPTION_FILE)).unwrap())
            .unwrap();
    assert!(json.get("normalise").is_none(), "{json}");
    assert!(SavedModel::load(dir.path())
        .unwrap()
        .description()
        .normalise
        .is_none());
    // A z-score model's description with the field removed loads, as unnormalised: its predictions are the
    // fitted model's own on the raw series.
    let z = fit(
        &request(ModelKind::MfEsn, &[("n_units", 20.0)], Normalise::Zscore),
        &raw,
    );
    let dir = tempfile::tempdir().unwrap();
    z.save(dir.path()).unwrap();
    let path = dir.path().join(DESCRIPTION_FILE);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["normalise"]["method"], "zscore");
    assert_eq!(json["normalise"]["mean"].as_array().unwrap().len(), 2);
    let stored = json.clone();
    json.as_object_mut().unwrap().remove("normalise");
    // A description written before `normalise` existed predates its checksum too.
    json.as_object_mut()
        .unwrap()
        .remove(mf_lab::saved::CHECKSUM_FIELD);
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let old = SavedModel::load(dir.path()).unwrap();
    assert!(old.description().normalise.is_none());
    let Predictions::Classes { classes, .. } = old.predict(test).unwrap() else {
        panic!()
    };
    assert_eq!(classes, own_classes(z.fitted(), test));
    assert_ne!(
        bits(&old.predict(test).unwrap()),
        bits(&z.predict(test).unwrap()),
        "the stored statistics take effect"
    );
    // Damaged statistics are refused naming the field.
    let mut bad = stored;
    bad["normalise"]["std"][1] = serde_json::json!(0.0);
    std::fs::write(&path, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
    let e = SavedModel::load(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("model.json: normalise.std of dimension 2 is 0, not positive"),
        "{e}"
    );
}

#[test]
fn sweeps_with_and_without_normalisation_never_share_a_store() {
    let text = "datasets = [\"a\"]\nmodels = [\"mf-esn\", \"rnn\"]\nseed = 4\n";
    let none = Spec::from_toml(text).unwrap();
    let z = Spec::from_toml(&format!("{text}normalise = \"zscore\"\n")).unwrap();
    assert_eq!(none.normalise, Normalise::None);
    assert_eq!(z.normalise, Normalise::Zscore);
    // `none` leaves the canonical form (and so the hash of every earlier spec) as it was.
    assert!(!none.canonical_json().contains("normalise"));
    assert_eq!(
        none.hash(),
        Spec::from_toml(&format!("{text}normalise = \"none\"\n"))
            .unwrap()
            .hash()
    );
    assert_ne!(none.hash(), z.hash());
    let results = Path::new("results");
    assert_ne!(spec_dir(results, &none), spec_dir(results, &z));
    assert_eq!(Spec::from_toml(&z.to_toml()).unwrap().hash(), z.hash());
    let e = Spec::from_toml(&format!("{text}normalise = \"minmax\"\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("minmax") && e.contains("zscore"), "{e}");
    // The jobs carry it; their seeds are the same, so the two sweeps compare draw for draw.
    for m in [ModelKind::MfEsn, ModelKind::Rnn] {
        let (a, b) = (
            Job::validation(&none, "a", m, 0).unwrap(),
            Job::validation(&z, "a", m, 0).unwrap(),
        );
        assert_eq!(
            (a.normalise, b.normalise),
            (Normalise::None, Normalise::Zscore)
        );
        assert_eq!(a.seeds, b.seeds);
        assert_ne!(a, b);
        assert!(serde_json::to_value(&a).unwrap().get("normalise").is_none());
        assert_eq!(serde_json::to_value(&b).unwrap()["normalise"], "zscore");
    }
    // A store of one spec refuses to open for the other.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.jsonl");
    drop(Store::open(&path, &none.hash()).unwrap());
    assert!(matches!(
        Store::open(&path, &z.hash()),
        Err(LabError::SpecMismatch { .. })
    ));
}

/// Writes `ds` with every input value times `factor` as `<dir>/<name>/<name>_TRAIN.ts` and `_TEST.ts`.
fn write_scaled(dir: &Path, name: &str, ds: &Dataset, factor: f64) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let classes = ds.classes();
    for (suffix, split) in [("TRAIN", Some(&ds.train)), ("TEST", ds.test.as_ref())] {
        let raw = split.unwrap().to_raw();
        let mut text = match &classes {
            Some(c) => format!("@classLabel true {}\n@data\n", c.join(" ")),
            None => "@targetLabel true\n@data\n".to_string(),
        };
        for (i, dims) in raw.series.iter().enumerate() {
            let values: Vec<String> = dims
                .iter()
                .map(|v| {
                    v.iter()
                        .map(|x| format!("{}", x * factor))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            let last = match (&raw.labels, &raw.targets) {
                (Some(l), _) => l[i].clone(),
                (None, Some(t)) => format!("{}", t[i]),
                _ => unreachable!(),
            };
            text.push_str(&format!("{}:{last}\n", values.join(":")));
        }
        std::fs::write(d.join(format!("{name}_{suffix}.ts")), text).unwrap();
    }
}

fn data_dirs(source: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let ds = load_dataset(Path::new("/nonexistent"), source).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (one, thousand) = (dir.path().join("x1"), dir.path().join("x1000"));
    write_scaled(&one, "Set", &ds, 1.0);
    write_scaled(&thousand, "Set", &ds, 1000.0);
    (dir, one, thousand)
}

fn run_on(dir: &Path, normalise: Normalise) -> Vec<f64> {
    let mut req = request(ModelKind::MfEsn, &[("n_units", 30.0)], normalise);
    req.dataset = "Set".into();
    run_trials_on_test(
        &req,
        2,
        dir,
        &|_| {},
        &mut |_, _, _| {},
        &CancelToken::new(),
    )
    .unwrap()
    .per_trial
}

#[test]
fn data_scaled_by_1000_score_the_same_with_zscore_and_differently_without() {
    // Classification (accuracy) and regression (RMSE).
    for source in ["synthetic-control", "narma10-windows"] {
        let (_keep, one, thousand) = data_dirs(source);
        let (a, b) = (
            run_on(&one, Normalise::Zscore),
            run_on(&thousand, Normalise::Zscore),
        );
        eprintln!("{source} zscore: x1 {a:?}, x1000 {b:?}");
        for (x, y) in a.iter().zip(&b) {
            assert!(close(*x, *y, 1e-4), "{source}: {a:?} vs {b:?}");
        }
        let (a, b) = (
            run_on(&one, Normalise::None),
            run_on(&thousand, Normalise::None),
        );
        eprintln!("{source} none: x1 {a:?}, x1000 {b:?}");
        assert!(
            a.iter().zip(&b).any(|(x, y)| !close(*x, *y, 1e-2)),
            "{source}: the MF-ESN saturates on inputs in the thousands: {a:?} vs {b:?}"
        );
    }
}

#[test]
fn sweep_jobs_apply_the_spec_normalisation() {
    let (_keep, one, thousand) = data_dirs("narma10-windows");
    let spec = Spec::from_toml(
        "datasets = [\"Set\"]\nmodels = [\"mf-esn\"]\ndraws = 2\ntrials = 1\nn_units = 20\nnormalise = \"zscore\"\n\
         [grid.mf-esn]\nrho = [0.9]\n",
    )
    .unwrap();
    let scores = |dir: &Path, spec: &Spec| {
        let ev = ModelEvaluator::new(dir.to_path_buf());
        let job = Job::validation(spec, "Set", ModelKind::MfEsn, 0).unwrap();
        let fin = Job::final_of(spec, "Set", ModelKind::MfEsn, 0).unwrap();
        let run = |j: &Job| ev.evaluate(j, &|_| {}, &CancelToken::new()).unwrap().scores;
        (run(&job), run(&fin))
    };
    let (v1, f1) = scores(&one, &spec);
    let (v1000, f1000) = scores(&thousand, &spec);
    for (x, y) in v1.iter().chain(&f1).zip(v1000.iter().chain(&f1000)) {
        assert!(close(*x, *y, 1e-4), "{v1:?} {f1:?} vs {v1000:?} {f1000:?}");
    }
    // Without the normalisation the same jobs score otherwise on the scaled data.
    let mut none = spec.clone();
    none.normalise = Normalise::None;
    let (vn, _) = scores(&thousand, &none);
    assert!(vn.iter().zip(&v1000).any(|(x, y)| !close(*x, *y, 1e-2)));
}
