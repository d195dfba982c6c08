//! `mf export`: a fitted model as `.npy` files and `config.json`, for hardware mapping and for inspection in
//! numpy. The files and their meaning are `mf_lab::model_export`'s; this command parses the arguments and
//! prints what was left out.

use std::path::{Path, PathBuf};

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
}

/// Fits the model of `args` (as `mf fit` does) and writes its files; returns the files written.
pub fn export(args: &ExportArgs, data_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let req = args.model.request()?;
    let exported = mf_lab::model_export::export_model(&req, data_dir, &args.out, args.force)?;
    for note in &exported.notes {
        eprintln!("{note}");
    }
    Ok(exported.files)
}
