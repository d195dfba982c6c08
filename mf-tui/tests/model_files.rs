//! The real `mf` binary using a trained model: `mf fit` on the generated synthetic-control set, then
//! `mf predict` from a file and from standard input, and the errors for files and directories that do not fit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn mf(args: &[&str], data_dir: &Path, stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mf"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_BACKTRACE")
        .spawn()
        .expect("mf runs");
    // Written from a thread while the output is read, so that neither side waits on a full pipe; `mf` may exit
    // (on bad input) before reading everything, which closes the pipe: that is not the test's failure.
    let mut pipe = child.stdin.take().unwrap();
    let text = stdin.unwrap_or_default().to_string();
    let writer = std::thread::spawn(move || match pipe.write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing mf's input: {e}"),
        _ => {}
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "mf failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn failure(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The test split of synthetic-control as a UCR `.tsv` file (label, then the values), every value written so
/// that it reads back to the same f64; returns the file and the series.
fn test_split_file(dir: &Path) -> (PathBuf, Vec<Vec<f64>>) {
    let ds = mf_lab::tasks::load_dataset(dir, "synthetic-control").unwrap();
    let raw = ds.test.unwrap().to_raw();
    let labels = raw.labels.unwrap();
    let mut text = String::new();
    let mut series = Vec::new();
    for (s, label) in raw.series.iter().zip(&labels) {
        let values: Vec<String> = s[0].iter().map(|v| format!("{v:?}")).collect();
        text.push_str(&format!("{label}\t{}\n", values.join("\t")));
        series.push(s[0].clone());
    }
    let path = dir.join("SC_TEST.tsv");
    std::fs::write(&path, text).unwrap();
    (path, series)
}

#[test]
fn fit_then_predict_from_a_file_and_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("model");
    let m = model.to_str().unwrap();
    let fit = [
        "fit",
        "--model",
        "mf-esn",
        "--dataset",
        "synthetic-control",
        "--set",
        "n_units=40",
        "--seed",
        "3",
        "--out",
        m,
        "--json",
    ];
    let desc: serde_json::Value = serde_json::from_str(&ok(&mf(&fit, d, None))).unwrap();
    assert_eq!(desc["format"], "memristive-model");
    assert_eq!(desc["format_version"], 1);
    assert_eq!(desc["classes"].as_array().unwrap().len(), 6);
    let test_score = desc["test_score"].as_f64().unwrap();
    // `mf fit` refuses to write over a model unless told to.
    let err = failure(&mf(&fit, d, None));
    assert!(
        err.contains("already holds a model; --force replaces it"),
        "{err}"
    );
    // The model is `mf run`'s first trial.
    let run: serde_json::Value = serde_json::from_str(&ok(&mf(
        &[
            "run",
            "--model",
            "mf-esn",
            "--set",
            "n_units=40",
            "--seed",
            "3",
            "--trials",
            "1",
            "--json",
        ],
        d,
        None,
    )))
    .unwrap();
    assert_eq!(run["per_trial"][0].as_f64().unwrap(), test_score);

    // From a file: one CSV row per series, and the metric on stderr: the test split's file scores what the
    // model scored on the test split when it was fitted.
    let (file, series) = test_split_file(d);
    let f = file.to_str().unwrap();
    let o = mf(&["predict", m, "--input", f], d, None);
    let csv = ok(&o);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "series,label,score_1,score_2,score_3,score_4,score_5,score_6"
    );
    assert_eq!(lines.len(), 301);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "accuracy {test_score:.4} on the 300 series of {f}"
        )),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&mf(
        &["predict", m, "--input", f, "--format", "json"],
        d,
        None,
    )))
    .unwrap();
    assert_eq!(json["score"].as_f64().unwrap(), test_score);
    let preds = json["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 300);
    assert_eq!(preds[0]["series"], 1);

    // From standard input: three series, one value per line, a blank line between them.
    let picked = [0usize, 101, 250];
    let text: Vec<String> = picked
        .iter()
        .map(|&i| {
            series[i]
                .iter()
                .map(|v| format!("{v:?}\n"))
                .collect::<String>()
        })
        .collect();
    let stdin = text.join("\n");
    let every = ok(&mf(&["predict", m, "--stream"], d, Some(&stdin)));
    let every: Vec<&str> = every.lines().collect();
    assert_eq!(
        every[0],
        "series,step,label,score_1,score_2,score_3,score_4,score_5,score_6"
    );
    assert_eq!(every.len(), 1 + 3 * 60);
    assert!(every[60].starts_with("1,60,") && every[61].starts_with("2,1,"));
    let at_end = ok(&mf(
        &["predict", m, "--stream", "--at-end", "--format", "json"],
        d,
        Some(&stdin),
    ));
    let at_end: Vec<serde_json::Value> = at_end
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(at_end.len(), 3);
    for (k, &i) in picked.iter().enumerate() {
        let (streamed, batch) = (&at_end[k], &preds[i]);
        assert_eq!(streamed["series"], k + 1);
        assert_eq!(streamed["step"], 60);
        assert_eq!(streamed["label"], batch["label"], "series {i}");
        for (a, b) in streamed["scores"]
            .as_array()
            .unwrap()
            .iter()
            .zip(batch["scores"].as_array().unwrap())
        {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((a - b).abs() < 1e-4, "series {i}: {a} vs {b}");
        }
        // The CSV stream's row at the series' last step says the same.
        assert!(every[1 + k * 60 + 59].starts_with(&format!(
            "{},60,{},",
            k + 1,
            batch["label"].as_str().unwrap()
        )));
    }
    let err = failure(&mf(&["predict", m, "--stream"], d, Some("0.5\n0.1 0.2\n")));
    assert!(
        err.contains("standard input, line 2: sample 2: 2 values, but the model takes 1"),
        "{err}"
    );
}

#[test]
fn files_and_directories_that_do_not_fit_the_model_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("model");
    let m = model.to_str().unwrap();
    ok(&mf(
        &["fit", "--model", "esn", "--set", "n_units=10", "--out", m],
        d,
        None,
    ));
    let two_dims = d.join("two.ts");
    std::fs::write(
        &two_dims,
        "@dimensions 2\n@classLabel true 1 2\n@data\n1,2:3,4:1\n",
    )
    .unwrap();
    let err = failure(&mf(
        &["predict", m, "--input", two_dims.to_str().unwrap()],
        d,
        None,
    ));
    assert!(
        err.contains(&format!(
            "{}: series 1 has 2 values per time step (dimensions), but the model takes 1",
            two_dims.display()
        )),
        "{err}"
    );
    let unknown = d.join("unknown.tsv");
    std::fs::write(&unknown, "1\t0.5\t0.2\nseven\t0.1\t0.3\n").unwrap();
    let err = failure(&mf(
        &["predict", m, "--input", unknown.to_str().unwrap()],
        d,
        None,
    ));
    assert!(
        err.contains(&format!(
            "{}: series 2 has label `seven`, which is not one of the model's classes (1, 2, 3, 4, 5, 6)",
            unknown.display()
        )),
        "{err}"
    );
    let desc = std::fs::read_to_string(model.join("model.json")).unwrap();
    std::fs::write(
        model.join("model.json"),
        desc.replace("\"format_version\": 1", "\"format_version\": 9"),
    )
    .unwrap();
    let err = failure(&mf(
        &["predict", m, "--input", unknown.to_str().unwrap()],
        d,
        None,
    ));
    assert!(
        err.contains(&format!(
            "{m} holds a model in format version 9, and this version of mf reads version 1"
        )),
        "{err}"
    );
    std::fs::write(model.join("model.json"), &desc).unwrap();
    std::fs::remove_file(model.join("weights").join("model.safetensors")).unwrap();
    let err = failure(&mf(&["predict", m, "--stream"], d, Some("1\n")));
    assert!(
        err.contains(&format!(
            "model directory {m} is damaged: weights/model.safetensors: missing; fit the model again"
        )),
        "{err}"
    );
    let err = failure(&mf(&["predict", "/nonexistent/model", "--stream"], d, None));
    assert!(
        err.contains("/nonexistent/model: no such model directory"),
        "{err}"
    );
}

#[test]
fn a_trainable_model_fits_and_predicts_through_the_binary_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("rnn");
    let m = model.to_str().unwrap();
    // The fresh-split protocol: see mf-lab's `saved` tests for the reference protocol's history.
    let desc: serde_json::Value = serde_json::from_str(&ok(&mf(
        &[
            "fit",
            "--model",
            "mf-rnn",
            "--set",
            "n_units=8",
            "--set",
            "max_epochs=3",
            "--protocol",
            "fresh-split",
            "--out",
            m,
            "--json",
        ],
        d,
        None,
    )))
    .unwrap();
    assert_eq!(desc["protocol"], "fresh-split");
    assert_eq!(desc["epochs"].as_array().unwrap().len(), 2);
    let (file, series) = test_split_file(d);
    let json: serde_json::Value = serde_json::from_str(&ok(&mf(
        &[
            "predict",
            m,
            "--input",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
        d,
        None,
    )))
    .unwrap();
    assert_eq!(
        json["score"].as_f64().unwrap(),
        desc["test_score"].as_f64().unwrap()
    );
    let first = &json["predictions"][0];
    // Class probabilities.
    let sum: f64 = first["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    let stdin: String = series[0].iter().map(|v| format!("{v:?}\n")).collect();
    let streamed: serde_json::Value = serde_json::from_str(&ok(&mf(
        &["predict", m, "--stream", "--at-end", "--format", "json"],
        d,
        Some(&stdin),
    )))
    .unwrap();
    assert_eq!(streamed["label"], first["label"]);
}

#[test]
fn predict_reads_every_format_that_dataset_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("model");
    let m = model.to_str().unwrap();
    let desc: serde_json::Value = serde_json::from_str(&ok(&mf(
        &[
            "fit",
            "--model",
            "esn",
            "--set",
            "n_units=10",
            "--out",
            m,
            "--json",
        ],
        d,
        None,
    )))
    .unwrap();
    let test_score = desc["test_score"].as_f64().unwrap();
    // The test split as a `.tsv` file, a wide CSV, and Parquet and Feather frames (the label column and one list
    // column per dimension, as pandas writes them): the same series, so the same predictions and score.
    let (tsv, series) = test_split_file(d);
    let labels: Vec<String> = std::fs::read_to_string(&tsv)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    let steps: Vec<String> = (0..series[0].len()).map(|t| format!("t{t}")).collect();
    let mut csv = format!("label,{}\n", steps.join(","));
    for (label, s) in labels.iter().zip(&series) {
        let values: Vec<String> = s.iter().map(|v| format!("{v:?}")).collect();
        csv.push_str(&format!("{label},{}\n", values.join(",")));
    }
    let wide = d.join("SC_TEST.csv");
    std::fs::write(&wide, csv).unwrap();
    let test = mf_lab::tasks::load_dataset(d, "synthetic-control")
        .unwrap()
        .test
        .unwrap();
    let batch = test.batch();
    let length = batch
        .schema()
        .index_of(mf_lab::data::LENGTH_COLUMN)
        .unwrap();
    let keep: Vec<usize> = (0..batch.num_columns()).filter(|&c| c != length).collect();
    let frame = batch.project(&keep).unwrap();
    let mut files = vec![wide];
    for (name, format) in [
        ("SC_TEST.parquet", mf_lab::export::FrameFormat::Parquet),
        ("SC_TEST.feather", mf_lab::export::FrameFormat::Arrow),
    ] {
        let path = d.join(name);
        let out = std::fs::File::create(&path).unwrap();
        mf_lab::export::write_frame(&frame, format, out).unwrap();
        files.push(path);
    }
    let want = ok(&mf(
        &["predict", m, "--input", tsv.to_str().unwrap()],
        d,
        None,
    ));
    assert_eq!(want.lines().count(), 301);
    for file in &files {
        let f = file.to_str().unwrap();
        let o = mf(&["predict", m, "--input", f], d, None);
        assert_eq!(ok(&o), want, "{f}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "accuracy {test_score:.4} on the 300 series of {f}"
            )),
            "{err}"
        );
    }

    // The checks of the archive formats hold: a label the model never saw names the file and the series, and
    // so does a file with more dimensions than the model takes.
    let unknown = d.join("unknown.csv");
    std::fs::write(&unknown, "label,t0,t1\n1,0.5,0.2\nseven,0.1,0.3\n").unwrap();
    let u = unknown.to_str().unwrap();
    let err = failure(&mf(&["predict", m, "--input", u], d, None));
    assert!(
        err.contains(&format!(
            "{u}: series 2 has label `seven`, which is not one of the model's classes (1, 2, 3, 4, 5, 6)"
        )),
        "{err}"
    );
    let long = d.join("two.csv");
    std::fs::write(&long, "series,time,x,y,label\na,0,0.5,1,1\na,1,0.2,2,1\n").unwrap();
    let l = long.to_str().unwrap();
    let err = failure(&mf(&["predict", m, "--input", l], d, None));
    assert!(
        err.contains(&format!(
            "{l}: series 1 has 2 values per time step (dimensions), but the model takes 1"
        )),
        "{err}"
    );
    // A file that is not what its extension says is an error naming it.
    let empty = d.join("empty.parquet");
    std::fs::write(&empty, b"").unwrap();
    let err = failure(&mf(
        &["predict", m, "--input", empty.to_str().unwrap()],
        d,
        None,
    ));
    assert!(err.contains(empty.to_str().unwrap()), "{err}");
}

fn rows(csv: &str) -> Vec<(usize, Vec<f64>)> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let mut it = l.split(',');
            let step = it.next().unwrap().parse().unwrap();
            (step, it.map(|v| v.parse().unwrap()).collect())
        })
        .collect()
}

/// A sequence model through the binary: `mf fit` on Mackey-Glass saves a forecaster whose streamed and
/// generated steps are the library's, numbered after the fitted signal; a map refuses to generate and checks its
/// line widths; each kind of directory refuses the other's options.
#[test]
fn a_sequence_model_streams_learns_online_and_generates_through_the_binary() {
    use mf_lab::sequence_model::SequenceModel;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let m = data.join("mg");
    let m_arg = m.to_str().unwrap();
    let fitted = ok(&mf(
        &[
            "fit",
            "--model",
            "esn",
            "--dataset",
            "mackey-glass",
            "--set",
            "n_units=30",
            "--set",
            "lambda=1e-6",
            "--out",
            m_arg,
            "--json",
        ],
        data,
        None,
    ));
    let desc: serde_json::Value = serde_json::from_str(&fitted).unwrap();
    assert_eq!(desc["kind"], "forecaster");
    assert!(desc["test_score"].as_f64().unwrap() < 0.1, "{desc}");
    // Two samples online, then three generated steps.
    let out = ok(&mf(
        &["predict", m_arg, "--stream", "--online", "--horizon", "3"],
        data,
        Some("0.1\n# a comment\n\n0.2\n"),
    ));
    let got = rows(&out);
    let mut lib = SequenceModel::load(&m).unwrap();
    let mut want = vec![
        (2, lib.step(&[0.1], None, true).unwrap().to_vec()),
        (3, lib.step(&[0.2], None, true).unwrap().to_vec()),
    ];
    let g = lib.generate(4).unwrap();
    want.extend((1..4).map(|k| (3 + k, g.row(k).to_vec())));
    assert_eq!(got, want, "{out}");
    // Without --stream, the horizon starts at step 1; the directory is unchanged by the run above.
    let out = ok(&mf(
        &["predict", m_arg, "--horizon", "2", "--format", "json"],
        data,
        None,
    ));
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let g = SequenceModel::load(&m).unwrap().generate(2).unwrap();
    assert_eq!(first["step"], 1);
    assert_eq!(first["values"][0].as_f64().unwrap(), g[[0, 0]]);
    // Options that do not fit the directory.
    for (args, says) in [
        (vec!["--input", "x.csv"], "holds a sequence model"),
        (vec!["--stream", "--at-end"], "--at-end"),
    ] {
        let mut a = vec!["predict", m_arg];
        a.extend(args);
        let e = failure(&mf(&a, data, Some("0.1\n")));
        assert!(e.contains(says), "{e}");
    }
    let e = failure(&mf(&["predict", m_arg, "--stream"], data, Some("0.1\nx\n")));
    assert!(e.contains("line 2: `x` is not a number"), "{e}");
    let zero = mf(&["predict", m_arg, "--horizon", "0"], data, None);
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("at least 1"));
    let nowhere = data.join("nowhere");
    let e = failure(&mf(
        &["predict", nowhere.to_str().unwrap(), "--horizon", "3"],
        data,
        None,
    ));
    assert!(e.contains("no such model directory"), "{e}");

    let n = data.join("n10");
    let n_arg = n.to_str().unwrap();
    ok(&mf(
        &[
            "fit",
            "--model",
            "esn",
            "--dataset",
            "narma10",
            "--set",
            "n_units=20",
            "--out",
            n_arg,
        ],
        data,
        None,
    ));
    let out = ok(&mf(
        &["predict", n_arg, "--stream", "--online"],
        data,
        Some("0.1 0.3\n0.2,0.4\n"),
    ));
    let mut lib = SequenceModel::load(&n).unwrap();
    let want = vec![
        (1, lib.step(&[0.1], Some(&[0.3]), true).unwrap().to_vec()),
        (2, lib.step(&[0.2], Some(&[0.4]), true).unwrap().to_vec()),
    ];
    assert_eq!(rows(&out), want);
    let e = failure(&mf(
        &["predict", n_arg, "--stream", "--online"],
        data,
        Some("0.1\n"),
    ));
    assert!(
        e.contains("line 1: 1 value, the model takes 2 per line (1 inputs, then 1 targets)"),
        "{e}"
    );
    let e = failure(&mf(&["predict", n_arg, "--horizon", "3"], data, None));
    assert!(
        e.contains("--horizon generates a forecaster's continuation"),
        "{e}"
    );
    let e = failure(&mf(
        &[
            "fit",
            "--model",
            "esn",
            "--dataset",
            "memory-capacity",
            "--out",
            n_arg,
            "--force",
        ],
        data,
        None,
    ));
    assert!(e.contains("memory capacity"), "{e}");
}

/// A signal of one's own, z-scored when fitted, is given and predicted in its file's units: a smooth signal
/// around 100 is predicted one step ahead to within a small fraction of its spread.
#[test]
fn a_zscored_signal_of_ones_own_forecasts_in_its_files_units() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let path = data.join("sig.csv");
    let value = |t: usize| 100.0 + 5.0 * (0.05 * t as f64).sin() + 2.0 * (0.13 * t as f64).sin();
    let mut text = String::from("time,a\n");
    for t in 0..1500 {
        text.push_str(&format!("{t},{}\n", value(t)));
    }
    std::fs::write(&path, text).unwrap();
    let m = data.join("m");
    ok(&mf(
        &[
            "fit",
            "--model",
            "esn",
            "--dataset",
            path.to_str().unwrap(),
            "--target",
            "a",
            "--normalise",
            "zscore",
            "--set",
            "n_units=40",
            "--set",
            "lambda=1e-8",
            "--out",
            m.to_str().unwrap(),
        ],
        data,
        None,
    ));
    let next: String = (1500..1520).map(|t| format!("{}\n", value(t))).collect();
    let out = ok(&mf(
        &["predict", m.to_str().unwrap(), "--stream"],
        data,
        Some(&next),
    ));
    for (step, v) in rows(&out) {
        // After line k (step 1500 + k - 1 of the signal), the prediction is of step 1500 + k.
        let truth = value(1500 + step - 1);
        assert!(
            (v[0] - truth).abs() < 0.1,
            "step {step}: {} vs {truth}",
            v[0]
        );
    }
}
