//! `mf export`: a fitted model as `.npy` files and `config.json`, for hardware mapping and for inspection in
//! numpy. The files and their meaning are `mf_lab::model_export`'s; this command parses the arguments and
//! prints what was left out.

use std::path::{Path, PathBuf};

use mf_lab::sequence::{export_sequence, SequenceData};

use super::run::ModelArgs;

/// `mf export`: write a fitted model as `.npy` files.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output directory (created if needed). One that already holds files is refused unless --force.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Export into a directory that already holds files: the files of an earlier export there (its .npy
    /// files and config.json) are removed first, other files are left alone.
    #[arg(long)]
    pub force: bool,
    /// Export a reservoir on a signal of your own: `--dataset FILE` is one long signal and this column is
    /// predicted one step ahead (repeatable), as `mf run --target` does.
    #[arg(long, value_name = "COLUMN")]
    pub target: Vec<String>,
}

/// Fits the model of `args` (as `mf fit` does) and writes its files; returns the files written.
pub fn export(args: &ExportArgs, data_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let req = args.model.request()?;
    // A sequence task (or a signal of one's own): its signal, reservoir, readout, test predictions and metric.
    let sequence =
        SequenceData::from_dataset(&args.model.dataset, &args.target, mf_lab::Normalise::None)?;
    if let Some(data) = sequence {
        return Ok(export_sequence(&req, data, &args.out, args.force)?);
    }
    let exported = mf_lab::model_export::export_model(&req, data_dir, &args.out, args.force)?;
    for note in &exported.notes {
        eprintln!("{note}");
    }
    Ok(exported.files)
}
