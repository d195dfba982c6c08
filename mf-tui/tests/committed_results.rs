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
