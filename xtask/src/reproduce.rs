//! `cargo xtask reproduce`: the paper's Table IV (with Tables V-VIII) and Fig. 6 from scratch.
//!
//! Steps, each logged: build `mf` in release; write one experiment spec for the reservoir models
//! (`reservoirs.toml`) and one for the trainable models (`trainable.toml`), prefixed `quick-` with `--quick`, into
//! the result directory; `mf sweep` each (resumable: jobs already stored are skipped), timing each; `mf table` of
//! both specs in Markdown, CSV and LaTeX (one table, each spec's provenance in its header); `mf stability --eigs
//! --json` for each Fig. 6 panel, drawn to `fig6_<panel>.png` and side by side to `fig6.png`. With the defaults
//! the two specs are `results/reservoirs.toml` and `results/trainable.toml`, whose results are committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Serialize, Serializer};

use crate::fig6::{self, Spectrum, PANELS};
use crate::{data_dir, has_split, mf_binary, output, run_cmd};

/// The paper's data sets, in the row order of its tables (from the one list in `mf-paper`).
fn paper_datasets() -> Vec<&'static str> {
    mf_paper::dataset_names().collect()
}

/// The four models, in the column order of Table IV, as `mf` names them.
pub const MODELS: [&str; 4] = ["esn", "mf-esn", "rnn", "mf-rnn"];

/// The models with a fixed reservoir and a ridge readout: one spec.
const RESERVOIR_MODELS: [&str; 2] = ["esn", "mf-esn"];

/// The models trained by backpropagation through time: the other spec.
const TRAINABLE_MODELS: [&str; 2] = ["rnn", "mf-rnn"];

#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// A reduced experiment (about ten minutes on one core for nine data sets): two values per grid axis, taken
    /// from the paper's Table III, 2 reservoir draws, 2 final trials and at most 20 training epochs. Its files
    /// start with `quick-`.
    #[arg(long)]
    quick: bool,
    /// Directory holding `<Name>/<Name>_TRAIN.{ts,tsv,arff}` (and _TEST). Default: $MF_DATA_DIR.
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
    /// Seed every random draw of the experiment derives from (2025: the committed results' seed).
    #[arg(long, default_value_t = 2025)]
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
    // Two specs, so each group's wall time is its own and the reservoir table does not wait for the training.
    let mut specs = Vec::new();
    for (group, members) in [
        ("reservoirs", RESERVOIR_MODELS),
        ("trainable", TRAINABLE_MODELS),
    ] {
        let chosen: Vec<&str> = models
            .iter()
            .copied()
            .filter(|m| members.contains(m))
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let spec_path = args.results.join(format!("{prefix}{group}.toml"));
        let spec = spec_toml(&datasets, &chosen, args.seed, args.quick)?;
        std::fs::write(&spec_path, &spec)
            .with_context(|| format!("could not write {}", spec_path.display()))?;
        eprintln!(
            "wrote {} ({} data sets x {})",
            spec_path.display(),
            datasets.len(),
            chosen.join(", ")
        );
        specs.push(spec_path);
    }

    for spec_path in &specs {
        let mut sweep = Command::new(&mf);
        sweep
            .arg("sweep")
            .arg(spec_path)
            .arg("--results")
            .arg(&args.results)
            .arg("--threads")
            .arg(args.threads.to_string())
            .arg("--data-dir")
            .arg(&dir);
        // The sweep runs one job per worker thread; candle would otherwise also split each small matrix
        // product of a training step across every core (see mf-rnn's documentation on threads).
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            sweep.env("RAYON_NUM_THREADS", "1");
        }
        let start = std::time::Instant::now();
        // Its progress goes to stderr; the Table IV it prints at the end is printed below with the other
        // tables.
        output(&mut sweep)?;
        eprintln!(
            "{} swept in {:.1} min (this run; the table's provenance sums every session)",
            spec_path.display(),
            start.elapsed().as_secs_f64() / 60.0
        );
    }

    let mut written = specs.clone();
    for (format, ext) in [("markdown", "md"), ("csv", "csv"), ("latex", "tex")] {
        let out = args.results.join(format!("{prefix}table4.{ext}"));
        run_cmd(
            Command::new(&mf)
                .arg("table")
                .args(&specs)
                .arg("--results")
                .arg(&args.results)
                .args(["--format", format, "--out"])
                .arg(&out),
        )?;
        if ext == "csv" {
            // The CSV is a plain table; `mf table` writes its provenance beside it.
            written.push(out.with_extension("provenance.txt"));
        }
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
            paper_datasets()
                .iter()
                .position(|p| p == n)
                .unwrap_or(usize::MAX)
        };
        let mut given = given.to_vec();
        given.sort_by_key(rank);
        return Ok(given);
    }
    let (found, missing): (Vec<&str>, Vec<&str>) = paper_datasets()
        .into_iter()
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

/// The experiment spec as `mf sweep` reads it, its keys serialised in field order.
#[derive(Debug, Serialize)]
struct SpecFile<'a> {
    datasets: &'a [String],
    models: &'a [&'a str],
    seed: u64,
    draws: usize,
    trials: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_epochs: Option<usize>,
    /// Model -> axis -> values. Axis order is the nesting order of the grid search, so these are tables in
    /// the order written, which a `toml::Table` (sorted by key) would not keep.
    #[serde(skip_serializing_if = "InOrder::is_empty")]
    grid: InOrder<&'a str, InOrder<&'a str, &'a [f64]>>,
}

/// Key-value pairs serialised as a table whose keys keep this order.
#[derive(Debug)]
struct InOrder<K, V>(Vec<(K, V)>);

impl<K, V> InOrder<K, V> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Serialize, V: Serialize> Serialize for InOrder<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// The experiment spec in the TOML `mf sweep` reads: the paper's protocol (grids of Table III, 5 draws, 5 trials,
/// the models' own epoch limit) or the reduced `--quick` one.
fn spec_toml(datasets: &[String], models: &[&str], seed: u64, quick: bool) -> Result<String> {
    let what = if quick {
        format!(
            "A reduced version of the paper's experiment for {} (cargo xtask reproduce --quick)",
            models.join(", ")
        )
    } else {
        format!(
            "The paper's experiment for {}: Table III grids, 5 draws, 5 final trials (cargo xtask reproduce;\n\
             # resumable by hand with `mf sweep <this file> -j 2`)",
            models.join(", ")
        )
    };
    let (draws, trials) = if quick { (2, 2) } else { (5, 5) };
    let grid = if quick {
        QUICK_GRIDS
            .iter()
            .filter(|(model, _)| models.contains(model))
            .map(|&(model, axes)| (model, InOrder(axes.to_vec())))
            .collect()
    } else {
        Vec::new()
    };
    let spec = SpecFile {
        datasets,
        models,
        seed,
        draws,
        trials,
        max_epochs: quick.then_some(20),
        grid: InOrder(grid),
    };
    let body = toml::to_string(&spec).context("could not write the spec as TOML")?;
    Ok(format!("# {what}\n{body}"))
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
        let s = spec_toml(&["ECG5000".into(), "Coffee".into()], &MODELS, 3, false).unwrap();
        assert!(s.contains("datasets = [\"ECG5000\", \"Coffee\"]\n"), "{s}");
        assert!(s.contains("models = [\"esn\", \"mf-esn\", \"rnn\", \"mf-rnn\"]\n"));
        assert!(s.contains("seed = 3\ndraws = 5\ntrials = 5\n"));
        assert!(!s.contains("[grid") && !s.contains("max_epochs"));
    }

    #[test]
    fn the_quick_spec_has_small_grids_for_the_chosen_models_only() {
        let s = spec_toml(&["GunPoint".into()], &["mf-esn", "rnn"], 0, true).unwrap();
        assert!(
            s.contains("draws = 2\ntrials = 2\nmax_epochs = 20\n"),
            "{s}"
        );
        assert!(s.contains("[grid.mf-esn]\nomega = [0.1, 1.0]\nbeta = [0.0, 0.1]\n"));
        assert!(s.contains("[grid.rnn]\nlr = [0.001, 0.01]\n"));
        assert!(!s.contains("[grid.esn]") && !s.contains("[grid.mf-rnn]"));
    }

    /// Each model's grid: its axes with their values.
    type Grids = Vec<(String, Vec<(String, Vec<f64>)>)>;

    /// The grids of a spec as `mf sweep` reads them: models and each model's axes in document order.
    fn grids_as_written(text: &str) -> Grids {
        let values: toml::Table = text.parse().unwrap();
        let doc = toml::de::DeTable::parse(text).unwrap();
        // Table keys iterate sorted; their spans give the order they were written in.
        let keys_as_written = |t: &toml::de::DeTable<'_>| {
            let mut keys: Vec<_> = t
                .iter()
                .map(|(k, _)| (k.span().start, k.get_ref().to_string()))
                .collect();
            keys.sort();
            keys.into_iter().map(|(_, k)| k).collect::<Vec<_>>()
        };
        let Some((_, grids)) = doc.get_ref().iter().find(|(k, _)| k.get_ref() == "grid") else {
            return Vec::new();
        };
        let toml::de::DeValue::Table(grids) = grids.get_ref() else {
            panic!("`grid` is not a table");
        };
        keys_as_written(grids)
            .into_iter()
            .map(|model| {
                let (_, axes) = grids.iter().find(|(k, _)| *k.get_ref() == model).unwrap();
                let toml::de::DeValue::Table(axes) = axes.get_ref() else {
                    panic!("grid.{model} is not a table");
                };
                let axes = keys_as_written(axes)
                    .into_iter()
                    .map(|axis| {
                        let list = values["grid"][&model][&axis].as_array().unwrap();
                        let list = list.iter().map(|v| v.as_float().unwrap()).collect();
                        (axis, list)
                    })
                    .collect();
                (model, axes)
            })
            .collect()
    }

    #[test]
    fn the_quick_spec_parses_back_to_the_same_grids_in_the_same_order() {
        let s = spec_toml(&["GunPoint".into()], &MODELS, 7, true).unwrap();
        let expected: Grids = QUICK_GRIDS
            .iter()
            .map(|(model, axes)| {
                let axes = axes
                    .iter()
                    .map(|(axis, values)| (axis.to_string(), values.to_vec()))
                    .collect();
                (model.to_string(), axes)
            })
            .collect();
        assert_eq!(grids_as_written(&s), expected, "{s}");
        let top: toml::Table = s.parse().unwrap();
        assert_eq!(top["datasets"].as_array().unwrap().len(), 1);
        assert_eq!(top["seed"].as_integer(), Some(7));
        assert!(
            grids_as_written(&spec_toml(&["GunPoint".into()], &MODELS, 7, false).unwrap())
                .is_empty()
        );
    }

    #[test]
    fn quick_grid_values_come_from_the_paper_grids() {
        use mf_paper::Model;
        for (model, axes) in QUICK_GRIDS {
            let m = match model {
                "esn" => Model::Esn,
                "mf-esn" => Model::MfEsn,
                "rnn" => Model::Rnn,
                "mf-rnn" => Model::MfRnn,
                other => panic!("unknown model {other}"),
            };
            let paper = mf_paper::table_iii(m);
            for (name, values) in axes {
                let (_, allowed) = paper.iter().find(|(n, _)| n == name).unwrap();
                assert!(values.iter().all(|v| allowed.contains(v)), "{model}.{name}");
            }
        }
    }
}
