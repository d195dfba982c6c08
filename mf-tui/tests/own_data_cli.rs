//! Bring-your-own data through the real `mf` binary: `mf data import` of a CSV pair, then `mf run` by the
//! stored name, by the file's path and by its directory, all on the same series and so with the same score.

use std::path::Path;
use std::process::{Command, Output};

fn mf(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mf"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("mf runs")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "mf failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr_of_failure(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "mf succeeded: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Two separable classes of 24 steps: slow sines and fast ones, with phases that vary by series.
fn series(class: usize, i: usize) -> Vec<String> {
    let freq = if class == 0 { 0.2 } else { 0.9 };
    (0..24)
        .map(|t| format!("{:.6}", (freq * t as f64 + 0.37 * i as f64).sin()))
        .collect()
}

/// Wide and long CSV texts of `n` series, classes alternating.
fn csv_pair(n: usize, offset: usize) -> (String, String) {
    let header: Vec<String> = (0..24).map(|t| format!("t{t}")).collect();
    let mut wide = format!("label,{}\n", header.join(","));
    let mut long = "series,time,value,label\n".to_string();
    for i in 0..n {
        let (c, v) = (i % 2, series(i % 2, i + offset));
        wide += &format!("c{c},{}\n", v.join(","));
        for (t, x) in v.iter().enumerate() {
            long += &format!("s{i},{t},{x},c{c}\n");
        }
    }
    (wide, long)
}

fn run_json(dataset: &str, data_dir: &Path) -> serde_json::Value {
    let args = [
        "run",
        "--model",
        "mf-esn",
        "--dataset",
        dataset,
        "--set",
        "n_units=20",
        "--trials",
        "1",
        "--seed",
        "3",
        "--json",
    ];
    serde_json::from_str(&stdout(&mf(&args, data_dir))).unwrap()
}

#[test]
fn an_imported_csv_pair_runs_by_name_and_the_same_pair_runs_by_path() {
    let src = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let wide_dir = src.path().join("wide");
    let long_dir = src.path().join("long");
    std::fs::create_dir_all(&wide_dir).unwrap();
    std::fs::create_dir_all(&long_dir).unwrap();
    for (split, n, offset) in [("TRAIN", 16, 0), ("TEST", 10, 100)] {
        let (wide, long) = csv_pair(n, offset);
        std::fs::write(wide_dir.join(format!("Toy_{split}.csv")), wide).unwrap();
        std::fs::write(long_dir.join(format!("Toy_{split}.csv")), long).unwrap();
    }
    let train = wide_dir.join("Toy_TRAIN.csv");
    let train = train.to_str().unwrap();

    let out = stdout(&mf(&["data", "import", train], data.path()));
    assert!(out.contains("series     train 16, test 10"), "{out}");
    assert!(out.contains("length     24-24"), "{out}");
    assert!(out.contains("dimensions 1"), "{out}");
    assert!(out.contains("classes    2 (train: c0: 8, c1: 8)"), "{out}");
    // The stored files read back, by name, to the CSV's values bit for bit.
    let stored = mf_lab::data::load_dataset(data.path(), "Toy").unwrap();
    let direct =
        mf_lab::data::load_path(Path::new(train), &mf_lab::data::TableOptions::default()).unwrap();
    for (a, b) in [
        (&stored.train, &direct.train),
        (stored.test.as_ref().unwrap(), direct.test.as_ref().unwrap()),
    ] {
        let bits = |s: &mf_lab::data::Split| {
            let (x, l) = s.to_ndarray_f64();
            (
                x.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                l,
                s.labels(),
            )
        };
        assert!(bits(a) == bits(b), "stored data differ from the CSV");
    }

    // The long layout of the same series, under another name.
    let long_train = long_dir.join("Toy_TRAIN.csv");
    let long_train = long_train.to_str().unwrap();
    stdout(&mf(
        &["data", "import", long_train, "--name", "ToyLong"],
        data.path(),
    ));

    let by_name = run_json("Toy", data.path());
    assert_eq!(by_name["dataset"], "Toy");
    assert_eq!(by_name["metric"], "accuracy");
    assert_eq!(by_name["per_trial"].as_array().unwrap().len(), 1);
    // Same series, same seed: the same score whichever way the data came in.
    let nowhere = src.path().join("no-data-dir");
    for other in [
        run_json("ToyLong", data.path()),
        run_json(train, &nowhere),
        run_json(wide_dir.to_str().unwrap(), &nowhere),
        run_json(long_train, &nowhere),
    ] {
        assert_eq!(other["per_trial"], by_name["per_trial"]);
    }
    assert!(by_name["paper"].is_null(), "{by_name}");

    // A second import under a taken name, and a ragged file, fail naming what is wrong.
    let err = stderr_of_failure(&mf(&["data", "import", train], data.path()));
    assert!(err.contains("already exists"), "{err}");
    let bad = src.path().join("Bad_TRAIN.csv");
    std::fs::write(&bad, "label,t0,t1\na,1,2\nb,1\n").unwrap();
    std::fs::write(src.path().join("Bad_TEST.csv"), "label,t0,t1\na,1,2\n").unwrap();
    let err = stderr_of_failure(&mf(&["data", "import", bad.to_str().unwrap()], data.path()));
    assert!(
        err.contains(&format!("{}:3: the row has 2 fields", bad.display())),
        "{err}"
    );
    assert!(!data.path().join("Bad").exists());
}
