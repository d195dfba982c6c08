//! `cargo xtask reproduce`: the paper's Table IV (with Tables V-VIII) and Fig. 6 from scratch.
//!
//! Steps, each logged: build `mf` in release; write the experiment spec (`spec.toml`, or `quick-spec.toml` with
//! `--quick`) into the result directory; `mf sweep` (resumable: jobs already stored are skipped); `mf table` in
//! Markdown, CSV and LaTeX; `mf stability --eigs --json` for each Fig. 6 panel, drawn to `fig6_<panel>.png` and
//! side by side to `fig6.png`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::fig6::{self, Spectrum, PANELS};
use crate::{data_dir, has_split, mf_binary, output, run_cmd};

/// The paper's data sets, in the row order of its tables.
pub const PAPER_DATASETS: [&str; 10] = [
    "JapaneseVowels",
    "SyntheticControl",
    "ECG5000",
    "GunPoint",
    "Wafer",
    "Epilepsy",
    "Coffee",
    "FloodModeling1",
    "FloodModeling2",
    "FloodModeling3",
];

/// The four models, in the column order of Table IV, as `mf` names them.
pub const MODELS: [&str; 4] = ["esn", "mf-esn", "rnn", "mf-rnn"];

#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// A reduced experiment (about ten minutes on one core for nine data sets): two values per grid axis, taken
    /// from the paper's Table III, 2 reservoir draws, 2 final trials and at most 20 training epochs. Its files
    /// start with `quick-`.
    #[arg(long)]
    quick: bool,
    /// Directory holding <Name>/<Name>_TRAIN.{ts,tsv,arff} (and _TEST). Default: $MF_DATA_DIR.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Result directory: spec, result store (one sub-directory per spec hash), tables and figures.
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
    /// Models to run, comma-separated: esn, mf-esn, rnn, mf-rnn. Default: all four.
    #[arg(long, value_delimiter = ',', value_name = "MODEL")]
    models: Vec<String>,
    /// Data sets, comma-separated. Default: every paper data set with both its splits in the data directory.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    datasets: Vec<String>,
    /// Seed every random draw of the experiment derives from.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads of the sweep; 0 uses every core.
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Use this `mf` executable instead of building one in release.
    #[arg(long, value_name = "PATH")]
    mf: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct Fig6Args {
    /// Directory the figures are written to.
    #[arg(long, default_value = "results", value_name = "DIR")]
    out_dir: PathBuf,
    /// Use this `mf` executable instead of building one in release.
    #[arg(long, value_name = "PATH")]
    mf: Option<PathBuf>,
}

pub fn reproduce(root: &Path, args: &ReproduceArgs) -> Result<()> {
    let models = models(&args.models)?;
    let dir = data_dir(args.data_dir.as_deref())
        .context("no data directory: give --data-dir or set MF_DATA_DIR")?;
    let datasets = datasets(&dir, &args.datasets)?;
    let mf = mf_binary(root, args.mf.as_deref())?;
    std::fs::create_dir_all(&args.results)
        .with_context(|| format!("could not create {}", args.results.display()))?;

    let prefix = if args.quick { "quick-" } else { "" };
    let spec_path = args.results.join(format!("{prefix}spec.toml"));
    let spec = spec_toml(&datasets, &models, args.seed, args.quick);
    std::fs::write(&spec_path, &spec)
        .with_context(|| format!("could not write {}", spec_path.display()))?;
    eprintln!(
        "wrote {} ({} data sets x {} models)",
        spec_path.display(),
        datasets.len(),
        models.len()
    );

    let mut sweep = Command::new(&mf);
    sweep
        .arg("sweep")
        .arg(&spec_path)
        .arg("--results")
        .arg(&args.results)
        .arg("--threads")
        .arg(args.threads.to_string())
        .arg("--data-dir")
        .arg(&dir);
    // The sweep runs one job per worker thread; candle would otherwise also split each small matrix product
    // of a training step across every core (see mf-rnn's documentation on threads).
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        sweep.env("RAYON_NUM_THREADS", "1");
    }
    // Its progress goes to stderr; the Table IV it prints at the end is printed below with the other tables.
    output(&mut sweep)?;

    let mut written = vec![spec_path.clone()];
    for (format, ext) in [("markdown", "md"), ("csv", "csv"), ("latex", "tex")] {
        let out = args.results.join(format!("{prefix}table4.{ext}"));
        run_cmd(
            Command::new(&mf)
                .arg("table")
                .arg(&spec_path)
                .arg("--results")
                .arg(&args.results)
                .args(["--format", format, "--out"])
                .arg(&out),
        )?;
        written.push(out);
    }
    written.extend(figures(&mf, &args.results)?);

    let table = std::fs::read_to_string(args.results.join(format!("{prefix}table4.md")))
        .context("could not read the Markdown table back")?;
    println!("{table}");
    eprintln!("wrote:");
    for p in written {
        eprintln!("  {}", p.display());
    }
    Ok(())
}

pub fn fig6_only(root: &Path, args: &Fig6Args) -> Result<()> {
    let mf = mf_binary(root, args.mf.as_deref())?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("could not create {}", args.out_dir.display()))?;
    for p in figures(&mf, &args.out_dir)? {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

/// Computes every Fig. 6 panel with `mf stability` and draws it; returns the files written.
fn figures(mf: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut panels = Vec::new();
    let mut written = Vec::new();
    for panel in PANELS {
        let text = output(Command::new(mf).args(panel.stability_args()))?;
        let spectrum =
            Spectrum::from_json(&text).with_context(|| format!("Fig. 6 panel {}", panel.name))?;
        let json = out_dir.join(format!("fig6_{}.json", panel.name));
        std::fs::write(&json, &text)
            .with_context(|| format!("could not write {}", json.display()))?;
        let png = out_dir.join(format!("fig6_{}.png", panel.name));
        fig6::draw(&[(panel, spectrum.clone())], &png)?;
        written.extend([json, png]);
        panels.push((panel, spectrum));
    }
    let all = out_dir.join("fig6.png");
    fig6::draw(&panels, &all)?;
    written.push(all);
    Ok(written)
}

/// The models asked for, checked and in Table IV order; all four when none is given.
fn models(given: &[String]) -> Result<Vec<&'static str>> {
    if given.is_empty() {
        return Ok(MODELS.to_vec());
    }
    let mut wanted = Vec::new();
    for g in given {
        let norm = g.trim().to_ascii_lowercase().replace('_', "-");
        let Some(m) = MODELS
            .iter()
            .find(|m| **m == norm || m.replace('-', "") == norm)
        else {
            bail!("unknown model `{g}`: expected one of {}", MODELS.join(", "));
        };
        wanted.push(*m);
    }
    Ok(MODELS
        .iter()
        .copied()
        .filter(|m| wanted.contains(m))
        .collect())
}

/// The data sets to run: the ones given (each must have a training split), else every paper data set with both
/// splits in `dir`: without a test split the final assessment cannot score anything.
fn datasets(dir: &Path, given: &[String]) -> Result<Vec<String>> {
    if !given.is_empty() {
        for name in given {
            if !has_split(dir, name, "TRAIN") {
                bail!(
                    "{}/{name}/{name}_TRAIN.{{ts,tsv,arff}} does not exist",
                    dir.display()
                );
            }
            if !has_split(dir, name, "TEST") {
                eprintln!(
                    "warning: {name} has no test split in {}: its final assessment will fail",
                    dir.display()
                );
            }
        }
        // The paper's sets first, in the order of its tables, then any others as given.
        let rank = |n: &String| {
            PAPER_DATASETS
                .iter()
                .position(|p| p == n)
                .unwrap_or(usize::MAX)
        };
        let mut given = given.to_vec();
        given.sort_by_key(rank);
        return Ok(given);
    }
    let (found, missing): (Vec<&str>, Vec<&str>) = PAPER_DATASETS
        .iter()
        .partition(|name| has_split(dir, name, "TRAIN") && has_split(dir, name, "TEST"));
    if found.is_empty() {
        bail!(
            "none of the paper's data sets has both splits in {} (expected e.g. ECG5000/ECG5000_TRAIN.tsv and \
             ECG5000_TEST.tsv)",
            dir.display()
        );
    }
    if !missing.is_empty() {
        eprintln!(
            "left out, without both splits in {}: {}",
            dir.display(),
            missing.join(", ")
        );
    }
    Ok(found.into_iter().map(String::from).collect())
}

/// A model's grid: each axis with its values, outermost first.
type Grid = &'static [(&'static str, &'static [f64])];

/// The reduced grids of `--quick`: two values per axis, each from the paper's Table III, except one learning
/// rate and one slope for MF-RNN, whose runs dominate the time.
const QUICK_GRIDS: [(&str, Grid); 4] = [
    (
        "mf-esn",
        &[
            ("omega", &[0.1, 1.0]),
            ("beta", &[0.0, 0.1]),
            ("rho", &[0.9, 0.99]),
            ("gamma", &[0.95, 1.0]),
            ("s", &[1.0, 5.0]),
            ("dt", &[0.1, 0.01]),
        ],
    ),
    (
        "esn",
        &[
            ("omega", &[0.1, 1.0]),
            ("beta", &[0.1, 1.0]),
            ("rho", &[0.9, 0.99]),
            ("alpha", &[0.1, 0.5]),
        ],
    ),
    (
        "mf-rnn",
        &[
            ("lr", &[0.01]),
            ("gamma", &[0.8, 1.0]),
            ("s", &[5.0]),
            ("dt", &[0.1, 0.01]),
        ],
    ),
    ("rnn", &[("lr", &[0.001, 0.01])]),
];

/// The experiment spec in the TOML `mf sweep` reads: the paper's protocol (grids of Table III, 5 draws, 5 trials,
/// the models' own epoch limit) or the reduced `--quick` one.
fn spec_toml(datasets: &[String], models: &[&str], seed: u64, quick: bool) -> String {
    let list = |items: &mut dyn Iterator<Item = String>| {
        items
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::new();
    let what = if quick {
        "A reduced version of the paper's experiment (cargo xtask reproduce --quick)"
    } else {
        "The paper's experiment: Table III grids, 5 draws, 5 trials (cargo xtask reproduce)"
    };
    let _ = writeln!(s, "# {what}");
    let _ = writeln!(s, "datasets = [{}]", list(&mut datasets.iter().cloned()));
    let _ = writeln!(
        s,
        "models = [{}]",
        list(&mut models.iter().map(|m| m.to_string()))
    );
    let _ = writeln!(s, "seed = {seed}");
    let (draws, trials) = if quick { (2, 2) } else { (5, 5) };
    let _ = writeln!(s, "draws = {draws}\ntrials = {trials}");
    if quick {
        let _ = writeln!(s, "max_epochs = 20");
        for (model, axes) in QUICK_GRIDS {
            if !models.contains(&model) {
                continue;
            }
            let _ = writeln!(s, "\n[grid.{model}]");
            for (name, values) in axes {
                let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                let _ = writeln!(s, "{name} = [{}]", values.join(", "));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_checked_and_put_in_table_order() {
        assert_eq!(models(&[]).unwrap(), MODELS);
        let given = vec!["MF-RNN".to_string(), "esn".into(), "mfesn".into()];
        assert_eq!(models(&given).unwrap(), ["esn", "mf-esn", "mf-rnn"]);
        assert!(models(&["lstm".to_string()]).is_err());
    }

    #[test]
    fn data_sets_default_to_the_paper_sets_present_and_keep_the_paper_order() {
        let dir = std::env::temp_dir().join(format!("xtask-datasets-{}", std::process::id()));
        for (name, splits) in [
            ("Coffee", &["TRAIN", "TEST"][..]),
            ("ECG5000", &["TRAIN", "TEST"]),
            ("Wafer", &["TRAIN"]),
            ("Other", &["TRAIN", "TEST"]),
        ] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            for split in splits {
                std::fs::write(dir.join(name).join(format!("{name}_{split}.tsv")), "1\t2\n")
                    .unwrap();
            }
        }
        assert_eq!(datasets(&dir, &[]).unwrap(), ["ECG5000", "Coffee"]);
        let given = ["Other".to_string(), "Coffee".into(), "ECG5000".into()];
        assert_eq!(
            datasets(&dir, &given).unwrap(),
            ["ECG5000", "Coffee", "Other"]
        );
        // Wafer has no test split: left out by default, run (with a warning) when asked for.
        assert_eq!(datasets(&dir, &["Wafer".to_string()]).unwrap(), ["Wafer"]);
        assert!(datasets(&dir, &["GunPoint".to_string()]).is_err());
        assert!(datasets(&dir.join("Other"), &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_full_spec_leaves_the_paper_grids_to_mf() {
        let s = spec_toml(&["ECG5000".into(), "Coffee".into()], &MODELS, 3, false);
        assert!(s.contains("datasets = [\"ECG5000\", \"Coffee\"]\n"), "{s}");
        assert!(s.contains("models = [\"esn\", \"mf-esn\", \"rnn\", \"mf-rnn\"]\n"));
        assert!(s.contains("seed = 3\ndraws = 5\ntrials = 5\n"));
        assert!(!s.contains("[grid") && !s.contains("max_epochs"));
    }

    #[test]
    fn the_quick_spec_has_small_grids_for_the_chosen_models_only() {
        let s = spec_toml(&["GunPoint".into()], &["mf-esn", "rnn"], 0, true);
        assert!(
            s.contains("draws = 2\ntrials = 2\nmax_epochs = 20\n"),
            "{s}"
        );
        assert!(s.contains("[grid.mf-esn]\nomega = [0.1, 1.0]\nbeta = [0.0, 0.1]\n"));
        assert!(s.contains("[grid.rnn]\nlr = [0.001, 0.01]\n"));
        assert!(!s.contains("[grid.esn]") && !s.contains("[grid.mf-rnn]"));
    }

    #[test]
    fn quick_grid_values_come_from_the_paper_grids() {
        let paper: [(&str, &[f64]); 8] = [
            ("omega", &[0.1, 1.0, 10.0]),
            ("beta", &[0.0, 0.001, 0.1, 1.0]),
            ("rho", &[0.8, 0.9, 0.95, 0.99]),
            ("gamma", &[0.5, 0.8, 0.95, 1.0]),
            ("s", &[1.0, 5.0]),
            ("dt", &[0.1, 0.01, 0.001]),
            ("alpha", &[0.1, 0.3, 0.5, 0.7, 1.0]),
            ("lr", &[0.001, 0.01]),
        ];
        for (model, axes) in QUICK_GRIDS {
            for (name, values) in axes {
                let (_, allowed) = paper.iter().find(|(n, _)| n == name).unwrap();
                assert!(values.iter().all(|v| allowed.contains(v)), "{model}.{name}");
            }
        }
    }
}
