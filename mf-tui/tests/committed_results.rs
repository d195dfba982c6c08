//! Every committed results table is what `mf table` renders from the committed store it came from.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `mf table <specs> --store <stores> --format <format>`'s standard output.
fn render(specs: &[PathBuf], stores: &[PathBuf], format: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mf"));
    cmd.arg("table").args(specs);
    for store in stores {
        cmd.arg("--store").arg(store);
    }
    let o = cmd.args(["--format", format]).output().unwrap();
    assert!(
        o.status.success(),
        "mf table {specs:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The committed gzip-compressed store `results/<name>.gz`, decompressed into `dir`.
fn unpacked(dir: &Path, name: &str) -> PathBuf {
    let packed = root().join("results").join(format!("{name}.gz"));
    let file = std::fs::File::open(&packed).unwrap_or_else(|e| panic!("{}: {e}", packed.display()));
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut text).unwrap();
    let out = dir.join(name);
    std::fs::write(&out, text).unwrap();
    out
}

/// `mf table <specs> --store <stores> --format csv --out <out>`'s provenance file beside `out`.
fn csv_provenance(specs: &[PathBuf], stores: &[PathBuf], out: &Path) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mf"));
    cmd.arg("table").args(specs);
    for store in stores {
        cmd.arg("--store").arg(store);
    }
    let o = cmd
        .args(["--format", "csv", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out.with_extension("provenance.txt")).unwrap()
}

#[test]
fn the_committed_table_iv_is_rendered_from_the_committed_stores() {
    let dir = root().join("results");
    let tmp = tempfile::tempdir().unwrap();
    let specs = [dir.join("reservoirs.toml"), dir.join("trainable.toml")];
    let stores = [
        unpacked(tmp.path(), "reservoirs.store.jsonl"),
        unpacked(tmp.path(), "trainable.store.jsonl"),
    ];
    for (format, file) in [
        ("md", "table4.md"),
        ("csv", "table4.csv"),
        ("tex", "table4.tex"),
    ] {
        let committed = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("results/{file}: {e}"));
        assert_eq!(
            render(&specs, &stores, format),
            committed,
            "results/{file} is not what `mf table results/reservoirs.toml results/trainable.toml --store \
             results/reservoirs.store.jsonl --store results/trainable.store.jsonl --format {format}` renders \
             (the stores are committed gzipped)"
        );
    }
    // The CSV's provenance is the file beside it.
    assert_eq!(
        csv_provenance(&specs, &stores, &tmp.path().join("table4.csv")),
        std::fs::read_to_string(dir.join("table4.provenance.txt")).unwrap(),
        "results/table4.provenance.txt is not what `mf table ... --format csv --out results/table4.csv` writes"
    );
}

/// The committed CSV table reads with a CSV reader's defaults (a header, then records of the same width), as
/// `pandas.read_csv(path)` reads it: no comment lines.
#[test]
fn the_committed_csv_table_reads_with_a_csv_readers_defaults() {
    let path = root().join("results").join("table4.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "dataset");
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(record.len(), header.len());
        rows += 1;
    }
    // Nine data sets, four models.
    assert_eq!(rows, 36);
}

/// Every committed result directory of the future-work runs is named by the hash of the spec beside it: the specs
/// (numeric `integrator = [1.0]` and `frozen = [1.0, 0.0]` among them) read back to the experiments they were, and
/// Table IV's two specs keep the hashes their stores were written under.
#[test]
fn the_committed_specs_keep_their_hashes() {
    let future = root().join("results").join("future");
    let mut checked = 0;
    for entry in std::fs::read_dir(&future).unwrap() {
        let dir = entry.unwrap().path();
        let spec = dir.join("spec.toml");
        if !spec.is_file() {
            continue;
        }
        let s = mf_lab::Spec::load(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(s.short_hash(), name, "{}", spec.display());
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} committed future-work specs");
    for (file, hash) in [
        ("reservoirs.toml", "e492049860358488"),
        ("trainable.toml", "d54c98aaa9321c23"),
    ] {
        let s = mf_lab::Spec::load(&root().join("results").join(file)).unwrap();
        assert_eq!(s.short_hash(), hash, "results/{file}");
    }
}

/// The number of decimals `text` is printed with (`0.272` has 3, `31.5` 1, `2.8e-4` is read as 0.00028: 5).
fn printed_step(text: &str) -> f64 {
    let v: f64 = text.parse().unwrap();
    match text.split_once(['e', 'E']) {
        Some((mantissa, exp)) => {
            let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
            10f64.powi(exp.parse::<i32>().unwrap() - decimals)
        }
        None if v == 0.0 && !text.contains('.') => 1.0,
        None => 10f64.powi(-(text.split_once('.').map_or(0, |(_, d)| d.len()) as i32)),
    }
}

/// `printed` (as the README writes it) is `value` to its printed precision.
fn rounds_to(printed: &str, value: f64) -> bool {
    let p: f64 = printed.parse().unwrap();
    (p - value).abs() <= 0.5 * printed_step(printed) + 1e-12
}

/// The README's table of sequence tasks is the committed reports of `results/rc-benchmarks/` (each cell `mean ±
/// std` of its model's run on its task, or the forecast's value, to the digits printed).
#[test]
fn the_readmes_sequence_table_is_the_committed_reports() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("### Sequence tasks")
        .nth(1)
        .expect("the README has its sequence-task section");
    let rows: Vec<Vec<String>> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let header = &rows[0];
    let model_of = |name: &str| match name {
        "ESN" => Some("esn"),
        "MF-ESN" => Some("mf-esn"),
        n if n.starts_with("Deep MF-ESN") => Some("deep-mf-esn"),
        "RNN" => Some("rnn"),
        "MF-RNN" => Some("mf-rnn"),
        _ => None,
    };
    let report = |file: String| -> serde_json::Value {
        let text = std::fs::read_to_string(root.join("results/rc-benchmarks").join(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        serde_json::from_str(&text).unwrap()
    };
    let mut checked = 0;
    for row in &rows[2..] {
        let task = if row[0].starts_with("NARMA-10") {
            "narma10"
        } else if row[0].starts_with("Mackey-Glass one step") {
            "mackey-glass"
        } else if row[0].starts_with("Mackey-Glass closed loop") {
            "mackey-glass-forecast"
        } else if row[0].starts_with("Lorenz-63") {
            "lorenz"
        } else if row[0].starts_with("memory capacity") {
            "memory-capacity"
        } else {
            panic!("an unknown row: {}", row[0])
        };
        for (name, cell) in header.iter().zip(row).skip(1) {
            let Some(model) = model_of(name) else {
                continue;
            };
            if cell == "–" {
                continue;
            }
            let r = report(format!("{model}-{task}.json"));
            if task == "mackey-glass-forecast" {
                assert!(
                    rounds_to(cell, r["value"].as_f64().unwrap()),
                    "{model} {task}: {cell}"
                );
            } else {
                let (mean, std) = cell.split_once(" ± ").unwrap_or_else(|| panic!("{cell}"));
                assert!(
                    rounds_to(mean, r["mean"].as_f64().unwrap()),
                    "{model} {task}: {cell} vs {}",
                    r["mean"]
                );
                assert!(
                    rounds_to(std, r["std"].as_f64().unwrap()),
                    "{model} {task}: {cell} vs {}",
                    r["std"]
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} cells checked");
}
