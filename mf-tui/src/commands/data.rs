//! `mf data list|info|fetch|verify|import`: the data sets known, found, checked and brought in.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use mf_lab::data::{find_split_file, paper_dataset, paper_datasets, Dataset, Shape, TaskKind};
use serde::Serialize;

use mf_lab::tasks::{is_generated, load_dataset, GENERATED};

/// `mf data`: list, inspect, download and check data sets.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum DataCommand {
    /// The paper's ten data sets (where found, shape check against Table I), the generated ones, and any other
    /// data set in the data directory.
    List,
    /// Train and test counts, lengths, dimensions, classes or target range of one data set (any set in the data
    /// directory, a generated one, or a pair given by path as `mf run --dataset` takes it).
    Info {
        /// Data set name, e.g. ECG5000 or synthetic-control, or a path such as data/X_TRAIN.csv.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download a data set from the archive the paper names, check it, and unpack it into the data directory.
    Fetch {
        /// Data set name, e.g. GunPoint.
        name: String,
        /// Archive URL (a zip holding <NAME>_TRAIN.* and <NAME>_TEST.*) instead of the registry's.
        #[arg(long)]
        url: Option<String>,
    },
    /// Load every paper data set found and report each difference from the paper's Table I; fails when a data
    /// set present does not load.
    Verify,
    /// Load a training/test pair of your own, report its shape, and store it in the data directory (as .ts files,
    /// every value bit for bit) so that `mf run --dataset NAME` finds it by name.
    ///
    /// CSV wide: a header, a `label` column (or `target` for regression) and one column per time step, `t0`,
    /// `t1`, ... (read in step order; multivariate: columns dim<k>_<t>); trailing empty cells pad shorter series.
    /// CSV long: columns `series`, `time`, `label` (or `target`) and one value column per dimension. Parquet and
    /// Arrow IPC (.arrow, .feather, .ipc): a `label` (or `target`) column and one list column per dimension, as
    /// pandas and polars write them (Parquet uncompressed, snappy or zstd). Empty cells, `?`, NaN and nulls are
    /// missing values.
    Import {
        /// The training file <NAME>_TRAIN.<csv|parquet|arrow|feather|ipc|ts|tsv|arff>, its <NAME>_TEST file
        /// beside it, or a directory holding one such pair.
        path: PathBuf,
        /// Name to store the data set under. Default: the file name before _TRAIN.
        #[arg(long)]
        name: Option<String>,
        /// Column holding the class labels (classification).
        #[arg(long, value_name = "COLUMN", default_value = "label")]
        label_column: String,
        /// Column holding the targets (regression).
        #[arg(long, value_name = "COLUMN", default_value = "target")]
        target_column: String,
    },
}

/// Runs a `mf data` command against `data_dir`.
pub fn run_data(cmd: &DataCommand, data_dir: &Path) -> anyhow::Result<()> {
    match cmd {
        DataCommand::List => list(data_dir),
        DataCommand::Info { name, json } => info(data_dir, name, *json),
        DataCommand::Fetch { name, url } => fetch(data_dir, name, url.as_deref()),
        DataCommand::Import {
            path,
            name,
            label_column,
            target_column,
        } => {
            let opts = mf_lab::data::TableOptions::default()
                .label(label_column.as_str())
                .target(target_column.as_str());
            import(data_dir, path, name.as_deref(), &opts)
        }
        DataCommand::Verify => {
            println!("data directory: {}", data_dir.display());
            let (text, mut failed) = verify_text(&mf_lab::data::verify(data_dir));
            print!("{text}");
            // The user's own sets in the data directory are verified too: a broken one must not pass.
            let others = other_sets(data_dir);
            if !others.is_empty() {
                println!("other data sets in the data directory:");
            }
            for name in others {
                match mf_lab::data::load_dataset(data_dir, &name) {
                    Ok(ds) => {
                        let (min, max) = ds.length_range();
                        println!(
                            "{name:<16} train {:>5} test {:>5} len {min}-{max}",
                            ds.train.n_series(),
                            ds.test
                                .as_ref()
                                .map_or("-".to_string(), |t| t.n_series().to_string()),
                        );
                        for w in ds.warnings() {
                            println!("  warning: {w}");
                        }
                    }
                    Err(e) => {
                        println!("{name:<16} not loaded: {e}");
                        failed.push(name);
                    }
                }
            }
            if !failed.is_empty() {
                bail!(
                    "{} data set{} in {} failed to load: {}",
                    failed.len(),
                    if failed.len() == 1 { "" } else { "s" },
                    data_dir.display(),
                    failed.join(", ")
                );
            }
            Ok(())
        }
    }
}

/// The report of `mf data verify`, each problem once: per data set its shape and its differences from Table I,
/// `missing` when absent, or the error that kept it from loading; then the counts. Also returns the names of
/// the data sets present that failed to load.
fn verify_text(r: &mf_lab::data::VerifyReport) -> (String, Vec<String>) {
    let mut s = String::new();
    let (mut loaded, mut missing, mut failed, mut warnings) = (0, 0, Vec::new(), 0);
    for e in &r.entries {
        let name = e.info.name;
        match &e.found {
            Ok(sh) => {
                loaded += 1;
                s.push_str(&format!(
                    "{name:<16} train {:>5} test {:>5} len {}-{} classes {} dims {} missing {}\n",
                    sh.n_train,
                    sh.n_test.map_or("-".to_string(), |n| n.to_string()),
                    sh.min_len,
                    sh.max_len,
                    sh.n_classes
                        .map_or("regression".to_string(), |k| k.to_string()),
                    sh.n_dims,
                    sh.n_missing
                ));
                for w in &e.warnings {
                    warnings += 1;
                    s.push_str(&format!("  warning: {w}\n"));
                }
            }
            Err(mf_lab::data::DataError::NotFound { .. }) => {
                missing += 1;
                s.push_str(&format!("{name:<16} missing (mf data fetch {name})\n"));
            }
            // The entry's warnings repeat this error; it is said once.
            Err(err) => {
                failed.push(name.to_string());
                s.push_str(&format!("{name:<16} not loaded: {err}\n"));
            }
        }
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    s.push_str(&format!(
        "{loaded} loaded, {missing} missing, {} failed to load; {warnings} warning{}\n",
        failed.len(),
        plural(warnings)
    ));
    (s, failed)
}

fn list(data_dir: &Path) -> anyhow::Result<()> {
    println!(
        "data directory: {}{}",
        data_dir.display(),
        dir_state(data_dir)
    );
    println!(
        "{:<18} {:>6} {:>6} {:>9} {:>8}  {:<10} check",
        "paper data set", "train", "test", "length", "classes", "found"
    );
    for entry in mf_lab::data::verify(data_dir).entries {
        let info = &entry.info;
        let found = find_split_file(data_dir, info.name, "TRAIN");
        let check = match (&found, &entry.found) {
            (None, _) => format!("missing (mf data fetch {})", info.name),
            (Some(_), Err(e)) => format!("error: {e}"),
            (Some(_), Ok(_)) if entry.warnings.is_empty() => "ok".to_string(),
            (Some(_), Ok(_)) => entry.warnings.join("; "),
        };
        println!(
            "{:<18} {:>6} {:>6} {:>9} {:>8}  {:<10} {check}",
            info.name,
            info.n_train,
            info.n_test,
            format!("{}-{}", info.min_len, info.max_len),
            info.n_classes.map_or("-".into(), |k| k.to_string()),
            found
                .as_ref()
                .and_then(|p| p.extension())
                .map_or("no".into(), |e| format!(".{}", e.to_string_lossy())),
        );
    }
    println!();
    println!("generated (no files needed):");
    let width = GENERATED
        .iter()
        .chain(&mf_lab::sequence::SEQUENCE_TASKS)
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    for (name, what) in GENERATED {
        println!("  {name:<width$}  {what}");
    }
    println!();
    println!("sequence tasks (one long signal, a target at every step; mf run, sweeps; reservoir models also mf forecast):");
    for (name, what) in mf_lab::sequence::SEQUENCE_TASKS {
        println!("  {name:<width$}  {what}");
    }
    let others = other_sets(data_dir);
    if !others.is_empty() {
        println!();
        println!("other data sets in the data directory:");
        for name in others {
            println!("  {name}");
        }
    }
    Ok(())
}

/// Why a data directory lists nothing, when it cannot hold anything: it does not exist, is not a directory, or
/// cannot be read (a symlink loop, no permission). Empty when it is a readable directory.
fn dir_state(data_dir: &Path) -> String {
    match std::fs::metadata(data_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            " (does not exist: every paper set is missing; `mf data fetch NAME` creates it)".into()
        }
        Err(e) => format!(" (cannot be read: {e})"),
        Ok(m) if !m.is_dir() => " (not a directory)".into(),
        Ok(_) => match std::fs::read_dir(data_dir) {
            Ok(_) => String::new(),
            Err(e) => format!(" (cannot be read: {e})"),
        },
    }
}

/// Directories `<data_dir>/<Name>` holding `<Name>_TRAIN.*` that are not paper data sets.
fn other_sets(data_dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(data_dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| paper_dataset(n).is_none() && find_split_file(data_dir, n, "TRAIN").is_some())
        .collect();
    v.sort();
    v
}

/// What `mf data info` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataInfo {
    /// Data set name.
    pub name: String,
    /// Where it came from: a file path or `generated`.
    pub source: String,
    /// Training series.
    pub n_train: usize,
    /// Test series (None when the test split is absent).
    pub n_test: Option<usize>,
    /// Shortest series.
    pub min_len: usize,
    /// Longest series.
    pub max_len: usize,
    /// Dimensions per step.
    pub n_dims: usize,
    /// Class names, sorted (classification).
    pub classes: Option<Vec<String>>,
    /// Series per class in the training split (classification).
    pub train_per_class: Option<Vec<usize>>,
    /// Smallest and largest target over both splits (regression).
    pub target_range: Option<(f64, f64)>,
    /// Missing values inside series.
    pub n_missing: usize,
    /// Differences from the paper's Table I (paper data sets only), then the data set's own warnings (e.g.
    /// classes found only in the test split).
    pub warnings: Vec<String>,
}

/// Describes a loaded data set.
pub fn describe(ds: &Dataset, source: String) -> DataInfo {
    let shape = Shape::of(ds);
    let (classes, per_class, range) = match ds.task() {
        TaskKind::Classification { classes } => {
            let mut counts = vec![0; classes.len()];
            for l in ds.encoded_labels(&ds.train).unwrap_or_default() {
                counts[l] += 1;
            }
            (Some(classes.clone()), Some(counts), None)
        }
        TaskKind::Regression => {
            let mut t = ds.train.targets().unwrap_or_default();
            t.extend(
                ds.test
                    .as_ref()
                    .and_then(|s| s.targets())
                    .unwrap_or_default(),
            );
            let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (None, None, Some((lo, hi)))
        }
    };
    DataInfo {
        name: ds.name.clone(),
        source,
        n_train: shape.n_train,
        n_test: shape.n_test,
        min_len: shape.min_len,
        max_len: shape.max_len,
        n_dims: shape.n_dims,
        classes,
        train_per_class: per_class,
        target_range: range,
        n_missing: shape.n_missing,
        warnings: paper_dataset(&ds.name)
            .map(|i| mf_lab::data::compare(&i, &shape))
            .unwrap_or_default()
            .into_iter()
            .chain(ds.warnings())
            .collect(),
    }
}

fn info(data_dir: &Path, name: &str, json: bool) -> anyhow::Result<()> {
    let ds = load_dataset(data_dir, name)?;
    let source = if is_generated(name) {
        "generated".to_string()
    } else if mf_lab::data::is_dataset_path(name) {
        name.to_string()
    } else {
        find_split_file(data_dir, name, "TRAIN").map_or_else(
            || data_dir.join(name).display().to_string(),
            |p| p.display().to_string(),
        )
    };
    let d = describe(&ds, source);
    if json {
        return super::print_json(&d);
    }
    print_info(&d);
    Ok(())
}

/// `mf data info`'s text.
fn print_info(d: &DataInfo) {
    println!("{} ({})", d.name, d.source);
    println!(
        "  series     train {}, test {}",
        d.n_train,
        d.n_test.map_or("absent".into(), |n| n.to_string())
    );
    println!("  length     {}-{}", d.min_len, d.max_len);
    println!("  dimensions {}", d.n_dims);
    match (&d.classes, &d.train_per_class, d.target_range) {
        (Some(c), Some(n), _) => {
            let per: Vec<String> = c.iter().zip(n).map(|(c, n)| format!("{c}: {n}")).collect();
            println!("  classes    {} (train: {})", c.len(), per.join(", "));
        }
        (_, _, Some((lo, hi))) => println!("  targets    regression, {lo:.6} to {hi:.6}"),
        _ => {}
    }
    if d.n_missing > 0 {
        println!("  missing    {} values inside series", d.n_missing);
    }
    for w in &d.warnings {
        println!("  warning: {w}");
    }
}

/// `mf data import`: loads the pair at `path`, prints its shape and stores it as `.ts` under `data_dir`.
fn import(
    data_dir: &Path,
    path: &Path,
    name: Option<&str>,
    opts: &mf_lab::data::TableOptions,
) -> anyhow::Result<()> {
    let mut ds = mf_lab::data::load_path(path, opts)
        .with_context(|| format!("importing {}", path.display()))?;
    if let Some(n) = name {
        ds.name = n.to_string();
    }
    if is_generated(&ds.name) {
        bail!(
            "{} names a generated data set, which would hide the import: choose another with --name",
            ds.name
        );
    }
    print_info(&describe(&ds, path.display().to_string()));
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let dir = mf_lab::data::import_dataset(&ds, data_dir, &ds.name)
        .with_context(|| format!("storing {} in {}", ds.name, data_dir.display()))?;
    println!("stored in {} (mf run --dataset {})", dir.display(), ds.name);
    Ok(())
}

fn fetch(data_dir: &Path, name: &str, url: Option<&str>) -> anyhow::Result<()> {
    if is_generated(name) {
        bail!("{name} is generated in memory; there is nothing to download");
    }
    if url.is_none() && paper_dataset(name).is_none() {
        bail!(
            "{name} is not one of the paper's data sets; pass its archive with --url (known: {})",
            paper_datasets()
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .expect("valid template"),
        );
        b.set_message(format!("fetching {name}"));
        b
    } else {
        eprintln!("fetching {name}");
        ProgressBar::hidden()
    };
    let mut progress = |done: u64, total: Option<u64>| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    };
    let ds = mf_lab::data::fetch(name, url, data_dir, &mut progress);
    bar.finish_and_clear();
    let ds = ds?;
    let d = describe(&ds, data_dir.join(name).display().to_string());
    println!(
        "{} -> {}: train {}, test {}, length {}-{}",
        name,
        d.source,
        d.n_train,
        d.n_test.map_or("absent".into(), |n| n.to_string()),
        d.min_len,
        d.max_len
    );
    for w in &d.warnings {
        println!("  warning: {w}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_data_directory_that_cannot_hold_data_says_why() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(dir_state(dir.path()), "");
        assert!(dir_state(&dir.path().join("nope")).contains("does not exist"));
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(dir_state(&file), " (not a directory)");
        #[cfg(unix)]
        {
            let a = dir.path().join("a");
            let b = dir.path().join("b");
            std::os::unix::fs::symlink(&b, &a).unwrap();
            std::os::unix::fs::symlink(&a, &b).unwrap();
            assert!(
                dir_state(&a).contains("cannot be read"),
                "{}",
                dir_state(&a)
            );
        }
    }

    use super::*;

    #[test]
    fn describe_counts_classes_and_targets() {
        let sc = load_dataset(Path::new("."), "synthetic-control").unwrap();
        let d = describe(&sc, "generated".into());
        assert_eq!(
            (d.n_train, d.n_test, d.min_len, d.max_len),
            (300, Some(300), 60, 60)
        );
        assert_eq!(d.train_per_class, Some(vec![50; 6]));
        assert!(d.warnings.is_empty());
        let mg = load_dataset(Path::new("."), "mackey-glass-windows").unwrap();
        let d = describe(&mg, "generated".into());
        let (lo, hi) = d.target_range.unwrap();
        // The Mackey-Glass attractor for tau = 17 stays within about (0.2, 1.4).
        assert!(lo > 0.1 && hi < 1.5 && lo < hi, "{lo} {hi}");
    }

    #[test]
    fn describe_warns_of_classes_found_only_in_the_test_split() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("Mine")).unwrap();
        std::fs::write(
            dir.path().join("Mine/Mine_TRAIN.tsv"),
            "1\t0.5\t0.2\n2\t0.25\t0.1\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("Mine/Mine_TEST.tsv"),
            "1\t0.5\t0.2\n3\t0.75\t0.3\n",
        )
        .unwrap();
        let ds = mf_lab::data::load_dataset(dir.path(), "Mine").unwrap();
        let d = describe(&ds, "Mine".into());
        assert_eq!(d.warnings, ds.warnings());
        assert!(
            d.warnings.len() == 1 && d.warnings[0].contains("only in the test split"),
            "{:?}",
            d.warnings
        );
    }

    #[test]
    fn verify_text_says_each_problem_once_and_names_the_sets_that_fail_to_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("Coffee")).unwrap();
        std::fs::write(dir.path().join("Coffee/Coffee_TRAIN.tsv"), "x\ty\n").unwrap();
        let (text, failed) = verify_text(&mf_lab::data::verify(dir.path()));
        assert_eq!(failed, vec!["Coffee"]);
        let coffee: Vec<&str> = text.lines().filter(|l| l.contains("Coffee")).collect();
        assert_eq!(coffee.len(), 1, "{text}");
        assert!(
            coffee[0].starts_with("Coffee") && coffee[0].contains("not loaded: "),
            "{text}"
        );
        assert!(
            text.ends_with("0 loaded, 9 missing, 1 failed to load; 0 warnings\n"),
            "{text}"
        );
    }

    #[test]
    fn other_sets_finds_non_paper_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("Mine")).unwrap();
        std::fs::write(dir.path().join("Mine/Mine_TRAIN.tsv"), "1\t0.5\t0.25\n").unwrap();
        std::fs::create_dir_all(dir.path().join("Empty")).unwrap();
        assert_eq!(other_sets(dir.path()), vec!["Mine".to_string()]);
    }
}
