//! `mf table`: a spec's results beside the paper's (Table IV and Tables V-VIII), or every job record of its
//! store as one typed data frame (`--format arrow|parquet --out FILE`; columns: `mf_lab::export`).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};

use mf_lab::export::{export_records, FrameFormat};
use mf_lab::job::{validation_jobs, Stage};
use mf_lab::provenance::Provenance;
use mf_lab::spec::Spec;
use mf_lab::store::{read_store, StoreContents};
use mf_lab::table::{Format, ResultTable};
use mf_lab::{spec_dir, LabError};

use super::shared::{shard_files, warn_damaged_tail, write_out};

/// Output format of `mf table`: the paper's tables rendered as text, or every job record as a data-frame file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Table IV and Tables V-VIII in Markdown, CSV or LaTeX.
    Table(Format),
    /// One row per job record, as an Arrow IPC or Parquet file.
    Frame(FrameFormat),
}

impl FromStr for TableFormat {
    type Err = String;
    /// `markdown` (`md`), `csv`, `latex` (`tex`), `arrow` (`ipc`, `feather`) or `parquet`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(f) = s.parse::<Format>() {
            return Ok(TableFormat::Table(f));
        }
        if let Ok(f) = s.parse::<FrameFormat>() {
            return Ok(TableFormat::Frame(f));
        }
        Err(format!(
            "unknown table format `{s}` (expected markdown, csv, latex, arrow or parquet)"
        ))
    }
}

/// `mf table`: render a spec's results beside the paper's, or write every job record as a data frame.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TableArgs {
    /// Experiment spec (TOML). Several specs (e.g. one of the reservoir models and one of the trainable models)
    /// make one table with every spec's models as columns and each spec's provenance in the header; a model may
    /// be in only one of them.
    #[arg(required = true, num_args = 1..)]
    pub specs: Vec<PathBuf>,
    /// Directory holding one result directory per spec hash.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Store file to read instead of `<results>/<hash>/store.jsonl`; with several specs, one `--store` per spec,
    /// in the specs' order.
    #[arg(long)]
    pub store: Vec<PathBuf>,
    /// Output format: markdown, csv or latex (Table IV and Tables V-VIII; csv is one plain table that
    /// `pandas.read_csv` reads with no options, its provenance written beside `--out T.csv` as
    /// `T.provenance.txt`, or to stderr), or arrow or parquet (every job record
    /// of the store as one typed data frame for pandas or polars: data set, model, phase, configuration, one
    /// column per hyper-parameter, seeds, metric, scores, outcome, failure, wall seconds, protocol,
    /// normalisation, data fingerprint; needs --out).
    #[arg(long, short = 'f', default_value = "markdown")]
    pub format: TableFormat,
    /// Write to this file instead of stdout (required for arrow and parquet).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// Renders the results of `args.specs` (Table IV and the hyper-parameter tables, one table for all the specs) in
/// the chosen format.
pub fn run_table(args: TableArgs) -> anyhow::Result<()> {
    let format = match args.format {
        TableFormat::Table(f) => f,
        TableFormat::Frame(f) => return export_table(&args, f),
    };
    if !args.store.is_empty() && args.store.len() != args.specs.len() {
        bail!(
            "{} specs but {} --store files: give one store per spec, in the specs' order, or none",
            args.specs.len(),
            args.store.len()
        );
    }
    let mut tables = Vec::new();
    let mut provenances = Vec::new();
    for (i, spec_path) in args.specs.iter().enumerate() {
        let (table, provenance) = spec_table(spec_path, args.store.get(i), &args.results)?;
        tables.push(table);
        provenances.push(provenance);
    }
    let table = ResultTable::join(tables)?;
    // The header says where the numbers come from: spec, store and the sessions that computed them.
    let header = Provenance::headers(&provenances, format);
    if format != Format::Csv {
        return write_out(args.out.as_deref(), &(header + &table.render(format)));
    }
    // A CSV file is one plain table, which `pandas.read_csv(path)` and the csv crate read with their defaults:
    // the provenance goes beside it (`<out>.provenance.txt`), or to stderr when the table goes to stdout.
    let provenance: String = header
        .lines()
        .map(|l| format!("{}\n", l.trim_start_matches("# ")))
        .collect();
    write_out(args.out.as_deref(), &table.render(format))?;
    match args.out.as_deref() {
        Some(out) => {
            let side = provenance_file(out);
            std::fs::write(&side, provenance)
                .with_context(|| format!("writing {}", side.display()))?;
            eprintln!("provenance of {}: {}", out.display(), side.display());
        }
        None => eprint!("{provenance}"),
    }
    Ok(())
}

/// The file beside a CSV table `out` that holds its provenance: `table4.csv` gives `table4.provenance.txt`.
pub fn provenance_file(out: &Path) -> PathBuf {
    out.with_extension("provenance.txt")
}

/// The results table of the spec at `spec_path` from its store (`store`, else the spec's store under `results`),
/// with its provenance; an error when the store is missing, of another spec, or holds no final result.
fn spec_table(
    spec_path: &Path,
    store: Option<&PathBuf>,
    results: &Path,
) -> anyhow::Result<(ResultTable, Provenance)> {
    let (spec, path, contents) = spec_store(spec_path, store, results)?;
    let no_finals = |what: String, retry: bool| {
        anyhow::anyhow!(
            "{} holds no final results yet ({what}): run `mf sweep {}{}` to finish the sweep",
            path.display(),
            spec_path.display(),
            if retry { " --retry-failed" } else { "" }
        )
    };
    let Some(contents) = contents else {
        return Err(no_finals("it is empty".into(), false));
    };
    let table = ResultTable::build(&spec, &contents.records);
    let finals = table
        .rows
        .iter()
        .flat_map(|r| &r.cells)
        .filter(|c| c.ours.as_ref().is_some_and(|o| o.summary.is_ok()))
        .count();
    if finals == 0 {
        let count = |stage: Stage, failed: bool| {
            contents
                .records
                .values()
                .filter(|r| r.key.stage == stage && r.is_failed() == failed)
                .count()
        };
        let (val_done, val_failed) = (
            count(Stage::Validation, false),
            count(Stage::Validation, true),
        );
        let final_failed = count(Stage::Final, true);
        let mut what = format!(
            "{} of {} validation jobs recorded, {val_failed} of them failed",
            val_done + val_failed,
            validation_jobs(&spec).len()
        );
        if final_failed > 0 {
            what.push_str(&format!("; {final_failed} final jobs failed"));
        }
        return Err(no_finals(what, val_failed + final_failed > 0));
    }
    let provenance = Provenance::of(&spec, &contents);
    Ok((table, provenance))
}

/// The spec at `spec_path`, the path of its store (`store`, else the spec's store under `results`) and what the
/// store holds (`None` when it is empty). An error when the store is missing (naming `mf merge` when shard stores
/// exist, else `mf sweep`) or holds the results of another spec; a damaged last record is warned about.
fn spec_store(
    spec_path: &Path,
    store: Option<&PathBuf>,
    results: &Path,
) -> anyhow::Result<(Spec, PathBuf, Option<StoreContents>)> {
    let spec = Spec::load(spec_path)?;
    let path = store
        .cloned()
        .unwrap_or_else(|| spec_dir(results, &spec).join("store.jsonl"));
    if !path.exists() {
        let shards = shard_files(&spec_dir(results, &spec)).unwrap_or_default();
        if !shards.is_empty() {
            bail!(
                "{} does not exist but {} shard stores do: run `mf merge --spec {}` first",
                path.display(),
                shards.len(),
                spec_path.display()
            );
        }
        bail!(
            "{} does not exist: run `mf sweep {}` first",
            path.display(),
            spec_path.display()
        );
    }
    let contents = match read_store(&path) {
        Ok(c) => c,
        Err(LabError::EmptyStore { .. }) => return Ok((spec, path, None)),
        Err(e) => return Err(e.into()),
    };
    if contents.spec_hash != spec.hash() {
        bail!(
            "{} holds results of spec {}, not of {} ({})",
            path.display(),
            contents.spec_hash,
            spec.hash(),
            spec_path.display()
        );
    }
    if let Some(t) = &contents.damaged_tail {
        warn_damaged_tail(&path, &t.reason);
    }
    Ok((spec, path, Some(contents)))
}

/// `mf table --format arrow|parquet`: every job record of the spec's store, written to `--out`.
fn export_table(args: &TableArgs, format: FrameFormat) -> anyhow::Result<()> {
    let Some(out) = &args.out else {
        bail!(
            "--format {format} writes a binary file: give its path with --out (e.g. --out results.{})",
            format.extension()
        );
    };
    let [spec_path] = args.specs.as_slice() else {
        bail!(
            "--format {format} writes the job records of one spec: give one spec, not {}",
            args.specs.len()
        );
    };
    let (spec, path, contents) = spec_store(spec_path, args.store.first(), &args.results)?;
    let Some(contents) = contents else {
        bail!("{} holds no job records yet", path.display())
    };
    let rows = export_records(&spec, &contents, format, out)
        .with_context(|| format!("exporting the records of {}", path.display()))?;
    eprintln!(
        "wrote {rows} job records of {} to {} ({format})",
        path.display(),
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::sweep::{run_sweep, sweep_args};
    use mf_lab::job::Evaluator;
    use mf_lab::testing::{small_spec, FakeEvaluator};
    use std::sync::Arc;

    #[test]
    fn table_writes_every_job_record_as_arrow_or_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let spec_path = dir.path().join("spec.toml");
        let spec = small_spec();
        std::fs::write(&spec_path, spec.to_toml()).unwrap();
        let results = dir.path().join("results");
        let args = |format: TableFormat, out: Option<PathBuf>| TableArgs {
            specs: vec![spec_path.clone()],
            results: results.clone(),
            store: vec![],
            format,
            out,
        };
        let parquet = TableFormat::Frame(FrameFormat::Parquet);
        let out = dir.path().join("records.parquet");
        let e = run_table(args(parquet, Some(out.clone())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("run `mf sweep"), "{e}");
        let eval: Arc<dyn Evaluator> = Arc::new(FakeEvaluator::default());
        run_sweep(sweep_args(&spec_path, &results, None, 2), eval).unwrap();
        let e = run_table(args(parquet, None)).unwrap_err().to_string();
        assert!(e.contains("give its path with --out"), "{e}");
        let store = read_store(&spec_dir(&results, &spec).join("store.jsonl")).unwrap();
        for format in [FrameFormat::Arrow, FrameFormat::Parquet] {
            let out = dir.path().join(format!("records.{}", format.extension()));
            run_table(args(TableFormat::Frame(format), Some(out.clone()))).unwrap();
            let batches = mf_lab::export::read_frame(&out, format).unwrap();
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            assert_eq!(rows, store.records.len());
            let schema = batches[0].schema();
            for name in [
                "dataset", "model", "phase", "config", "omega", "score", "outcome",
            ] {
                assert!(
                    schema.field_with_name(name).is_ok(),
                    "{format}: no column {name}"
                );
            }
        }
        // The store of another spec is refused, as `mf table` refuses it: its columns would be misread.
        let mut other = spec.clone();
        other.seed += 1;
        let other_path = dir.path().join("other.toml");
        std::fs::write(&other_path, other.to_toml()).unwrap();
        let e = run_table(TableArgs {
            specs: vec![other_path],
            results: results.clone(),
            store: vec![spec_dir(&results, &spec).join("store.jsonl")],
            format: parquet,
            out: Some(dir.path().join("other.parquet")),
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(&format!("holds results of spec {}", spec.hash())),
            "{e}"
        );
    }

    #[test]
    fn table_of_two_specs_has_every_model_and_each_provenance_and_equals_the_one_spec_table() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        let eval: Arc<dyn Evaluator> = Arc::new(FakeEvaluator::default());
        let whole = small_spec();
        let mut paths = Vec::new();
        for (name, models) in [
            ("all", vec!["esn", "mf-esn", "rnn", "mf-rnn"]),
            ("reservoirs", vec!["esn", "mf-esn"]),
            ("trainable", vec!["rnn", "mf-rnn"]),
        ] {
            let mut spec = whole.clone();
            spec.models = models.iter().map(|m| m.parse().unwrap()).collect();
            let path = dir.path().join(format!("{name}.toml"));
            std::fs::write(&path, spec.to_toml()).unwrap();
            run_sweep(sweep_args(&path, &results, None, 1), eval.clone()).unwrap();
            paths.push(path);
        }
        let render = |specs: &[PathBuf], store: Vec<PathBuf>, format: Format| {
            let out = dir.path().join("table.out");
            run_table(TableArgs {
                specs: specs.to_vec(),
                results: results.clone(),
                store,
                format: TableFormat::Table(format),
                out: Some(out.clone()),
            })
            .map(|()| std::fs::read_to_string(&out).unwrap())
        };
        // The body of the table without the provenance paragraph(s).
        let body = |text: &str| text[text.find("| Task").unwrap()..].to_string();
        let one = render(&paths[..1], vec![], Format::Markdown).unwrap();
        // Given in either order, the two specs make the four-model table of the one spec; the fake scores depend
        // on the job only, not on the spec it belongs to.
        for specs in [&paths[1..], &[paths[2].clone(), paths[1].clone()][..]] {
            let two = render(specs, vec![], Format::Markdown).unwrap();
            assert_eq!(body(&two), body(&one));
            assert!(
                two.contains("Provenance of the esn, mf-esn columns."),
                "{two}"
            );
            assert!(
                two.contains("Provenance of the rnn, mf-rnn columns."),
                "{two}"
            );
            assert_eq!(two.matches("Session 1:").count(), 2, "{two}");
        }
        // CSV is the plain table; its provenance goes to a file beside it.
        let csv = render(&paths[1..], vec![], Format::Csv).unwrap();
        assert!(csv.starts_with("dataset,"), "{csv}");
        let side = std::fs::read_to_string(provenance_file(&dir.path().join("table.out"))).unwrap();
        assert!(
            side.starts_with("Provenance of the esn, mf-esn columns.\nSpec "),
            "{side}"
        );
        assert!(
            side.contains("Provenance of the rnn, mf-rnn columns."),
            "{side}"
        );
        // A model in two specs, and a store count that is not one per spec, are refused.
        let e = render(&paths[..2], vec![], Format::Markdown)
            .unwrap_err()
            .to_string();
        assert!(e.contains("in two of the specs"), "{e}");
        let e = render(
            &paths[1..],
            vec![dir.path().join("x.jsonl")],
            Format::Markdown,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("one store per spec"), "{e}");
    }
}
